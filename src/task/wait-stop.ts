import { DeferAbortedError, DeferTimeoutError } from '../errors.js';

/**
 * Ends a wait early: on abort of any of its signals, at its deadline, or when the run is
 * cancelled (`cancel`). Owns one timer and its listeners and removes them in `dispose`, so
 * nothing outlives the wait. A parked run holds one of these for as long as it waits, so it
 * keeps no controller of its own: whatever waits registers the one callback to call.
 */
export class WaitStop {
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

  /** Calls `callback` once the wait stops (at once if it has). */
  whenStopped(callback: () => void): void {
    this.#onStop = callback;
    if (this.error !== null) callback();
  }

  /** Stops the wait with `error` (the run was cancelled). */
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
