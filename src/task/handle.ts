import {
  DeferAbortedError,
  DeferConditionError,
  DeferInProgressError,
  DeferTimeoutError,
  InvalidArgumentError,
  TaskAbortedError,
} from '../errors.js';
import {
  type Cell,
  ACTIVE,
  CANCELLED,
  CONTROL,
  NONE,
  RECLAIMING,
  RELEASED,
  STATE,
  waitForNotify,
} from '../slots/handshake.js';

/** A condition polled by {@link TaskHandle.deferUntil}: true when the task can go on. */
export type DeferCondition = () => boolean | Promise<boolean>;

export interface DeferOptions {
  /** Time between two checks of the condition, in ms. Default: 100. */
  readonly pollIntervalMs?: number;
  /** Give up after this many ms (the slot is taken again, then `DeferTimeoutError` is thrown). Default: none. */
  readonly timeoutMs?: number;
  /** Abort the deferral (the slot is taken again, then `DeferAbortedError` is thrown). */
  readonly signal?: AbortSignal;
}

/** The default of {@link DeferOptions.pollIntervalMs}. */
export const DEFAULT_POLL_INTERVAL_MS = 100;

/**
 * What a running task can do about its slot. Passed as the second argument of a task function
 * that declares one (or that was defined with `{ handle: true }`).
 */
export interface TaskHandle {
  /** The id of this run of the task (a UUIDv7). */
  readonly taskExecutionId: string;
  /** Aborted when the run is cancelled: its `signal` aborted or its `timeoutMs` passed. */
  readonly signal: AbortSignal;
  /** False while the task has given its slot back inside `deferUntil`. */
  isSlotHeld(): boolean;
  /**
   * Waits until `condition` returns true, without holding a slot while it waits.
   *
   * The condition is checked once at once: if it already holds, this returns without any
   * handshake. Otherwise the slot goes back to the executor, the condition is polled every
   * `pollIntervalMs`, and once it holds the task takes a slot again (ahead of new work) before
   * this resolves. On timeout, abort, or a condition that throws, the slot is taken again
   * first and then the typed error is thrown, so a task that catches it goes on with a slot.
   */
  deferUntil(condition: DeferCondition, options?: DeferOptions): Promise<void>;
}

/**
 * The worker-side handle, bound to one run's handshake cell (see `slots/handshake.ts`).
 *
 * Local states: `held` → (release) → `released` → (condition holds, timeout, abort or
 * condition error) → `reclaiming` → (main grants) → `held`. Only one deferral at a time.
 */
export class CellTaskHandle implements TaskHandle {
  readonly taskExecutionId: string;
  readonly #cell: Cell;
  readonly #taskId: string;
  #slot: 'held' | 'released' | 'reclaiming' = 'held';
  #deferring = false;
  #finished = false;
  #cancel: AbortController | null = null;

  constructor(cell: Cell, taskExecutionId: string, taskId: string) {
    this.#cell = cell;
    this.taskExecutionId = taskExecutionId;
    this.#taskId = taskId;
  }

  get signal(): AbortSignal {
    if (this.#cancel === null) {
      if (this.#finished) return AbortSignal.abort(new TaskAbortedError(this.#taskId, 'the task had already returned'));
      this.#cancel = new AbortController();
      this.#watchForCancel(this.#cancel);
    }
    return this.#cancel.signal;
  }

  isSlotHeld(): boolean {
    return this.#slot === 'held';
  }

  async deferUntil(condition: DeferCondition, options: DeferOptions = {}): Promise<void> {
    try {
      await this.#deferUntil(condition, options);
    } catch (error) {
      // A deferral the task did not await, still going when the task returned: nobody can
      // handle its error, and an unhandled rejection would kill the thread and every run on it.
      if (!this.#finished) throw error;
    }
  }

  async #deferUntil(condition: DeferCondition, options: DeferOptions): Promise<void> {
    const { pollIntervalMs, timeoutMs, signal } = validateDeferArguments(condition, options);
    if (this.#finished) return; // called after the task returned: there is no slot to give back
    if (this.#deferring) throw new DeferInProgressError();
    this.#deferring = true;
    try {
      if (await evaluate(condition)) return;
      // Aborted before it began: keep the slot, which was never given back.
      if (signal?.aborted) throw new DeferAbortedError(signal.reason);
      if (Atomics.load(this.#cell, CONTROL) === CANCELLED || this.#finished) {
        throw new DeferAbortedError(new TaskAbortedError(this.#taskId, 'the run was cancelled'));
      }
      // Release first, before the bookkeeping below, so the slot goes to other work sooner.
      this.#release();
      // A cancellation stops the deferral: through `handle.signal` if the task made one, else
      // through a watcher of the CONTROL word of this deferral's own (cheaper for parked runs:
      // no AbortController that nothing else reads).
      const stop = new DeferralStop([this.#cancel?.signal, signal], timeoutMs);
      if (this.#cancel === null) this.#watchCancelDuring(stop);
      let failure: Error | null = null;
      try {
        failure = await pollUntil(condition, pollIntervalMs, stop);
      } finally {
        stop.dispose();
        // Wake this deferral's CONTROL watcher, if any, so it ends with the deferral.
        Atomics.notify(this.#cell, CONTROL);
        await this.#reclaim();
      }
      if (failure !== null) throw failure;
    } finally {
      this.#deferring = false;
    }
  }

  /** Called by the worker when the task body has returned or thrown. */
  dispose(): void {
    this.#finished = true;
    // Wake our own CONTROL watcher so its pending waitAsync does not outlive the run.
    if (this.#cancel !== null) Atomics.notify(this.#cell, CONTROL);
    // A deferral the task did not await may still be parked: stop it. It settles quietly
    // (resolves) once the run is over, so an unawaited rejection cannot crash the thread.
    this.#cancel?.abort(new TaskAbortedError(this.#taskId, 'the task had already returned'));
  }

  #release(): void {
    this.#slot = 'released';
    // The store is sequentially consistent and precedes the notify: the main thread, woken by
    // the notify (or finding the word changed when it starts waiting), reads RELEASED.
    Atomics.store(this.#cell, STATE, RELEASED);
    Atomics.notify(this.#cell, STATE);
  }

  async #reclaim(): Promise<void> {
    this.#slot = 'reclaiming';
    Atomics.store(this.#cell, STATE, RECLAIMING);
    Atomics.notify(this.#cell, STATE);
    // Only the main thread moves RECLAIMING → ACTIVE, after it granted a slot. waitAsync
    // compares and waits atomically, so a grant stored before we wait is seen at once. A
    // wake-up with RECLAIMING still in the word was a notify for the main thread's waiter.
    while (Atomics.load(this.#cell, STATE) === RECLAIMING && !this.#finished) {
      await waitForNotify(this.#cell, STATE, RECLAIMING);
    }
    if (Atomics.load(this.#cell, STATE) === ACTIVE) this.#slot = 'held';
  }

  /** Stops `stop` when the run is cancelled; ends with the deferral (`stop.disposed`). */
  #watchCancelDuring(stop: DeferralStop): void {
    void waitForNotify(this.#cell, CONTROL, NONE).then(() => {
      if (Atomics.load(this.#cell, CONTROL) === CANCELLED) {
        stop.cancel(new DeferAbortedError(new TaskAbortedError(this.#taskId, 'the run was cancelled')));
      } else if (!stop.disposed && !this.#finished) {
        this.#watchCancelDuring(stop);
      }
    });
  }

  #watchForCancel(controller: AbortController): void {
    void waitForNotify(this.#cell, CONTROL, NONE).then(() => {
      if (Atomics.load(this.#cell, CONTROL) === CANCELLED) {
        controller.abort(new TaskAbortedError(this.#taskId, 'the run was cancelled (aborted or timed out)'));
      } else if (!this.#finished) {
        this.#watchForCancel(controller);
      }
    });
  }
}

/**
 * Ends a deferral early: on abort of any of its signals, or at its deadline. Owns one timer
 * and its listeners, and removes them in `dispose` so nothing outlives the deferral. A parked
 * run holds one of these for as long as it waits, so it keeps no controller of its own: the
 * poller registers the one callback to call.
 */
class DeferralStop {
  readonly #cleanups: (() => void)[] = [];
  #onStop: (() => void) | null = null;
  error: Error | null = null;
  disposed = false;

  constructor(signals: readonly (AbortSignal | undefined)[], timeoutMs: number | undefined) {
    for (const signal of signals) {
      if (signal === undefined) continue;
      if (signal.aborted) {
        this.#stop(new DeferAbortedError(signal.reason));
        return;
      }
      const onAbort = (): void => this.#stop(new DeferAbortedError(signal.reason));
      signal.addEventListener('abort', onAbort, { once: true });
      this.#cleanups.push(() => signal.removeEventListener('abort', onAbort));
    }
    if (timeoutMs !== undefined) {
      const timer = setTimeout(() => this.#stop(new DeferTimeoutError(timeoutMs)), timeoutMs);
      this.#cleanups.push(() => clearTimeout(timer));
    }
  }

  /** Calls `callback` once the deferral stops (at once if it has). */
  whenStopped(callback: () => void): void {
    this.#onStop = callback;
    if (this.error !== null) callback();
  }

  /** Stops the deferral with `error` (the run was cancelled). */
  cancel(error: Error): void {
    this.#stop(error);
  }

  dispose(): void {
    this.disposed = true;
    this.#onStop = null;
    for (const cleanup of this.#cleanups) cleanup();
    this.#cleanups.length = 0;
  }

  #stop(error: Error): void {
    if (this.error !== null) return;
    this.error = error;
    this.#onStop?.();
  }
}

/**
 * Polls every `intervalMs` until the condition holds (null) or the deferral stops (the error
 * to throw). Cheap while parked, since a run may wait for hours beside 100,000 others: one
 * timer, re-armed after each poll, and one promise for the whole wait. The condition is called
 * directly and awaited only when it returns a promise; one that hangs loses to the stop.
 */
function pollUntil(condition: DeferCondition, intervalMs: number, stop: DeferralStop): Promise<Error | null> {
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

async function evaluate(condition: DeferCondition): Promise<boolean> {
  try {
    return (await condition()) === true;
  } catch (error) {
    throw new DeferConditionError(error);
  }
}

function validateDeferArguments(
  condition: DeferCondition,
  options: DeferOptions,
): { pollIntervalMs: number; timeoutMs: number | undefined; signal: AbortSignal | undefined } {
  if (typeof condition !== 'function') throw new InvalidArgumentError('condition', 'a function', condition);
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError('options', 'an object', options);
  }
  const pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
  if (typeof pollIntervalMs !== 'number' || !Number.isFinite(pollIntervalMs) || pollIntervalMs <= 0) {
    throw new InvalidArgumentError('pollIntervalMs', 'a positive finite number of ms', options.pollIntervalMs);
  }
  const { timeoutMs, signal } = options;
  if (timeoutMs !== undefined && (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0)) {
    throw new InvalidArgumentError('timeoutMs', 'a positive finite number of ms', timeoutMs);
  }
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new InvalidArgumentError('signal', 'an AbortSignal', signal);
  }
  return { pollIntervalMs, timeoutMs, signal };
}
