import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { calendarFor } from '../calendar';
import { absenceFault } from '../absenceWords';
import { alreadyInCaseLog, CaseImportError, parseCaseImport, readCaseImportJson } from '../caseImport';
import { londonDateOf } from '../localDate';
import { obligations } from '../obligations';
import { DEFAULT_POLICY_FILE, loadPolicy } from '../policy';
import { keepForSweeps } from '../reminders/sweep';
import { parseStaffCsv, StaffError, StaffMember, validateStaffMember } from '../staff';
import { readAudit } from '../storage/audit';
import { createCaseLog, DuplicateReferenceError } from '../storage/caseLog';
import { Database } from '../storage/database';
import { migrate, pendingMigrations } from '../storage/migrations';
import { createReminderStore } from '../storage/reminderStore';
import { createStaffDirectory } from '../storage/staffDirectory';
import type { CliIo } from './main';
import { withDatabase as withDatabaseOf } from './withDatabase';
import { parseDateOption } from './deadlines';
import { table } from './table';
import { UsageError } from './usageError';

/** A file named on the command line, or a usage error saying why it cannot be read. */
function readInput(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`${file}: cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/** Commands that read or change the database: migrate, staff, cases, case, audit. */
export function registerDataCommands(program: Command, io: CliIo): void {
  /** The administrator's reads and changes are audited under this name. */
  const actor = `cli:${io.env.USER ?? 'administrator'}`;

  const withDatabase = <T>(fn: (db: Database) => Promise<T>, options?: { migrate?: boolean }) => withDatabaseOf(io, fn, options);

  program
    .command('migrate')
    .description('bring the database schema up to date ($DATABASE_URL, or the embedded database in $EARLYHELP_DATA_DIR)')
    .option('--status', 'list pending migrations and change nothing')
    .action((options: { status?: boolean }) =>
      withDatabase(
        async (db) => {
          if (options.status) {
            const pending = await pendingMigrations(db);
            io.stdout(pending.length ? pending.map((m) => `pending ${m.version} ${m.name}\n`).join('') : 'up to date\n');
            return;
          }
          const applied = await migrate(db);
          io.stdout(applied.length ? applied.map((m) => `applied ${m.version} ${m.name}\n`).join('') : 'up to date\n');
        },
        { migrate: false },
      ),
    );

  const staff = program.command('staff').description('the staff directory');
  staff
    .command('import')
    .argument('<file>', 'CSV with columns id,name,email,role,team,lineManager,capacityPoints[,active]')
    .description('add or update staff from a CSV file, all or nothing')
    .action((file: string) => {
      const text = readInput(file);
      return withDatabase(async (db) => {
        const directory = createStaffDirectory(db);
        const known = await directory.all();
        const members = toUsage(() => parseStaffCsv(text, file, known));
        await directory.save(members, actor);
        io.stdout(`imported ${members.length} staff from ${file}\n`);
      });
    });
  staff
    .command('add')
    .description('add or update one member of staff')
    .requiredOption('--id <guid>', 'Entra ID object id')
    .requiredOption('--name <name>', 'full name')
    .requiredOption('--email <email>', 'work e-mail')
    .requiredOption('--role <role>', 'worker, manager, business-support or administrator')
    .requiredOption('--team <team>', 'team name')
    .option('--line-manager <idOrEmail>', 'line manager (id or e-mail, already in the directory)')
    .option('--capacity <points>', 'caseload capacity in points', '0')
    .action((o: { id: string; name: string; email: string; role: string; team: string; lineManager?: string; capacity: string }) =>
      withDatabase(async (db) => {
        const directory = createStaffDirectory(db);
        const member = toUsage(() => validateStaffMember({ id: o.id, name: o.name, email: o.email, role: o.role, team: o.team, lineManager: o.lineManager, capacityPoints: o.capacity }, 'staff add'));
        if (member.lineManager) {
          const known = await directory.all();
          const manager = known.find((m) => m.id === member.lineManager || m.email === member.lineManager);
          if (!manager) throw new UsageError(`--line-manager: ${member.lineManager} is not in the directory`);
          member.lineManager = manager.id;
        }
        await directory.save([member], actor);
        io.stdout(`saved ${member.name} (${member.role}, ${member.team})\n`);
      }),
    );
  const findMember = async (db: Database, idOrEmail: string) => {
    const all = await createStaffDirectory(db).all();
    const member = all.find((m) => m.id === idOrEmail.toLowerCase() || m.email === idOrEmail.toLowerCase());
    if (!member) throw new UsageError(`<member>: ${idOrEmail} is not in the directory`);
    return member;
  };
  staff
    .command('absent')
    .argument('<member>', 'id or e-mail')
    .option('--from <date>', 'the first day of leave, YYYY-MM-DD (default: today)')
    .requiredOption('--until <date>', 'the last day of leave, YYYY-MM-DD')
    .description('mark someone on leave from one day to another (both inclusive): their line or duty manager covers meanwhile')
    .action((idOrEmail: string, o: { from?: string; until: string }) => {
      // Bad dates are refused before the database is opened: nothing is written.
      const until = parseDateOption(o.until, '--until');
      const today = londonDateOf(io.now());
      const from = o.from === undefined ? today : parseDateOption(o.from, '--from');
      const fault = absenceFault(from, until, today);
      if (fault === 'ends-before-start') throw new UsageError(`--from: ${from} is after --until ${until}`);
      if (fault === 'ended') throw new UsageError(`--until: ${until} is in the past (today is ${today})`);
      return withDatabase(async (db) => {
        const member = await findMember(db, idOrEmail);
        await createStaffDirectory(db).save([{ ...member, absentFrom: from, absentUntil: until }], actor);
        io.stdout(`${member.name} is away from ${from} to ${until} (inclusive)\n`);
      });
    });
  staff
    .command('back')
    .argument('<member>', 'id or e-mail')
    .description('mark someone back from leave (a leave still to come is cancelled too)')
    .action((idOrEmail: string) =>
      withDatabase(async (db) => {
        const member = await findMember(db, idOrEmail);
        const { absentFrom: _from, absentUntil: _until, ...back } = member;
        await createStaffDirectory(db).save([back], actor);
        io.stdout(`${member.name} is back\n`);
      }),
    );
  staff
    .command('list')
    .description('list the staff directory')
    .action(() =>
      withDatabase(async (db) => {
        const all = await createStaffDirectory(db).all();
        io.stdout(table(['id', 'name', 'role', 'team', 'capacity', 'active', 'away'], all.map((m) => [m.id, m.name, m.role, m.team, String(m.capacityPoints), m.active ? 'yes' : 'no', awayOf(m)])));
      }),
    );

  const cases = program
    .command('cases')
    .description('list cases: reference, lead professional, status (no family details)')
    .option('--status <status>', 'open, closure-requested or closed')
    .action((o: { status?: string }) =>
      withDatabase(async (db) => {
        if (o.status && !['open', 'closure-requested', 'closed'].includes(o.status)) throw new UsageError(`--status: ${o.status} is not open, closure-requested or closed`);
        const rows = await createCaseLog(db).listCases({ status: o.status }, { actor });
        const nameOf = namesOf(await createStaffDirectory(db).all());
        io.stdout(table(['reference', 'lead professional', 'manager', 'status', 'allocated', 'version'], rows.map((r) => [r.reference, nameOf(r.leadProfessional), nameOf(r.manager), r.status, r.allocatedOn ?? '', String(r.version)])));
      }),
    );

  cases
    .command('import')
    .argument('<file>', 'JSON: { "cases": [ { "reference", "allocatedOn", "leadProfessional", "manager", "caseloadPoints", "cafRequired", "source", "family", "events": [...] } ] }')
    .description('bring in open cases part way through, each with its allocation and events since, all or nothing')
    .action((file: string) => {
      const text = readInput(file);
      // A file that is not JSON is refused before the database is opened.
      const document = importFault(file, () => readCaseImportJson(text));
      return withDatabase(async (db) => {
        const staff = await createStaffDirectory(db).all();
        const imported = importFault(file, () => parseCaseImport(document, { staff, today: londonDateOf(io.now()) }));
        const caseLog = createCaseLog(db);
        let written: Array<{ caseId: string }>;
        try {
          written = await caseLog.importCases(imported, { actor, file: path.basename(file) });
        } catch (e) {
          if (e instanceof DuplicateReferenceError) throw new UsageError(`${file}: ${alreadyInCaseLog(imported, e.reference).message}`);
          throw e;
        }
        const events = imported.reduce((n, c) => n + c.events.length, 0);
        io.stdout(`imported ${imported.length} cases (${events} events) from ${file}\n`);
        // What the reminders read of each case, kept now, so that the next sweep does not fold them all.
        // Only a cache: should it fail, the cases stand imported and the sweep works them out itself.
        try {
          const policy = loadPolicy(io.env.EARLYHELP_POLICY ?? DEFAULT_POLICY_FILE);
          const sweeps = { db, caseLog, store: createReminderStore(db), policy, calendar: calendarFor(policy), staff: () => createStaffDirectory(db).all() };
          await keepForSweeps(sweeps, written.map((c) => c.caseId), io.now());
        } catch (e) {
          io.stderr(`the reminders will work the imported cases out at their next sweep (${(e as Error).message})\n`);
        }
      });
    });

  program
    .command('case')
    .description("one case's event log and obligations (event types and dates, no family details); the read is audited")
    .argument('<reference>', 'case reference')
    .option('--policy <file>', 'practice policy file')
    .option('--json', 'print JSON')
    .action((reference: string, o: { policy?: string; json?: boolean }) =>
      withDatabase(async (db) => {
        const record = await createCaseLog(db).findByReference(reference.toUpperCase(), { actor });
        if (!record) throw new UsageError(`<reference>: no case ${reference}`);
        const policy = loadPolicy(o.policy ?? io.env.EARLYHELP_POLICY ?? DEFAULT_POLICY_FILE);
        const owed = obligations(record.events, policy, calendarFor(policy), londonDateOf(io.now()));
        const events = record.events.map((e) => ({ sequence: e.sequence, type: e.type, effectiveOn: e.effectiveOn, by: e.by, recordedAt: e.recordedAt }));
        if (o.json) {
          io.stdout(`${JSON.stringify({ reference: record.reference, version: record.version, events, obligations: owed }, null, 2)}\n`);
          return;
        }
        io.stdout(`${record.reference} (version ${record.version})\n\n`);
        io.stdout(table(['#', 'event', 'on', 'by', 'recorded at'], events.map((e) => [String(e.sequence), e.type, e.effectiveOn, e.by, e.recordedAt])));
        io.stdout('\n');
        io.stdout(table(['obligation', 'due', 'latest', 'status'], owed.map((x) => [x.kind, x.due, x.latest ?? '', x.status])));
      }),
    );

  program
    .command('audit')
    .description('who read or changed what, newest first')
    .option('--case <reference>', 'one case')
    .option('--actor <idOrEmail>', 'one person (a staff id or e-mail, or a name such as cli:ada or demo)')
    .option('--limit <n>', 'how many', '50')
    .action((o: { case?: string; actor?: string; limit: string }) =>
      withDatabase(async (db) => {
        const limit = Number(o.limit);
        if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit: ${o.limit} is not a positive whole number`);
        let caseId: string | undefined;
        if (o.case) {
          const [row] = await db.query<{ id: string }>('SELECT id FROM cases WHERE reference = $1', [o.case.toUpperCase()]);
          if (!row) throw new UsageError(`--case: no case ${o.case}`);
          caseId = row.id;
        }
        const staff = await createStaffDirectory(db).all();
        const actorId = o.actor && (staff.find((m) => m.email === o.actor!.toLowerCase())?.id ?? o.actor);
        const rows = await readAudit(db, { caseId, actor: actorId, limit });
        const caseIds = [...new Set(rows.map((r) => r.case_id).filter((id): id is string => id !== null))];
        const references = new Map((caseIds.length ? await db.query<{ id: string; reference: string }>('SELECT id, reference FROM cases WHERE id = ANY($1::text[])', [caseIds]) : []).map((c) => [c.id, c.reference]));
        const nameOf = namesOf(staff);
        io.stdout(table(['at', 'actor', 'action', 'case', 'detail'], rows.map((r) => [r.at, nameOf(r.actor), r.action, r.case_id ? (references.get(r.case_id) ?? r.case_id) : '', JSON.stringify(r.detail)])));
      }),
    );
}

/**
 * A staff id as the administrator knows the person: their name. Ids not in the directory (the
 * system's own actors, such as `demo` or `cli:ada`, or someone since removed) are shown as they are.
 */
function namesOf(staff: StaffMember[]): (id: string | null) => string {
  const names = new Map(staff.map((m) => [m.id, m.name]));
  return (id) => (id === null ? '' : (names.get(id) ?? id));
}

/** A leave as the staff list shows it: "2026-12-21 to 2027-01-04"; one set before leave had a start, "until 2027-01-04". */
function awayOf(m: StaffMember): string {
  if (!m.absentUntil) return '';
  return m.absentFrom ? `${m.absentFrom} to ${m.absentUntil}` : `until ${m.absentUntil}`;
}

/** A fault in an import file is bad input: exit 2, the file, case, field and reason named. */
function importFault<T>(file: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof CaseImportError) throw new UsageError(`${file}: ${e.message}`);
    throw e;
  }
}

/** Staff validation errors are bad input: exit 2 with the row and field named. */
function toUsage<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof StaffError) throw new UsageError(e.message);
    throw e;
  }
}
