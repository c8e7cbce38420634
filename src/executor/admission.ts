/**
 * The executor's accounting of what runs hold: slots (a run takes its weight in slots while
 * active), units of named limits and of concurrency keys, and the fair queue of runs waiting for
 * their first slot. `account` is the one place the counts change, called by `Executor.#moveTo`
 * on every state change of a run; the dispatch rules (who gets a freed slot) stay in the executor.
 *
 * What each state holds (`includeDeferred` pools keep their unit through a wait):
 *
 *   queued      nothing (counted in `queued` of its pools)
 *   active      `weight` slots, a unit of every pool
 *   deferred    no slot; a unit of the `includeDeferred` pools only
 *   reclaiming  as deferred, and it wants back the units it gave up (`reclaimWant`)
 *   finished    nothing
 */
import { InvalidArgumentError, UnknownLimitError } from '../errors.js';
import { FairQueue } from '../slots/fair-queue.js';
import { LimitPool, type LimitUsage, usageOf } from '../slots/limit-pool.js';
import { type FilledLimit, type TaskNeeds, checkKey, keyOf } from '../slots/needs.js';
import type { Execution, ExecutionState } from './execution.js';

/** One concurrency key's counts, as `metrics()` shows them. */
export interface KeyUsage extends LimitUsage {
  readonly taskId: string;
  readonly key: string;
}

/** What one run needs, worked out at `run`. */
export interface RunNeeds {
  readonly weight: number;
  readonly pools: readonly LimitPool[];
  readonly priority: number;
  readonly lane: string;
  readonly keyed: boolean;
}

const NO_POOLS: readonly LimitPool[] = Object.freeze([]);
const PLAIN_RUN: RunNeeds = Object.freeze({ weight: 1, pools: NO_POOLS, priority: 0, lane: '', keyed: false });

export class Admission {
  /** Slots free now. */
  free: number;
  readonly queue = new FairQueue<Execution>();
  readonly #named = new Map<string, LimitPool>();
  /** Pools of keys with a `perKeyLimit`, by task id and key; dropped when no run names them. */
  readonly #keys = new Map<string, LimitPool>();
  /** Pools that gave a unit back since the last `takeFreed` (their parked lanes may go on). */
  readonly #freed = new Set<LimitPool>();

  constructor(
    readonly slots: number,
    limits: ReadonlyMap<string, FilledLimit>,
  ) {
    this.free = slots;
    for (const [name, limit] of limits)
      this.#named.set(name, new LimitPool('limit', name, limit.max, limit.includeDeferred));
  }

  /**
   * What a run of `taskId` with `input` needs, from its task's needs. Throws
   * `InvalidArgumentError` (a weight over the slots, a bad key) or `UnknownLimitError`;
   * counts nothing (see `attach`).
   */
  needsOf(taskId: string, needs: TaskNeeds, input: unknown, priority: number, givenKey?: string | null): RunNeeds {
    if (needs.slots > this.slots) {
      throw new InvalidArgumentError(
        `slots (of task \`${taskId}\`)`,
        `at most the executor's maxConcurrentTasks (${this.slots})`,
        needs.slots,
      );
    }
    const key = givenKey === undefined ? keyOf(needs, input) : checkKey(givenKey);
    if (needs.limits.length === 0 && key === null) {
      // The common run: no object made for it.
      if (needs.slots === 1 && priority === 0) return PLAIN_RUN;
      return { weight: needs.slots, pools: NO_POOLS, priority, lane: '', keyed: false };
    }
    const pools: LimitPool[] = [];
    for (const name of needs.limits) {
      const pool = this.#named.get(name);
      if (pool === undefined) throw new UnknownLimitError(taskId, name, [...this.#named.keys()]);
      pools.push(pool);
    }
    if (key === null) return { weight: needs.slots, pools, priority, lane: needs.limits.join('\0'), keyed: false };
    const lane = `${taskId}\0${key}`;
    if (needs.perKeyLimit !== null) {
      // A new key's pool is kept once a run is attached to it (a refused run leaves nothing).
      const { max, includeDeferred } = needs.perKeyLimit;
      pools.push(this.#keys.get(lane) ?? new LimitPool('key', lane, max, includeDeferred));
    }
    return { weight: needs.slots, pools, priority, lane, keyed: true };
  }

  /** Whether a run with these needs could start now, were nothing queued ahead of it. */
  fitsNow(needs: RunNeeds): boolean {
    if (needs.weight > this.free) return false;
    for (const pool of needs.pools) if (!pool.admitsNew()) return false;
    return true;
  }

  /** Gives the run its needs and counts it as a user of its pools (every run starts queued). */
  attach(execution: Execution, needs: RunNeeds): void {
    execution.weight = needs.weight;
    execution.priority = needs.priority;
    execution.lane = needs.lane;
    execution.keyed = needs.keyed;
    if (needs.pools.length === 0) return;
    execution.pools = needs.pools;
    for (const pool of needs.pools) {
      if (pool.kind === 'key' && pool.users === 0) this.#keys.set(pool.name, pool);
      pool.users += 1;
      pool.queued += 1;
    }
  }

  /** What holds a new run back: a full pool (the first), too few slots, or nothing. */
  verdict(execution: Execution): LimitPool | 'noSlots' | 'ok' {
    for (const pool of execution.pools) if (!pool.admitsNew()) return pool;
    return execution.weight <= this.free ? 'ok' : 'noSlots';
  }

  /** Whether a run back from a wait can have the units it gave up (its slots are another matter). */
  unitsFree(execution: Execution): boolean {
    for (const pool of execution.pools) if (!pool.includeDeferred && !pool.admitsReclaim()) return false;
    return true;
  }

  /** Whether the run's weight in slots is free. */
  slotsFree(execution: Execution): boolean {
    return execution.weight <= this.free;
  }

  /** Keeps every count in step with the run's move from `previous` to `next` (see the table above). */
  account(execution: Execution, previous: ExecutionState, next: ExecutionState): void {
    const { pools, weight } = execution;
    if (next === 'active') {
      this.free -= weight;
      for (const pool of pools) {
        if (previous === 'queued') {
          pool.queued -= 1;
          pool.held += 1;
        } else if (pool.includeDeferred) {
          pool.deferredHolders -= 1;
        } else {
          pool.reclaimWant -= 1;
          pool.held += 1;
        }
      }
      return;
    }
    if (next === 'deferred') {
      this.free += weight;
      for (const pool of pools) {
        if (pool.includeDeferred) pool.deferredHolders += 1;
        else this.#giveBack(pool);
      }
      return;
    }
    if (next === 'reclaiming') {
      for (const pool of pools) if (!pool.includeDeferred) pool.reclaimWant += 1;
      return;
    }
    // finished
    if (previous === 'active') this.free += weight;
    for (const pool of pools) {
      if (previous === 'queued') pool.queued -= 1;
      else if (previous === 'active') this.#giveBack(pool);
      else if (pool.includeDeferred) {
        pool.deferredHolders -= 1;
        this.#giveBack(pool);
      } else if (previous === 'reclaiming') {
        pool.reclaimWant -= 1;
        this.#freed.add(pool);
      }
      pool.users -= 1;
      if (pool.users === 0 && pool.kind === 'key') this.#keys.delete(pool.name);
    }
    if (previous === 'queued') this.queue.withdraw(execution);
  }

  /** Lets lanes parked on pools that gave units back take their turns again. */
  unparkFreed(): void {
    if (this.#freed.size === 0) return;
    for (const pool of this.#freed) this.queue.unpark(pool);
    this.#freed.clear();
  }

  /** Each named limit's counts. */
  limits(): Record<string, LimitUsage> {
    const usage: Record<string, LimitUsage> = {};
    for (const [name, pool] of this.#named) usage[name] = usageOf(pool);
    return usage;
  }

  /** Each concurrency key with a `perKeyLimit` that a queued or running run names. */
  keys(): KeyUsage[] {
    return [...this.#keys.values()].map((pool) => {
      const [taskId = '', key = ''] = pool.name.split('\0');
      return { taskId, key, ...usageOf(pool) };
    });
  }

  #giveBack(pool: LimitPool): void {
    pool.held -= 1;
    this.#freed.add(pool);
  }
}
