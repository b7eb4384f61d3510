/**
 * Doing several things at once, a few at a time: the sweep's statements over chunks of cases, the
 * outbox's inserts, the escalations a sweep writes, the requests to one mailbox.
 */

/** `fn` over `items` in chunks of `size`, `atOnce` chunks at a time, the results in the order of the items. */
export async function inChunks<T, R>(items: readonly T[], fn: (chunk: T[]) => Promise<R[]>, size: number, atOnce: number): Promise<R[]> {
  const chunks: T[][] = [];
  for (let from = 0; from < items.length; from += size) chunks.push(items.slice(from, from + size));
  const results: R[][] = new Array(chunks.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < chunks.length; i = next++) results[i] = await fn(chunks[i]);
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, atOnce), chunks.length) }, worker));
  return results.flat();
}

/** At most `limit` holders per key; the rest wait their turn, first come first served. */
export class KeyedSemaphore {
  private readonly held = new Map<string, { count: number; waiting: Array<() => void> }>();

  constructor(readonly limit: number) {}

  async acquire(key: string): Promise<() => void> {
    let entry = this.held.get(key);
    if (!entry) this.held.set(key, (entry = { count: 0, waiting: [] }));
    if (entry.count >= this.limit) await new Promise<void>((resolve) => entry!.waiting.push(resolve));
    else entry.count++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = entry!.waiting.shift();
      // The slot passes straight to the next in line; the count only falls when nobody waits.
      if (next) next();
      else if (--entry!.count === 0) this.held.delete(key);
    };
  }
}
