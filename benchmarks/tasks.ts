/**
 * The tasks the suites run on slotwise's worker threads. Worker threads import this module
 * (compiled, dist/benchmarks/tasks.js) by the URL `defineTask` records; the main thread
 * imports it for the definitions. Stamps use `epochNow()`, comparable across threads.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { type TaskHandle, defineTask, transfer } from '../src/index.js';
import { spinFor } from './spin.js';
import { epochNow } from './stats.js';

/** Does nothing: what is left is the cost of getting a task to a thread and back. */
export const noop = defineTask('bench.noop', () => undefined);

/** Keeps its thread's CPU busy for `us` microseconds. */
export const spin = defineTask('bench.spin', (us: number) => spinFor(us));

/** Layout of the shared stamps a {@link deferOnFlag} run and the task queued behind it write. */
export const STAMP = {
  /** The condition was first false: the slot is about to be given back. */
  released: 0,
  /** The condition turned true: the worker is about to ask for a slot again. */
  conditionTrue: 1,
  /** `deferUntil` returned: the task goes on with a slot. */
  resumed: 2,
  /** The body of the task queued behind the deferring one began. */
  queuedBody: 3,
} as const;

export interface FlagInput {
  /** Word 0 turns 1 when the task may go on. */
  readonly flag: Int32Array;
  /** Float64Array over a SharedArrayBuffer, indexed by {@link STAMP}. */
  readonly stamps: Float64Array;
  readonly pollIntervalMs: number;
}

/** Defers until a shared flag turns 1, stamping each step of the handshake. */
export const deferOnFlag = defineTask('bench.deferOnFlag', async (input: FlagInput, handle: TaskHandle) => {
  let first = true;
  const condition = (): boolean => {
    const holds = Atomics.load(input.flag, 0) === 1;
    if (holds) input.stamps[STAMP.conditionTrue] = epochNow();
    else if (first) input.stamps[STAMP.released] = epochNow();
    first = false;
    return holds;
  };
  await handle.deferUntil(condition, { pollIntervalMs: input.pollIntervalMs });
  input.stamps[STAMP.resumed] = epochNow();
});

/** Stamps when its body begins: the task queued behind a deferring one. */
export const stampStart = defineTask('bench.stampStart', (stamps: Float64Array) => {
  stamps[STAMP.queuedBody] = epochNow();
});

export interface UntilInput {
  /** `epochNow()` time at which the outside condition turns true. */
  readonly until: number;
  readonly pollIntervalMs: number;
}

/** Waits for a wall-clock time with `deferUntil`: no slot held while it waits. */
export const deferUntilTime = defineTask('bench.deferUntilTime', async (input: UntilInput, handle: TaskHandle) => {
  await handle.deferUntil(() => epochNow() >= input.until, { pollIntervalMs: input.pollIntervalMs });
  return epochNow();
});

/** Waits for the same time the way code without slotwise's handle does: polling with its slot held. */
export const holdUntilTime = defineTask('bench.holdUntilTime', async (input: UntilInput) => {
  while (epochNow() < input.until) await sleep(input.pollIntervalMs);
  return epochNow();
});

/** Touches the first byte of a buffer and sends it back copied (structured clone, both ways). */
export const touchCopied = defineTask('bench.touchCopied', (bytes: Uint8Array) => {
  bytes[0] = (bytes[0] ?? 0) + 1;
  return bytes;
});

/** The same, with the buffer moved back (the run moves it in with the `transfer` option). */
export const touchMoved = defineTask('bench.touchMoved', (bytes: Uint8Array) => {
  bytes[0] = (bytes[0] ?? 0) + 1;
  return transfer(bytes, [bytes]);
});
