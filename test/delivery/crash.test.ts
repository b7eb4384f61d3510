import { list, retry } from '../../src/delivery/outbox';
import { deliveriesByLabel, DeliveryProcess, deliveryRig, installPeople, queueBurst } from './processes';

/**
 * The delivery server killed with SIGKILL at random points while it delivers a burst of cards,
 * again and again, then left to finish. No card may reach anyone twice, and none may be lost:
 * each is delivered, or, if the kill fell between handing it to Teams and recording that, set
 * aside as "in doubt" for a person to check (it is then retried by hand if it did not arrive).
 */

const PEOPLE = Array.from({ length: 10 }, (_, i) => `person-${i}`);
const CARDS = 100;
const KILLS = 15;
const LEASE_MS = '1000';

const rig = deliveryRig();

function server(): DeliveryProcess {
  return rig.spawn({ LEASE_MS, BATCH: '8', CLAIMER: `crash-${rig.running.length}` });
}

/** Kills `p` at a random point: a random time after it starts, or just after one of the next few cards reaches the rig.connector. */
function killAtRandom(p: DeliveryProcess): Promise<string> {
  return new Promise((resolve) => {
    const startCount = rig.connector.received.length;
    const afterCards = 1 + Math.floor(Math.random() * 6);
    const byTime = 20 + Math.random() * 500;
    let done = false;
    const kill = (how: string) => {
      if (done) return;
      done = true;
      clearInterval(watch);
      clearTimeout(timer);
      p.kill();
      resolve(how);
    };
    const timer = setTimeout(() => kill('timer'), byTime);
    const watch = setInterval(() => {
      if (rig.connector.received.length - startCount >= afterCards) setTimeout(() => kill('after a card'), Math.random() * 5);
    }, 1);
    void p.exited.then(() => kill('exited by itself'));
  });
}

test(`a burst of ${CARDS} cards, the server SIGKILLed ${KILLS} times at random while delivering: none twice, none lost`, async () => {
  await installPeople(rig.t.db, rig.connector, PEOPLE);
  const rows = await queueBurst(rig.t.db, PEOPLE, CARDS);

  let kills = 0;
  const how: Record<string, number> = {};
  // The next servers load while the current one runs, so that a restart is quick.
  const spares = [server(), server()];
  for (;;) {
    const current = spares.shift()!;
    await current.ready;
    spares.push(server());
    current.go();
    if (kills === KILLS) {
      // Restarted, and left alone until nothing is pending.
      expect((await current.exited).drained).toBe(true);
      break;
    }
    const result = await killAtRandom(current);
    const ended = await current.exited;
    if (ended.drained) break;
    expect(ended.signal).toBe('SIGKILL');
    kills++;
    how[result] = (how[result] ?? 0) + 1;
  }
  for (const spare of spares) spare.kill();

  const counts = deliveriesByLabel(rig.connector);
  const duplicates = [...counts.values()].filter((n) => n > 1).length;
  const statuses = await rig.t.db.query<{ id: number; status: string; send_started_at: string | null }>('SELECT id, status, send_started_at FROM outbox ORDER BY id');
  const delivered = statuses.filter((r) => r.status === 'delivered');
  const inDoubt = statuses.filter((r) => r.status === 'failed' && r.send_started_at !== null);
  const inDoubtArrived = inDoubt.filter((r) => counts.get(rows.get(r.id)!.label) === 1);

  expect(duplicates).toBe(0);
  expect(statuses.length).toBe(CARDS);
  expect(delivered.length + inDoubt.length).toBe(CARDS); // nothing else: no row lost, none failed for another reason
  for (const r of delivered) expect(counts.get(rows.get(r.id)!.label)).toBe(1);
  expect((await list(rig.t.db, { failed: true })).every((e) => e.inDoubt)).toBe(true);

  // A person checks each in-doubt card: those that did not arrive are sent again.
  const toRetry = inDoubt.filter((r) => !counts.has(rows.get(r.id)!.label));
  for (const r of toRetry) expect(await retry(rig.t.db, r.id)).toEqual({ retried: true, wasInDoubt: true });
  if (toRetry.length > 0) {
    const last = server();
    await last.ready;
    last.go();
    expect((await last.exited).drained).toBe(true);
  }
  const finalCounts = deliveriesByLabel(rig.connector);
  for (const { label } of rows.values()) expect(finalCounts.get(label)).toBe(1);

  // The figures, for the record.
  console.log(
    JSON.stringify({
      cards: CARDS,
      kills,
      killedBy: how,
      duplicates,
      deliveredFirstTime: delivered.length,
      inDoubt: inDoubt.length,
      inDoubtThatHadArrived: inDoubtArrived.length,
      inDoubtRetriedByHand: toRetry.length,
      requestsToConnector: rig.connector.received.length,
    }),
  );
}, 120_000);
