/**
 * Tasks of the resume suite. Each parked task returns `epochNow()` taken on the line right
 * after its wait: the moment the task itself goes on, comparable with main-thread stamps.
 */
import { type TaskHandle, defineTask } from '../src/index.js';
import { epochNow } from './stats.js';

export interface FlagWaitInput {
  /** Word `index` turns 1 when the task may go on. */
  readonly flags: Int32Array;
  readonly index: number;
  readonly pollIntervalMs: number;
}

/** Waits for its flag with `deferUntil` (polling). */
export const parkOnFlag = defineTask('bench.resume.parkOnFlag', async (input: FlagWaitInput, handle: TaskHandle) => {
  await handle.deferUntil(() => Atomics.load(input.flags, input.index) === 1, {
    pollIntervalMs: input.pollIntervalMs,
  });
  return epochNow();
});

/** Waits for the signal `go` (no polling). */
export const parkOnSignal = defineTask('bench.resume.parkOnSignal', async (_input: null, handle: TaskHandle) => {
  await handle.waitForSignal('go');
  return epochNow();
});

/** The workflow task of the cross-process figure: waits for `go`, then stamps its next line. */
export const awaitGo = defineTask('bench.resume.awaitGo', async (_input: unknown, handle: TaskHandle) => {
  await handle.waitForSignal('go');
  return { resumedAt: epochNow() };
});
