import { caseState } from '../src/caseState';
import { StaffMember } from '../src/staff';
import { CaseRecord } from '../src/storage/caseLog';
import { supervisionsOutstanding } from '../src/supervision';
import { formatDay } from './cards/labels';
import { AdaptiveCard, expandCard } from './cards/template';
import { casesInView } from './caseLists';
import { BotServices } from './services';
import { staffNames } from './staffNames';

/**
 * The `supervision` card. A manager records a supervision (the cases of one worker discussed, and
 * the day) and completes its record (returned to the worker, then authorised); a worker sees their
 * supervisions and where each record stands. It goes to personal chats only: it names families.
 */

interface RecordRow {
  title: string;
  detail: string;
  /** The next stage to record, for a manager ('' when nothing is left to record). */
  stage: '' | 'returned' | 'authorised';
  action: string;
  on: string;
  caseIds: string;
}

/** A manager's rows: the records still to return or authorise across the team, oldest first. */
async function managerRows(services: BotServices, records: CaseRecord[]): Promise<RecordRow[]> {
  const today = services.today();
  const outstanding = supervisionsOutstanding(records);
  const workers = await staffNames(services, outstanding.map((o) => o.worker));
  return outstanding.map((o) => ({
    title: `${workers.get(o.worker) ?? 'A worker'}, supervision of ${formatDay(o.on, today)}`,
    detail: `${o.references.join(', ')}: record ${o.stage === 'returned' ? 'to return to the worker' : 'returned, to authorise'}`,
    stage: o.stage,
    action: o.stage === 'returned' ? 'Record returned to worker' : 'Record authorised',
    on: o.on,
    caseIds: o.caseIds.join(','),
  }));
}

/** A worker's rows: each supervision of their open cases, newest first, with where its record stands. */
async function workerRows(services: BotServices, records: CaseRecord[]): Promise<RecordRow[]> {
  const today = services.today();
  const days = new Map<string, { on: string; by: string; references: string[]; returnedOn?: string; authorisedOn?: string }>();
  for (const record of records) {
    for (const s of caseState(record.events).supervisions) {
      const day = days.get(s.on) ?? { on: s.on, by: s.by, references: [] };
      day.references.push(record.reference);
      day.returnedOn ??= s.returnedOn;
      day.authorisedOn ??= s.authorisedOn;
      days.set(s.on, day);
    }
  }
  const managers = await staffNames(services, [...days.values()].map((d) => d.by));
  return [...days.values()]
    .sort((a, b) => b.on.localeCompare(a.on))
    .map((d) => ({
      title: `${formatDay(d.on as never, today)} with ${managers.get(d.by) ?? 'your manager'}: ${d.references.join(', ')}`,
      detail: d.authorisedOn ? `Record returned ${formatDay(d.returnedOn as never, today)}, authorised ${formatDay(d.authorisedOn as never, today)}` : d.returnedOn ? `Record returned ${formatDay(d.returnedOn as never, today)}, not yet authorised` : 'Record not yet returned',
      stage: '' as const,
      action: '',
      on: d.on,
      caseIds: '',
    }));
}

export async function supervisionCardFor(services: BotServices, viewer: StaffMember, extra: { message?: string; notice?: string; chosen?: string } = {}): Promise<AdaptiveCard> {
  const records = await casesInView(services, viewer);
  const canRecord = viewer.role === 'manager';
  const holders = canRecord ? await staffNames(services, records.map((r) => caseState(r.events).leadProfessional)) : new Map<string, string>();
  const cases = canRecord
    ? records
        .map((r) => ({ r, state: caseState(r.events) }))
        // Never a manager's own case: supervision is of someone else.
        .filter(({ state }) => state.leadProfessional !== viewer.id)
        .map(({ r, state }) => ({ caseId: r.caseId, title: `${r.reference} · ${holders.get(state.leadProfessional) ?? 'unknown'} · ${state.family?.name ?? ''}`, worker: holders.get(state.leadProfessional) ?? '' }))
        .sort((a, b) => a.worker.localeCompare(b.worker) || a.title.localeCompare(b.title))
    : [];
  const rows = canRecord ? await managerRows(services, records) : await workerRows(services, records);
  return expandCard('supervision', {
    message: extra.message ?? '',
    notice: extra.notice ?? '',
    canRecord,
    cases,
    chosen: extra.chosen ?? '',
    today: services.today(),
    records: rows,
    recordsTitle: canRecord ? 'Records to complete' : 'Your supervisions',
    recordsEmpty: canRecord ? 'No supervision records are waiting.' : 'No supervisions recorded on your open cases yet.',
  });
}
