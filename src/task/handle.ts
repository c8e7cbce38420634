import { DeferAbortedError, DeferInProgressError, InvalidArgumentError, TaskAbortedError } from '../errors.js';
import {
  type Cell,
  type WaitKindCode,
  CONTROL,
  NONE,
  PROMISE,
  RELEASED,
  SIGNAL,
  STATE,
  UNTIL,
  askBack,
  awaitGrant,
  beginWait,
  isCancelled,
  nextWaitNumber,
  runOf,
  waitForNotify,
  word,
} from '../slots/handshake.js';
import { announceSignalWait, hintAskBack, openControlPort, takeDelivery } from './control-port.js';
import { ConditionPoller, type DeferCondition, evaluate } from './poll.js';
import {
  type CheckedWaitOptions,
  type DeferOptions,
  type WaitOptions,
  checkDeferOptions,
  checkSignalName,
  checkWaitOptions,
} from './wait-options.js';
import { WaitStop } from './wait-stop.js';

/** What `handle.waitFor` accepts: a promise, or a function that starts the work and returns one. */
export type WaitWork<T> = PromiseLike<T> | (() => PromiseLike<T> | T);

/**
 * What a running task can do about its slot. Passed as the second argument of a task function
 * that declares one (or that was defined with `{ handle: true }`).
 *
 * Every wait gives the slot back while it waits and takes one again, ahead of new work, before
 * it returns or throws, so the code after a wait always runs with a slot. One wait at a time:
 * combine promises with `Promise.all` inside one `waitFor`.
 */
export interface TaskHandle {
  /** The id of this run of the task (a UUIDv7); `executor.signal` addresses runs by it. */
  readonly taskExecutionId: string;
  /** Aborted when the run is cancelled: its `signal` aborted or its `timeoutMs` passed. */
  readonly signal: AbortSignal;
  /** False while the task has given its slot back inside a wait. */
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
  /**
   * Awaits `work` without holding a slot: resolves with its value, or rethrows its error
   * unchanged, once a slot is the task's again. No polling: the slot is asked back the moment
   * the promise settles. A promise that has settled already costs no handshake.
   *
   * @example const body = await handle.waitFor(fetch(url).then((r) => r.text()));
   */
  waitFor<T>(work: WaitWork<T>, options?: WaitOptions): Promise<T>;
  /**
   * Gives the slot back until a signal named `name` reaches this run, and resolves with its
   * payload (with a slot again). A signal sent before the wait began is kept for the run and
   * ends the wait at once. Signals come from `executor.signal(taskExecutionId, name, payload)`
   * or, in a workflow, from `runner.signal(workflowExecutionId, name, payload)`.
   */
  waitForSignal<T = unknown>(name: string, options?: WaitOptions): Promise<T>;
}

/** How a wait ended on the worker's side. */
type Ending<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown };

const NOT_SETTLED = Symbol('not settled');
const notSettled = Promise.resolve(NOT_SETTLED);

/**
 * The worker-side handle, bound to one run's handshake cell (see `slots/handshake.ts`).
 *
 * Local states: `held` → (beginWait) → `released` → (the wait ends: here, or by main taking
 * it for a signal) → `reclaiming` → (main grants) → `held`. Only one wait at a time.
 */
export class CellTaskHandle implements TaskHandle {
  readonly taskExecutionId: string;
  readonly #cell: Cell;
  readonly #taskId: string;
  #slot: 'held' | 'released' | 'reclaiming' = 'held';
  #waiting = false;
  #finished = false;
  #cancel: AbortController | null = null;
  #waitNumber = 0;

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
    // One async frame per parked run (not a wrapper around a closure): 100,000 may wait at once.
    if (this.#waiting) throw new DeferInProgressError();
    this.#waiting = true;
    try {
      if (typeof condition !== 'function') throw new InvalidArgumentError('condition', 'a function', condition);
      const { pollIntervalMs, ...wait } = checkDeferOptions(options);
      if (this.#finished) return; // called after the task returned: there is no slot to give back
      if (await evaluate(condition)) return;
      await this.#park<undefined>(UNTIL, wait, (end) => new ConditionPoller(condition, pollIntervalMs, end));
    } catch (error) {
      if (!this.#finished) throw error; // as in #exclusive
    } finally {
      this.#waiting = false;
    }
  }

  waitFor<T>(work: WaitWork<T>, options: WaitOptions = {}): Promise<T> {
    return this.#exclusive(async () => {
      const wait = checkWaitOptions(options);
      const promise = typeof work === 'function' ? work() : work;
      if (!isThenable(promise)) {
        if (typeof work === 'function') return promise; // the function returned a plain value
        throw new InvalidArgumentError('work', 'a promise or a function returning one', work);
      }
      // Settled already? Then there is nothing to wait for: no handshake (one microtask tells).
      const early = await Promise.race([promise, notSettled]);
      if (early !== NOT_SETTLED) return early;
      if (this.#finished) return promise;
      return this.#park<T>(PROMISE, wait, (end) => {
        // Handlers on the work at once: a rejection that loses to a timeout is not unhandled.
        Promise.resolve(promise).then(
          (value) => end({ ok: true, value }),
          (error: unknown) => end({ ok: false, error }),
        );
        return null;
      });
    });
  }

  waitForSignal<T = unknown>(name: string, options: WaitOptions = {}): Promise<T> {
    return this.#exclusive(async () => {
      checkSignalName(name);
      const wait = checkWaitOptions(options);
      if (this.#finished)
        throw new DeferAbortedError(new TaskAbortedError(this.#taskId, 'the task had already returned'));
      return this.#park<T>(SIGNAL, wait, (end, n) => {
        announceSignalWait(this.taskExecutionId, n, name);
        // Only main moves RELEASED(n) on while this waits: it took the wait for a signal, and
        // the payload is what `#park` returns (the value here is never used).
        void whileWord(this.#cell, word(n, RELEASED)).then(() => end({ ok: true, value: undefined as T }));
        return null;
      });
    });
  }

  /** Called by the worker when the task body has returned or thrown. */
  dispose(): void {
    this.#finished = true;
    // Wake our own CONTROL watcher so its pending waitAsync does not outlive the run.
    if (this.#cancel !== null) Atomics.notify(this.#cell, CONTROL);
    // A wait the task did not await may still be parked: stop it. It settles quietly
    // (resolves) once the run is over, so an unawaited rejection cannot crash the thread.
    this.#cancel?.abort(new TaskAbortedError(this.#taskId, 'the task had already returned'));
  }

  /**
   * Runs one wait at a time. A wait the task did not await, still going when the task
   * returned, resolves quietly: nobody can handle its error, and an unhandled rejection would
   * kill the thread and every run on it.
   */
  async #exclusive<T>(wait: () => Promise<T>): Promise<T> {
    if (this.#waiting) throw new DeferInProgressError();
    this.#waiting = true;
    try {
      return await wait();
    } catch (error) {
      if (!this.#finished) throw error;
      return undefined as T;
    } finally {
      this.#waiting = false;
    }
  }

  /**
   * The one shape of every wait: give the slot back (wait `n`), let `begin` wait until it
   * calls `end` (or the stop ends the wait: timeout, abort, cancellation), ask the slot back
   * in that same synchronous step, await the grant, then return or throw. A wait main took
   * (a signal) returns the delivered payload, even when its timeout or abort fired in the same
   * instant: the compare-and-swap decided, and a signal is consumed only by the wait that
   * gets it. `begin` may return what it started, to be stopped when the wait ends.
   */
  async #park<T>(
    kind: WaitKindCode,
    { signal, timeoutMs }: CheckedWaitOptions,
    begin: (end: (ending: Ending<T>) => void, n: number) => { stop(): void } | null,
  ): Promise<T> {
    // Aborted before it began: keep the slot, which was never given back.
    if (signal?.aborted) throw new DeferAbortedError(signal.reason);
    if (isCancelled(this.#cell) || this.#finished) {
      throw new DeferAbortedError(new TaskAbortedError(this.#taskId, 'the run was cancelled'));
    }
    const n = nextWaitNumber(this.#waitNumber);
    this.#waitNumber = n;
    // Release first, before the bookkeeping below, so the slot goes to other work sooner.
    this.#slot = 'released';
    beginWait(this.#cell, n, kind);
    openControlPort();
    let endedHere = false;
    const ending = await new Promise<Ending<T>>((resolve) => {
      let ended = false;
      let begun: { stop(): void } | null = null;
      // A cancellation stops the wait: through `handle.signal` if the task made one, else
      // through a watcher of the CONTROL word of this wait's own (cheaper for parked runs: no
      // AbortController that nothing else reads).
      const stop = new WaitStop([this.#cancel?.signal, signal], timeoutMs);
      const end = (result: Ending<T>): void => {
        if (ended) return;
        ended = true;
        stop.dispose();
        begun?.stop();
        Atomics.notify(this.#cell, CONTROL); // this wait's CONTROL watcher, if any, ends with it
        this.#slot = 'reclaiming';
        // Synchronously with whatever ended the wait: a poll run at a task boundary asks back
        // before that task's result is sent, and the hint tells main which run it is.
        endedHere = askBack(this.#cell, n);
        if (endedHere) hintAskBack(runOf(this.#cell));
        resolve(result);
      };
      begun = begin(end, n);
      if (ended) begun?.stop();
      stop.whenStopped(() => end({ ok: false, error: stop.error }));
      if (this.#cancel === null && !ended) this.#watchCancelDuring(stop);
    });
    if (await awaitGrant(this.#cell, n, () => this.#finished)) this.#slot = 'held';
    if (!endedHere) return takeDelivery(this.taskExecutionId, n)?.payload as T;
    if (!ending.ok) throw ending.error;
    return ending.value;
  }

  /** Stops `stop` when the run is cancelled; ends with the wait (`stop.disposed`). */
  #watchCancelDuring(stop: WaitStop): void {
    void waitForNotify(this.#cell, CONTROL, NONE).then(() => {
      if (isCancelled(this.#cell)) {
        stop.cancel(new DeferAbortedError(new TaskAbortedError(this.#taskId, 'the run was cancelled')));
      } else if (!stop.disposed && !this.#finished) {
        this.#watchCancelDuring(stop);
      }
    });
  }

  #watchForCancel(controller: AbortController): void {
    void waitForNotify(this.#cell, CONTROL, NONE).then(() => {
      if (isCancelled(this.#cell)) {
        controller.abort(new TaskAbortedError(this.#taskId, 'the run was cancelled (aborted or timed out)'));
      } else if (!this.#finished) {
        this.#watchForCancel(controller);
      }
    });
  }
}

/** Resolves once `cell[STATE]` no longer holds `value`. */
async function whileWord(cell: Cell, value: number): Promise<void> {
  while (Atomics.load(cell, STATE) === value) await waitForNotify(cell, STATE, value);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
