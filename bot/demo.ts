import { CaseEventType, NewCaseEvent } from '../src/caseEvents';
import { LocalDate } from '../src/localDate';
import { StaffMember } from '../src/staff';
import { BotServices } from './services';
import { DEMO_STAFF } from './playground/demoTeam';

/**
 * Demo data for local mode only: the fictional team and a handful of fictional cases at different
 * stages, so that a newcomer sees something real within a minute. Written once, into an empty
 * directory; never in a deployment with credentials.
 */
export async function seedDemo(services: BotServices): Promise<boolean> {
  if ((await services.directory.all()).length > 0) return false;
  const staff = Object.values(DEMO_STAFF) as StaffMember[];
  await services.directory.save(staff, 'demo');
  const { manager, worker, worker2 } = DEMO_STAFF;
  const today = services.today();
  const ago = (workingDays: number) => services.calendar.addWorkingDays(today, -workingDays);
  const ev = (type: CaseEventType, by: string, on: LocalDate, data: Record<string, unknown> = {}) => ({ type, by, effectiveOn: on, data }) as NewCaseEvent;
  const visit = { childSeen: true, consentForm: true, medicalForm: true, homeChecked: true };

  const cases: Array<{ reference: string; family: string; children: string[]; lead: StaffMember; allocated: number; cafRequired: boolean; then: (allocatedOn: LocalDate) => NewCaseEvent[] }> = [
    { reference: 'EH-1001', family: 'Ashdown', children: ['Ruby Ashdown'], lead: worker, allocated: 0, cafRequired: true, then: () => [] },
    {
      reference: 'EH-1002',
      family: 'Brightwell',
      children: ['Leo Brightwell', 'Maya Brightwell'],
      lead: worker,
      allocated: 4,
      cafRequired: true,
      then: () => [ev('telephone-contact-made', worker.id, ago(3)), ev('case-recorded', worker.id, ago(2)), ev('visit', worker.id, ago(1), visit)],
    },
    {
      reference: 'EH-1003',
      family: 'Calloway',
      children: ['Isla Calloway'],
      lead: worker,
      allocated: 19,
      cafRequired: true,
      then: () => [ev('telephone-contact-made', worker.id, ago(18)), ev('visit', worker.id, ago(15), visit), ev('case-recorded', worker.id, ago(14)), ev('caf-submitted', worker.id, ago(1), { to: manager.id })],
    },
    {
      reference: 'EH-1004',
      family: 'Dunmore',
      children: ['Finn Dunmore'],
      lead: worker2,
      allocated: 60,
      cafRequired: true,
      then: () => [
        ev('telephone-contact-made', worker2.id, ago(59)),
        ev('visit', worker2.id, ago(57), visit),
        ev('caf-submitted', worker2.id, ago(45)),
        ev('caf-authorised', manager.id, ago(44)),
        ev('taf-held', worker2.id, ago(35)),
        ev('minutes-shared', worker2.id, ago(25), { tafDate: ago(35) }),
      ],
    },
    { reference: 'EH-1005', family: 'Ellery', children: ['Noah Ellery'], lead: worker2, allocated: 3, cafRequired: false, then: () => [] },
  ];
  for (const c of cases) {
    const allocatedOn = ago(c.allocated);
    const record = await services.caseLog.openCase({
      reference: c.reference,
      actor: 'demo',
      allocation: {
        type: 'allocated',
        by: manager.id,
        effectiveOn: allocatedOn,
        data: { family: { name: c.family, children: c.children.map((name) => ({ name })) }, referralReason: 'Demo case (fictional)', leadProfessional: c.lead.id, manager: manager.id, caseloadPoints: 4, initialActions: 'Make contact and arrange a home visit.', cafRequired: c.cafRequired, source: 'referral' },
      },
    });
    const events = c.then(allocatedOn);
    if (events.length) await services.caseLog.append(record.caseId, record.version, events, { actor: 'demo' });
  }
  return true;
}
