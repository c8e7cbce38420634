import { DeferConditionError } from '../errors.js';
import { cancelPoll, createPoller, schedulePoll } from './poll-schedule.js';

/** A condition polled by `handle.deferUntil`: true when the task can go on. */
export type DeferCondition = () => boolean | Promise<boolean>;

/**
 * Polls every `intervalMs` until the condition holds (`onEnd(null)`) or throws
 * (`onEnd(error)`); the returned function stops the polling. `onEnd` is called synchronously
 * from the poll that decided, so a wait that ends during a task boundary's due polls asks for
 * its slot before that task's result is sent (see `poll-schedule.ts`).
 *
 * Cheap while parked, since a run may wait for hours beside 100,000 others: one entry in its
 * thread's poll schedule, re-queued after each poll. The condition is called directly and
 * awaited only when it returns a promise; one that hangs loses to the wait's stop.
 */
export function startPolling(
  condition: DeferCondition,
  intervalMs: number,
  onEnd: (failure: Error | null) => void,
): () => void {
  let ended = false;
  const end = (failure: Error | null): void => {
    if (ended) return;
    ended = true;
    cancelPoll(poller);
    onEnd(failure);
  };
  const next = (holds: unknown): void => {
    if (holds === true) end(null);
    else if (!ended) schedulePoll(poller);
  };
  const fail = (error: unknown): void => end(new DeferConditionError(error));
  const poller = createPoller(intervalMs, () => {
    let result: unknown;
    try {
      result = condition();
    } catch (error) {
      fail(error);
      return;
    }
    if (typeof (result as PromiseLike<unknown> | null)?.then === 'function') {
      Promise.resolve(result).then(next, fail);
    } else {
      next(result);
    }
  });
  schedulePoll(poller);
  return () => {
    ended = true;
    cancelPoll(poller);
  };
}

/** The condition's first check, before any handshake. */
export async function evaluate(condition: DeferCondition): Promise<boolean> {
  try {
    return (await condition()) === true;
  } catch (error) {
    throw new DeferConditionError(error);
  }
}
