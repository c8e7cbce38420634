import type { MessagePort } from 'node:worker_threads';
import type { AskRing } from '../slots/ask-ring.js';
import type { Execution } from './execution.js';

/**
 * What the main thread knows of each worker thread, and the rule that hands a freed slot to a
 * run back from a wait ("resuming work goes first, per thread").
 *
 * A run continues on the thread it started on (its closure lives in that isolate), so a run
 * whose wait is over can only go on once its own thread is free. Granting it a slot while its
 * thread is busy would leave that slot unused and another thread idle. So a freed slot goes:
 *
 *   1. to a reclaimer on the thread that freed it, if that thread is open now;
 *   2. else to the longest-waiting reclaimer whose thread is open;
 *   3. else to new work, when some waits (the balancer sends it to a thread with no reclaimer);
 *   4. else to the longest-waiting reclaimer, open thread or not (nobody else wants the slot).
 *
 * Only reclaimers that can have their limits' units back now are considered (`eligible`); the
 * others wait for a unit, not for a slot.
 *
 * A thread is *open* while it runs fewer active runs than its share of the slots
 * (`ceil(slots / threads)`): with one slot per thread, while it runs none. A reclaimer that has
 * waited `patienceMs` counts as on an open thread: its thread's active run may be waiting on I/O
 * without giving its slot back, and must not hold the resume up for longer than that.
 */
export class Threads {
  readonly #threads = new Map<number, ThreadLoad>();
  /** Runs back from a wait, waiting for a slot, oldest first (a Set keeps insertion order). */
  readonly #reclaimers = new Set<Execution>();
  readonly #share: number;
  readonly #patienceMs: number;
  readonly #now: () => number;

  constructor(options: { slots: number; threads: number; patienceMs: number; now: () => number }) {
    this.#share = Math.max(1, Math.ceil(options.slots / options.threads));
    this.#patienceMs = options.patienceMs;
    this.#now = options.now;
  }

  /** The load of thread `id` (a fresh one for a thread not seen yet). */
  load(id: number): ThreadLoad {
    let load = this.#threads.get(id);
    if (load === undefined) {
      load = { active: 0, parked: 0, reclaimers: 0, port: null, ring: null, retired: false };
      this.#threads.set(id, load);
    }
    return load;
  }

  /** The balancer sent `execution`, which holds a slot, to thread `id`. */
  place(execution: Execution, id: number): void {
    execution.thread = id;
    // A run cancelled while Piscina still queued it (threads starting) has given its slot back.
    if (execution.state === 'active') this.load(id).active += 1;
  }

  /**
   * Thread `id` has stopped: close its control port. Its counts stay (they reach zero as its
   * runs end through the pool's error path); a replaced thread costs one small entry.
   */
  retire(id: number): void {
    const load = this.#threads.get(id);
    if (load === undefined) return;
    load.port?.close();
    load.port = null;
    load.ring = null;
    load.retired = true;
  }

  get size(): number {
    return this.#reclaimers.size;
  }

  /** True while thread `id` has a run back from a wait that waits for a slot. */
  hasReclaimer(id: number): boolean {
    return (this.#threads.get(id)?.reclaimers ?? 0) > 0;
  }

  queueReclaimer(execution: Execution): void {
    if (this.#reclaimers.has(execution)) return;
    this.#reclaimers.add(execution);
    execution.reclaimQueuedAt = this.#now();
    if (execution.thread >= 0) this.load(execution.thread).reclaimers += 1;
  }

  dropReclaimer(execution: Execution): void {
    if (!this.#reclaimers.delete(execution)) return;
    const load = execution.thread >= 0 ? this.#threads.get(execution.thread) : undefined;
    if (load !== undefined) load.reclaimers -= 1;
  }

  /**
   * The reclaimer that gets the slot freed on thread `freedOn`, by the rules above; null: new
   * work. Reclaimers on a thread that has stopped get nothing: they are about to fail.
   */
  nextReclaimer(freedOn: number, newWorkWaits: boolean, eligible: (execution: Execution) => boolean): Execution | null {
    if (this.#reclaimers.size === 0) return null;
    if (this.hasReclaimer(freedOn) && this.#isOpen(freedOn)) {
      for (const execution of this.#reclaimers)
        if (execution.thread === freedOn && eligible(execution)) return execution;
    }
    const now = this.#now();
    let oldest: Execution | null = null;
    for (const execution of this.#reclaimers) {
      if (this.#threads.get(execution.thread)?.retired === true || !eligible(execution)) continue;
      oldest ??= execution;
      if (this.#isOpen(execution.thread) || now - execution.reclaimQueuedAt >= this.#patienceMs) return execution;
    }
    return newWorkWaits ? null : oldest;
  }

  #isOpen(id: number): boolean {
    const load = this.#threads.get(id);
    return load === undefined || (!load.retired && load.active < this.#share);
  }
}

/** One worker thread as the main thread counts it. */
export interface ThreadLoad {
  /** Runs on it that hold a slot. */
  active: number;
  /** Runs on it in a wait, holding no slot (reclaimers included). */
  parked: number;
  /** Of those, runs whose wait is over and that wait for a slot. */
  reclaimers: number;
  /** The main thread's end of its control port, once a task on it waited for a signal. */
  port: MessagePort | null;
  /** Its ask ring, from the same hello as the port. */
  ring: AskRing | null;
  /** The thread has stopped (Piscina destroyed it). */
  retired: boolean;
}
