import { parentPort, workerData } from 'node:worker_threads';
import { londonDateOf } from '../src/localDate';

/** Every form asks for its date: the case recorded as of today in London. */
const TODAY = londonDateOf(new Date());

/**
 * The load generator of the bot benchmark, in a thread of its own so that the clients' work does
 * not share the event loop of the bot they measure. Bounded in time; loopback only.
 */
export interface LoadSpec {
  url: string;
  concurrency: number;
  seconds: number;
  kind: 'echo' | 'card-action';
  serviceUrl: string;
  aadObjectId?: string;
  caseIds?: string[];
}

export interface LoadFigures {
  turns: number;
  perSecond: number;
  p50: number;
  p99: number;
  errors: number;
}

function request(spec: LoadSpec, i: number, client: number): Promise<boolean> {
  const common = { channelId: 'msteams', serviceUrl: spec.serviceUrl, recipient: { id: '28:bot' } };
  if (spec.kind === 'echo') {
    return fetch(`${spec.url}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...common, type: 'message', id: `e${i}`, text: 'hello', from: { id: '29:u' }, conversation: { id: 'a:echo' } }),
    }).then(async (r) => (await r.arrayBuffer(), r.status === 200));
  }
  const cases = spec.caseIds!;
  // Each client works through its own share of the cases, as each worker acts on their own caseload.
  const caseId = cases[(client + spec.concurrency * i) % cases.length];
  return fetch(`${spec.url}/api/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      ...common,
      type: 'invoke',
      name: 'adaptiveCard/action',
      id: `bench-${Date.now()}-${client}-${i}`,
      from: { id: '29:worker', aadObjectId: spec.aadObjectId },
      conversation: { id: 'a:bench-worker', conversationType: 'personal' },
      value: { action: { type: 'Action.Execute', verb: 'caseRecorded', data: { verb: 'caseRecorded', caseId, recordedDate: TODAY } } },
    }),
  }).then(async (r) => {
    const body = (await r.json()) as { statusCode?: number };
    return r.status === 200 && body.statusCode === 200;
  });
}

export async function runLoad(spec: LoadSpec): Promise<LoadFigures> {
  const latencies: number[] = [];
  let errors = 0;
  const until = performance.now() + spec.seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: spec.concurrency }, async (_, client) => {
      for (let i = 0; performance.now() < until; i++) {
        const t0 = performance.now();
        const ok = await request(spec, i, client).catch(() => false);
        latencies.push(performance.now() - t0);
        if (!ok) errors++;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return { turns: latencies.length, perSecond: latencies.length / elapsed, p50: at(0.5), p99: at(0.99), errors };
}

if (parentPort && workerData) {
  runLoad(workerData as LoadSpec).then((figures) => parentPort!.postMessage(figures));
}
