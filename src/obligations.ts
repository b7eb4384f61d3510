import type { WorkingDayCalendar } from './calendar';
import { CaseEvent, CaseEventType, standingEvents } from './caseEvents';
import { addDays, addMonths, LocalDate } from './localDate';
import { describePeriod, Period, Policy } from './policy';

/**
 * What is due on a case, when, and whether it was done on time: a pure fold over the case's
 * events, the practice policy and the working-day calendar. No clock, no database, no Teams.
 */

export const OBLIGATION_KINDS = [
  'telephone-contact',
  'personal-contact',
  'caf-assessment',
  'first-taf',
  'taf-review',
  'taf-minutes',
  'case-recording',
  'supervision',
  'supervision-record',
  'supervision-authorised',
  'caf-review',
  'case-duration',
] as const;
export type ObligationKind = (typeof OBLIGATION_KINDS)[number];

export type ObligationStatus = 'upcoming' | 'due-today' | 'overdue' | 'met-on-time' | 'met-late' | 'not-applicable';

export interface Obligation {
  /** Stable across recomputation: the kind and the date that started its clock (e.g. `taf-minutes:2027-02-01`). */
  id: string;
  kind: ObligationKind;
  /** The due date; for a `taf-review`, its target (6 weeks in the default policy). */
  due: LocalDate;
  /** For a `taf-review`: the latest date it may be held (8 weeks in the default policy). Status is judged against it. */
  latest?: LocalDate;
  status: ObligationStatus;
  /** The date that started the clock (allocation, TAF date, contact date ...). */
  from: LocalDate;
  /** True when `from` is not known yet and was estimated (e.g. first TAF counted from a CAF not yet completed). */
  provisional?: boolean;
  /** The event that met it, and when. */
  metBy?: string;
  metOn?: LocalDate;
  /** The rule in the users' words, e.g. "Telephone contact within 2 working days of allocation". */
  rule: string;
}

/** The deadline a status is judged against: the latest date where there is one. */
export function deadlineOf(o: Pick<Obligation, 'due' | 'latest'>): LocalDate {
  return o.latest ?? o.due;
}

/** Adds a policy period to a date. A deadline counted in calendar time that lands on a non-working day is brought forward to the working day before, so it can be met. */
export function addPeriod(calendar: WorkingDayCalendar, from: LocalDate, p: Period): LocalDate {
  if ('workingDays' in p) return calendar.addWorkingDays(from, p.workingDays);
  if ('days' in p) return calendar.workingDayOnOrBefore(addDays(from, p.days));
  if ('weeks' in p) return calendar.workingDayOnOrBefore(addDays(from, p.weeks * 7));
  if ('months' in p) return calendar.workingDayOnOrBefore(addMonths(from, p.months));
  return calendar.workingDayOnOrBefore(addMonths(from, p.years * 12));
}

function statusOf(deadline: LocalDate, metOn: LocalDate | undefined, today: LocalDate, closedOn: LocalDate | undefined): ObligationStatus {
  if (metOn !== undefined) return metOn <= deadline ? 'met-on-time' : 'met-late';
  // A case closed before the deadline no longer owes it; one missed before closure stays missed.
  if (closedOn !== undefined && deadline > closedOn) return 'not-applicable';
  if (today < deadline) return 'upcoming';
  return today === deadline ? 'due-today' : 'overdue';
}

const byDate = (a: CaseEvent, b: CaseEvent) => (a.effectiveOn < b.effectiveOn ? -1 : a.effectiveOn > b.effectiveOn ? 1 : a.sequence - b.sequence);

/** Contacts and information that must be written up in the system of record (DOMAIN.md: Recording). */
const RECORDABLE: ReadonlySet<CaseEventType> = new Set(['telephone-contact-made', 'personal-contact-made', 'visit', 'information-received', 'taf-held']);
/** Any contact with the family meets the telephone contact; a visit or face-to-face contact meets the personal contact. */
const CONTACT: ReadonlySet<CaseEventType> = new Set(['telephone-contact-made', 'personal-contact-made', 'visit']);
const PERSONAL_CONTACT: ReadonlySet<CaseEventType> = new Set(['personal-contact-made', 'visit']);

/** The rules in the users' words, worked out once per policy (they are the same for every case). */
export interface ObligationRules {
  telephoneContact: string;
  personalContact: string;
  noCafRequired: string;
  caf: string;
  reassessment: string;
  firstTafFromAllocation: string;
  firstTafFromCaf: string;
  tafReview: string;
  tafReviewEscalated: string;
  tafMinutes: string;
  caseRecording: string;
  supervision: string;
  supervisionRecord: string;
  supervisionAuthorised: string;
  cafReview: string;
  caseDuration: string;
}
const rulesCache = new WeakMap<Policy, ObligationRules>();
export function rulesOf(policy: Policy): ObligationRules {
  const cached = rulesCache.get(policy);
  if (cached) return cached;
  const t = policy.timescales;
  const p = describePeriod;
  const rules: ObligationRules = {
    telephoneContact: `Telephone contact within ${p(t.telephoneContact.within)} of allocation`,
    personalContact: `Personal contact within ${p(t.personalContact.within)} of allocation`,
    noCafRequired: 'No CAF required (Manager\u2019s Decision)',
    caf: `CAF completed within ${p(t.cafAssessment.within)} of allocation`,
    reassessment: `Re-assessment completed within ${p(t.cafAssessment.within)} of being directed`,
    firstTafFromAllocation: `First TAF meeting within ${p(t.firstTaf.within)} of allocation`,
    firstTafFromCaf: `First TAF meeting within ${p(t.firstTaf.within)} of the CAF being completed`,
    tafReview: `TAF review every ${p(t.tafReview.target)}, ${p(t.tafReview.latest)} at most`,
    tafReviewEscalated: `TAF review within ${p(t.tafReview.whenNeedsEscalated.latest)} of the last TAF, needs having escalated`,
    tafMinutes: `Minutes shared with the family and agencies within ${p(t.tafMinutes.within)} of the TAF`,
    caseRecording: `Case recorded within ${p(t.caseRecording.within)} of contact or information received`,
    supervision: `Case supervision every ${p(t.supervision.every)}`,
    supervisionRecord: `Supervision record returned within ${p(t.supervisionRecord.within)}`,
    supervisionAuthorised: `Supervision record authorised within ${p(t.supervisionAuthorised.within)}`,
    cafReview: `CAF reviewed at ${p(t.cafReview.within)}`,
    caseDuration: t.caseDuration.maximum ? `Case closed or a new episode started within ${p(t.caseDuration.maximum)}` : 'No maximum case length',
  };
  rulesCache.set(policy, rules);
  return rules;
}

interface CafEpisode {
  from: LocalDate;
  /** The submission standing at the end of the episode (not returned since). */
  completed?: CaseEvent;
  authorisedOn?: LocalDate;
  /** The episode's end: the next re-assessment, if any. */
  until?: LocalDate;
}

/**
 * Every obligation of a case as of `today`.
 * @example obligations(events, loadPolicy(), createCalendar(), '2027-01-04')
 */
export function obligations(events: readonly CaseEvent[], policy: Policy, calendar: WorkingDayCalendar, today: LocalDate): Obligation[] {
  const log = standingEvents(events);
  // Insertion sort: a log is in date order but for the odd back-dated entry, and short.
  for (let i = 1; i < log.length; i++) {
    const e = log[i];
    let j = i - 1;
    while (j >= 0 && byDate(log[j], e) > 0) {
      log[j + 1] = log[j];
      j--;
    }
    log[j + 1] = e;
  }
  const allocation = log.find((e) => e.type === 'allocated');
  if (!allocation || allocation.type !== 'allocated') return [];
  const allocatedOn = allocation.effectiveOn;
  const t = policy.timescales;
  const rules = rulesOf(policy);
  const out: Obligation[] = [];

  const afterAllocation = log.filter((e) => e.effectiveOn >= allocatedOn);
  // One pass to gather the events each rule needs, in date order (this runs for every case, every day).
  const tafs: CaseEvent[] = [];
  const minutes: CaseEvent[] = [];
  const recordings: CaseEvent[] = [];
  const supervisions: CaseEvent[] = [];
  const returned: CaseEvent[] = [];
  const authorised: CaseEvent[] = [];
  const cafReviews: CaseEvent[] = [];
  let closure: CaseEvent | undefined;
  for (const e of afterAllocation) {
    switch (e.type) {
      case 'taf-held': tafs.push(e); break;
      case 'minutes-shared': minutes.push(e); break;
      case 'case-recorded': recordings.push(e); break;
      case 'supervision-held': supervisions.push(e); break;
      case 'supervision-record-returned': returned.push(e); break;
      case 'supervision-record-authorised': authorised.push(e); break;
      case 'caf-reviewed': cafReviews.push(e); break;
      case 'closure-approved': closure ??= e; break;
      default: break;
    }
  }
  const closedOn = closure?.effectiveOn;

  const push = (o: Omit<Obligation, 'status' | 'id'> & { status?: ObligationStatus }) => {
    // Built field by field: spreading and deleting optional keys made this the hot spot of the benchmark.
    const obligation: Obligation = {
      id: `${o.kind}:${o.from}`,
      kind: o.kind,
      due: o.due,
      status: o.status ?? statusOf(o.latest ?? o.due, o.metOn, today, closedOn),
      from: o.from,
      rule: o.rule,
    };
    if (o.latest !== undefined) obligation.latest = o.latest;
    if (o.provisional) obligation.provisional = true;
    if (o.metBy !== undefined) obligation.metBy = o.metBy;
    if (o.metOn !== undefined) obligation.metOn = o.metOn;
    out.push(obligation);
  };
  const firstOnOrAfter = (types: ReadonlySet<CaseEventType>, date: LocalDate) => afterAllocation.find((e) => types.has(e.type) && e.effectiveOn >= date);

  // First contact (seed 000: telephone within 2 WD, personal within 5 WD of allocation).
  const contact = firstOnOrAfter(CONTACT, allocatedOn);
  push({
    kind: 'telephone-contact',
    from: allocatedOn,
    due: addPeriod(calendar, allocatedOn, t.telephoneContact.within),
    metBy: contact?.id,
    metOn: contact?.effectiveOn,
    rule: rules.telephoneContact,
  });
  const personal = firstOnOrAfter(PERSONAL_CONTACT, allocatedOn);
  push({
    kind: 'personal-contact',
    from: allocatedOn,
    due: addPeriod(calendar, allocatedOn, t.personalContact.within),
    metBy: personal?.id,
    metOn: personal?.effectiveOn,
    rule: rules.personalContact,
  });

  // CAF: one episode from allocation, and a new one for each re-assessment a manager directs.
  const cafRequired = allocation.data.cafRequired;
  const episodes: CafEpisode[] = [];
  if (cafRequired) {
    let episode: CafEpisode = { from: allocatedOn };
    episodes.push(episode);
    for (const e of afterAllocation) {
      if (e.type === 'caf-reassessment-directed') {
        episode.until = e.effectiveOn;
        episode = { from: e.effectiveOn };
        episodes.push(episode);
      } else if (e.type === 'caf-submitted') episode.completed = e;
      else if (e.type === 'caf-returned') episode.completed = undefined;
      else if (e.type === 'caf-authorised' && episode.completed) episode.authorisedOn ??= e.effectiveOn;
    }
  }
  const cafDue = (from: LocalDate) => addPeriod(calendar, from, t.cafAssessment.within);
  if (!cafRequired) {
    push({ kind: 'caf-assessment', from: allocatedOn, due: cafDue(allocatedOn), status: 'not-applicable', rule: rules.noCafRequired });
  }
  for (const [i, episode] of episodes.entries()) {
    push({
      kind: 'caf-assessment',
      from: episode.from,
      due: cafDue(episode.from),
      metBy: episode.completed?.id,
      metOn: episode.completed?.effectiveOn,
      rule: i === 0 ? rules.caf : rules.reassessment,
    });
  }

  // TAF meetings (seed 000: first within 25 WD of allocation; reviews every 6 weeks, 8 at most).
  const firstTafFromCaf = t.firstTaf.from === 'caf-completed' && cafRequired;
  const firstEpisode = episodes[0];
  const firstTafFrom = firstTafFromCaf ? firstEpisode.completed?.effectiveOn ?? cafDue(allocatedOn) : allocatedOn;
  push({
    kind: 'first-taf',
    from: firstTafFrom,
    provisional: firstTafFromCaf && !firstEpisode.completed,
    due: addPeriod(calendar, firstTafFrom, t.firstTaf.within),
    metBy: tafs[0]?.id,
    metOn: tafs[0]?.effectiveOn,
    rule: firstTafFromCaf ? rules.firstTafFromCaf : rules.firstTafFromAllocation,
  });
  const escalations = afterAllocation.filter((e) => e.type === 'needs-escalated' || e.type === 'needs-deescalated');
  const needsEscalatedBetween = (from: LocalDate, to: LocalDate) => {
    let escalated = false;
    for (const e of escalations) {
      if (e.effectiveOn > to) break;
      if (e.effectiveOn <= from) escalated = e.type === 'needs-escalated';
      else if (e.type === 'needs-escalated') return true;
    }
    return escalated;
  };
  for (const [i, taf] of tafs.entries()) {
    const next = tafs[i + 1];
    const escalated = needsEscalatedBetween(taf.effectiveOn, next?.effectiveOn ?? today);
    const interval = escalated ? t.tafReview.whenNeedsEscalated : t.tafReview;
    push({
      kind: 'taf-review',
      from: taf.effectiveOn,
      due: addPeriod(calendar, taf.effectiveOn, interval.target),
      latest: addPeriod(calendar, taf.effectiveOn, interval.latest),
      metBy: next?.id,
      metOn: next?.effectiveOn,
      rule: escalated ? rules.tafReviewEscalated : rules.tafReview,
    });
  }
  /** One obligation per anchor event, met by the first event of `met` that names the anchor's date. */
  const perAnchor = (kind: ObligationKind, anchors: CaseEvent[], met: CaseEvent[], dateOf: (e: CaseEvent) => string | undefined, within: Period, rule: string) => {
    for (const anchor of anchors) {
      const meeting = met.find((m) => dateOf(m) === anchor.effectiveOn);
      push({ kind, from: anchor.effectiveOn, due: addPeriod(calendar, anchor.effectiveOn, within), metBy: meeting?.id, metOn: meeting?.effectiveOn, rule });
    }
  };
  const tafDateOf = (e: CaseEvent) => (e.type === 'minutes-shared' ? e.data.tafDate : undefined);
  const supervisionDateOf = (e: CaseEvent) => (e.type === 'supervision-record-returned' || e.type === 'supervision-record-authorised' ? e.data.supervisionDate : undefined);
  perAnchor('taf-minutes', tafs, minutes, tafDateOf, t.tafMinutes.within, rules.tafMinutes);

  // Case recording (seed 000: within 2 WD of contact or information received).
  let lastDay = '';
  for (const e of afterAllocation) {
    // One recording obligation a day (events are in date order): a record brought up to date covers the day.
    if (!RECORDABLE.has(e.type) || e.effectiveOn === lastDay) continue;
    lastDay = e.effectiveOn;
    const recorded = recordings.find((r) => r.effectiveOn >= e.effectiveOn);
    push({
      kind: 'case-recording',
      from: e.effectiveOn,
      due: addPeriod(calendar, e.effectiveOn, t.caseRecording.within),
      metBy: recorded?.id,
      metOn: recorded?.effectiveOn,
      rule: rules.caseRecording,
    });
  }

  // Supervision (seed 000: monthly; record returned in 10 WD, authorised in 20 WD).
  let supervisionFrom = allocatedOn;
  for (let i = 0; i <= supervisions.length; i++) {
    const held = supervisions[i];
    push({
      kind: 'supervision',
      from: supervisionFrom,
      due: addPeriod(calendar, supervisionFrom, t.supervision.every),
      metBy: held?.id,
      metOn: held?.effectiveOn,
      rule: rules.supervision,
    });
    if (held) supervisionFrom = held.effectiveOn;
  }
  perAnchor('supervision-record', supervisions, returned, supervisionDateOf, t.supervisionRecord.within, rules.supervisionRecord);
  perAnchor('supervision-authorised', supervisions, authorised, supervisionDateOf, t.supervisionAuthorised.within, rules.supervisionAuthorised);

  // CAF review (seed 000: the existing CAF reviewed at the 6-month stage), from its authorisation.
  for (const episode of episodes) {
    if (!episode.authorisedOn) continue;
    const from = episode.authorisedOn;
    const review = cafReviews.find((r) => r.effectiveOn >= from && (episode.until === undefined || r.effectiveOn <= episode.until));
    push({
      kind: 'caf-review',
      from,
      due: addPeriod(calendar, from, t.cafReview.within),
      metBy: review?.id,
      metOn: review?.effectiveOn,
      rule: rules.cafReview,
    });
  }

  // Maximum case length (seed 003: a CAF should not stay open more than a year), where the policy sets one.
  if (t.caseDuration.maximum) {
    push({
      kind: 'case-duration',
      from: allocatedOn,
      due: addPeriod(calendar, allocatedOn, t.caseDuration.maximum),
      metBy: closure?.id,
      metOn: closedOn,
      rule: rules.caseDuration,
    });
  }
  return out;
}

export type Rag = 'red' | 'amber' | 'green';

/**
 * Red / amber / green for a worker's card: red when overdue or met late, amber when due within
 * `amberWithin` working days or past a TAF review's target, green otherwise.
 */
export function ragOf(o: Obligation, today: LocalDate, calendar: WorkingDayCalendar, amberWithin = 2): Rag {
  switch (o.status) {
    case 'overdue':
    case 'met-late':
      return 'red';
    case 'due-today':
      return 'amber';
    case 'upcoming':
      return today >= o.due || calendar.workingDaysBetween(today, o.due) <= amberWithin ? 'amber' : 'green';
    default:
      return 'green';
  }
}

/** Obligations still to meet, soonest first. */
export function openObligations(all: readonly Obligation[]): Obligation[] {
  return all
    .filter((o) => o.status === 'upcoming' || o.status === 'due-today' || o.status === 'overdue')
    .sort((a, b) => (a.due < b.due ? -1 : a.due > b.due ? 1 : 0));
}
