import { chatOf, deliveriesByLabel, deliveryRig, installPeople, queueBurst } from './processes';

/** Two bot instances on one PostgreSQL database, both delivering from the one outbox at once. */

const PEOPLE = Array.from({ length: 20 }, (_, i) => `colleague-${i}`);
const CARDS = 200;

const rig = deliveryRig();

test(`two server instances drain ${CARDS} cards together: each delivered exactly once, every person's in the order queued`, async () => {
  await installPeople(rig.t.db, rig.connector, PEOPLE);
  const rows = await queueBurst(rig.t.db, PEOPLE, CARDS);
  const servers = ['one', 'two'].map((name) => rig.spawn({ CLAIMER: name, LEASE_MS: '5000' }));
  await Promise.all(servers.map((s) => s.ready));
  for (const s of servers) s.go();
  const ended = await Promise.all(servers.map((s) => s.exited));
  expect(ended.map((e) => [e.code, e.drained])).toEqual([
    [0, true],
    [0, true],
  ]);

  const counts = deliveriesByLabel(rig.connector);
  expect(rig.connector.received.length).toBe(CARDS);
  expect([...counts.values()].every((n) => n === 1)).toBe(true);
  for (const { label } of rows.values()) expect(counts.get(label)).toBe(1);

  const byClaimer = await rig.t.db.query<{ who: string; n: number }>(
    "SELECT split_part(claimed_by, '#', 1) AS who, count(*)::int AS n FROM outbox WHERE status = 'delivered' GROUP BY 1 ORDER BY 1",
  );
  expect(byClaimer.reduce((sum, r) => sum + r.n, 0)).toBe(CARDS);
  expect(byClaimer.map((r) => r.who)).toEqual(['one', 'two']); // both took part

  // Oldest first for each person, though two senders shared them out.
  for (const person of PEOPLE) {
    const queued = [...rows.entries()].filter(([, r]) => r.staffId === person).sort(([a], [b]) => a - b).map(([, r]) => r.label);
    const arrived = rig.connector.delivered.filter((r) => r.path.startsWith(`/v3/conversations/${encodeURIComponent(chatOf(person))}/activities`)).map((r) => r.body.summary);
    expect(arrived).toEqual(queued);
  }
  console.log(JSON.stringify({ cards: CARDS, instances: 2, deliveredBy: Object.fromEntries(byClaimer.map((r) => [r.who, r.n])), duplicates: [...counts.values()].filter((n) => n > 1).length }));
}, 60_000);
