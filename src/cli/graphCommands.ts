import type { Command } from 'commander';
import { createGraph, Graph, GraphClientOptions } from '../graph/client';
import { GraphConfigError, graphConfigFromEnv } from '../graph/config';
import { installAppForUnreached } from '../graph/installApp';
import { membersToSave, NeedsRoleAndTeamError, Newcomers, StaffChange, syncStaff } from '../graph/staffSync';
import { ROLES, Role, StaffMember } from '../staff';
import { createStaffDirectory } from '../storage/staffDirectory';
import type { CliIo } from './main';
import { table } from './table';
import { UsageError } from './usageError';
import { withDatabase } from './withDatabase';

/**
 * The commands that speak to Microsoft Graph: `earlyhelp staff install-app [--dry-run]` and
 * `earlyhelp staff sync --group ID [--apply]`. The Graph identity comes from the environment
 * (src/graph/config.ts); without one they say which variable to set.
 */
export function registerGraphCommands(program: Command, io: CliIo, options: { graph?: GraphClientOptions } = {}): void {
  const actor = `cli:${io.env.USER ?? 'administrator'}`;
  const staff = program.commands.find((c) => c.name() === 'staff') ?? program.command('staff').description('the staff directory');

  const connect = (): Graph => {
    let config;
    try {
      config = graphConfigFromEnv(io.env);
    } catch (e) {
      if (e instanceof GraphConfigError) throw new UsageError(e.message);
      throw e;
    }
    if (!config) throw new UsageError('Microsoft Graph is not configured: set GRAPH_CLIENT_ID, GRAPH_CLIENT_SECRET (or GRAPH_CLIENT_CERTIFICATE_PATH) and GRAPH_TENANT_ID, or the bot\u2019s MicrosoftAppId, MicrosoftAppPassword and MicrosoftAppTenantId');
    return createGraph(config, options.graph);
  };

  staff
    .command('install-app')
    .description('install the Early Help Teams app for every active member of staff the bot has no chat with, so that cards and reminders reach them (409 "already installed" counts as done)')
    .option('--dry-run', 'list whom it would be installed for, and install nothing')
    .action((o: { dryRun?: boolean }) => {
      const graph = connect();
      if (!graph.config.teamsAppCatalogId) throw new UsageError('TEAMS_APP_CATALOG_ID: is required (the Early Help app\u2019s id in the tenant app catalog)');
      return withDatabase(io, async (db) => {
        const results = await installAppForUnreached({ db, graph, dryRun: o.dryRun, actor });
        if (results.length === 0) {
          io.stdout('everyone in the directory has a chat with the bot: nothing to install\n');
          return;
        }
        io.stdout(table(['name', 'e-mail', 'outcome'], results.map((r) => [r.member.name, r.member.email, r.reason ? `${r.outcome}: ${r.reason}` : r.outcome])));
        const count = (outcome: string) => results.filter((r) => r.outcome === outcome).length;
        if (o.dryRun) {
          io.stdout(`would install for ${results.length} (dry run: nothing installed)\n`);
          return;
        }
        io.stdout(`installed for ${count('installed')}, already installed for ${count('already installed')}, failed for ${count('failed')}\n`);
        if (count('failed') > 0) throw new Error(`the install failed for ${count('failed')}: see above, then run it again (it is safe to)`);
      });
    });

  staff
    .command('sync')
    .description('compare the staff directory with an Entra ID group (members and their managers) and list the changes; --apply saves them')
    .requiredOption('--group <id>', 'the Entra ID group\u2019s object id')
    .option('--apply', 'save the changes (audited); without it nothing is written')
    .option('--role <role>', `the role of people new to the directory (${ROLES.join(', ')})`)
    .option('--team <team>', 'the team of people new to the directory')
    .option('--capacity <points>', 'the caseload capacity of people new to the directory', '0')
    .action((o: { group: string; apply?: boolean; role?: string; team?: string; capacity: string }) => {
      const group = o.group.trim().toLowerCase();
      if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(group)) throw new UsageError(`--group: "${o.group}" is not a group object id (a GUID)`);
      const newcomers = newcomersOf(o);
      const graph = connect();
      return withDatabase(io, async (db) => {
        let result;
        try {
          result = await syncStaff({ db, graph, groupId: group, newcomers, apply: o.apply, actor });
        } catch (e) {
          if (e instanceof NeedsRoleAndTeamError) throw new UsageError(`--role, --team: ${e.message}`);
          throw e;
        }
        const { changes, members } = result;
        if (changes.length === 0) {
          io.stdout(`the directory is in step with the group (${members} members)\n`);
          return;
        }
        const byId = new Map<string, StaffMember>((await createStaffDirectory(db).all()).map((m) => [m.id, m]));
        for (const c of changes) if (c.kind === 'add') byId.set(c.member.id, c.member);
        io.stdout(table(['change', 'name', 'e-mail', 'what'], changes.map((c) => changeRow(c, byId))));
        const count = (kind: StaffChange['kind']) => changes.filter((c) => c.kind === kind && (c.kind !== 'update' || c.fields.length > 0)).length;
        if (!o.apply) {
          const waiting = count('needs role and team');
          io.stdout(`${membersToSave(changes).length} to save${waiting ? `, ${waiting} new needing --role and --team` : ''} (dry run: nothing written; add --apply to save)\n`);
          return;
        }
        io.stdout(`saved ${result.saved} (${count('add')} added, ${count('update')} updated, ${count('deactivate')} deactivated)\n`);
      });
    });
}

function newcomersOf(o: { role?: string; team?: string; capacity: string }): Newcomers | undefined {
  if (!o.role && !o.team) return undefined;
  if (!o.role || !(ROLES as readonly string[]).includes(o.role)) throw new UsageError(`--role: ${o.role ? `"${o.role}" is not` : 'is required with --team: give'} one of ${ROLES.join(', ')}`);
  if (!o.team?.trim()) throw new UsageError('--team: is required with --role');
  const capacityPoints = Number(o.capacity);
  if (!Number.isInteger(capacityPoints) || capacityPoints < 0 || capacityPoints > 1000) throw new UsageError(`--capacity: "${o.capacity}" is not a whole number of points from 0 to 1000`);
  return { role: o.role as Role, team: o.team.trim(), capacityPoints };
}

function changeRow(c: StaffChange, byId: ReadonlyMap<string, StaffMember>): string[] {
  const nameOf = (id: string | undefined) => (id ? (byId.get(id)?.name ?? id) : 'none');
  const notes = c.notes.length ? `${c.notes.join('; ')}` : '';
  const join = (...parts: string[]) => parts.filter(Boolean).join('; ');
  switch (c.kind) {
    case 'add':
      return ['add', c.member.name, c.member.email, join(`${c.member.role}, ${c.member.team}`, c.member.lineManager ? `line manager ${nameOf(c.member.lineManager)}` : '', notes)];
    case 'needs role and team':
      return ['new', c.user.displayName ?? c.user.id, (c.user.mail ?? c.user.userPrincipalName ?? '').toLowerCase(), join('needs --role and --team to be added', notes)];
    case 'update': {
      const what = c.fields.map((f) =>
        f === 'lineManager'
          ? `line manager: ${nameOf(c.before.lineManager)} -> ${nameOf(c.member.lineManager)}`
          : f === 'active'
            ? 'active again'
            : `${f === 'email' ? 'e-mail' : f}: ${c.before[f]} -> ${c.member[f]}`,
      );
      return [c.fields.length ? 'update' : 'note', c.member.name, c.member.email, join(...what, notes)];
    }
    case 'deactivate':
      return ['deactivate', c.before.name, c.before.email, join(c.why, notes)];
    case 'skip':
      return ['skip', c.user.displayName ?? c.user.id, (c.user.mail ?? c.user.userPrincipalName ?? '').toLowerCase(), join(c.why, notes)];
  }
}
