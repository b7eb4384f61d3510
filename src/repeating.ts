/**
 * A job the server runs at start and then every `intervalMs`, one run at a time: a run asked for
 * while one is going joins it. `stop()` waits for the run in progress. The job handles its own
 * errors (a failed run is tried again at the next).
 */
export interface Repeating<T> {
  /** One run now (also what the timer runs); resolves when it is done. */
  runOnce(): Promise<T>;
  stop(): Promise<void>;
}

export function startRepeating<T>(job: () => Promise<T>, intervalMs: number): Repeating<T> {
  let running: Promise<T> | null = null;
  let stopped = false;
  const runOnce = () => (running ??= job().finally(() => (running = null)));
  const timer = setInterval(() => {
    if (!stopped) void runOnce();
  }, intervalMs);
  timer.unref?.();
  void runOnce();
  return {
    runOnce,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
