import { Database } from './database';

/**
 * Every read and change of a case is audited (DOMAIN.md). An entry holds ids, event types and
 * counts only: never a name, a note or anything else a family told us.
 */
export interface AuditEntry {
  actor: string;
  action: 'case.open' | 'case.read' | 'case.append' | 'case.list' | 'staff.import' | 'staff.change' | string;
  caseId?: string | null;
  detail?: Record<string, string | number | boolean | string[] | null>;
}

export interface AuditRow {
  id: number;
  at: string;
  actor: string;
  action: string;
  case_id: string | null;
  detail: Record<string, unknown>;
}

export async function recordAudit(db: Database, entry: AuditEntry): Promise<void> {
  await db.query('INSERT INTO audit_log (actor, action, case_id, detail) VALUES ($1, $2, $3, $4)', [entry.actor, entry.action, entry.caseId ?? null, JSON.stringify(entry.detail ?? {})]);
}

export async function readAudit(db: Database, filter: { caseId?: string; actor?: string; limit?: number } = {}): Promise<AuditRow[]> {
  return db.query<AuditRow>(
    `SELECT id, at, actor, action, case_id, detail FROM audit_log
      WHERE ($1::text IS NULL OR case_id = $1) AND ($2::text IS NULL OR actor = $2)
      ORDER BY id DESC LIMIT $3`,
    [filter.caseId ?? null, filter.actor ?? null, filter.limit ?? 100],
  );
}
