import { StaffMember } from '../staff';
import { recordAudit } from '../storage/audit';
import { createConversationStore } from '../storage/conversations';
import { Database } from '../storage/database';
import { createStaffDirectory } from '../storage/staffDirectory';
import { BatchRequest, Graph } from './client';
import { GraphConfig, GraphConfigError } from './config';

/**
 * Reaching everyone in Teams (issue 9): a person who never opened the bot has no chat with it, so
 * no card or reminder can reach them. Installing the app in their personal scope
 * (`POST /users/{id}/teamwork/installedApps`, permission TeamsAppInstallation.ReadWriteSelfForUser.All)
 * makes Teams send the bot their `conversationUpdate`, and the bot stores the chat's reference.
 *
 * Idempotent: a 409 Conflict means the app is already installed for them, which is what was
 * wanted. Installs go in `$batch`es of 20.
 */

export type InstallOutcome = 'installed' | 'already installed' | 'would install' | 'failed';

export interface InstallResult {
  member: StaffMember;
  outcome: InstallOutcome;
  /** For a failure: the status and Graph's error code. */
  reason?: string;
}

/** The active people with no personal chat with the bot: the ones the app is installed for. */
export function unreachedStaff(staff: readonly StaffMember[], withChat: ReadonlySet<string>): StaffMember[] {
  return staff.filter((m) => m.active && !withChat.has(m.id));
}

/** The install request for one person: the app from the tenant's catalog, bound by its Graph URL. */
export function installRequest(member: Pick<StaffMember, 'id'>, config: Pick<GraphConfig, 'endpoint' | 'teamsAppCatalogId'>): BatchRequest {
  return {
    method: 'POST',
    url: `/users/${encodeURIComponent(member.id)}/teamwork/installedApps`,
    body: { 'teamsApp@odata.bind': `${config.endpoint}/v1.0/appCatalogs/teamsApps/${config.teamsAppCatalogId}` },
  };
}

const codeOf = (body: unknown, status: number) => {
  const code = (body as { error?: { code?: unknown } })?.error?.code;
  return typeof code === 'string' && /^[A-Za-z0-9_.-]{1,80}$/.test(code) ? code : `Http${status}`;
};

/**
 * Installs the Teams app for every active person in the staff directory who has no personal chat
 * with the bot (with `dryRun`, only says for whom it would). The run is audited: counts only.
 */
export async function installAppForUnreached(options: { db: Database; graph: Graph; dryRun?: boolean; actor: string }): Promise<InstallResult[]> {
  const { db, graph } = options;
  if (!graph.config.teamsAppCatalogId) throw new GraphConfigError('TEAMS_APP_CATALOG_ID', 'is required to install the app (the Early Help app\u2019s id in the tenant app catalog)');
  const staff = await createStaffDirectory(db).all();
  const withChat = await createConversationStore(db).staffWithPersonalChat();
  const targets = unreachedStaff(staff, withChat);
  if (options.dryRun) return targets.map((member) => ({ member, outcome: 'would install' }));

  const answers = await graph.batch(targets.map((m) => installRequest(m, graph.config)));
  const results = targets.map((member, i): InstallResult => {
    const { status, body } = answers[i];
    if (status >= 200 && status < 300) return { member, outcome: 'installed' };
    if (status === 409) return { member, outcome: 'already installed' };
    return { member, outcome: 'failed', reason: `http ${status} ${codeOf(body, status)}` };
  });
  const count = (o: InstallOutcome) => results.filter((r) => r.outcome === o).length;
  await recordAudit(db, { actor: options.actor, action: 'teams.install-app', detail: { installed: count('installed'), alreadyInstalled: count('already installed'), failed: count('failed') } });
  return results;
}
