import { AllocationInput } from '../../src/caseWork';
import { SAM } from './demoStaff';

let n = 0;

/** A new case's allocation to Sam, with no points (capacity has tests of its own), each with a reference of its own. */
export function allocationInput(extra: Partial<AllocationInput> = {}): AllocationInput {
  return {
    reference: `EH-${1000 + ++n}`,
    familyName: 'Fernsby',
    children: [{ name: 'Tallulah', dateOfBirth: '2019-04-02' }],
    referralReason: 'School attendance',
    source: 'referral',
    leadProfessional: SAM.id,
    caseloadPoints: 0,
    initialActions: 'Call mum',
    cafRequired: true,
    ...extra,
  };
}
