import type { Command } from 'commander';
import { calendarFor } from '../calendar';
import { GraphConfigError, graphConfigFromEnv } from '../graph/config';
import { DEFAULT_POLICY_FILE, loadPolicy } from '../policy';
import { OFFICE_TIME_ZONE } from '../reminderTime';
import { StaffMember } from '../staff';
import { recordAudit } from '../storage/audit';
import { createCaseLog } from '../storage/caseLog';
import { createMeetingStore, TafMeeting } from '../storage/meetingStore';
import { createStaffDirectory } from '../storage/staffDirectory';
import { bookingPass, PlannedBooking } from '../taf/bookingPass';
import type { CliIo } from './main';
import { parseNow } from './reminderCommands';
import { table } from './table';
import { UsageError } from './usageError';
import { withDatabase } from './withDatabase';

/**
 * `earlyhelp taf book [--now ISO] [--dry-run] [--json]`: one booking pass, what the scheduler runs
 * (the running server books what it plans); `earlyhelp meetings [--case REF] [--json]`: the
 * meetings booked, with their state. References, kinds, times and staff only: never a family.
 */
export function registerMeetingCommands(program: Command, io: CliIo): void {
  const actor = `cli:${io.env.USER ?? 'administrator'}`;
  const policyOf = (file?: string) => loadPolicy(file ?? io.env.EARLYHELP_POLICY ?? DEFAULT_POLICY_FILE);

  const taf = program.command('taf').description('TAF meetings');
  taf
    .command('book')
    .description('run one booking pass: plan a TAF meeting for every open case that needs one (the running server books it in Outlook, or in the product\u2019s own calendar without Microsoft 365)')
    .option('--now <instant>', 'the pass\u2019s clock: 2026-12-07T08:30 (London), an instant with an offset, or a date')
    .option('--dry-run', 'print what the pass would book, and change nothing')
    .option('--json', 'print a JSON array, one object per meeting')
    .option('--policy <file>', 'practice policy file (default: $EARLYHELP_POLICY or policies/default.json)')
    .action((o: { now?: string; dryRun?: boolean; json?: boolean; policy?: string }) => {
      const policy = policyOf(o.policy);
      const now = o.now ? parseNow(o.now, (day) => new Date(`${day}T12:00:00Z`)) : io.now();
      let outlook: boolean;
      try {
        outlook = graphConfigFromEnv(io.env) !== null;
      } catch (e) {
        if (e instanceof GraphConfigError) throw new UsageError(e.message);
        throw e;
      }
      return withDatabase(io, async (db) => {
        const byId = new Map((await createStaffDirectory(db).all()).map((m) => [m.id, m]));
        const result = await bookingPass({ db, caseLog: createCaseLog(db), meetings: createMeetingStore(db), policy, calendar: calendarFor(policy), calendarKind: outlook ? 'outlook' : 'local' }, { now, dryRun: o.dryRun });
        if (o.json) {
          io.stdout(`${JSON.stringify(result.planned.map((p) => plannedJson(p, byId)), null, 2)}\n`);
          return;
        }
        const where = outlook ? 'in Outlook' : 'in the product\u2019s own calendar (local mode)';
        io.stdout(`${o.dryRun ? 'would book' : 'planned'} ${result.planned.length} TAF meeting${result.planned.length === 1 ? '' : 's'} ${where} (${result.casesRead} cases read)\n`);
        if (result.planned.length) io.stdout(table(['case', 'meeting', 'organiser', 'from', 'aim', 'by'], result.planned.map((p) => [p.reference, p.kind, emailOf(p.organiser, byId), p.window.from, p.window.aim, p.deadline])));
      });
    });

  program
    .command('meetings')
    .description('list the TAF meetings booked, with their state')
    .option('--case <reference>', 'one case\u2019s meetings')
    .option('--json', 'print a JSON array')
    .action((o: { case?: string; json?: boolean }) =>
      withDatabase(io, async (db) => {
        let caseId: string | undefined;
        if (o.case) {
          const record = await createCaseLog(db).findByReference(o.case, { actor });
          if (!record) throw new UsageError(`--case ${o.case}: no such case`);
          caseId = record.caseId;
        }
        const meetings = await createMeetingStore(db).list({ caseId });
        if (caseId) await recordAudit(db, { actor, action: 'taf.list', caseId, detail: { meetings: meetings.length } });
        const byId = new Map((await createStaffDirectory(db).all()).map((m) => [m.id, m]));
        if (o.json) {
          io.stdout(`${JSON.stringify(meetings.map((m) => meetingJson(m, byId)), null, 2)}\n`);
          return;
        }
        if (meetings.length === 0) {
          io.stdout('no TAF meetings booked\n');
          return;
        }
        io.stdout(table(['case', 'meeting', 'when (London)', 'state', 'by', 'organiser', 'calendar'], meetings.map((m) => [m.reference, m.kind, m.startsAt ? LONDON.format(m.startsAt) : '(booking)', stateWords(m), m.deadline, emailOf(m.organiser, byId), m.calendar])));
      }),
    );
}

const LONDON = new Intl.DateTimeFormat('en-GB', { timeZone: OFFICE_TIME_ZONE, weekday: 'short', day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit' });

const emailOf = (id: string, byId: ReadonlyMap<string, StaffMember>) => byId.get(id)?.email ?? id;

function stateWords(m: TafMeeting): string {
  const notes = [m.late ? 'after its deadline' : '', m.conflicts ? `${m.conflicts} not free` : '', m.outcomeReason ?? ''].filter(Boolean);
  return notes.length ? `${m.state} (${notes.join('; ')})` : m.state;
}

function plannedJson(p: PlannedBooking, byId: ReadonlyMap<string, StaffMember>) {
  return { meetingId: p.meetingId, case: p.reference, obligation: p.obligationId, kind: p.kind, organiser: emailOf(p.organiser, byId), deadline: p.deadline, window: { from: p.window.from, to: p.window.to, aim: p.window.aim } };
}

function meetingJson(m: TafMeeting, byId: ReadonlyMap<string, StaffMember>) {
  return {
    id: m.id,
    case: m.reference,
    obligation: m.obligationId,
    kind: m.kind,
    state: m.state,
    calendar: m.calendar,
    organiser: emailOf(m.organiser, byId),
    deadline: m.deadline,
    ...(m.startsAt ? { start: m.startsAt.toISOString() } : {}),
    ...(m.endsAt ? { end: m.endsAt.toISOString() } : {}),
    late: m.late,
    conflicts: m.conflicts,
    ...(m.joinUrl ? { joinUrl: m.joinUrl } : {}),
    ...(m.outcomeReason ? { reason: m.outcomeReason } : {}),
  };
}
