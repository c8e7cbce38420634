import { DeferConditionError } from '../errors.js';
import { type Poller, cancelPoll, schedulePoll } from './poll-schedule.js';

/** A condition polled by `handle.deferUntil`: true when the task can go on. */
export type DeferCondition = () => boolean | Promise<boolean>;

/** How a wait ended, as `#park` in `handle.ts` takes it. */
export type PollEnding =
  { readonly ok: true; readonly value: undefined } | { readonly ok: false; readonly error: Error };

const HELD: PollEnding = Object.freeze({ ok: true, value: undefined });

/**
 * Polls every `intervalMs` until the condition holds (`onEnd` with `ok`) or throws (`onEnd`
 * with the `DeferConditionError`); `stop()` ends the polling. `onEnd` is called synchronously from the poll
 * that decided, so a wait that ends during a task boundary's due polls asks for its slot before
 * that task's result is sent (see `poll-schedule.ts`).
 *
 * Cheap while parked, since a run may wait for hours beside 100,000 others: one object, which
 * is also its entry in the thread's poll schedule (methods, not closures, keep it small),
 * re-queued after each poll. The condition is called directly and awaited only when it returns
 * a promise; one that hangs loses to the wait's stop.
 */
export class ConditionPoller implements Poller {
  dueAt = 0;
  prev: Poller | null = null;
  next: Poller | null = null;
  queued = false;
  #ended = false;

  constructor(
    readonly condition: DeferCondition,
    readonly intervalMs: number,
    readonly onEnd: (ending: PollEnding) => void,
  ) {
    schedulePoll(this);
  }

  poll(): void {
    let result: unknown;
    try {
      result = this.condition();
    } catch (error) {
      this.#end(new DeferConditionError(error));
      return;
    }
    if (typeof (result as PromiseLike<unknown> | null)?.then === 'function') {
      Promise.resolve(result).then(
        (holds) => this.#next(holds),
        (error: unknown) => this.#end(new DeferConditionError(error)),
      );
    } else {
      this.#next(result);
    }
  }

  stop(): void {
    this.#ended = true;
    cancelPoll(this);
  }

  #next(holds: unknown): void {
    if (holds === true) this.#end(null);
    else if (!this.#ended) schedulePoll(this);
  }

  #end(failure: Error | null): void {
    if (this.#ended) return;
    this.stop();
    this.onEnd(failure === null ? HELD : { ok: false, error: failure });
  }
}

/** The condition's first check, before any handshake. */
export async function evaluate(condition: DeferCondition): Promise<boolean> {
  try {
    return (await condition()) === true;
  } catch (error) {
    throw new DeferConditionError(error);
  }
}
