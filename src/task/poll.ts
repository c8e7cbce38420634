import { DeferConditionError } from '../errors.js';
import type { WaitStop } from './wait-stop.js';

/** A condition polled by `handle.deferUntil`: true when the task can go on. */
export type DeferCondition = () => boolean | Promise<boolean>;

/**
 * Polls every `intervalMs` until the condition holds (null) or the wait stops (the error to
 * throw). Cheap while parked, since a run may wait for hours beside 100,000 others: one timer,
 * re-armed after each poll, and one promise for the whole wait. The condition is called
 * directly and awaited only when it returns a promise; one that hangs loses to the stop.
 */
export function pollUntil(condition: DeferCondition, intervalMs: number, stop: WaitStop): Promise<Error | null> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: Error | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const next = (holds: unknown): void => {
      if (holds === true) finish(null);
      else if (!settled) timer.refresh();
    };
    const fail = (error: unknown): void => finish(new DeferConditionError(error));
    const poll = (): void => {
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
    };
    const timer = setTimeout(poll, intervalMs);
    stop.whenStopped(() => finish(stop.error));
  });
}

/** The condition's first check, before any handshake. */
export async function evaluate(condition: DeferCondition): Promise<boolean> {
  try {
    return (await condition()) === true;
  } catch (error) {
    throw new DeferConditionError(error);
  }
}
