/**
 * The tasks of the parked and memory suites. Worker threads import this module (compiled,
 * dist/benchmarks/parked-tasks.js) by the URL `defineTask` records; the main thread imports it
 * for the definitions. The CPU work and the no-op come from tasks.ts.
 */
import { threadId } from 'node:worker_threads';
import { type TaskHandle, defineTask } from '../src/index.js';

export interface ParkInput {
  /** Int32Array over a SharedArrayBuffer shared by every parked run: word 0 turns 1 to let them all go. */
  readonly flag: Int32Array;
  readonly pollIntervalMs: number;
}

/** Defers (no slot held) until the shared flag turns 1, then ends. */
export const parkOnFlag = defineTask('bench.parkOnFlag', async (input: ParkInput, handle: TaskHandle) => {
  await handle.deferUntil(() => Atomics.load(input.flag, 0) === 1, { pollIntervalMs: input.pollIntervalMs });
});

/** One worker thread's own V8 heap, read inside that thread. */
export interface ThreadHeap {
  readonly threadId: number;
  /** `process.memoryUsage().heapUsed` in a worker thread is that thread's isolate's. */
  readonly heapUsed: number;
  /** Heap memory V8 has committed for that isolate: used, plus free space in its pages. */
  readonly heapTotal: number;
  /** Whether a full collection ran first (it needs `--expose-gc`, which reaches every thread). */
  readonly collected: boolean;
}

/** Reports this thread's heap, after a full collection when `collect` is true. */
export const threadHeap = defineTask('bench.threadHeap', (collect: boolean): ThreadHeap => {
  const collected = collect && globalThis.gc !== undefined;
  if (collected) globalThis.gc?.();
  const { heapUsed, heapTotal } = process.memoryUsage();
  return { threadId, heapUsed, heapTotal, collected };
});
