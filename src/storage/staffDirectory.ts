import { StaffMember } from '../staff';
import { recordAudit } from './audit';
import { Database } from './database';

interface StaffRow {
  id: string;
  name: string;
  email: string;
  role: StaffMember['role'];
  team: string;
  line_manager: string | null;
  capacity_points: number;
  active: boolean;
  absent_from: string | null;
  absent_until: string | null;
}

const toMember = (r: StaffRow): StaffMember => ({
  id: r.id,
  name: r.name,
  email: r.email,
  role: r.role,
  team: r.team,
  ...(r.line_manager ? { lineManager: r.line_manager } : {}),
  capacityPoints: r.capacity_points,
  active: r.active,
  ...(r.absent_from ? { absentFrom: r.absent_from } : {}),
  ...(r.absent_until ? { absentUntil: r.absent_until } : {}),
});

const COLUMNS = 'id, name, email, role, team, line_manager, capacity_points, active, absent_from, absent_until';

export type StaffDirectory = ReturnType<typeof createStaffDirectory>;

/** The staff directory in the database: read by the bot on every turn, filled by administrators. */
export function createStaffDirectory(db: Database) {
  return {
    async get(id: string): Promise<StaffMember | null> {
      const [row] = await db.query<StaffRow>(`SELECT ${COLUMNS} FROM staff WHERE id = $1`, [id.toLowerCase()]);
      return row ? toMember(row) : null;
    },
    /** The active members with these e-mail addresses (any case): who of a meeting's invitees is staff. */
    async withEmails(emails: readonly string[]): Promise<StaffMember[]> {
      if (emails.length === 0) return [];
      return (await db.query<StaffRow>(`SELECT ${COLUMNS} FROM staff WHERE lower(email) = ANY($1::text[]) AND active`, [emails.map((e) => e.toLowerCase())])).map(toMember);
    },
    async all(): Promise<StaffMember[]> {
      return (await db.query<StaffRow>(`SELECT ${COLUMNS} FROM staff ORDER BY team, name`)).map(toMember);
    },
    async team(team: string): Promise<StaffMember[]> {
      return (await db.query<StaffRow>(`SELECT ${COLUMNS} FROM staff WHERE team = $1 AND active ORDER BY name`, [team])).map(toMember);
    },
    /** Adds or updates members, all in one transaction (line managers may come later in the list). */
    async save(members: readonly StaffMember[], actor: string): Promise<void> {
      await db.transaction(async (tx) => {
        await tx.query('SET CONSTRAINTS ALL DEFERRED').catch(() => undefined);
        for (const m of members) {
          await tx.query(
            `INSERT INTO staff (id, name, email, role, team, line_manager, capacity_points, active, absent_from, absent_until) VALUES ($1, $2, $3, $4, $5, NULL, $6, $7, $8, $9)
             ON CONFLICT (id) DO UPDATE SET name = $2, email = $3, role = $4, team = $5, capacity_points = $6, active = $7, absent_from = $8, absent_until = $9, updated_at = now()`,
            [m.id, m.name, m.email, m.role, m.team, m.capacityPoints, m.active, m.absentFrom ?? null, m.absentUntil ?? null],
          );
        }
        for (const m of members) await tx.query('UPDATE staff SET line_manager = $2 WHERE id = $1', [m.id, m.lineManager ?? null]);
        await recordAudit(tx, { actor, action: 'staff.change', detail: { members: members.length } });
      });
    },
  };
}
