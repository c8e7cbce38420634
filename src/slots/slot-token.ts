import type { Semaphore } from './semaphore.js';

/**
 * Ownership of one semaphore permit, which can be given back and taken again.
 *
 * States: `held` → release() → `released` → reclaim() → `reclaiming` → (permit granted) → `held`.
 * `release()` is idempotent: only the call that actually gave a permit back returns true, so
 * however many paths try to release (success, throw, timeout, dispose), the permit returns once.
 */
export class SlotToken implements Disposable {
  readonly #semaphore: Semaphore;
  #held: boolean;
  #reclaiming: Promise<void> | null = null;

  /** @internal Tokens come from {@link Semaphore.acquire} and {@link Semaphore.tryAcquire}. */
  constructor(semaphore: Semaphore, held: boolean) {
    this.#semaphore = semaphore;
    this.#held = held;
  }

  /** True while this token owns a permit. */
  isHeld(): boolean {
    return this.#held;
  }

  /** Gives the permit back. Returns false, and does nothing, when the token held none. */
  release(): boolean {
    if (!this.#held) return false;
    this.#held = false;
    this.#semaphore.give();
    return true;
  }

  /**
   * Takes a permit again, ahead of parties waiting to acquire a new one. Resolves at once when
   * the token already holds one; a second call while waiting shares the first call's wait.
   * Rejects with `signal.reason` if the signal aborts before a permit is granted.
   */
  reclaim(options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.#held) return Promise.resolve();
    if (this.#reclaiming !== null) return this.#reclaiming;
    const onGrant = (): void => {
      this.#reclaiming = null;
      this.#held = true;
    };
    const waiting = this.#semaphore.waitForPermit(true, options.signal, onGrant).catch((reason: unknown) => {
      this.#reclaiming = null;
      throw reason;
    });
    this.#reclaiming = waiting;
    return waiting;
  }

  /** Releases the permit (for `using token = await semaphore.acquire()`). */
  [Symbol.dispose](): void {
    this.release();
  }
}
