import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { calendarFor } from '../src/calendar';
import { CaseImportError, parseCaseImport, readCaseImportJson } from '../src/caseImport';
import { CliIo, runCli } from '../src/cli/main';
import { parseLocalDate } from '../src/localDate';
import { obligations } from '../src/obligations';
import { loadPolicy } from '../src/policy';
import { StaffMember } from '../src/staff';
import { createCaseLog } from '../src/storage/caseLog';
import { Database } from '../src/storage/database';
import { createReminderStore } from '../src/storage/reminderStore';
import { createStaffDirectory } from '../src/storage/staffDirectory';
import { sweepReminders } from '../src/reminders/sweep';
import { embeddedDatabase, ENGINES } from './helpers/database';

const MORGAN = '11111111-1111-4111-8111-111111111111';
const SAM = '22222222-2222-4222-8222-222222222222';
const ALEX = '33333333-3333-4333-8333-333333333333';
const JO = '44444444-4444-4444-8444-444444444444';
const PAT = '55555555-5555-4555-8555-555555555555';

const STAFF: StaffMember[] = [
  { id: MORGAN, name: 'Morgan Reid', email: 'morgan.reid@council.example', role: 'manager', team: 'North', capacityPoints: 0, active: true },
  { id: SAM, name: 'Sam Patel', email: 'sam.patel@council.example', role: 'worker', team: 'North', lineManager: MORGAN, capacityPoints: 20, active: true },
  { id: ALEX, name: 'Alex Kim', email: 'alex.kim@council.example', role: 'worker', team: 'North', lineManager: MORGAN, capacityPoints: 20, active: true },
  { id: JO, name: 'Jo Left', email: 'jo.left@council.example', role: 'worker', team: 'North', lineManager: MORGAN, capacityPoints: 20, active: false },
  { id: PAT, name: 'Pat Nomanager', email: 'pat@council.example', role: 'worker', team: 'South', capacityPoints: 20, active: true },
];

/** The CLI's clock: today is Monday 30 November 2026 in London. */
const NOW = new Date('2026-11-30T10:00:00Z');
const TODAY = parseLocalDate('2026-11-30');

/** Names that must never appear in a message. */
const FAMILY = 'Secretfamily';
const CHILD = 'Hiddenchild';

type Doc = { cases: Array<Record<string, unknown>> };

/** A case as an authority's file gives it: allocated Monday 23 November, telephone contact the next day. */
function aCase(reference: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    reference,
    allocatedOn: '2026-11-23',
    leadProfessional: 'SAM.PATEL@council.example',
    caseloadPoints: 3,
    cafRequired: true,
    source: 'referral',
    referralReason: 'School attendance',
    family: { name: FAMILY, children: [{ name: CHILD, dateOfBirth: '2015-04-02' }] },
    events: [
      { type: 'telephone-contact-made', effectiveOn: '2026-11-24', by: 'sam.patel@council.example', data: {} },
      { type: 'contact-attempted', effectiveOn: '2026-11-25', by: SAM, data: { method: 'phone' } },
    ],
    ...overrides,
  };
}

/** A case that came down from CIN, was reallocated, and has since closed. */
function aClosedCase(reference: string): Record<string, unknown> {
  return {
    reference,
    allocatedOn: '2026-10-05',
    leadProfessional: ALEX,
    manager: 'morgan.reid@council.example',
    caseloadPoints: 4,
    cafRequired: false,
    source: 'cin-step-down',
    existingPlan: 'CAF Support Plan from the outgoing social worker',
    family: { name: FAMILY, children: [] },
    events: [
      { type: 'telephone-contact-made', effectiveOn: '2026-10-06', by: ALEX, data: {} },
      { type: 'visit', effectiveOn: '2026-10-08', by: ALEX, data: { childSeen: true, consentForm: true, medicalForm: true, homeChecked: true } },
      { type: 'reallocated', effectiveOn: '2026-10-20', by: MORGAN, data: { leadProfessional: 'sam.patel@council.example', caseloadPoints: 5 } },
      { type: 'closure-requested', effectiveOn: '2026-11-02', by: SAM, data: { reason: 'plan-achieved', summary: 'Attendance back to 95%' } },
      { type: 'closure-approved', effectiveOn: '2026-11-03', by: MORGAN, data: {} },
    ],
  };
}

describe('checking an import file (no database)', () => {
  const options = { staff: STAFF, today: TODAY };
  const fault = (doc: unknown): CaseImportError => {
    try {
      parseCaseImport(doc, options);
    } catch (e) {
      if (e instanceof CaseImportError) return e;
      throw e;
    }
    throw new Error('the file was accepted');
  };

  test('a case becomes its allocation followed by its events, staff named by e-mail in any case stored by id, the manager defaulting to the line manager', () => {
    const [imported] = parseCaseImport({ cases: [aCase('eh-2041')] }, options);
    expect(imported.reference).toBe('EH-2041');
    expect(imported.events.map((e) => e.type)).toEqual(['allocated', 'telephone-contact-made', 'contact-attempted']);
    expect(imported.events[0]).toMatchObject({ by: MORGAN, effectiveOn: '2026-11-23', data: { leadProfessional: SAM, manager: MORGAN, caseloadPoints: 3, referralReason: 'School attendance', initialActions: '' } });
    expect(imported.events[1]).toMatchObject({ by: SAM, effectiveOn: '2026-11-24' });
  });

  test('staff named inside event data (a reallocation) are found by e-mail and stored by id', () => {
    const [imported] = parseCaseImport({ cases: [aClosedCase('EH-2042')] }, options);
    expect(imported.events[3]).toMatchObject({ type: 'reallocated', data: { leadProfessional: SAM, caseloadPoints: 5 } });
  });

  test.each<[string, (c: Record<string, unknown>) => void, RegExp]>([
    ['a field the import does not know', (c) => (c.leadProfesional = SAM), /^cases\[0\] EH-2041: leadProfesional: is not a field of an imported case/],
    ['a withdrawal, whose event id the file cannot know', (c) => ((c.events as unknown[])[1] = { type: 'entered-in-error', effectiveOn: '2026-11-25', by: SAM, data: { eventId: 'x', reason: 'wrong case' } }), /events\[1\]\.type: a withdrawal cannot be imported/],
    ['a line manager missing where no manager is given', (c) => (c.leadProfessional = PAT), /^cases\[0\] EH-2041: manager: not given, and pat@council\.example has no line manager/],
    ['a manager who is a worker', (c) => (c.manager = ALEX), /manager: alex\.kim@council\.example is worker, not a manager/],
    ['someone who has left', (c) => ((c.events as Array<Record<string, unknown>>)[0].by = 'jo.left@council.example'), /events\[0\]\.by: jo\.left@council\.example is not active in the staff directory/],
    ['a step-down with no plan', (c) => (c.source = 'sgcp-step-down'), /existingPlan: a CIN or SGCP step-down arrives with a plan/],
    ['a child with no name', (c) => (c.family = { name: FAMILY, children: [{ name: ' ' }] }), /family\.children\[0\]\.name: /],
    ['an impossible date of birth', (c) => (c.family = { name: FAMILY, children: [{ name: CHILD, dateOfBirth: '2015-02-30' }] }), /family\.children\[0\]\.dateOfBirth: must be a real date/],
    ['a child not yet born on allocation', (c) => (c.family = { name: FAMILY, children: [{ name: CHILD, dateOfBirth: '2026-11-24' }] }), /family\.children\[0\]: the date of birth cannot be in the future/],
    ['an allocation before the referral', (c) => (c.referredOn = '2026-11-24'), /^cases\[0\] EH-2041: allocatedOn: 2026-11-23 is before the referral \(2026-11-24\)/],
    ['a manager\u2019s confirmation over capacity, which no file can speak for', (c) => (c.capacityConfirmed = { total: 30, capacity: 20 }), /capacityConfirmed: is not a field of an imported case/],
    ['a note the database cannot store', (c) => ((c.events as Array<Record<string, unknown>>)[0].data = { note: 'a\u0000b' }), /events\[0\]\.data\.note: contains a character that cannot be stored/],
  ])('refused: %s', (_name, spoil, message) => {
    const c = aCase('EH-2041');
    spoil(c);
    const e = fault({ cases: [c] });
    expect(e.message).toMatch(message);
    expect(e.message).not.toMatch(new RegExp(`${FAMILY}|${CHILD}`));
  });

  test('a family name typed into a staff column is not repeated in the message', () => {
    expect(fault({ cases: [aCase('EH-2041', { leadProfessional: FAMILY })] }).message).toBe('cases[0] EH-2041: leadProfessional: this value is not in the staff directory');
  });

  test('bad JSON is named by line and column, never quoted', () => {
    let error: unknown;
    try {
      readCaseImportJson(`{ "cases": [\n  { "family": { "name": "${FAMILY}" }, }\n] }`);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CaseImportError);
    expect((error as Error).message).toMatch(/^not valid JSON( \(at line 2, column \d+\))?$/);
  });
});

/** A database the CLI can reach through its environment, and the test between CLI runs. */
interface Rig {
  env: NodeJS.ProcessEnv;
  withDb<T>(fn: (db: Database) => Promise<T>): Promise<T>;
  dispose(): Promise<void>;
}

/** PGlite in a folder: one process at a time may hold it, so the test opens it only between CLI runs. */
async function embeddedRig(): Promise<Rig> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'earlyhelp-import-'));
  const dataDir = path.join(dir, 'pglite');
  return {
    env: { EARLYHELP_DATA_DIR: dir },
    async withDb(fn) {
      const t = await embeddedDatabase(dataDir);
      try {
        return await fn(t.db);
      } finally {
        await t.dispose();
      }
    },
    async dispose() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

const RIGS: Array<[string, () => Promise<Rig>]> = ENGINES.map(([name, open]) => [
  name,
  name === 'PGlite'
    ? embeddedRig
    : async () => {
        const t = await open();
        return { env: { DATABASE_URL: t.url! }, withDb: (fn) => fn(t.db), dispose: () => t.dispose() };
      },
]);

describe.each(RIGS)('earlyhelp cases import on %s', (_engine, openRig) => {
  let rig: Rig;
  let dir: string;

  beforeAll(async () => {
    rig = await openRig();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'case-import-'));
    await rig.withDb((db) => createStaffDirectory(db).save(STAFF, 'test'));
  });
  afterAll(async () => {
    await rig?.dispose();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  async function cli(...argv: string[]) {
    const out: string[] = [];
    const err: string[] = [];
    const io: CliIo = { stdout: (s) => void out.push(s), stderr: (s) => void err.push(s), env: { USER: 'ada', ...rig.env }, now: () => NOW };
    const code = await runCli(argv, io);
    return { code, stdout: out.join(''), stderr: err.join('') };
  }

  function file(name: string, content: Doc | string): string {
    const at = path.join(dir, name);
    fs.writeFileSync(at, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
    return at;
  }

  const counts = () =>
    rig.withDb(async (db) => {
      const [row] = await db.query<{ cases: number; events: number; imports: number }>(
        `SELECT (SELECT count(*)::int FROM cases) AS cases, (SELECT count(*)::int FROM case_events) AS events, (SELECT count(*)::int FROM audit_log WHERE action = 'case.import') AS imports`,
      );
      return row;
    });

  test('a good file imports every case with its events, read model, import mark and audit', async () => {
    const good = file('caseload.json', { cases: [aCase('EH-2041'), aClosedCase('EH-2042')] });
    const result = await cli('cases', 'import', good);
    expect(result).toEqual({ code: 0, stdout: `imported 2 cases (9 events) from ${good}\n`, stderr: '' });

    await rig.withDb(async (db) => {
      const log = createCaseLog(db);
      const open = await log.findByReference('EH-2041', { actor: 'test' });
      expect(open).toMatchObject({ reference: 'EH-2041', version: 3 });
      expect(open!.events.map((e) => [e.sequence, e.type, e.effectiveOn, e.by])).toEqual([
        [1, 'allocated', '2026-11-23', MORGAN],
        [2, 'telephone-contact-made', '2026-11-24', SAM],
        [3, 'contact-attempted', '2026-11-25', SAM],
      ]);
      expect(open!.events[0].data).toMatchObject({ family: { name: FAMILY, children: [{ name: CHILD, dateOfBirth: '2015-04-02' }] }, leadProfessional: SAM, manager: MORGAN });

      // The imported telephone contact meets the 2 WD obligation; the visit it did not record is still owed.
      const policy = loadPolicy();
      const owed = obligations(open!.events, policy, calendarFor(policy), TODAY);
      expect(owed.find((o) => o.kind === 'telephone-contact')).toMatchObject({ due: '2026-11-25', metOn: '2026-11-24', status: 'met-on-time' });
      expect(owed.find((o) => o.kind === 'personal-contact')).toMatchObject({ due: '2026-11-30', status: 'due-today' });

      const rows = await db.query(`SELECT reference, version, lead_professional, manager, caseload_points, status, allocated_on, closed_on FROM cases WHERE reference IN ('EH-2041', 'EH-2042') ORDER BY reference`);
      expect(rows).toEqual([
        { reference: 'EH-2041', version: 3, lead_professional: SAM, manager: MORGAN, caseload_points: 3, status: 'open', allocated_on: '2026-11-23', closed_on: null },
        { reference: 'EH-2042', version: 6, lead_professional: SAM, manager: MORGAN, caseload_points: 5, status: 'closed', allocated_on: '2026-10-05', closed_on: '2026-11-03' },
      ]);

      const marks = await db.query(`SELECT c.reference, e.imported_by, count(*)::int AS n FROM case_events e JOIN cases c ON c.id = e.case_id WHERE c.reference IN ('EH-2041', 'EH-2042') GROUP BY 1, 2 ORDER BY 1`);
      expect(marks).toEqual([
        { reference: 'EH-2041', imported_by: 'cli:ada', n: 3 },
        { reference: 'EH-2042', imported_by: 'cli:ada', n: 6 },
      ]);

      const audits = await db.query(`SELECT c.reference, a.actor, a.detail FROM audit_log a JOIN cases c ON c.id = a.case_id WHERE a.action = 'case.import' ORDER BY c.reference`);
      expect(audits).toEqual([
        { reference: 'EH-2041', actor: 'cli:ada', detail: { events: 3, file: 'caseload.json' } },
        { reference: 'EH-2042', actor: 'cli:ada', detail: { events: 6, file: 'caseload.json' } },
      ]);

      // What the reminders read of each case is kept at import (the closed case too: a sweep never reads it), so that
      // the next sweep reads them as it reads any case, not every event; staff ids and dates only, never the family.
      const kept = await db.query<{ reference: string; version: number; snapshot: string }>(
        `SELECT c.reference, s.version, s.snapshot FROM reminder_snapshots s JOIN cases c ON c.id = s.case_id WHERE c.reference IN ('EH-2041', 'EH-2042') ORDER BY 1`,
      );
      expect(kept.map((k) => [k.reference, k.version])).toEqual([['EH-2041', 3], ['EH-2042', 6]]);
      expect(kept.map((k) => k.snapshot).join('\n')).not.toMatch(new RegExp(`${FAMILY}|${CHILD}`));
      // And each open case's times: when its next escalation falls, and the first day its digest lists it.
      const [times] = await db.query<{ next_at: string; digest_on: string | null }>(`SELECT r.next_at::text, r.digest_on::text FROM case_reminders r JOIN cases c ON c.id = r.case_id WHERE c.reference = 'EH-2041'`);
      expect(times.next_at).not.toBe('-infinity');
      expect(times.digest_on).not.toBeNull();
      const policy2 = loadPolicy();
      const sweep = await sweepReminders({ db, caseLog: log, store: createReminderStore(db), policy: policy2, calendar: calendarFor(policy2), staff: () => createStaffDirectory(db).all() }, { now: new Date('2026-11-30T10:00:00Z'), dryRun: true });
      expect(sweep).toMatchObject({ casesFolded: 0 });
      expect(sweep.casesRead).toBeGreaterThan(0);

      // A case recorded the ordinary way afterwards carries no import mark, and its log goes on from the import.
      const later = await log.append(open!.caseId, open!.version, [{ type: 'personal-contact-made', by: SAM, effectiveOn: TODAY, data: {} }], { actor: SAM });
      expect(later.version).toBe(4);
      const [mark] = await db.query<{ imported_by: string | null }>('SELECT imported_by FROM case_events WHERE case_id = $1 AND sequence = 4', [open!.caseId]);
      expect(mark.imported_by).toBeNull();
    });
  });

  describe('a bad file is refused whole, naming the case and the field, with exit code 2', () => {
    let before: { cases: number; events: number; imports: number };
    beforeAll(async () => {
      before = await counts();
    });

    /** A good case first, then the spoilt one: neither is written. */
    const spoilt = (spoil: (c: Record<string, unknown>) => void, reference = 'EH-3002'): Doc => {
      const c = aCase(reference);
      spoil(c);
      return { cases: [aCase('EH-3001'), c] };
    };
    const event = (c: Record<string, unknown>, i: number) => (c.events as Array<Record<string, unknown>>)[i];

    test.each<[string, Doc | string, RegExp]>([
      ['bad JSON', `{ "cases": [ { "reference": "EH-3001", "family": { "name": "${FAMILY}" } `, /: not valid JSON/],
      ['no cases array', { cases: undefined } as unknown as Doc, /: cases: the file must be a JSON object with a "cases" array\n$/],
      ['unknown staff', spoilt((c) => (c.leadProfessional = 'nobody@council.example')), /cases\[1\] EH-3002: leadProfessional: nobody@council\.example is not in the staff directory/],
      ['a bad event type', spoilt((c) => (event(c, 1).type = 'telephoned')), /cases\[1\] EH-3002: events\[1\]\.type: "telephoned" is not an event type of the case log/],
      ['an allocation among the events', spoilt((c) => (event(c, 0).type = 'allocated')), /cases\[1\] EH-3002: events\[0\]\.type: the allocation comes from the case/],
      ['bad event data', spoilt((c) => (event(c, 1).data = { method: 'pigeon' })), /cases\[1\] EH-3002: events\[1\]\.data\.method: /],
      ['an event dated after today', spoilt((c) => (event(c, 1).effectiveOn = '2026-12-01')), /cases\[1\] EH-3002: events\[1\]\.effectiveOn: 2026-12-01 is after today \(2026-11-30\)/],
      ['an allocation dated after today', spoilt((c) => (c.allocatedOn = '2026-12-01')), /cases\[1\] EH-3002: allocatedOn: 2026-12-01 is after today \(2026-11-30\)/],
      ['an event before the allocation', spoilt((c) => (event(c, 0).effectiveOn = '2026-11-20')), /cases\[1\] EH-3002: events\[0\]\.effectiveOn: 2026-11-20 is before the case was allocated \(2026-11-23\)/],
      ['a child 18 on the allocation date', spoilt((c) => (c.family = { name: FAMILY, children: [{ name: CHILD, dateOfBirth: '2008-11-23' }] })), /cases\[1\] EH-3002: family\.children\[0\]: the child is 18 or over on 2026-11-23/],
      ['a reference twice in the file', spoilt(() => undefined, 'eh-3001'), /cases\[1\] EH-3001: reference: appears twice in the file \(also cases\[0\]\)/],
      ['a reference already in the database', spoilt(() => undefined, 'eh-2041'), /cases\[1\] EH-2041: reference: a case with this reference already exists/],
      ['caseload points not whole', spoilt((c) => (c.caseloadPoints = 2.5)), /cases\[1\] EH-3002: caseloadPoints: must be a whole number from 0 to 100/],
      ['caseload points over 100', spoilt((c) => (c.caseloadPoints = 101)), /cases\[1\] EH-3002: caseloadPoints: must be a whole number from 0 to 100/],
      ['a bad reference', spoilt(() => undefined, 'EH 3002!'), /cases\[1\]: reference: must be 3 to 31 letters, digits or dashes/],
    ])('%s', async (name, content, message) => {
      const at = file(`${name.replace(/\W+/g, '-')}.json`, content);
      const result = await cli('cases', 'import', at);
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(new RegExp(`^earlyhelp: ${at.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `));
      expect(result.stderr).toMatch(message);
      expect(result.stderr).not.toMatch(new RegExp(`${FAMILY}|${CHILD}`));
    });

    test('a file that cannot be read', async () => {
      const result = await cli('cases', 'import', path.join(dir, 'missing.json'));
      expect(result).toMatchObject({ code: 2, stderr: expect.stringMatching(/missing\.json: cannot be read \(ENOENT\)/) });
    });

    test('none of the refused files wrote a case, an event or an audit row', async () => {
      expect(await counts()).toEqual(before);
    });
  });
});
