// The tasks of examples/demo.ts. Worker threads import this module and find the tasks by id.
import { defineTask, type TaskHandle } from '../src/index.js';

/** Keeps the CPU busy for `ms` milliseconds of wall-clock time: a stand-in for real work. */
function burn(ms: number): number {
  const end = performance.now() + ms;
  let x = 1;
  while (performance.now() < end) {
    for (let i = 0; i < 1_000; i++) x = (x * 31 + i) % 1_000_003;
  }
  return x;
}

export interface ReportInput {
  /** The report's flag in `published`: the main thread sets it to 1 when the report is out. */
  readonly index: number;
  readonly published: Int32Array;
  readonly pollIntervalMs: number;
}

/**
 * Builds a request (20 ms of CPU), waits without a slot until the report it needs is
 * published, then renders it (60 ms of CPU) with a slot taken again.
 */
export const fetchReport = defineTask('fetch-report', async (input: ReportInput, handle: TaskHandle) => {
  burn(20);
  await handle.deferUntil(() => Atomics.load(input.published, input.index) === 1, {
    pollIntervalMs: input.pollIntervalMs,
  });
  burn(60);
  return { report: input.index + 1, slotHeld: handle.isSlotHeld() };
});

/** Pure CPU work for `ms` milliseconds; it has no handle, so it costs no handshake cell. */
export const crunch = defineTask('crunch', (ms: number) => burn(ms));
