/**
 * The queue of runs waiting for their first slot: higher priority first; within a priority,
 * runs of different concurrency keys take turns (start-time fair queuing); within one key,
 * first in, first out.
 *
 * Each run gets a tag as it joins. A run with a key is tagged `max(now, previous tag of its key
 * + 1)`, where `now` (the virtual time) is the tag of the last run admitted; a run without a key
 * is tagged `now`. Runs come out by (priority desc, tag, arrival). So when keys are backlogged,
 * each gets one turn per round however many runs it queued, and a key that just arrived starts
 * at the current round instead of behind everything queued before it. The same tags order the
 * persisted runner's claims (`store/claim.ts`), so one process and a fleet agree.
 *
 * Runs are kept in lanes: one per (priority, key) for keyed runs, one per (priority, limits
 * needed) for the others, each a FIFO; a heap orders the lanes by their heads. A lane whose head
 * waits for a unit of a full limit is parked on that limit's pool, out of the heap, so runs of
 * other lanes go past it, and comes back when the pool gives a unit back (`unpark`).
 */
import { FifoQueue } from './fifo.js';
import { Heap } from './heap.js';
import type { LimitPool } from './limit-pool.js';

/** What the queue needs of a run. */
export interface FairEntry {
  readonly priority: number;
  /** The run's lane within its priority: its key's, or its limits' when it has no key. */
  readonly lane: string;
  /** Whether `lane` is a concurrency key (keys take turns by tag; the rest are tagged `now`). */
  readonly keyed: boolean;
  /** Set when queued. */
  tag: number;
  seq: number;
  /** True while it waits in the queue; cleared when admitted or withdrawn. */
  queued: boolean;
}

/** What became of the head offered to `admitOne`'s callback. */
export type Admission = 'started' | 'noSlots' | LimitPool;

class Lane<T extends FairEntry> {
  readonly runs = new FifoQueue<T>();
  parkedOn: LimitPool | null = null;

  constructor(readonly key: string) {}

  /** The first run still queued, dropping withdrawn ones. */
  head(): T | undefined {
    let run = this.runs.peek();
    while (run !== undefined && !run.queued) {
      this.runs.shift();
      run = this.runs.peek();
    }
    return run;
  }
}

function comesFirst(a: FairEntry, b: FairEntry): boolean {
  if (a.priority !== b.priority) return a.priority > b.priority;
  if (a.tag !== b.tag) return a.tag < b.tag;
  return a.seq < b.seq;
}

export class FairQueue<T extends FairEntry> {
  readonly #lanes = new Map<string, Lane<T>>();
  // A lane emptied by withdrawals sorts first, to be dropped when popped.
  readonly #heap = new Heap<Lane<T>>((a, b) => {
    const x = a.head();
    const y = b.head();
    return x === undefined || (y !== undefined && comesFirst(x, y));
  });
  /** The last tag of each key with runs queued (or admitted since the queue last emptied). */
  readonly #lastTag = new Map<string, number>();
  #now = 0;
  #seq = 0;
  #size = 0;

  /** Runs waiting. */
  get size(): number {
    return this.#size;
  }

  /** Whether some lane is ready to offer a run (not every one is parked on a full limit). */
  get hasTurns(): boolean {
    return this.#heap.size > 0;
  }

  push(run: T): void {
    if (run.keyed) {
      const last = this.#lastTag.get(run.lane);
      run.tag = last === undefined ? this.#now : Math.max(this.#now, last + 1);
      this.#lastTag.set(run.lane, run.tag);
    } else {
      run.tag = this.#now;
    }
    run.seq = this.#seq++;
    run.queued = true;
    this.#size += 1;
    const laneKey = `${run.priority}\0${run.keyed ? 'k' : 'l'}${run.lane}`;
    let lane = this.#lanes.get(laneKey);
    if (lane === undefined) {
      lane = new Lane(laneKey);
      this.#lanes.set(laneKey, lane);
    }
    const wasEmpty = lane.head() === undefined;
    lane.runs.push(run);
    if (wasEmpty && lane.parkedOn === null) this.#heap.push(lane);
  }

  /** Takes a queued run out (cancelled); its place is dropped lazily. */
  withdraw(run: T): void {
    if (!run.queued) return;
    run.queued = false;
    this.#size -= 1;
    this.#forgetIfEmpty();
  }

  /**
   * Offers the first run to `tryStart`: `'started'` takes it out; `'noSlots'` leaves it at the
   * head and stops (a heavy run is not passed by lighter ones: it would never get its slots);
   * a pool parks its lane on that pool and offers the next lane's head. Returns whether a run
   * started.
   */
  admitOne(tryStart: (run: T) => Admission): boolean {
    for (;;) {
      const lane = this.#heap.pop();
      if (lane === undefined) return false;
      const run = lane.head();
      if (run === undefined) {
        this.#lanes.delete(lane.key);
        continue;
      }
      // Out of the heap while the run starts: a listener of its start may queue runs.
      const verdict = tryStart(run);
      if (verdict === 'noSlots') {
        this.#heap.push(lane);
        return false;
      }
      if (verdict === 'started') {
        lane.runs.shift();
        run.queued = false;
        this.#size -= 1;
        this.#now = Math.max(this.#now, run.tag);
        // Its key's last queued run: a later one starts from the virtual time, so forget the key.
        if (run.keyed && this.#lastTag.get(run.lane) === run.tag) this.#lastTag.delete(run.lane);
        if (lane.head() !== undefined) this.#heap.push(lane);
        else if (lane.parkedOn === null) this.#lanes.delete(lane.key);
        this.#forgetIfEmpty();
        return true;
      }
      lane.parkedOn = verdict;
      verdict.parked.add(lane);
    }
  }

  /** The pool has a unit free again: its parked lanes take their turns again. */
  unpark(pool: LimitPool): void {
    if (pool.parked.size === 0) return;
    for (const parked of pool.parked) {
      const lane = parked as Lane<T>;
      lane.parkedOn = null;
      if (lane.head() !== undefined) this.#heap.push(lane);
      else this.#lanes.delete(lane.key);
    }
    pool.parked.clear();
  }

  /** With nothing queued, keys start afresh at the current virtual time. */
  #forgetIfEmpty(): void {
    if (this.#size === 0) this.#lastTag.clear();
  }
}
