import { InvalidArgumentError } from '../errors.js';
import { FifoQueue } from './fifo.js';
import { SlotToken } from './slot-token.js';

/**
 * One party waiting for a permit. `grant` runs synchronously inside the `release` that freed
 * the permit, so a waiting run starts without an extra promise hop. `done` turns true when the
 * waiter is granted or cancelled; done waiters are skipped when they reach the head of their
 * queue (lazy removal keeps cancellation O(1)).
 */
export interface SlotWaiter {
  readonly grant: () => void;
  done: boolean;
}

/**
 * A counting semaphore of concurrency slots, FIFO within each of two queues.
 *
 * Permits go first to tokens that are *reclaiming* (tasks coming back from a deferral, half
 * done) and only then to new work, so fresh work can never starve work already under way.
 *
 * Invariant: `available + held permits === size`, and `available > 0` only while both queues
 * hold no live waiter.
 */
export class Semaphore {
  readonly #size: number;
  #available: number;
  readonly #reclaimers = new FifoQueue<SlotWaiter>();
  readonly #acquirers = new FifoQueue<SlotWaiter>();
  #liveWaiters = 0;

  constructor(permits: number) {
    if (!Number.isSafeInteger(permits) || permits < 1) {
      throw new InvalidArgumentError('permits', 'a positive integer', permits);
    }
    this.#size = permits;
    this.#available = permits;
  }

  /** The number of permits this semaphore was created with. */
  get size(): number {
    return this.#size;
  }

  /** Permits free right now. */
  get available(): number {
    return this.#available;
  }

  /** Parties waiting for a permit (new acquirers and reclaiming tokens). */
  get waiting(): number {
    return this.#liveWaiters;
  }

  /** Takes a permit if one is free and nobody is waiting for one; never waits. */
  tryAcquire(): SlotToken | null {
    if (!this.tryTake()) return null;
    return new SlotToken(this, true);
  }

  /** Waits for a permit, behind every earlier waiter. Rejects with `signal.reason` if aborted. */
  acquire(options: { signal?: AbortSignal } = {}): Promise<SlotToken> {
    const token = this.tryAcquire();
    if (token !== null) return Promise.resolve(token);
    return this.waitForPermit(false, options.signal).then(() => new SlotToken(this, true));
  }

  /** @internal Takes a free permit without a token; false when none is free or others wait. */
  tryTake(): boolean {
    if (this.#available === 0 || this.#liveWaiters > 0) return false;
    this.#available -= 1;
    return true;
  }

  /**
   * @internal Queues `grant` for the next free permit. `reclaim` waiters go ahead of new ones.
   * The returned waiter can be cancelled with {@link cancel}.
   */
  enqueue(grant: () => void, reclaim: boolean): SlotWaiter {
    const waiter: SlotWaiter = { grant, done: false };
    (reclaim ? this.#reclaimers : this.#acquirers).push(waiter);
    this.#liveWaiters += 1;
    this.#dispatch();
    return waiter;
  }

  /** @internal Withdraws a waiter that has not been granted yet. */
  cancel(waiter: SlotWaiter): void {
    if (waiter.done) return;
    waiter.done = true;
    this.#liveWaiters -= 1;
  }

  /** @internal Returns a permit and hands it to the next waiter, if any. */
  give(): void {
    this.#available += 1;
    this.#dispatch();
  }

  /**
   * @internal Promise form of {@link enqueue}, for tokens and `acquire`. `onGrant` runs
   * synchronously when the permit is handed over, before the promise settles.
   */
  waitForPermit(reclaim: boolean, signal: AbortSignal | undefined, onGrant?: () => void): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        this.cancel(waiter);
        reject(signal?.reason);
      };
      const waiter = this.enqueue(() => {
        signal?.removeEventListener('abort', onAbort);
        onGrant?.();
        resolve();
      }, reclaim);
      if (!waiter.done && signal !== undefined) {
        signal.addEventListener('abort', onAbort, { once: true });
      }
    });
  }

  #dispatch(): void {
    while (this.#available > 0 && this.#liveWaiters > 0) {
      const waiter = this.#reclaimers.shift() ?? this.#acquirers.shift();
      if (waiter === undefined) break;
      if (waiter.done) continue;
      waiter.done = true; // granted: a later cancel() must not count it again
      this.#liveWaiters -= 1;
      this.#available -= 1;
      waiter.grant();
    }
  }
}
