import { randomUUID } from 'node:crypto';
import { CaseEvent, NewCaseEvent, ValidNewEvent, validateNewEvent } from '../caseEvents';
import type { ImportedCase } from '../caseImport';
import { LocalDate } from '../localDate';
import { recordAudit } from './audit';
import { summaryChangesOf } from './caseSummary';
import { Database } from './database';

/**
 * The case event log on PostgreSQL. Appends are checked against the case's version, so two
 * writers never lose or reorder an event; each append is one transaction, so a crash mid-write
 * leaves the case as it was. Every read and change is audited.
 */

export class VersionConflictError extends Error {
  constructor(readonly caseId: string, readonly expected: number, readonly actual: number) {
    super(`Case ${caseId} has changed (version ${actual}, expected ${expected}): read it again.`);
    this.name = 'VersionConflictError';
  }
}

export class CaseNotFoundError extends Error {
  constructor(readonly caseId: string) {
    super(`No case ${caseId}.`);
    this.name = 'CaseNotFoundError';
  }
}

export class DuplicateReferenceError extends Error {
  constructor(readonly reference: string) {
    super(`Case ${reference} already exists.`);
    this.name = 'DuplicateReferenceError';
  }
}

export interface CaseRecord {
  caseId: string;
  reference: string;
  version: number;
  events: CaseEvent[];
  /** Set when this was a repeat of a request already recorded: nothing new was written, so nothing new is sent. */
  replayed?: boolean;
}

/**
 * An idempotency key seen before with other content: another case, another person, or another kind
 * of event. Not a replay, so not answered as one; nothing is written.
 */
export class IdempotencyConflictError extends Error {
  constructor(readonly idempotencyKey: string) {
    super('This request repeats the id of a different one: nothing was recorded.');
    this.name = 'IdempotencyConflictError';
  }
}

export interface CaseSummaryRow {
  caseId: string;
  reference: string;
  version: number;
  leadProfessional: string | null;
  manager: string | null;
  status: string;
  allocatedOn: LocalDate | null;
  closedOn: LocalDate | null;
}

interface EventRow {
  id: string;
  case_id: string;
  sequence: number;
  type: CaseEvent['type'];
  by_staff: string;
  recorded_at: string;
  effective_on: LocalDate;
  data: CaseEvent['data'];
}

const toEvent = (r: EventRow): CaseEvent =>
  ({ id: r.id, caseId: r.case_id, sequence: r.sequence, type: r.type, by: r.by_staff, recordedAt: r.recorded_at, effectiveOn: r.effective_on, data: r.data }) as CaseEvent;

/** A case's row without its events. */
interface CaseHead {
  id: string;
  reference: string;
  version: number;
}

const EVENT_COLUMNS = 'id, case_id, sequence, type, by_staff, recorded_at, effective_on, data';

/** Rows of cases joined to their events (a case with none has one row of nulls), as records in row order. */
function recordsOf(rows: Array<EventRow & { case_ref: string; case_version: number; case_key: string }>): CaseRecord[] {
  const records = new Map<string, CaseRecord>();
  for (const r of rows) {
    let record = records.get(r.case_key);
    if (!record) records.set(r.case_key, (record = { caseId: r.case_key, reference: r.case_ref, version: r.case_version, events: [] }));
    if (r.id !== null) record.events.push(toEvent(r));
  }
  return [...records.values()];
}

export interface AppendOptions {
  actor: string;
  /** A retried request with the same key records nothing more (e.g. a Teams activity id). */
  idempotencyKey?: string;
  /** More writes that must land with the events or not at all (e.g. an e-mail queued in the outbox). */
  alsoInTransaction?: (tx: Database, record: CaseRecord) => Promise<void>;
}

/** Rows a multi-row statement of an import carries: large enough to amortise the round trip, small enough to keep each statement's JSON to a few megabytes. */
const IMPORT_CASES_PER_STATEMENT = 5000;
const IMPORT_EVENTS_PER_STATEMENT = 5000;

/**
 * Runs `sql` over rows [0, count) in chunks, one statement at a time; each chunk's parameters are
 * built while the server still works on the previous statement (PGlite runs in this thread anyway).
 */
async function inChunks(tx: Database, count: number, size: number, paramsOf: (from: number, to: number) => unknown[], sql: string): Promise<void> {
  let running: Promise<unknown> = Promise.resolve();
  for (let from = 0; from < count; from += size) {
    let params: unknown[];
    try {
      params = paramsOf(from, Math.min(from + size, count));
    } catch (e) {
      await running.catch(() => undefined);
      throw e;
    }
    // Only the synchronous build above runs between starting a statement and awaiting it: its failure is never unhandled.
    await running;
    running = tx.query(sql, params);
  }
  await running;
}

export type CaseLog = ReturnType<typeof createCaseLog>;

export function createCaseLog(db: Database) {
  /**
   * The case and its events in one round trip; with `auditActor`, the read is audited in the same
   * statement (a data-modifying CTE), so a read is never returned unaudited.
   */
  async function readIn(q: Database, caseId: string, auditActor?: string): Promise<CaseRecord> {
    const audit = auditActor
      ? `WITH audited AS (INSERT INTO audit_log (actor, action, case_id, detail) SELECT $2, 'case.read', id, jsonb_build_object('version', version) FROM cases WHERE id = $1) `
      : '';
    const rows = await q.query<EventRow & { reference: string; version: number }>(
      `${audit}SELECT c.reference, c.version, ${EVENT_COLUMNS.split(', ').map((col) => `e.${col}`).join(', ')}
         FROM cases c LEFT JOIN case_events e ON e.case_id = c.id WHERE c.id = $1 ORDER BY e.sequence`,
      auditActor ? [caseId, auditActor] : [caseId],
    );
    if (rows.length === 0) throw new CaseNotFoundError(caseId);
    return { caseId, reference: rows[0].reference, version: rows[0].version, events: rows.filter((r) => r.id !== null).map(toEvent) };
  }

  /** What a request with this key wrote before, if anything: its case, the first event's type and who recorded it. */
  interface Done {
    caseId: string;
    reference: string;
    type: string;
    by: string;
  }
  async function alreadyDone(q: Database, idempotencyKey: string | undefined): Promise<Done | null> {
    if (!idempotencyKey) return null;
    const [row] = await q.query<{ case_id: string; reference: string; type: string; by_staff: string }>(
      'SELECT e.case_id, c.reference, e.type, e.by_staff FROM case_events e JOIN cases c ON c.id = e.case_id WHERE e.idempotency_key = $1',
      [idempotencyKey],
    );
    return row ? { caseId: row.case_id, reference: row.reference, type: row.type, by: row.by_staff } : null;
  }

  /**
   * A repeat of a request is answered with what the first one wrote, read as the caller (audited),
   * but only if it is the same request: same case, same person, same kind of event.
   */
  async function replay(q: Database, done: Done, expected: { caseId?: string; reference?: string; type: string; by: string }, idempotencyKey: string): Promise<CaseRecord> {
    const same = done.type === expected.type && done.by === expected.by && (expected.caseId === undefined || done.caseId === expected.caseId) && (expected.reference === undefined || done.reference === expected.reference);
    if (!same) throw new IdempotencyConflictError(idempotencyKey);
    return { ...(await readIn(q, done.caseId, expected.by)), replayed: true };
  }

  /** Writes events after `version` and returns them as stored; the caller holds the transaction and has moved the version. */
  async function insertEvents(tx: Database, caseId: string, version: number, events: ValidNewEvent[], idempotencyKey?: string): Promise<CaseEvent[]> {
    const recordedAt = new Date().toISOString();
    const written: CaseEvent[] = [];
    for (const [i, e] of events.entries()) {
      const id = randomUUID();
      await tx.query(`INSERT INTO case_events (id, case_id, sequence, type, by_staff, recorded_at, effective_on, data, idempotency_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, [
        id,
        caseId,
        version + i + 1,
        e.type,
        e.by,
        recordedAt,
        e.effectiveOn,
        JSON.stringify(e.data),
        // The key marks the first event of the batch: enough to recognise the batch again.
        i === 0 ? idempotencyKey ?? null : null,
      ]);
      written.push({ ...e, id, caseId, sequence: version + i + 1, recordedAt } as CaseEvent);
    }
    return written;
  }

  /** `SET` clauses for the read model columns these events change, numbered from `$first`. */
  function summarySet(events: ValidNewEvent[], first: number): { sql: string; params: unknown[] } {
    const change = summaryChangesOf(events);
    const columns = Object.keys(change) as Array<keyof typeof change>;
    return { sql: columns.map((c, i) => `, ${c} = $${first + i}`).join(''), params: columns.map((c) => change[c] ?? null) };
  }

  /**
   * Two deliveries of the same request racing: the loser finds the version moved on (or its insert
   * hits the unique key). If the winner wrote this very request, answer as the winner did.
   */
  async function onceOnly(
    idempotencyKey: string | undefined,
    expected: { caseId?: string; reference?: string; type: string; by: string },
    write: () => Promise<CaseRecord>,
  ): Promise<CaseRecord> {
    try {
      return await write();
    } catch (e) {
      const err = e as { code?: string; constraint?: string; message?: string };
      const raced = e instanceof VersionConflictError || (err.code === '23505' && /idempotency/.test(`${err.constraint ?? ''} ${err.message ?? ''}`));
      if (!idempotencyKey || !raced) throw e;
      const done = await alreadyDone(db, idempotencyKey);
      if (!done) throw e;
      return replay(db, done, expected, idempotencyKey);
    }
  }

  /**
   * These cases, in the order given, with their events: read by the (case_id, sequence) index in one
   * statement (a join of cases and events let the planner scan every event).
   */
  async function withEvents(cases: readonly CaseHead[]): Promise<CaseRecord[]> {
    const rows = await db.query<EventRow>(`SELECT ${EVENT_COLUMNS} FROM case_events WHERE case_id = ANY($1::text[]) ORDER BY case_id, sequence`, [cases.map((c) => c.id)]);
    const byCase = new Map<string, CaseEvent[]>(cases.map((c) => [c.id, []]));
    for (const r of rows) byCase.get(r.case_id)?.push(toEvent(r));
    return cases.map((c) => ({ caseId: c.id, reference: c.reference, version: c.version, events: byCase.get(c.id)! }));
  }

  const log = {
    /** Creates the case with its allocation, atomically. */
    async openCase(input: { reference: string; allocation: NewCaseEvent; actor: string; idempotencyKey?: string; alsoInTransaction?: AppendOptions['alsoInTransaction'] }): Promise<CaseRecord> {
      const allocation = validateNewEvent(input.allocation);
      if (allocation.type !== 'allocated') throw new Error('A case opens with its allocation.');
      const expected = { reference: input.reference, type: 'allocated', by: allocation.by };
      return onceOnly(input.idempotencyKey, expected, () => db.transaction(async (tx) => {
        const done = await alreadyDone(tx, input.idempotencyKey);
        if (done) return replay(tx, done, expected, input.idempotencyKey!);
        const [clash] = await tx.query('SELECT 1 FROM cases WHERE reference = $1', [input.reference]);
        if (clash) throw new DuplicateReferenceError(input.reference);
        const caseId = randomUUID();
        try {
          await tx.query('INSERT INTO cases (id, reference, version) VALUES ($1, $2, 0)', [caseId, input.reference]);
        } catch (e) {
          if ((e as { code?: string }).code === '23505') throw new DuplicateReferenceError(input.reference);
          throw e;
        }
        const set = summarySet([allocation], 2);
        await tx.query(`UPDATE cases SET version = 1${set.sql} WHERE id = $1`, [caseId, ...set.params]);
        const events = await insertEvents(tx, caseId, 0, [allocation], input.idempotencyKey);
        await tx.query(`INSERT INTO case_reminders (case_id, next_at, version) VALUES ($1, '-infinity', 1)`, [caseId]);
        await recordAudit(tx, { actor: input.actor, action: 'case.open', caseId, detail: { events: ['allocated'] } });
        const record: CaseRecord = { caseId, reference: input.reference, version: 1, events };
        await input.alsoInTransaction?.(tx, record);
        return record;
      }));
    },

    /**
     * Brings in cases part way through (`earlyhelp cases import`; later the add-in's Excel import),
     * as `parseCaseImport` checked them, all in one transaction: each case with its read model set
     * from all its events and its version their count, every event marked `imported_by` the actor,
     * one `case.import` audit row a case. A reference already in the log is refused
     * (DuplicateReferenceError) and nothing is written: an import never merges into a case.
     * Rows go in multi-row statements, so a whole authority's caseload takes seconds, not hours.
     */
    async importCases(cases: readonly ImportedCase[], opts: { actor: string; file: string }): Promise<Array<{ caseId: string; reference: string; version: number }>> {
      const seen = new Set<string>();
      for (const c of cases) {
        if (c.events[0]?.type !== 'allocated' || c.events.some((e, i) => i > 0 && e.type === 'allocated')) throw new Error(`Case ${c.reference}: an imported case starts with its allocation, and has only that one.`);
        if (seen.has(c.reference)) throw new DuplicateReferenceError(c.reference);
        seen.add(c.reference);
      }
      const written = cases.map((c) => ({ caseId: randomUUID(), reference: c.reference, version: c.events.length }));
      if (cases.length === 0) return written;
      return db.transaction(async (tx) => {
        const references = cases.map((c) => c.reference);
        const clashes = new Set((await tx.query<{ reference: string }>('SELECT reference FROM cases WHERE reference = ANY($1::text[])', [references])).map((r) => r.reference));
        if (clashes.size) throw new DuplicateReferenceError(references.find((r) => clashes.has(r))!);
        const recordedAt = new Date().toISOString();
        try {
          await inChunks(tx, cases.length, IMPORT_CASES_PER_STATEMENT, (from, to) => {
            const rows = [];
            for (let i = from; i < to; i++) rows.push({ id: written[i].caseId, reference: written[i].reference, version: written[i].version, ...summaryChangesOf(cases[i].events) });
            return [JSON.stringify(rows), opts.actor, opts.file];
          }, `WITH inserted AS (
                INSERT INTO cases (id, reference, version, lead_professional, manager, caseload_points, status, allocated_on, closed_on)
                SELECT c.id, c.reference, c.version, c.lead_professional, c.manager, c.caseload_points, c.status, c.allocated_on::date, c.closed_on::date
                  FROM jsonb_to_recordset($1::jsonb) AS c(id text, reference text, version int, lead_professional text, manager text, caseload_points int, status text, allocated_on text, closed_on text)
                RETURNING id, version)
              , reminded AS (INSERT INTO case_reminders (case_id, next_at, version) SELECT id, '-infinity', version FROM inserted)
              INSERT INTO audit_log (actor, action, case_id, detail) SELECT $2, 'case.import', id, jsonb_build_object('events', version, 'file', $3::text) FROM inserted`);
        } catch (e) {
          // Another writer took a reference between our check and our insert.
          const err = e as { code?: string; detail?: string };
          if (err.code === '23505') throw new DuplicateReferenceError(/\(reference\)=\((.*)\)/.exec(err.detail ?? '')?.[1] ?? 'in the file');
          throw e;
        }
        // Events flattened across cases, so every statement carries a full chunk however long each log is.
        const total = cases.reduce((n, c) => n + c.events.length, 0);
        let i = 0;
        let j = 0;
        await inChunks(tx, total, IMPORT_EVENTS_PER_STATEMENT, (from, to) => {
          const rows = [];
          for (let k = from; k < to; k++, j++) {
            while (j >= cases[i].events.length) [i, j] = [i + 1, 0];
            const e = cases[i].events[j];
            rows.push({ id: randomUUID(), case_id: written[i].caseId, sequence: j + 1, type: e.type, by_staff: e.by, effective_on: e.effectiveOn, data: e.data });
          }
          return [JSON.stringify(rows), recordedAt, opts.actor];
        }, `INSERT INTO case_events (id, case_id, sequence, type, by_staff, recorded_at, effective_on, data, imported_by)
            SELECT e.id, e.case_id, e.sequence, e.type, e.by_staff, $2::timestamptz, e.effective_on::date, e.data, $3
              FROM jsonb_to_recordset($1::jsonb) AS e(id text, case_id text, sequence int, type text, by_staff text, effective_on text, data jsonb)`);
        return written;
      });
    },

    /**
     * Appends events if the case is still at `expectedVersion`; otherwise VersionConflictError and
     * nothing is written. `opts.previous`, the case as the caller read it, saves reading it back.
     */
    async append(caseId: string, expectedVersion: number, events: NewCaseEvent[], opts: AppendOptions & { previous?: CaseRecord }): Promise<CaseRecord> {
      const valid = events.map((e) => validateNewEvent(e));
      if (valid.length === 0) throw new Error('Nothing to append.');
      const recordedAt = new Date().toISOString();
      const written = valid.map((e, i) => ({ ...e, id: randomUUID(), caseId, sequence: expectedVersion + i + 1, recordedAt }) as CaseEvent);
      const write = async (q: Database): Promise<CaseRecord> => {
        // One statement: version moved, events written, change audited, or nothing (a repeated
        // request is caught by the unique idempotency key, see onceOnly, not by a read first).
        const set = summarySet(valid, 6);
        const moved = await q.query<{ reference: string }>(
          `WITH moved AS (UPDATE cases SET version = version + $3${set.sql} WHERE id = $1 AND version = $2 RETURNING id, reference, version),
           inserted AS (
             INSERT INTO case_events (id, case_id, sequence, type, by_staff, recorded_at, effective_on, data, idempotency_key)
             SELECT e.id, moved.id, e.sequence, e.type, e.by_staff, e.recorded_at::timestamptz, e.effective_on::date, e.data, e.idempotency_key
               FROM moved, jsonb_to_recordset($4::jsonb) AS e(id text, sequence int, type text, by_staff text, recorded_at text, effective_on text, data jsonb, idempotency_key text)
             RETURNING 1),
           audited AS (INSERT INTO audit_log (actor, action, case_id, detail) SELECT $5, 'case.append', moved.id, $${6 + set.params.length}::jsonb FROM moved),
           -- The scheduler works the case out again at its next sweep.
           reminded AS (INSERT INTO case_reminders (case_id, next_at, version) SELECT moved.id, '-infinity', moved.version FROM moved
                          ON CONFLICT (case_id) DO UPDATE SET next_at = '-infinity', version = EXCLUDED.version, updated_at = now())
           SELECT reference FROM moved`,
          [
            caseId,
            expectedVersion,
            valid.length,
            JSON.stringify(
              written.map((e, i) => ({
                id: e.id,
                sequence: e.sequence,
                type: e.type,
                by_staff: e.by,
                recorded_at: recordedAt,
                effective_on: e.effectiveOn,
                data: e.data,
                // The key marks the first event of the batch: enough to recognise the batch again.
                idempotency_key: i === 0 ? opts.idempotencyKey ?? null : null,
              })),
            ),
            opts.actor,
            ...set.params,
            JSON.stringify({ events: valid.map((e) => e.type), version: expectedVersion + valid.length }),
          ],
        );
        if (moved.length === 0) {
          const [row] = await q.query<{ version: number }>('SELECT version FROM cases WHERE id = $1', [caseId]);
          if (!row) throw new CaseNotFoundError(caseId);
          throw new VersionConflictError(caseId, expectedVersion, row.version);
        }
        const previous = opts.previous?.caseId === caseId && opts.previous.version === expectedVersion ? opts.previous : null;
        return previous
          ? { caseId, reference: moved[0].reference, version: expectedVersion + valid.length, events: [...previous.events, ...written] }
          : readIn(q, caseId);
      };
      return onceOnly(opts.idempotencyKey, { caseId, type: valid[0].type, by: valid[0].by }, () =>
        opts.alsoInTransaction
          ? db.transaction(async (tx) => {
              const record = await write(tx);
              await opts.alsoInTransaction!(tx, record);
              return record;
            })
          : write(db),
      );
    },

    /**
     * Appends events to each of many cases still at its expected version, in one statement (the
     * scheduler's escalations, many at a time): each change audited and the case set to be worked
     * out again at the next sweep, as `append` does; a case that has moved on is left as it is. One
     * entry a case, and only events that leave the case summary as it is. An idempotency key
     * already recorded fails the whole statement: the caller falls back to `append`, which
     * answers a repeat. Returns each case written with its new version. On a log made over a
     * transaction (`createCaseLog(tx)`), it is written with whatever else the transaction writes.
     */
    async appendEach(appends: ReadonlyArray<{ caseId: string; expectedVersion: number; events: NewCaseEvent[]; idempotencyKey?: string }>, opts: { actor: string }): Promise<Map<string, number>> {
      if (new Set(appends.map((a) => a.caseId)).size !== appends.length) throw new Error('One entry a case.');
      const cases = appends.map((a) => {
        const valid = a.events.map((e) => validateNewEvent(e));
        if (valid.length === 0) throw new Error('Nothing to append.');
        if (Object.keys(summaryChangesOf(valid)).length) throw new Error(`Case ${a.caseId}: these events change the case summary; append them with append.`);
        return {
          case_id: a.caseId,
          version: a.expectedVersion,
          events: valid.map((e, i) => ({
            id: randomUUID(),
            sequence: a.expectedVersion + i + 1,
            type: e.type,
            by_staff: e.by,
            effective_on: e.effectiveOn,
            data: e.data,
            // The key marks the first event of the batch: enough to recognise the batch again.
            idempotency_key: i === 0 ? a.idempotencyKey ?? null : null,
          })),
          audit: { events: valid.map((e) => e.type), version: a.expectedVersion + valid.length },
        };
      });
      if (cases.length === 0) return new Map();
      return db.transaction(async (tx) => {
        // Locked in the order of their ids: two of these over overlapping cases wait for each other rather than deadlock.
        await tx.query('SELECT id FROM cases WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE', [cases.map((c) => c.case_id)]);
        const moved = await tx.query<{ id: string; version: number }>(
          `WITH w AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS w(case_id text, version int, events jsonb, audit jsonb)),
           moved AS (UPDATE cases c SET version = c.version + jsonb_array_length(w.events) FROM w WHERE c.id = w.case_id AND c.version = w.version RETURNING c.id, c.version),
           inserted AS (
             INSERT INTO case_events (id, case_id, sequence, type, by_staff, recorded_at, effective_on, data, idempotency_key)
             SELECT e.id, moved.id, e.sequence, e.type, e.by_staff, $3::timestamptz, e.effective_on::date, e.data, e.idempotency_key
               FROM moved JOIN w ON w.case_id = moved.id,
                    jsonb_to_recordset(w.events) AS e(id text, sequence int, type text, by_staff text, effective_on text, data jsonb, idempotency_key text)
             RETURNING 1),
           audited AS (INSERT INTO audit_log (actor, action, case_id, detail) SELECT $2, 'case.append', moved.id, w.audit FROM moved JOIN w ON w.case_id = moved.id),
           -- The scheduler works each case out again at its next sweep.
           reminded AS (INSERT INTO case_reminders (case_id, next_at, version) SELECT moved.id, '-infinity', moved.version FROM moved ORDER BY moved.id
                          ON CONFLICT (case_id) DO UPDATE SET next_at = '-infinity', version = EXCLUDED.version, updated_at = now())
           SELECT id, version FROM moved`,
          [JSON.stringify(cases), opts.actor, new Date().toISOString()],
        );
        return new Map(moved.map((r) => [r.id, r.version]));
      });
    },

    /**
     * The case as a request with this key left it, if the request was recorded before (a retried
     * Teams activity): checked before the rules, so a repeat is answered as the first time was.
     */
    async replayOf(idempotencyKey: string | undefined, expected: { caseId?: string; reference?: string; type: string; by: string }): Promise<CaseRecord | null> {
      const done = await alreadyDone(db, idempotencyKey);
      return done ? replay(db, done, expected, idempotencyKey!) : null;
    },

    async read(caseId: string, opts: { actor: string }): Promise<CaseRecord> {
      return readIn(db, caseId, opts.actor);
    },

    /** Several cases at once, each read audited, in one statement (a caseload, a team's cases). */
    async readMany(caseIds: readonly string[], opts: { actor: string }): Promise<CaseRecord[]> {
      if (caseIds.length === 0) return [];
      const rows = await db.query<EventRow & { case_ref: string; case_version: number; case_key: string }>(
        `WITH audited AS (INSERT INTO audit_log (actor, action, case_id, detail) SELECT $2, 'case.read', id, jsonb_build_object('version', version) FROM cases WHERE id = ANY($1::text[]))
         SELECT c.id AS case_key, c.reference AS case_ref, c.version AS case_version, ${EVENT_COLUMNS.split(', ').map((col) => `e.${col}`).join(', ')}
           FROM cases c LEFT JOIN case_events e ON e.case_id = c.id WHERE c.id = ANY($1::text[]) ORDER BY c.reference, e.sequence`,
        [caseIds, opts.actor],
      );
      return recordsOf(rows);
    },

    /**
     * The cases not yet closed that these lead professionals hold (a caseload, a team's), each with
     * its events, listed, read and audited in one statement: one `case.read` row a case, exactly
     * the cases returned, at the version returned (the audit and the read share one snapshot).
     */
    async readCaseloads(leadProfessionals: readonly string[], opts: { actor: string }): Promise<CaseRecord[]> {
      if (leadProfessionals.length === 0) return [];
      const rows = await db.query<EventRow & { case_ref: string; case_version: number; case_key: string }>(
        `WITH chosen AS (SELECT id, reference, version FROM cases WHERE lead_professional = ANY($1::text[]) AND status <> 'closed'),
         audited AS (INSERT INTO audit_log (actor, action, case_id, detail) SELECT $2, 'case.read', id, jsonb_build_object('version', version) FROM chosen)
         SELECT c.id AS case_key, c.reference AS case_ref, c.version AS case_version, ${EVENT_COLUMNS.split(', ').map((col) => `e.${col}`).join(', ')}
           FROM chosen c LEFT JOIN case_events e ON e.case_id = c.id ORDER BY c.reference, e.sequence`,
        [leadProfessionals, opts.actor],
      );
      return recordsOf(rows);
    },

    /** The id of the case with this reference, if there is one (a reference reveals nothing more). */
    async idOf(reference: string): Promise<string | null> {
      const [row] = await db.query<{ id: string }>('SELECT id FROM cases WHERE reference = $1', [reference]);
      return row?.id ?? null;
    },

    async findByReference(reference: string, opts: { actor: string }): Promise<CaseRecord | null> {
      const id = await log.idOf(reference);
      return id ? log.read(id, opts) : null;
    },

    /** Summaries from the read model; an unfiltered list is for administrators' tools. */
    async listCases(filter: { leadProfessional?: string; manager?: string; status?: string; leadProfessionals?: string[] }, opts: { actor: string }): Promise<CaseSummaryRow[]> {
      const rows = await db.query<{ id: string; reference: string; version: number; lead_professional: string | null; manager: string | null; status: string; allocated_on: LocalDate | null; closed_on: LocalDate | null }>(
        `SELECT id, reference, version, lead_professional, manager, status, allocated_on, closed_on FROM cases
          WHERE ($1::text IS NULL OR lead_professional = $1) AND ($2::text IS NULL OR manager = $2) AND ($3::text IS NULL OR status = $3)
            AND ($4::text[] IS NULL OR lead_professional = ANY($4::text[]))
          ORDER BY reference`,
        [filter.leadProfessional ?? null, filter.manager ?? null, filter.status ?? null, filter.leadProfessionals ?? null],
      );
      await recordAudit(db, { actor: opts.actor, action: 'case.list', detail: { count: rows.length } });
      return rows.map((r) => ({ caseId: r.id, reference: r.reference, version: r.version, leadProfessional: r.lead_professional, manager: r.manager, status: r.status, allocatedOn: r.allocated_on, closedOn: r.closed_on }));
    },

    /** Caseload points each worker carries on cases not yet closed (the caseload tracking sheet). */
    async caseloadPoints(leadProfessionals: string[]): Promise<Map<string, number>> {
      const rows = await db.query<{ lead_professional: string; points: number }>(
        `SELECT lead_professional, sum(caseload_points)::int AS points FROM cases WHERE status <> 'closed' AND lead_professional = ANY($1::text[]) GROUP BY lead_professional`,
        [leadProfessionals],
      );
      return new Map(rows.map((r) => [r.lead_professional, r.points]));
    },

    /**
     * The cases not yet closed, counted with their caseload points by lead professional and
     * manager (the weekly team digests' caseload lines): from the case summary, no case read.
     */
    async openCaseloads(): Promise<Array<{ leadProfessional: string; manager: string; openCases: number; caseloadPoints: number }>> {
      const rows = await db.query<{ lead_professional: string; manager: string; open_cases: number; points: number }>(
        `SELECT lead_professional, manager, count(*)::int AS open_cases, sum(caseload_points)::int AS points FROM cases
          WHERE status <> 'closed' AND lead_professional IS NOT NULL GROUP BY lead_professional, manager ORDER BY lead_professional, manager`,
      );
      return rows.map((r) => ({ leadProfessional: r.lead_professional, manager: r.manager, openCases: r.open_cases, caseloadPoints: r.points }));
    },

    /**
     * These cases with their events, for the scheduler's planning: a system read, not a person's,
     * so not audited per case (what a person is then shown is read again as them, audited).
     */
    async readForScheduler(caseIds: readonly string[]): Promise<CaseRecord[]> {
      const out: CaseRecord[] = [];
      for (let from = 0; from < caseIds.length; from += 5000) {
        const ids = caseIds.slice(from, from + 5000);
        out.push(...(await withEvents(await db.query<CaseHead>('SELECT id, reference, version FROM cases WHERE id = ANY($1::text[]) ORDER BY id', [ids]))));
      }
      return out;
    },

    /** Every case with its events, for batch work (the scheduler, reports, the benchmark); not audited per case. */
    async *allCases(batchSize = 500): AsyncGenerator<CaseRecord> {
      let after = '';
      for (;;) {
        const cases = await db.query<CaseHead>('SELECT id, reference, version FROM cases WHERE id > $1 ORDER BY id LIMIT $2', [after, batchSize]);
        if (cases.length === 0) return;
        yield* await withEvents(cases);
        after = cases[cases.length - 1].id;
      }
    },
  };
  return log;
}

/**
 * Runs `attempt` again when another writer got there first; the attempt re-reads and re-decides.
 * A short random pause between tries keeps writers that collided from colliding again.
 */
export async function retryOnConflict<T>(attempt: () => Promise<T>, tries = 8): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (e) {
      if (!(e instanceof VersionConflictError) || i >= tries) throw e;
      await new Promise((r) => setTimeout(r, Math.random() * 5 * i));
    }
  }
}
