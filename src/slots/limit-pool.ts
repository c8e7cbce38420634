/**
 * One limit the executor enforces besides its slots: a named limit (`limits` executor option) or
 * the limit of one concurrency key of a task (`perKeyLimit`). A run needs a unit of each of its
 * pools to be active.
 *
 * Counts, kept by `Admission` as runs change state:
 *   held             units taken: active runs, plus deferred runs when `includeDeferred`
 *   deferredHolders  of those, runs in a wait (only with `includeDeferred`)
 *   reclaimWant      runs back from a wait that gave their unit up and want it again; new work
 *                    may not take a unit one of them wants (resuming work goes first)
 *   queued           runs waiting for their first slot that need this pool
 *   users            runs, queued or running, that name the pool (a key's pool goes when 0)
 *
 * Invariant: `held <= max` at every step (a run takes a unit only when `held < max`).
 */
export class LimitPool {
  held = 0;
  deferredHolders = 0;
  reclaimWant = 0;
  queued = 0;
  users = 0;
  /** Lanes of the queue whose head waits for a unit of this pool (see `FairQueue`). */
  readonly parked = new Set<object>();

  /**
   * @param name A named limit's name, or a key's pool's `taskId + "\0" + key`.
   */
  constructor(
    readonly kind: 'limit' | 'key',
    readonly name: string,
    readonly max: number,
    readonly includeDeferred: boolean,
  ) {}

  /** Whether a new run may take a unit now: one is free that no resuming run wants. */
  admitsNew(): boolean {
    return this.held + this.reclaimWant < this.max;
  }

  /** Whether a run back from a wait may take its unit again. */
  admitsReclaim(): boolean {
    return this.held < this.max;
  }
}

/** A pool's counts as `metrics()` shows them. */
export interface LimitUsage {
  readonly max: number;
  readonly includeDeferred: boolean;
  /** Units held now (deferred holders included). */
  readonly held: number;
  /** Runs in a wait that keep their unit (`includeDeferred`). */
  readonly deferredHolders: number;
  /** Runs back from a wait that wait for their unit again. */
  readonly reclaiming: number;
  /** Runs waiting for a first slot that need a unit. */
  readonly queued: number;
}

export function usageOf(pool: LimitPool): LimitUsage {
  return {
    max: pool.max,
    includeDeferred: pool.includeDeferred,
    held: pool.held,
    deferredHolders: pool.deferredHolders,
    reclaiming: pool.reclaimWant,
    queued: pool.queued,
  };
}
