import { ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { enqueueCard } from '../../bot/delivery';
import { createConversationStore } from '../../src/storage/conversations';
import { Database } from '../../src/storage/database';
import { LoopbackConnector, startConnector } from '../helpers/connector';
import { serverDatabase, TestDatabase } from '../helpers/database';

const FIXTURE = path.join(__dirname, 'fixtures', 'deliveryServer.ts');

/** A delivery server process (fixtures/deliveryServer.ts): loaded and waiting for `go()`. */
export interface DeliveryProcess {
  child: ChildProcess;
  ready: Promise<void>;
  go(): void;
  /** Resolves when the process ends: by itself ("drained", code 0) or by a signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; drained: boolean; stderr: string }>;
  kill(): void;
}

export function spawnDeliveryServer(databaseUrl: string, env: Record<string, string> = {}): DeliveryProcess {
  const child = spawn(process.execPath, ['--require', 'tsx/cjs', FIXTURE], { env: { ...process.env, DATABASE_URL: databaseUrl, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let onReady: () => void;
  let onFail: (e: Error) => void;
  const ready = new Promise<void>((resolve, reject) => {
    onReady = resolve;
    onFail = reject;
  });
  child.stdout!.on('data', (b) => {
    stdout += b;
    if (stdout.includes('ready\n')) onReady();
  });
  child.stderr!.on('data', (b) => (stderr += b));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; drained: boolean; stderr: string }>((resolve) => {
    child.on('exit', (code, signal) => {
      onFail(new Error(`the delivery server ended before it was ready (${code ?? signal}): ${stderr}`));
      resolve({ code, signal, drained: stdout.includes('drained\n'), stderr });
    });
  });
  ready.catch(() => undefined); // a spare killed before it was needed is no failure
  // A process killed before it read "go" must not fail the test with EPIPE.
  child.stdin!.on('error', () => undefined);
  return {
    child,
    ready,
    exited,
    go: () => child.stdin!.write('go\n'),
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

export const chatOf = (staffId: string) => `a:personal-${staffId}`;

/** People with the bot installed, their chats answering on the connector. */
export async function installPeople(db: Database, connector: LoopbackConnector, people: string[]): Promise<void> {
  const conversations = createConversationStore(db);
  for (const staffId of people) {
    await conversations.save({
      conversationId: chatOf(staffId),
      staffId,
      conversationType: 'personal',
      reference: { channelId: 'msteams', serviceUrl: connector.url, conversation: { id: chatOf(staffId), conversationType: 'personal' }, bot: { id: '28:bot' }, user: { id: `29:${staffId}`, aadObjectId: staffId } },
    });
  }
}

/** A burst of cards, round-robin over the people, each labelled so that the connector can tell them apart. Returns id -> label. */
export async function queueBurst(db: Database, people: string[], count: number): Promise<Map<number, { label: string; staffId: string }>> {
  const rows = new Map<number, { label: string; staffId: string }>();
  await db.transaction(async (tx) => {
    for (let i = 0; i < count; i++) {
      const staffId = people[i % people.length];
      const label = `burst card ${i}`;
      const id = await enqueueCard(tx, { to: { staffId }, card: { type: 'AdaptiveCard', version: '1.4', body: [{ type: 'TextBlock', text: label }], fallbackText: label } });
      rows.set(id!, { label, staffId });
    }
  });
  return rows;
}

/** How many times each label reached a chat (2xx answers only). */
export function deliveriesByLabel(connector: LoopbackConnector): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of connector.delivered) counts.set(String(r.body.summary), (counts.get(String(r.body.summary)) ?? 0) + 1);
  return counts;
}

/** What a delivery test file works with: its own PostgreSQL schema, a loopback Teams connector, and the servers it spawns. */
export interface DeliveryRig {
  t: TestDatabase;
  connector: LoopbackConnector;
  /** Delivery servers spawned so far, killed after the file if still running. */
  running: DeliveryProcess[];
  spawn(env?: Record<string, string>): DeliveryProcess;
}

/** Sets up (beforeAll) and ends (afterAll) a test file's database, connector and delivery servers. */
export function deliveryRig(): DeliveryRig {
  const rig: DeliveryRig = {
    t: undefined as unknown as TestDatabase,
    connector: undefined as unknown as LoopbackConnector,
    running: [],
    spawn(env = {}) {
      const p = spawnDeliveryServer(rig.t.url!, env);
      rig.running.push(p);
      return p;
    },
  };
  beforeAll(async () => {
    rig.t = await serverDatabase();
    rig.connector = await startConnector();
  });
  afterAll(async () => {
    for (const p of rig.running) p.kill();
    await rig.connector?.close();
    await rig.t?.dispose();
  });
  return rig;
}
