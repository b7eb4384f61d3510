import { Role, StaffError, StaffMember, validateStaffMember } from '../staff';
import { recordAudit } from '../storage/audit';
import { Database } from '../storage/database';
import { createStaffDirectory } from '../storage/staffDirectory';
import { Graph } from './client';

/**
 * Keeping the staff directory in step with Entra ID (issue 9): a group's members and their managers
 * are read from Graph and compared with the directory; the changes are proposed, and saved only
 * when asked. Entra ID is the truth for who is in the service, their name, e-mail and line manager;
 * roles, teams and caseload capacity are the directory's own and never guessed: new people are
 * given the role and team the administrator names.
 */

/** A group member as Graph gives it (`$select=id,displayName,mail,userPrincipalName,accountEnabled`), with their manager's id. */
export interface EntraUser {
  id: string;
  displayName?: string | null;
  mail?: string | null;
  userPrincipalName?: string | null;
  accountEnabled?: boolean | null;
  /** The manager's object id; null when they have none. */
  managerId?: string | null;
  /** The manager's display name, for saying who they are when they are not in the directory. */
  managerName?: string | null;
}

export type StaffField = 'name' | 'email' | 'lineManager' | 'active';

export type StaffChange =
  | { kind: 'add'; member: StaffMember; notes: string[] }
  /** In the group but not in the directory, and no role and team were given to add them with. */
  | { kind: 'needs role and team'; user: EntraUser; notes: string[] }
  | { kind: 'update'; before: StaffMember; member: StaffMember; fields: StaffField[]; notes: string[] }
  | { kind: 'deactivate'; before: StaffMember; member: StaffMember; why: 'no longer in the group' | 'account disabled'; notes: string[] }
  /** In the group, but not something the directory can hold (no usable e-mail, not a valid id). */
  | { kind: 'skip'; user: EntraUser; why: string; notes: string[] };

export interface Newcomers {
  role: Role;
  team: string;
  capacityPoints?: number;
}

const lower = (s: string | null | undefined) => (s ?? '').trim().toLowerCase();

/**
 * The changes that bring `directory` in step with `group`, in the directory's order then the
 * group's. Pure: no clock, no I/O.
 *
 * @example proposeStaffChanges([sam], [{ id: sam.id, displayName: 'Samuel Patel', mail: sam.email, accountEnabled: true, managerId: null }])
 *   // [{ kind: 'update', fields: ['name', 'lineManager'], ... }]
 */
export function proposeStaffChanges(directory: readonly StaffMember[], group: readonly EntraUser[], newcomers?: Newcomers): StaffChange[] {
  const known = new Map(directory.map((m) => [m.id, m]));
  const inGroup = new Map(group.map((u) => [lower(u.id), u]));
  const changes: StaffChange[] = [];
  // Who can be a line manager after the changes: the directory and the people being added.
  const enabled = (u: EntraUser) => u.accountEnabled !== false;
  const willExist = new Set([...known.keys(), ...(newcomers ? group.filter(enabled).map((u) => lower(u.id)) : [])]);
  const entraNames = new Map<string, string>();
  for (const u of group) {
    if (u.managerId && u.managerName) entraNames.set(lower(u.managerId), u.managerName);
    if (u.displayName) entraNames.set(lower(u.id), u.displayName);
  }
  const nameOf = (id: string) => known.get(id)?.name ?? entraNames.get(id) ?? id;

  /** The line manager Entra ID names, if the directory can hold it; otherwise the current one, with a note. */
  const lineManagerFor = (user: EntraUser, current: string | undefined, notes: string[]): string | undefined => {
    const managerId = user.managerId ? lower(user.managerId) : undefined;
    if (!managerId) return undefined;
    if (managerId === lower(user.id)) return current;
    if (willExist.has(managerId)) return managerId;
    notes.push(`line manager ${managerId} is not in the directory: left as it is`);
    return current;
  };

  for (const before of directory) {
    const user = inGroup.get(before.id);
    if (!user) {
      if (before.active) changes.push({ kind: 'deactivate', before, member: { ...before, active: false }, why: 'no longer in the group', notes: [] });
      continue;
    }
    if (!enabled(user)) {
      if (before.active) changes.push({ kind: 'deactivate', before, member: { ...before, active: false }, why: 'account disabled', notes: [] });
      continue;
    }
    const notes: string[] = [];
    const email = lower(user.mail) || lower(user.userPrincipalName);
    const candidate: StaffMember = {
      ...before,
      name: (user.displayName ?? '').trim() || before.name,
      email: email || before.email,
      active: true,
    };
    const lineManager = lineManagerFor(user, before.lineManager, notes);
    if (lineManager) candidate.lineManager = lineManager;
    else delete candidate.lineManager;
    let member: StaffMember;
    try {
      member = validateStaffMember({ ...candidate }, `Entra ID user ${user.id}`);
    } catch (e) {
      if (!(e instanceof StaffError)) throw e;
      changes.push({ kind: 'skip', user, why: `${e.field}: ${e.reason}`, notes });
      continue;
    }
    const fields = (['name', 'email', 'lineManager', 'active'] as const).filter((f) => (member[f] ?? null) !== (before[f] ?? null));
    if (fields.length > 0 || notes.length > 0) changes.push({ kind: 'update', before, member, fields, notes });
  }

  for (const user of group) {
    const id = lower(user.id);
    if (known.has(id) || !enabled(user)) continue;
    const notes: string[] = [];
    if (!newcomers) {
      changes.push({ kind: 'needs role and team', user, notes });
      continue;
    }
    try {
      const member = validateStaffMember(
        {
          id,
          name: user.displayName ?? '',
          email: lower(user.mail) || lower(user.userPrincipalName),
          role: newcomers.role,
          team: newcomers.team,
          capacityPoints: newcomers.capacityPoints ?? 0,
          active: true,
        },
        `Entra ID user ${user.id}`,
      );
      const lineManager = lineManagerFor(user, undefined, notes);
      if (lineManager) member.lineManager = lineManager;
      changes.push({ kind: 'add', member, notes });
    } catch (e) {
      if (!(e instanceof StaffError)) throw e;
      changes.push({ kind: 'skip', user, why: `${e.field}: ${e.reason}`, notes });
    }
  }
  // Names in notes read better than ids.
  for (const c of changes) c.notes = c.notes.map((n) => n.replace(/^line manager (\S+)/, (_, id: string) => `line manager ${nameOf(id)}`));
  return changes;
}

/** The members the directory saves for these changes (nothing for those that need a role or are skipped). */
export function membersToSave(changes: readonly StaffChange[]): StaffMember[] {
  return changes.flatMap((c) => (c.kind === 'add' || c.kind === 'deactivate' || (c.kind === 'update' && c.fields.length > 0) ? [c.member] : []));
}

const USER_SELECT = 'id,displayName,mail,userPrincipalName,accountEnabled';

/**
 * A group's user members (transitive members are not followed) with their managers: the members
 * page by page (`@odata.nextLink`), the managers in `$batch`es of 20 (a 404 is "no manager").
 */
export async function readGroup(graph: Graph, groupId: string): Promise<EntraUser[]> {
  const members = await graph.getAll<EntraUser>(`/groups/${encodeURIComponent(groupId)}/members/microsoft.graph.user?$select=${USER_SELECT}`);
  const answers = await graph.batch(members.map((m) => ({ method: 'GET' as const, url: `/users/${encodeURIComponent(m.id)}/manager?$select=id,displayName` })));
  return members.map((m, i) => {
    const { status, body } = answers[i];
    if (status === 404) return { ...m, managerId: null, managerName: null };
    if (status !== 200) {
      const code = (body as { error?: { code?: unknown } })?.error?.code;
      throw new Error(`the manager of Entra ID user ${m.id} could not be read: http ${status} ${typeof code === 'string' ? code : ''}`.trim());
    }
    const manager = body as { id?: string; displayName?: string | null } | undefined;
    return { ...m, managerId: manager?.id ?? null, managerName: manager?.displayName ?? null };
  });
}

/** `--apply` refused: people new to the directory and no role and team to add them with. Nothing is written. */
export class NeedsRoleAndTeamError extends Error {
  constructor(readonly count: number) {
    super(`${count} people new to the directory need a role and a team (given to all of them; or add them one by one with earlyhelp staff add): nothing written`);
    this.name = 'NeedsRoleAndTeamError';
  }
}

export interface StaffSyncResult {
  /** Members of the group read from Entra ID. */
  members: number;
  changes: StaffChange[];
  /** Members saved (0 on a dry run). */
  saved: number;
}

/**
 * One sync: reads the group, proposes the changes and, with `apply`, saves them all in one
 * transaction (audited as `staff.change`, and `staff.sync` with the counts). Without `apply` it
 * writes nothing. All or nothing: with people new to the directory and no `newcomers`, nothing.
 */
export async function syncStaff(options: { db: Database; graph: Graph; groupId: string; newcomers?: Newcomers; apply?: boolean; actor: string }): Promise<StaffSyncResult> {
  const directory = createStaffDirectory(options.db);
  const users = await readGroup(options.graph, options.groupId);
  const changes = proposeStaffChanges(await directory.all(), users, options.newcomers);
  if (!options.apply) return { members: users.length, changes, saved: 0 };
  const waiting = changes.filter((c) => c.kind === 'needs role and team').length;
  if (waiting > 0) throw new NeedsRoleAndTeamError(waiting);
  const toSave = membersToSave(changes);
  const count = (kind: StaffChange['kind']) => changes.filter((c) => c.kind === kind && (c.kind !== 'update' || c.fields.length > 0)).length;
  await options.db.transaction(async (tx) => {
    if (toSave.length > 0) await createStaffDirectory(tx).save(toSave, options.actor);
    await recordAudit(tx, { actor: options.actor, action: 'staff.sync', detail: { group: options.groupId, added: count('add'), updated: count('update'), deactivated: count('deactivate'), skipped: count('skip') } });
  });
  return { members: users.length, changes, saved: toSave.length };
}
