import { NewCaseEvent } from '../../src/caseEvents';
import { parseLocalDate } from '../../src/localDate';
import { CaseLog, createCaseLog } from '../../src/storage/caseLog';
import { ENGINES, TestDatabase } from '../helpers/database';

const d = parseLocalDate;
const allocation = (lead: string): NewCaseEvent => ({
  type: 'allocated',
  by: 'manager-morgan',
  effectiveOn: d('2026-11-23'),
  data: { leadProfessional: lead, manager: 'manager-morgan', caseloadPoints: 5, initialActions: '', cafRequired: true, source: 'referral', family: { name: 'Family Example', children: [] } },
});

describe.each(ENGINES)('caseloads read in one audited statement on %s', (_name, open) => {
  let t: TestDatabase;
  let log: CaseLog;
  let n = 0;
  const reference = () => `EH-CL-${process.pid}-${++n}`;
  const auditRows = async () => t.db.query<{ actor: string; action: string; case_id: string | null; detail: { version?: number } }>('SELECT actor, action, case_id, detail FROM audit_log ORDER BY id');

  beforeAll(async () => {
    t = await open();
    log = createCaseLog(t.db);
  });
  afterAll(async () => t?.dispose());

  test("the open cases of the lead professionals asked for, with their events in order, one case.read audit row each and nothing else", async () => {
    const lead = `worker-${n}-a`;
    const other = `worker-${n}-b`;
    const first = await log.openCase({ reference: reference(), allocation: allocation(lead), actor: 'manager-morgan' });
    await log.append(first.caseId, 1, [{ type: 'telephone-contact-made', by: lead, effectiveOn: d('2026-11-24'), data: {} }], { actor: lead });
    const second = await log.openCase({ reference: reference(), allocation: allocation(lead), actor: 'manager-morgan' });
    const closed = await log.openCase({ reference: reference(), allocation: allocation(lead), actor: 'manager-morgan' });
    await log.append(
      closed.caseId,
      1,
      [
        { type: 'closure-requested', by: lead, effectiveOn: d('2026-11-24'), data: { reason: 'plan-achieved', summary: 'Plan achieved' } },
        { type: 'closure-approved', by: 'manager-morgan', effectiveOn: d('2026-11-25'), data: {} },
      ] as NewCaseEvent[],
      { actor: 'manager-morgan' },
    );
    await log.openCase({ reference: reference(), allocation: allocation(other), actor: 'manager-morgan' });

    const before = (await auditRows()).length;
    const records = await log.readCaseloads([lead], { actor: 'manager-morgan' });
    const added = (await auditRows()).slice(before);

    expect(records.map((r) => r.caseId).sort()).toEqual([first.caseId, second.caseId].sort());
    const read = records.find((r) => r.caseId === first.caseId)!;
    expect(read.version).toBe(2);
    expect(read.events.map((e) => [e.sequence, e.type])).toEqual([
      [1, 'allocated'],
      [2, 'telephone-contact-made'],
    ]);
    expect(added).toHaveLength(2);
    expect(added.every((a) => a.action === 'case.read' && a.actor === 'manager-morgan')).toBe(true);
    expect(added.map((a) => a.case_id).sort()).toEqual([first.caseId, second.caseId].sort());
    expect(added.find((a) => a.case_id === first.caseId)!.detail.version).toBe(2);
  });

  test('no lead professionals, or none with open cases: nothing read, nothing audited', async () => {
    const before = (await auditRows()).length;
    expect(await log.readCaseloads([], { actor: 'manager-morgan' })).toEqual([]);
    expect(await log.readCaseloads(['nobody-at-all'], { actor: 'manager-morgan' })).toEqual([]);
    expect((await auditRows()).length).toBe(before);
  });
});
