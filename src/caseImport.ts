import { CASE_EVENT_TYPES, CaseEventType, eventDataSchemas, InvalidEventError, REFERRAL_SOURCES, validateNewEvent, ValidNewEvent } from './caseEvents';
import { CaseWorkError, checkChildren, REFERENCE } from './caseWork';
import { isLocalDate, LocalDate } from './localDate';
import { StaffMember } from './staff';

/**
 * Bringing the current caseload in (issue 8): an authority adopting the product has open cases
 * part way through. A document of cases, each with its allocation and the events since, is checked
 * here, all or nothing, with no database: the first fault names the case, the field and the reason.
 * The CLI (`earlyhelp cases import`) and, later, the add-in's Excel import feed the same function;
 * `createCaseLog(db).importCases` writes what it returns.
 *
 * @example
 * parseCaseImport({ cases: [{ reference: 'EH-2041', allocatedOn: '2026-10-05', leadProfessional: 'sam.patel@council.example',
 *   caseloadPoints: 3, cafRequired: true, source: 'referral', family: { name: '...', children: [] },
 *   events: [{ type: 'telephone-contact-made', effectiveOn: '2026-10-06', by: 'sam.patel@council.example', data: {} }] }] },
 *   { staff, today: '2026-11-30' })
 * // [{ reference: 'EH-2041', events: [allocated, telephone-contact-made] }]
 */

/** One case ready to write: its allocation first, then its events in the order given (sequence 1, 2, ...). */
export interface ImportedCase {
  reference: string;
  events: ValidNewEvent[];
}

export interface CaseImportOptions {
  /** The staff directory: everyone named must be in it and active. */
  staff: readonly StaffMember[];
  /** Today in London: nothing imported may have happened after it. */
  today: LocalDate;
}

/**
 * A fault in an import: `where` is the case (`cases[3] EH-2041`, or `cases[3]` while its reference
 * is not yet known; empty for the file as a whole), `field` its path (`events[2].data.method`).
 * Never a family's or child's name.
 */
export class CaseImportError extends Error {
  constructor(readonly where: string, readonly field: string, readonly reason: string) {
    super([where, field, reason].filter(Boolean).join(': '));
    this.name = 'CaseImportError';
  }
}

/** Reads the import file's text as JSON; a fault says where, without quoting the file (it holds families' names). */
export function readCaseImportJson(text: string): unknown {
  try {
    return JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (e) {
    const position = /at position (\d+)/.exec((e as Error).message)?.[1];
    const at = position === undefined ? '' : ` (at ${lineAndColumn(text, Number(position))})`;
    throw new CaseImportError('', '', `not valid JSON${at}`);
  }
}

function lineAndColumn(text: string, position: number): string {
  const before = text.slice(0, position).split('\n');
  return `line ${before.length}, column ${before[before.length - 1].length + 1}`;
}

/**
 * The fields of the `allocated` event a case may give beside its own (referralReason, initialActions,
 * existingPlan, referredOn, ...); not `capacityConfirmed`, the card's record of a manager agreeing
 * to take a worker past capacity, which no file can speak for.
 */
const ALLOCATION_FIELDS = Object.keys(eventDataSchemas.allocated.shape).filter((f) => f !== 'capacityConfirmed');
const CASE_FIELDS = new Set(['reference', 'allocatedOn', 'events', ...ALLOCATION_FIELDS]);
const EVENT_FIELDS = new Set(['type', 'effectiveOn', 'by', 'data']);
const EVENT_TYPES = new Set<unknown>(CASE_EVENT_TYPES);

/** Fields of event data that name a member of staff: given by id or e-mail, stored by id. */
const STAFF_IN_DATA: Partial<Record<CaseEventType, readonly string[]>> = {
  reallocated: ['leadProfessional', 'manager'],
  'caf-submitted': ['to'],
  'supervision-held': ['supervisor'],
  escalated: ['to'],
};

/**
 * Events a file cannot carry: the allocation comes from the case's own fields; a withdrawal names
 * an event by the id the log gives it, which a file cannot know (leave the withdrawn event out).
 */
const NOT_IMPORTED: Partial<Record<CaseEventType, string>> = {
  allocated: 'the allocation comes from the case\u2019s own fields (allocatedOn, leadProfessional, ...), not from events',
  'entered-in-error': 'a withdrawal cannot be imported: leave the withdrawn event out of the file',
};

const STEP_DOWNS: readonly string[] = ['cin-step-down', 'sgcp-step-down'];

/** Checks a whole import document; returns every case ready to write, or throws for the first fault. */
export function parseCaseImport(document: unknown, options: CaseImportOptions): ImportedCase[] {
  if (!isObject(document) || !Array.isArray(document.cases)) throw new CaseImportError('', 'cases', 'the file must be a JSON object with a "cases" array');
  const findStaff = staffFinder(options.staff);
  const first = new Map<string, number>();
  return document.cases.map((input, index) => {
    const imported = importedCase(input, index, findStaff, options.today);
    const earlier = first.get(imported.reference);
    if (earlier !== undefined) throw new CaseImportError(caseName(index, imported.reference), 'reference', `appears twice in the file (also cases[${earlier}])`);
    first.set(imported.reference, index);
    return imported;
  });
}

/** The error for a case whose reference is already in the case log: imports never merge. */
export function alreadyInCaseLog(cases: readonly ImportedCase[], reference: string): CaseImportError {
  return new CaseImportError(caseName(cases.findIndex((c) => c.reference === reference), reference), 'reference', 'a case with this reference already exists; an import never adds to an existing case');
}

/** How a fault names its case: by its place in the file and, once known, its reference. */
function caseName(index: number, reference?: string): string {
  return reference ? `cases[${index}] ${reference}` : `cases[${index}]`;
}

type StaffFinder = (value: unknown) => StaffMember | string;

/** Finds active staff by id or e-mail (either case); otherwise the reason, which quotes the value only if it looks like an id or e-mail. */
function staffFinder(staff: readonly StaffMember[]): StaffFinder {
  const byKey = new Map<string, StaffMember>();
  for (const m of staff) {
    byKey.set(m.id.toLowerCase(), m);
    byKey.set(m.email.toLowerCase(), m);
  }
  return (value) => {
    if (typeof value !== 'string' || !value.trim()) return 'give a staff id or e-mail';
    const member = byKey.get(value.trim().toLowerCase());
    if (member?.active) return member;
    // A value in the wrong column may be a family's name: quote only what looks like an id or e-mail.
    const shown = /^[\w.+-]+@[\w.-]+$|^[0-9a-f-]{36}$/i.test(value.trim()) ? value.trim() : 'this value';
    return member ? `${shown} is not active in the staff directory` : `${shown} is not in the staff directory`;
  };
}

function importedCase(input: unknown, index: number, findStaff: StaffFinder, today: LocalDate): ImportedCase {
  let where = caseName(index);
  const fault = (field: string, reason: string) => new CaseImportError(where, field, reason);
  if (!isObject(input)) throw fault('case', 'must be an object');
  const reference = typeof input.reference === 'string' ? input.reference.trim().toUpperCase() : '';
  if (!REFERENCE.test(reference)) throw fault('reference', 'must be 3 to 31 letters, digits or dashes, e.g. EH-2041');
  where = caseName(index, reference);
  const stray = Object.keys(input).find((k) => !CASE_FIELDS.has(k));
  if (stray !== undefined) throw fault(shownKey(stray), `is not a field of an imported case (expected ${[...CASE_FIELDS].join(', ')})`);

  const allocatedOn = input.allocatedOn;
  if (!isLocalDate(allocatedOn)) throw fault('allocatedOn', 'must be a real date, YYYY-MM-DD');
  if (allocatedOn > today) throw fault('allocatedOn', `${allocatedOn} is after today (${today})`);

  const lead = findStaff(input.leadProfessional);
  if (typeof lead === 'string') throw fault('leadProfessional', lead);
  if (lead.role !== 'worker' && lead.role !== 'manager') throw fault('leadProfessional', `${lead.email} is ${lead.role}, not a worker or manager`);
  const manager = input.manager === undefined ? lineManagerOf(lead, findStaff) : findStaff(input.manager);
  if (typeof manager === 'string') throw fault('manager', manager);
  if (manager.role !== 'manager') throw fault('manager', `${manager.email} is ${manager.role}, not a manager`);

  // The allocation card's own checks and words (caseWork.ts allocateCase), then its schema.
  const points = input.caseloadPoints;
  if (typeof points !== 'number' || !Number.isInteger(points) || points < 0 || points > 100) throw fault('caseloadPoints', 'must be a whole number from 0 to 100');
  if (typeof input.cafRequired !== 'boolean') throw fault('cafRequired', 'must be true or false: say whether a CAF is required');
  if (!(REFERRAL_SOURCES as readonly unknown[]).includes(input.source)) throw fault('source', `must be one of ${REFERRAL_SOURCES.join(', ')}`);
  if (STEP_DOWNS.includes(input.source as string) && !(typeof input.existingPlan === 'string' && input.existingPlan.trim())) {
    throw fault('existingPlan', 'a CIN or SGCP step-down arrives with a plan: add the CAF Support Plan');
  }
  if (!isObject(input.family)) throw fault('family', 'give the family: { "name": ..., "children": [...] }');
  if (typeof input.family.name !== 'string' || !input.family.name.trim()) throw fault('family.name', 'the family name is required');
  if (input.family.children !== undefined && !Array.isArray(input.family.children)) throw fault('family.children', 'must be a list of children');

  const data: Record<string, unknown> = {};
  for (const field of ALLOCATION_FIELDS) if (input[field] !== undefined) data[field] = input[field];
  Object.assign(data, { leadProfessional: lead.id, manager: manager.id });
  const allocation = checked(() => validateNewEvent({ type: 'allocated', by: manager.id, effectiveOn: allocatedOn, data }), (field) => field.replace(/^data\./, ''), fault);
  if (allocation.type !== 'allocated') throw new Error('unreachable: the allocation is an allocated event');
  const referredOn = allocation.data.referredOn;
  if (referredOn && referredOn > today) throw fault('referredOn', `${referredOn} is after today (${today})`);
  if (referredOn && allocatedOn < referredOn) throw fault('allocatedOn', `${allocatedOn} is before the referral (${referredOn})`);
  for (const [i, child] of (allocation.data.family?.children ?? []).entries()) {
    try {
      checkChildren([child], allocatedOn);
    } catch (e) {
      if (e instanceof CaseWorkError) throw fault(`family.children[${i}]`, e.message.replace(/^Children, line 1: /, ''));
      throw e;
    }
  }

  if (input.events !== undefined && !Array.isArray(input.events)) throw fault('events', 'must be a list of events');
  const events = ((input.events ?? []) as unknown[]).map((event, i) => importedEvent(event, `events[${i}]`, allocatedOn, today, findStaff, fault));
  return { reference, events: [allocation, ...events] };
}

/** `manager` left out: the lead professional's line manager. */
function lineManagerOf(lead: StaffMember, findStaff: StaffFinder): StaffMember | string {
  if (!lead.lineManager) return `not given, and ${lead.email} has no line manager in the staff directory`;
  const manager = findStaff(lead.lineManager);
  return typeof manager === 'string' ? `not given, and the line manager of ${lead.email}: ${manager}` : manager;
}

function importedEvent(
  input: unknown,
  at: string,
  allocatedOn: LocalDate,
  today: LocalDate,
  findStaff: StaffFinder,
  fault: (field: string, reason: string) => CaseImportError,
): ValidNewEvent {
  if (!isObject(input)) throw fault(at, 'must be an object: { "type", "effectiveOn", "by", "data" }');
  let stray: string | undefined;
  for (const key in input) if (!EVENT_FIELDS.has(key)) stray ??= key;
  if (stray !== undefined) throw fault(`${at}.${shownKey(stray)}`, 'is not a field of an event (expected type, effectiveOn, by, data)');
  const type = input.type;
  if (!EVENT_TYPES.has(type)) {
    const shown = typeof type === 'string' && /^[a-z][a-z-]{0,40}$/.test(type) ? `"${type}"` : 'this value';
    throw fault(`${at}.type`, `${shown} is not an event type of the case log`);
  }
  const refused = NOT_IMPORTED[type as CaseEventType];
  if (refused) throw fault(`${at}.type`, refused);
  const by = findStaff(input.by);
  if (typeof by === 'string') throw fault(`${at}.by`, by);
  let data = input.data;
  const staffFields = STAFF_IN_DATA[type as CaseEventType] ?? [];
  if (isObject(data) && staffFields.some((f) => typeof (data as Record<string, unknown>)[f] === 'string')) {
    data = { ...data };
    for (const field of staffFields) {
      const given = (data as Record<string, unknown>)[field];
      if (typeof given !== 'string') continue;
      const member = findStaff(given);
      if (typeof member === 'string') throw fault(`${at}.data.${field}`, member);
      (data as Record<string, unknown>)[field] = member.id;
    }
  }
  const event = checked(() => validateNewEvent({ type, by: by.id, effectiveOn: input.effectiveOn, data }), (field) => `${at}.${field}`, fault);
  if (event.effectiveOn > today) throw fault(`${at}.effectiveOn`, `${event.effectiveOn} is after today (${today})`);
  if (event.effectiveOn < allocatedOn) throw fault(`${at}.effectiveOn`, `${event.effectiveOn} is before the case was allocated (${allocatedOn})`);
  return event;
}

/** The case log's own validation, its faults named as the file names things (`family.children[0].name`). */
function checked(validate: () => ValidNewEvent, fieldOf: (field: string) => string, fault: (field: string, reason: string) => CaseImportError): ValidNewEvent {
  try {
    return validate();
  } catch (e) {
    if (e instanceof InvalidEventError) throw fault(fieldOf(e.field).replace(/\.(\d+)(?=\.|$)/g, '[$1]'), e.reason);
    throw e;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A field name from the file, quoted only if it looks like one. */
function shownKey(key: string): string {
  return /^[A-Za-z][\w-]{0,40}$/.test(key) ? key : '(a field)';
}
