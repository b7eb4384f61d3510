import { StaffMember } from './staff';

/**
 * The allocation e-mail of seed 000 ("Allocation email sent to worker with line manager and EH
 * Business Support copied"). It names the case by its reference only: no child's name and no
 * family circumstances leave the case record by e-mail.
 */
export interface AllocationEmail {
  to: string[];
  cc: string[];
  subject: string;
  body: string;
}

export function allocationEmail(input: {
  reference: string;
  worker: StaffMember;
  allocatedBy: StaffMember;
  lineManager?: StaffMember | null;
  businessSupport: readonly StaffMember[];
  caseloadPoints: number;
}): AllocationEmail {
  const cc = new Set<string>();
  if (input.lineManager) cc.add(input.lineManager.email);
  cc.add(input.allocatedBy.email);
  for (const b of input.businessSupport) cc.add(b.email);
  cc.delete(input.worker.email);
  return {
    to: [input.worker.email],
    cc: [...cc],
    subject: `Case ${input.reference} allocated to you`,
    body: [
      `Case ${input.reference} has been allocated to ${input.worker.name} by ${input.allocatedBy.name} (${input.caseloadPoints} caseload points).`,
      'The Manager\u2019s Decision and the case details are in the Early Help app in Teams.',
      'Business Support: please update the caseload tracking sheet.',
    ].join('\n\n'),
  };
}
