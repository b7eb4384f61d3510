import { CliIo, runCli } from '../../src/cli/main';
import { createGraph, Graph } from '../../src/graph/client';
import { GraphConfig, graphConfigFromEnv } from '../../src/graph/config';
import { installAppForUnreached } from '../../src/graph/installApp';
import { EntraUser, NeedsRoleAndTeamError, proposeStaffChanges, syncStaff } from '../../src/graph/staffSync';
import { StaffMember } from '../../src/staff';
import { readAudit } from '../../src/storage/audit';
import { createConversationStore } from '../../src/storage/conversations';
import { Database } from '../../src/storage/database';
import { createStaffDirectory } from '../../src/storage/staffDirectory';
import { ENGINES, serverDatabase, TestDatabase } from '../helpers/database';
import { ALEX, DUTY, JO, MORGAN, SAM, SOUTH, TEAM } from '../helpers/demoStaff';
import { DirectoryUser, directoryUser, GraphServer, startGraphServer } from '../helpers/graphServer';

/** The directory back to the test team (line managers first unset: they refer to rows being deleted). */
async function resetStaff(db: Database): Promise<void> {
  await db.query('UPDATE staff SET line_manager = NULL');
  await db.query('DELETE FROM staff');
  await createStaffDirectory(db).save(TEAM, 'test');
}

/** Reaching everyone in Teams (install-app) and keeping the staff directory in step with Entra ID (staff sync). */

const GROUP = 'abcdef01-2345-4678-89ab-cdef01234567';
const entra = (m: StaffMember, overrides: Partial<DirectoryUser> = {}): DirectoryUser => ({ id: m.id, displayName: m.name, mail: m.email, userPrincipalName: m.email, accountEnabled: true, ...overrides });
const KIM = directoryUser('Kim Newton');
const GONE = directoryUser('Gale Gone', { accountEnabled: false });
const OUTSIDE = directoryUser('Olu Outside');
const LEE = directoryUser('Lee Lately');

/**
 * The group as Entra ID has it: Sam renamed and now managed by Dana, Alex's e-mail changed, Jo's
 * account disabled, Sol (South) no longer in it, Kim new (managed by Morgan), Lee new (managed by
 * someone outside the group), Gale new but disabled.
 */
function seedEntra(server: GraphServer) {
  const members = [entra(MORGAN), entra(DUTY), entra(SAM, { displayName: 'Samuel Patel' }), entra(ALEX, { mail: 'alex.kim@north.council.example' }), entra(JO, { accountEnabled: false }), KIM, LEE, GONE];
  for (const u of [...members, entra(SOUTH), OUTSIDE]) server.users.set(u.id, u);
  server.groups.set(GROUP, members.map((u) => u.id));
  server.managers.set(SAM.id, DUTY.id).set(ALEX.id, MORGAN.id).set(KIM.id, MORGAN.id).set(LEE.id, OUTSIDE.id).set(JO.id, MORGAN.id);
}

const configOf = (server: GraphServer) => graphConfigFromEnv(server.env()) as GraphConfig;

describe('the changes proposed (pure)', () => {
  const group = (users: EntraUser[]) => users;
  test('roles, teams and capacity are never guessed: an existing member keeps them, a new one needs them given', () => {
    const changes = proposeStaffChanges([SAM, MORGAN], group([{ ...entra(SAM), managerId: MORGAN.id }, { ...entra(MORGAN), managerId: null }, { ...KIM, managerId: SAM.id }]));
    expect(changes).toEqual([{ kind: 'needs role and team', user: expect.objectContaining({ id: KIM.id }), notes: [] }]);
    const added = proposeStaffChanges([SAM, MORGAN], group([{ ...entra(SAM), managerId: MORGAN.id }, { ...entra(MORGAN), managerId: null }, { ...KIM, managerId: SAM.id }]), { role: 'worker', team: 'North', capacityPoints: 20 });
    expect(added).toEqual([{ kind: 'add', member: { id: KIM.id, name: 'Kim Newton', email: KIM.mail, role: 'worker', team: 'North', lineManager: SAM.id, capacityPoints: 20, active: true }, notes: [] }]);
  });

  test('someone inactive who is back in the group, enabled, is active again; someone with no usable e-mail is skipped', () => {
    const changes = proposeStaffChanges([{ ...ALEX, active: false }], group([{ ...entra(ALEX), managerId: MORGAN.id }, { ...KIM, mail: null, userPrincipalName: 'kim#EXT#', managerId: null }]), { role: 'worker', team: 'North' });
    expect(changes.map((c) => [c.kind, 'fields' in c ? c.fields : 'why' in c ? c.why : '']).sort()).toEqual([
      ['skip', 'email: must be an e-mail address'],
      ['update', ['active']],
    ]);
  });
});

describe.each(ENGINES)('with the staff directory (%s)', (_engine, open) => {
  let t: TestDatabase;
  let server: GraphServer;
  let graph: Graph;
  const actor = 'cli:ada';
  const directory = () => createStaffDirectory(t.db);
  const auditOf = async (action: string) => (await readAudit(t.db, { limit: 1000 })).filter((a) => a.action === action);

  beforeAll(async () => {
    t = await open();
    server = await startGraphServer({ pageSize: 3 });
    seedEntra(server);
    graph = createGraph(configOf(server), { retry: { baseDelayMs: 20, jitterMs: 20 } });
  });
  afterAll(async () => {
    await server?.close();
    await t?.dispose();
  });
  beforeEach(async () => {
    await t.db.query('DELETE FROM conversation_references');
    await resetStaff(t.db);
    server.installed.clear();
    server.reset();
  });

  describe('installing the Teams app for everyone the bot cannot reach', () => {
    beforeEach(async () => {
      const conversations = createConversationStore(t.db);
      for (const m of [MORGAN, SAM]) await conversations.save({ conversationId: `a:chat-${m.id}`, staffId: m.id, conversationType: 'personal', reference: {} });
      await directory().save([{ ...SOUTH, active: false }], 'test');
      server.installed.set(ALEX.id, new Set([server.teamsAppCatalogId])); // Alex removed the chat but not the app
    });

    test('installed for the active people with no chat, in one $batch; "already installed" (409) counts as done; audited', async () => {
      const results = await installAppForUnreached({ db: t.db, graph, actor });
      expect(results.map((r) => [r.member.name, r.outcome])).toEqual([
        ['Alex Kim', 'already installed'],
        ['Dana Duty', 'installed'],
        ['Jo Evans', 'installed'],
      ]);
      expect(server.batchSizes).toEqual([3]);
      expect([...server.installed.keys()].sort()).toEqual([ALEX.id, DUTY.id, JO.id].sort());
      expect(server.requests.filter((r) => r.inBatch).map((r) => r.status).sort()).toEqual([201, 201, 409]);
      expect((await auditOf('teams.install-app'))[0]).toMatchObject({ actor, detail: { installed: 2, alreadyInstalled: 1, failed: 0 } });
    });

    test('run twice, nothing is installed twice; once the bot has their chats, nothing is asked at all', async () => {
      await installAppForUnreached({ db: t.db, graph, actor });
      const again = await installAppForUnreached({ db: t.db, graph, actor });
      expect(again.map((r) => r.outcome)).toEqual(['already installed', 'already installed', 'already installed']);
      expect([...server.installed.values()].map((apps) => apps.size)).toEqual([1, 1, 1]);
      // Teams sends the bot their conversationUpdate; the bot stores each chat.
      const conversations = createConversationStore(t.db);
      for (const m of [ALEX, DUTY, JO]) await conversations.save({ conversationId: `a:chat-${m.id}`, staffId: m.id, conversationType: 'personal', reference: {} });
      server.reset();
      expect(await installAppForUnreached({ db: t.db, graph, actor })).toEqual([]);
      expect(server.requests).toEqual([]);
    });

    test('a dry run says for whom, and asks Graph nothing', async () => {
      const results = await installAppForUnreached({ db: t.db, graph, actor, dryRun: true });
      expect(results.map((r) => [r.member.name, r.outcome])).toEqual([
        ['Alex Kim', 'would install'],
        ['Dana Duty', 'would install'],
        ['Jo Evans', 'would install'],
      ]);
      expect(server.requests).toEqual([]);
      expect(server.tokenRequests).toEqual([]);
    });

    test("a refusal is reported with its status and Graph's code, the others installed", async () => {
      server.fail(1, { status: 403, code: 'Forbidden', match: (r) => r.inBatch && r.path.includes(JO.id) });
      const results = await installAppForUnreached({ db: t.db, graph, actor });
      expect(results.find((r) => r.member.id === JO.id)).toMatchObject({ outcome: 'failed', reason: 'http 403 Forbidden' });
      expect(results.filter((r) => r.outcome !== 'failed')).toHaveLength(2);
    });
  });

  describe('staff sync', () => {
    const snapshot = async (db: Database) => (await createStaffDirectory(db).all()).map((m) => JSON.stringify(m)).sort();

    test('a dry run reads the group page by page and the managers in one $batch, proposes the changes, and writes nothing', async () => {
      const before = await snapshot(t.db);
      const { changes, saved, members } = await syncStaff({ db: t.db, graph, groupId: GROUP, actor });
      expect(members).toBe(8);
      expect(saved).toBe(0);
      expect(server.requests.filter((r) => r.path.includes('/members/')).length).toBe(3);
      expect(server.batchSizes).toEqual([8]);
      const summary = changes.map((c) => (c.kind === 'update' ? [c.kind, c.member.name, c.fields] : c.kind === 'deactivate' ? [c.kind, c.before.name, c.why] : [c.kind, 'user' in c ? c.user.displayName : c.member.name, c.notes]));
      expect(summary).toEqual([
        ['update', 'Alex Kim', ['email']],
        ['deactivate', 'Jo Evans', 'account disabled'],
        ['update', 'Samuel Patel', ['name', 'lineManager']],
        ['deactivate', 'Sol South', 'no longer in the group'],
        ['needs role and team', 'Kim Newton', []],
        ['needs role and team', 'Lee Lately', []],
      ]);
      expect(await snapshot(t.db)).toEqual(before);
      expect(await auditOf('staff.sync')).toEqual([]);
    });

    test('--apply without a role and team for the new people is refused, and nothing is written', async () => {
      const before = await snapshot(t.db);
      await expect(syncStaff({ db: t.db, graph, groupId: GROUP, actor, apply: true })).rejects.toBeInstanceOf(NeedsRoleAndTeamError);
      expect(await snapshot(t.db)).toEqual(before);
    });

    test('--apply saves the changes in one go, audited; a second sync finds the directory in step', async () => {
      const { saved } = await syncStaff({ db: t.db, graph, groupId: GROUP, actor, apply: true, newcomers: { role: 'worker', team: 'North', capacityPoints: 15 } });
      expect(saved).toBe(6);
      const byId = new Map((await directory().all()).map((m) => [m.id, m]));
      expect(byId.get(SAM.id)).toMatchObject({ name: 'Samuel Patel', lineManager: DUTY.id, role: 'worker', capacityPoints: 20 });
      expect(byId.get(ALEX.id)).toMatchObject({ email: 'alex.kim@north.council.example', lineManager: MORGAN.id });
      expect(byId.get(JO.id)?.active).toBe(false);
      expect(byId.get(SOUTH.id)?.active).toBe(false);
      expect(byId.get(KIM.id)).toEqual({ id: KIM.id, name: 'Kim Newton', email: KIM.mail, role: 'worker', team: 'North', lineManager: MORGAN.id, capacityPoints: 15, active: true });
      // Lee's manager is not in the directory: added without one, and said so.
      expect(byId.get(LEE.id)?.lineManager).toBeUndefined();
      expect(byId.has(GONE.id)).toBe(false);
      expect((await auditOf('staff.sync'))[0]).toMatchObject({ actor, detail: { group: GROUP, added: 2, updated: 2, deactivated: 2, skipped: 0 } });
      expect((await auditOf('staff.change'))[0]).toMatchObject({ actor, detail: { members: 6 } });

      const again = await syncStaff({ db: t.db, graph, groupId: GROUP, actor, newcomers: { role: 'worker', team: 'North' } });
      expect(again.changes.filter((c) => c.kind !== 'update' || c.fields.length > 0)).toEqual([]);
    });
  });
});

describe('the commands (earlyhelp staff install-app, staff sync)', () => {
  let t: TestDatabase;
  let server: GraphServer;

  async function cli(env: NodeJS.ProcessEnv, ...argv: string[]) {
    const out: string[] = [];
    const err: string[] = [];
    const io: CliIo = { stdout: (s) => void out.push(s), stderr: (s) => void err.push(s), env: { USER: 'ada', DATABASE_URL: t.url!, ...env }, now: () => new Date('2026-11-30T10:00:00Z') };
    const code = await runCli(argv, io);
    return { code, stdout: out.join(''), stderr: err.join('') };
  }

  beforeAll(async () => {
    t = await serverDatabase();
    server = await startGraphServer();
    seedEntra(server);
  });
  afterAll(async () => {
    await server?.close();
    await t?.dispose();
  });
  beforeEach(async () => {
    await resetStaff(t.db);
  });

  test('without Graph credentials, each command says which variables to set and exits 2', async () => {
    const result = await cli({}, 'staff', 'install-app');
    expect(result).toMatchObject({ code: 2, stderr: expect.stringMatching(/^earlyhelp: Microsoft Graph is not configured: set GRAPH_CLIENT_ID/) });
    expect(await cli({ ...server.env(), GRAPH_ENDPOINT: 'http://127.0.0.1:1' }, 'staff', 'sync', '--group', GROUP)).toMatchObject({ code: 2, stderr: expect.stringContaining('GRAPH_ENDPOINT: must be an https:// address') });
    expect(await cli(server.env(), 'staff', 'sync', '--group', 'north-team')).toMatchObject({ code: 2, stderr: 'earlyhelp: --group: "north-team" is not a group object id (a GUID)\n' });
  });

  test('staff install-app --dry-run lists whom, then staff install-app installs and counts', async () => {
    const dry = await cli(server.env(), 'staff', 'install-app', '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/^name\s+e-mail\s+outcome$/m);
    expect(dry.stdout).toMatch(/^Sam Patel\s+sam.patel@council.example\s+would install$/m);
    expect(dry.stdout).toMatch(/would install for 6 \(dry run: nothing installed\)\n$/);
    expect(server.installed.size).toBe(0);
    const run = await cli(server.env(), 'staff', 'install-app');
    expect(run).toMatchObject({ code: 0, stdout: expect.stringMatching(/installed for 6, already installed for 0, failed for 0\n$/) });
    expect((await cli(server.env(), 'staff', 'install-app')).stdout).toMatch(/installed for 0, already installed for 6, failed for 0\n$/);
  });

  test('staff sync prints the proposed changes and writes nothing; --apply with --role and --team saves them', async () => {
    const dry = await cli(server.env(), 'staff', 'sync', '--group', GROUP);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/^change\s+name\s+e-mail\s+what$/m);
    expect(dry.stdout).toMatch(/^update\s+Samuel Patel\s+sam.patel@council.example\s+name: Sam Patel -> Samuel Patel; line manager: Morgan Reid -> Dana Duty$/m);
    expect(dry.stdout).toMatch(/^update\s+Alex Kim\s+alex.kim@north.council.example\s+e-mail: alex.kim@council.example -> alex.kim@north.council.example$/m);
    expect(dry.stdout).toMatch(/^deactivate\s+Jo Evans\s+jo.evans@council.example\s+account disabled$/m);
    expect(dry.stdout).toMatch(/^deactivate\s+Sol South\s+sol.south@council.example\s+no longer in the group$/m);
    expect(dry.stdout).toMatch(/^new\s+Kim Newton\s+kim.newton@council.example\s+needs --role and --team to be added$/m);
    expect(dry.stdout).toMatch(/4 to save, 2 new needing --role and --team \(dry run: nothing written; add --apply to save\)\n$/);
    expect((await createStaffDirectory(t.db).get(SAM.id))?.name).toBe('Sam Patel');

    const refused = await cli(server.env(), 'staff', 'sync', '--group', GROUP, '--apply');
    expect(refused).toMatchObject({ code: 2, stderr: expect.stringMatching(/^earlyhelp: --role, --team: 2 people new to the directory need a role and a team/) });

    const applied = await cli(server.env(), 'staff', 'sync', '--group', GROUP, '--apply', '--role', 'worker', '--team', 'North', '--capacity', '10');
    expect(applied.code).toBe(0);
    expect(applied.stdout).toMatch(/^add\s+Kim Newton\s+kim.newton@council.example\s+worker, North; line manager Morgan Reid$/m);
    expect(applied.stdout).toMatch(/^add\s+Lee Lately\s+lee.lately@council.example\s+worker, North; line manager Olu Outside is not in the directory: left as it is$/m);
    expect(applied.stdout).toMatch(/saved 6 \(2 added, 2 updated, 2 deactivated\)\n$/);
    expect((await createStaffDirectory(t.db).get(SAM.id))?.name).toBe('Samuel Patel');
    expect((await readAudit(t.db, { actor: 'cli:ada' })).map((a) => a.action)).toEqual(expect.arrayContaining(['staff.sync', 'staff.change']));
    // In step: only the note about Lee's manager, who is outside the directory, remains.
    const again = await cli(server.env(), 'staff', 'sync', '--group', GROUP);
    expect(again.stdout).toMatch(/^note\s+Lee Lately\s+lee.lately@council.example\s+line manager Olu Outside is not in the directory: left as it is$/m);
    expect(again.stdout).toMatch(/^0 to save \(dry run: nothing written; add --apply to save\)\n$/m);
  });
});
