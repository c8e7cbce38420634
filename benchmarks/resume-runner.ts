/** Filled in with the runner's signals: `runner.signal` → the task's next line across processes. */
export function runnerSignalLatency(): Promise<{ p50Ms: number; p99Ms: number } | null> {
  return Promise.resolve(null);
}
