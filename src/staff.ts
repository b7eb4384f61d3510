import { parse } from 'csv-parse/sync';
import { z } from 'zod';
import { isLocalDate } from './localDate';

/**
 * The staff directory: who works in Early Help, in which team, in which role, under which line
 * manager, and how many caseload points they can carry. A Teams user is matched to it by their
 * Entra ID object id (`from.aadObjectId`); anyone not in it is told who to ask, and sees nothing.
 */

export const ROLES = ['worker', 'manager', 'business-support', 'administrator'] as const;
export type Role = (typeof ROLES)[number];

export interface StaffMember {
  /** Entra ID object id (a GUID). */
  id: string;
  name: string;
  email: string;
  role: Role;
  team: string;
  /** Staff id of the line manager, if any. */
  lineManager?: string;
  /** Caseload capacity in points (workers); the manager allocates points per case. */
  capacityPoints: number;
  active: boolean;
  /** On leave from this day (inclusive); without it, leave runs from any earlier day up to `absentUntil`. */
  absentFrom?: string;
  /** On leave up to and including this day (a duty manager covers a manager's decisions). */
  absentUntil?: string;
}

/**
 * Whether someone is away on a given day: from `absentFrom` (or any earlier day, when it is not
 * given) to `absentUntil`, both inclusive. Leave is set with its last day; a start alone marks nobody away.
 * @example isAbsent({ absentFrom: '2026-12-21', absentUntil: '2027-01-04' }, '2026-12-18') // false
 */
export function isAbsent(member: Pick<StaffMember, 'absentFrom' | 'absentUntil'>, day: string): boolean {
  const { absentFrom, absentUntil } = member;
  return absentUntil !== undefined && day <= absentUntil && (absentFrom === undefined || absentFrom <= day);
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const optionalDate = z
  .string()
  .trim()
  .optional()
  .refine((s) => !s || isLocalDate(s), { message: 'must be a real date, YYYY-MM-DD' })
  .transform((s) => s || undefined);

export const staffMemberSchema = z.object({
  id: z.string().trim().regex(GUID, 'must be an Entra ID object id (a GUID)').transform((s) => s.toLowerCase()),
  name: z.string().trim().min(1, 'is required').max(200),
  email: z.string().trim().toLowerCase().email('must be an e-mail address').max(320),
  role: z.enum(ROLES, { message: `must be one of ${ROLES.join(', ')}` }),
  team: z.string().trim().min(1, 'is required').max(200),
  lineManager: z
    .string()
    .trim()
    .optional()
    .transform((s) => (s ? s.toLowerCase() : undefined)),
  capacityPoints: z.coerce.number().int('must be a whole number').min(0).max(1000).default(0),
  absentFrom: optionalDate,
  absentUntil: optionalDate,
  active: z
    .union([z.boolean(), z.enum(['true', 'false', 'yes', 'no', ''])])
    .optional()
    .transform((v) => v === undefined || v === '' || v === true || v === 'true' || v === 'yes'),
}).refine((m) => !m.absentFrom || !m.absentUntil || m.absentFrom <= m.absentUntil, { message: 'must not be later than absentUntil', path: ['absentFrom'] });

export class StaffError extends Error {
  constructor(readonly where: string, readonly field: string, readonly reason: string) {
    super(`${where}: ${field}: ${reason}`);
    this.name = 'StaffError';
  }
}

/** Checks one member; `where` names the row or the command for the message. */
export function validateStaffMember(input: Record<string, unknown>, where: string): StaffMember {
  const result = staffMemberSchema.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new StaffError(where, issue.path.join('.') || 'row', issue.message);
  }
  return result.data as StaffMember;
}

const CSV_COLUMNS = ['id', 'name', 'email', 'role', 'team', 'lineManager', 'capacityPoints', 'active', 'absentFrom', 'absentUntil'];

/**
 * Reads a staff CSV (header row: id,name,email,role,team,lineManager,capacityPoints[,active][,absentFrom][,absentUntil]).
 * `lineManager` is the manager's id or e-mail. All or nothing: the first bad row is named and nothing is returned.
 */
export function parseStaffCsv(text: string, file: string, known: readonly StaffMember[] = []): StaffMember[] {
  let rows: Record<string, string>[];
  try {
    rows = parse(text, { columns: true, skip_empty_lines: true, trim: true, bom: true });
  } catch (e) {
    throw new StaffError(file, 'csv', (e as Error).message);
  }
  const header = rows.length ? Object.keys(rows[0]) : [];
  const unknown = header.filter((h) => !CSV_COLUMNS.includes(h));
  if (unknown.length) throw new StaffError(file, 'header', `unknown column ${unknown.map((u) => JSON.stringify(u)).join(', ')} (expected ${CSV_COLUMNS.join(',')})`);
  for (const required of ['id', 'name', 'email', 'role', 'team']) {
    if (rows.length && !header.includes(required)) throw new StaffError(file, 'header', `missing column "${required}"`);
  }
  const members = rows.map((row, i) => validateStaffMember(row, `${file} row ${i + 2}`));
  const byEmail = new Map<string, StaffMember>([...known, ...members].map((m) => [m.email, m]));
  const ids = new Set([...known.map((m) => m.id), ...members.map((m) => m.id)]);
  const seenIds = new Set<string>();
  const seenEmails = new Set<string>();
  members.forEach((m, i) => {
    const where = `${file} row ${i + 2}`;
    if (seenIds.has(m.id)) throw new StaffError(where, 'id', `${m.id} appears twice in the file`);
    if (seenEmails.has(m.email)) throw new StaffError(where, 'email', `${m.email} appears twice in the file`);
    seenIds.add(m.id);
    seenEmails.add(m.email);
    if (m.lineManager) {
      const manager = ids.has(m.lineManager) ? m.lineManager : byEmail.get(m.lineManager)?.id;
      if (!manager) throw new StaffError(where, 'lineManager', `${m.lineManager} is not in the directory or the file`);
      if (manager === m.id) throw new StaffError(where, 'lineManager', 'a member cannot be their own line manager');
      m.lineManager = manager;
    }
  });
  return members;
}
