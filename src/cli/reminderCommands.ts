import { TZDate } from '@date-fns/tz';
import type { Command } from 'commander';
import { calendarFor } from '../calendar';
import { isLocalDate } from '../localDate';
import { DEFAULT_POLICY_FILE, loadPolicy } from '../policy';
import { OFFICE_TIME_ZONE } from '../reminderTime';
import type { PlannedNotification } from '../reminders/plan';
import { digestInstant } from '../reminders/schedule';
import { sweepReminders } from '../reminders/sweep';
import { StaffMember } from '../staff';
import { createCaseLog } from '../storage/caseLog';
import { createReminderStore } from '../storage/reminderStore';
import { createStaffDirectory } from '../storage/staffDirectory';
import type { CliIo } from './main';
import { table } from './table';
import { UsageError } from './usageError';
import { withDatabase } from './withDatabase';

/**
 * `earlyhelp reminders`: one sweep of the scheduler, on demand. `--now` sets its clock (a date-time
 * without an offset is London time; a bare date is that day's digest time); `--dry-run` shows what
 * it would send and changes nothing. It prints references, obligations and staff, never a family.
 */
export function registerReminderCommands(program: Command, io: CliIo): void {
  program
    .command('reminders')
    .description('run one sweep of the reminders scheduler: plan the digests and escalations now due into the outbox (the running server delivers them)')
    .option('--now <instant>', 'the scheduler\u2019s clock for this sweep: 2026-12-07T08:30 (London), an instant with an offset, or a date (its digest time)')
    .option('--dry-run', 'print what the sweep would send, and change nothing')
    .option('--json', 'print a JSON array, one object per notification')
    .option('--policy <file>', 'practice policy file (default: $EARLYHELP_POLICY or policies/default.json)')
    .action((o: { now?: string; dryRun?: boolean; json?: boolean; policy?: string }) => {
      const policy = loadPolicy(o.policy ?? io.env.EARLYHELP_POLICY ?? DEFAULT_POLICY_FILE);
      const now = o.now ? parseNow(o.now, (day) => digestInstant(day, policy)) : io.now();
      return withDatabase(io, async (db) => {
        const directory = createStaffDirectory(db);
        const staff = await directory.all();
        const result = await sweepReminders(
          { db, caseLog: createCaseLog(db), store: createReminderStore(db), policy, calendar: calendarFor(policy), staff: async () => staff },
          { now, dryRun: o.dryRun, holder: `cli:${io.env.USER ?? 'administrator'}:${process.pid}` },
        );
        if (result.skipped) throw new Error(`${result.skipped}: try again in a minute`);
        const byId = new Map(staff.map((m) => [m.id, m]));
        if (o.json) {
          io.stdout(`${JSON.stringify(result.planned.map((n) => asJson(n, byId)), null, 2)}\n`);
          return;
        }
        io.stdout(`${o.dryRun ? 'would send' : 'planned'} ${result.planned.length} notification${result.planned.length === 1 ? '' : 's'} at ${LONDON.format(now)} London time (${result.casesRead} cases read)\n`);
        const rows = result.planned.flatMap((n) => (n.items.length ? n.items : [null]).map((i) => [nameOf(n.recipient, byId), n.type, i?.case ?? '', i?.obligation ?? (n.unreachable?.length ? 'cannot be reached: ' + n.unreachable.map((u) => nameOf(u, byId)).join(', ') : ''), i?.due ?? '', i?.status ?? '']));
        if (rows.length) io.stdout(table(['to', 'type', 'case', 'obligation', 'due', 'status'], rows));
      });
    });
}

const LONDON = new Intl.DateTimeFormat('en-GB', { timeZone: OFFICE_TIME_ZONE, weekday: 'short', day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit' });

const nameOf = (id: string, byId: ReadonlyMap<string, StaffMember>) => byId.get(id)?.name ?? id;
const emailOf = (id: string, byId: ReadonlyMap<string, StaffMember>) => byId.get(id)?.email ?? id;

/** The `--json` shape others rely on: recipient e-mail, type, items (case, obligation, due, status), and the rest. */
function asJson(n: PlannedNotification, byId: ReadonlyMap<string, StaffMember>) {
  return {
    recipient: emailOf(n.recipient, byId),
    type: n.type,
    day: n.day,
    items: n.items.map((i) => ({ case: i.case, obligation: i.obligation, due: i.due, ...(i.latest ? { latest: i.latest } : {}), status: i.status, kind: i.kind, worker: emailOf(i.worker, byId) })),
    ...(n.onBehalfOf?.length ? { onBehalfOf: n.onBehalfOf.map((id) => emailOf(id, byId)) } : {}),
    ...(n.unreachable?.length ? { unreachable: n.unreachable.map((id) => emailOf(id, byId)) } : {}),
    ...(n.teamSummary ? { teamSummary: { ...n.teamSummary, workers: n.teamSummary.workers.map((w) => ({ ...w, worker: emailOf(w.worker, byId), items: w.items.map((i) => ({ case: i.case, obligation: i.obligation, due: i.due, status: i.status })) })), longOpenCases: n.teamSummary.longOpenCases.map((c) => ({ case: c.case, worker: emailOf(c.worker, byId), allocatedOn: c.allocatedOn, maximumReachedOn: c.maximumReachedOn })) } } : {}),
  };
}

const WALL_CLOCK = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?$/;
const WITH_OFFSET = /(Z|[+-]\d{2}:?\d{2})$/i;

/** `--now`: an instant with an offset as given; a date-time without one in London; a bare date at its digest time. */
export function parseNow(input: string, digestTimeOf: (day: never) => Date): Date {
  const text = input.trim();
  if (isLocalDate(text)) return digestTimeOf(text as never);
  const wall = WALL_CLOCK.exec(text);
  if (wall && !WITH_OFFSET.test(text)) {
    const [, y, mo, d, h, mi, s] = wall.map(Number);
    const instant = new Date(new TZDate(y, mo - 1, d, h, mi, s || 0, OFFICE_TIME_ZONE).getTime());
    if (isLocalDate(`${wall[1]}-${wall[2]}-${wall[3]}`) && h < 24 && mi < 60) return instant;
  }
  if (WITH_OFFSET.test(text) && /^\d{4}-\d{2}-\d{2}T/.test(text)) {
    const instant = new Date(text);
    if (!Number.isNaN(instant.getTime())) return instant;
  }
  throw new UsageError(`--now ${JSON.stringify(input)}: give a date-time such as 2026-12-07T08:30 (London time), one with an offset (2026-12-07T08:30:00Z), or a date`);
}
