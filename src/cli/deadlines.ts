import { calendarFor } from '../calendar';
import { NewCaseEvent } from '../caseEvents';
import { hypotheticalCase } from '../hypotheticalCase';
import { LocalDate, parseLocalDate } from '../localDate';
import { Obligation, obligations } from '../obligations';
import { Policy } from '../policy';
import { table } from './table';
import { UsageError } from './usageError';

export interface DeadlinesRequest {
  allocated: string;
  taf: string[];
  cafRequired: boolean;
  today: LocalDate;
  policy: Policy;
}

/** The obligations of a case allocated on a given day, with the TAF meetings given, as of `today`. */
export function deadlinesOf(request: DeadlinesRequest): Obligation[] {
  const allocatedOn = parseDateOption(request.allocated, '--allocated');
  const tafDates = request.taf.map((t) => parseDateOption(t, '--taf')).sort();
  for (const taf of tafDates) {
    if (taf < allocatedOn) throw new UsageError(`--taf ${taf} is before the allocation date ${allocatedOn}`);
  }
  const events: NewCaseEvent[] = [
    {
      type: 'allocated',
      by: 'cli',
      effectiveOn: allocatedOn,
      data: { leadProfessional: 'lead-professional', manager: 'manager', caseloadPoints: 0, initialActions: '', cafRequired: request.cafRequired, source: 'referral' },
    },
    ...tafDates.map((taf): NewCaseEvent => ({ type: 'taf-held', by: 'cli', effectiveOn: taf, data: {} })),
  ];
  return obligations(hypotheticalCase(events), request.policy, calendarFor(request.policy), request.today);
}

export function parseDateOption(value: string, option: string): LocalDate {
  try {
    return parseLocalDate(value);
  } catch {
    throw new UsageError(`${option}: ${JSON.stringify(value)} is not a real date (expected YYYY-MM-DD)`);
  }
}

/** JSON for scripts: at least `kind` and `due`, and `latest` for a TAF review. */
export function deadlinesJson(list: Obligation[]): string {
  return JSON.stringify(
    list.map((o) => ({ kind: o.kind, due: o.due, ...(o.latest ? { latest: o.latest } : {}), status: o.status, from: o.from, ...(o.provisional ? { provisional: true } : {}), rule: o.rule })),
    null,
    2,
  );
}

export function deadlinesTable(list: Obligation[]): string {
  return table(
    ['kind', 'due', 'latest', 'status', 'rule'],
    list.map((o) => [o.kind, o.due + (o.provisional ? '*' : ''), o.latest ?? '', o.status, o.rule]),
  ) + (list.some((o) => o.provisional) ? '\n* provisional: counted from an expected date, not an actual one\n' : '');
}
