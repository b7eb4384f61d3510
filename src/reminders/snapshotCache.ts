import { createHash } from 'node:crypto';
import type { WorkingDayCalendar } from '../calendar';
import { CaseEvent, standingEvents } from '../caseEvents';
import { caseState } from '../caseState';
import type { LocalDate } from '../localDate';
import { addPeriod, Obligation, ObligationKind, ObligationRules, obligations, rulesOf } from '../obligations';
import type { Policy } from '../policy';
import { isOpen, statusOn } from './digest';
import type { CaseSnapshot, PlannerCaseState } from './types';

/**
 * What a sweep keeps of a case between sweeps, so that a morning sweep need not read and fold every
 * event of every case due: the case as the planner reads it, worked out at a version of the case.
 *
 * Only what the planner reads is kept (src/reminders/types.ts `PlannerCaseState`, the open
 * obligations, which of them were escalated): staff ids, dates, kinds and ids, never a family's or
 * a child's name or circumstances. An obligation's status is not kept: it is worked out again for
 * the sweep's day from its dates, so what was kept on an earlier day still holds.
 *
 * A kept snapshot is used only while it says what folding the events would say:
 * - at the case's version (every change to a case moves it on);
 * - under the same rules (`snapshotRulesOf`: the timescales, the calendar, the code of the folds);
 * - on a day that sees the same events: the obligations depend on the day only through which
 *   events fall on or before it (a TAF review's needs escalated "between the last TAF and today"),
 *   so a snapshot holds from the case's latest event on or before the day it was worked out, until
 *   its first event after that day, if any (`validityOf`).
 */

/** An open obligation as kept. Its id is `kind:from`, as `obligations` makes every id. */
export interface CachedObligation {
  kind: ObligationKind;
  from: LocalDate;
  due: LocalDate;
  latest?: LocalDate;
  provisional?: true;
  /** Which of the policy's rules, by name (the words are the policy's). */
  rule: keyof ObligationRules;
  /** Escalated already (an `escalated` event names it). */
  escalated?: true;
}

export interface CachedSnapshot {
  status: PlannerCaseState['status'];
  leadProfessional: string;
  manager: string;
  caseloadPoints: number;
  allocatedOn: LocalDate;
  /** The CAF submission awaiting a decision: its event id and day. */
  cafAwaiting?: { id: string; on: LocalDate };
  obligations: CachedObligation[];
}

/** The sweep days a kept snapshot holds for: from `from` (inclusive; null: any earlier day) until `until` (exclusive; null: no end). */
export interface SnapshotValidity {
  from: LocalDate | null;
  until: LocalDate | null;
}

/**
 * The sweep days on which a case's obligations fold as they did on `day`: those that see the same events.
 * @example validityOf(eventsOn(['2026-12-01', '2026-12-10', '2027-01-08']), '2026-12-21') // { from: '2026-12-10', until: '2027-01-08' }
 */
export function validityOf(events: readonly CaseEvent[], day: LocalDate): SnapshotValidity {
  let from: LocalDate | null = null;
  let until: LocalDate | null = null;
  for (const e of events) {
    const on = e.effectiveOn;
    if (on <= day) {
      if (from === null || on > from) from = on;
    } else if (until === null || on < until) until = on;
  }
  return { from, until };
}

/** Whether a snapshot kept with this validity may be used by a sweep on `day`. */
export function holdsOn(v: SnapshotValidity, day: LocalDate): boolean {
  return (v.from === null || v.from <= day) && (v.until === null || day < v.until);
}

const ruleNames = new WeakMap<Policy, Map<string, keyof ObligationRules>>();
function ruleNameOf(policy: Policy, words: string): keyof ObligationRules | undefined {
  let names = ruleNames.get(policy);
  if (!names) {
    names = new Map(Object.entries(rulesOf(policy)).map(([name, text]) => [text, name as keyof ObligationRules]));
    ruleNames.set(policy, names);
  }
  return names.get(words);
}

/**
 * What to keep of a case worked out from its events; null when something of it cannot be kept
 * exactly (the case is then worked out from its events at every sweep, as before).
 */
export function cachedSnapshotOf(s: CaseSnapshot, policy: Policy): CachedSnapshot | null {
  const kept: CachedObligation[] = [];
  for (const o of s.obligations) {
    if (!isOpen(o)) continue;
    const rule = ruleNameOf(policy, o.rule);
    if (rule === undefined || o.id !== `${o.kind}:${o.from}`) return null;
    const c: CachedObligation = { kind: o.kind, from: o.from, due: o.due, rule };
    if (o.latest !== undefined) c.latest = o.latest;
    if (o.provisional) c.provisional = true;
    if (s.escalated.has(o.id)) c.escalated = true;
    kept.push(c);
  }
  // Field by field, by name: a case's state also holds the family's details, which are never kept.
  const { status, leadProfessional, manager, caseloadPoints, allocatedOn, cafAwaitingDecision } = s.state;
  const out: CachedSnapshot = { status, leadProfessional, manager, caseloadPoints, allocatedOn, obligations: kept };
  if (cafAwaitingDecision) out.cafAwaiting = { id: cafAwaitingDecision.id, on: cafAwaitingDecision.effectiveOn };
  return out;
}

/** An open obligation as stored: kind, from, due, rule, latest, and flags (1 provisional, 2 escalated). */
type ObligationRow = [ObligationKind, LocalDate, LocalDate, keyof ObligationRules, LocalDate | null, number];
/** A snapshot as stored: status, lead professional, manager, points, allocated on, the CAF awaiting (id, day), the open obligations. */
type SnapshotRow = [CachedSnapshot['status'], string, string, number, LocalDate, string | null, LocalDate | null, ObligationRow[]];

/**
 * What is kept of a case as the text stored: a row of values, not an object of named fields, for a
 * morning sweep reads some tens of thousands of them and every byte is sent and parsed. One line
 * (JSON has no line breaks of its own).
 */
export function snapshotText(s: CachedSnapshot): string {
  const obligations = s.obligations.map((o): ObligationRow => [o.kind, o.from, o.due, o.rule, o.latest ?? null, (o.provisional ? 1 : 0) | (o.escalated ? 2 : 0)]);
  const row: SnapshotRow = [s.status, s.leadProfessional, s.manager, s.caseloadPoints, s.allocatedOn, s.cafAwaiting?.id ?? null, s.cafAwaiting?.on ?? null, obligations];
  return JSON.stringify(row);
}

const NONE: ReadonlySet<string> = new Set();
const NO_SNOOZES: ReadonlyMap<string, LocalDate> = new Map();

/**
 * The case as the planner reads it on `today`, from what was kept (as `snapshotText` wrote it):
 * each open obligation with its status on that day. Read straight from the stored row, for a
 * morning sweep reads tens of thousands.
 */
export function snapshotFromText(
  head: { caseId: string; reference: string; version: number },
  text: string,
  today: LocalDate,
  policy: Policy,
  snoozed?: ReadonlyMap<string, LocalDate>,
): CaseSnapshot & { version: number } {
  const [status, leadProfessional, manager, caseloadPoints, allocatedOn, cafId, cafOn, rows] = JSON.parse(text) as SnapshotRow;
  const rules = rulesOf(policy);
  const open: Obligation[] = [];
  let escalated: Set<string> | undefined;
  for (const [kind, from, due, rule, latest, flags] of rows) {
    const o: Obligation = { id: `${kind}:${from}`, kind, due, status: 'upcoming', from, rule: rules[rule] };
    if (latest !== null) o.latest = latest;
    o.status = statusOn(o, today);
    if (flags & 1) o.provisional = true;
    if (flags & 2) (escalated ??= new Set()).add(o.id);
    open.push(o);
  }
  const state: PlannerCaseState = { status, leadProfessional, manager, caseloadPoints, allocatedOn };
  if (cafId !== null && cafOn !== null) state.cafAwaitingDecision = { id: cafId, effectiveOn: cafOn };
  return { caseId: head.caseId, reference: head.reference, version: head.version, state, obligations: open, escalated: escalated ?? NONE, snoozed: snoozed ?? NO_SNOOZES };
}

/** Bumped when what is kept, or how it is read, changes meaning (2: kept as rows of values, `snapshotText`). */
const SNAPSHOT_FORMAT = 2;
/** The years whose bank holidays and closures the rules key covers (the policy's own closure days are in it whatever their year). */
const CALENDAR_YEARS = { from: '2020-01-01' as LocalDate, to: '2035-12-31' as LocalDate };

const rulesKeys = new WeakMap<Policy, WeakMap<WorkingDayCalendar, string>>();

/**
 * What a kept snapshot was worked out under: the policy's timescales and calendar, the working
 * days of the calendar the sweep counts in, and the code of the folds (a release that changes a
 * rule changes the key, so every case is worked out again once). The reminder settings are not in
 * it: the planner applies them at every sweep.
 */
export function snapshotRulesOf(policy: Policy, calendar: WorkingDayCalendar): string {
  let byCalendar = rulesKeys.get(policy);
  if (!byCalendar) rulesKeys.set(policy, (byCalendar = new WeakMap()));
  let key = byCalendar.get(calendar);
  if (key === undefined) {
    const hash = createHash('sha256');
    hash.update(JSON.stringify({ format: SNAPSHOT_FORMAT, timescales: policy.timescales, calendar: policy.calendar }));
    hash.update(JSON.stringify(calendar.holidaysBetween(CALENDAR_YEARS.from, CALENDAR_YEARS.to)));
    for (const fold of [obligations, addPeriod, rulesOf, caseState, standingEvents]) hash.update(String(fold));
    key = hash.digest('base64url').slice(0, 22);
    byCalendar.set(calendar, key);
  }
  return key;
}
