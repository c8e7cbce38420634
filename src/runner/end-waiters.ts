/**
 * Callers waiting for workflow executions to end. This process wakes them when it ends an
 * execution itself; for executions other processes run, one shared poll per interval asks the
 * database which of the awaited executions have ended, for every waiting caller together.
 */
export class EndWaiters {
  readonly #ended: (ids: readonly string[]) => Promise<string[]>;
  readonly #pollIntervalMs: number;
  readonly #waiters = new Map<string, ((error: Error | null) => void)[]>();
  #poll: NodeJS.Timeout | undefined;
  #stopped = false;

  /** `ended` returns which of the ids have ended, by the database. */
  constructor(ended: (ids: readonly string[]) => Promise<string[]>, pollIntervalMs: number) {
    this.#ended = ended;
    this.#pollIntervalMs = pollIntervalMs;
  }

  /** How many executions someone waits for. */
  get size(): number {
    return this.#waiters.size;
  }

  /** Resolves at the next news of the execution (it may have ended); rejects with a failure. */
  next(id: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = (error: Error | null): void => {
        const list = this.#waiters.get(id)?.filter((w) => w !== done) ?? [];
        if (list.length === 0) this.#waiters.delete(id);
        else this.#waiters.set(id, list);
        if (error === null) resolve();
        else reject(error);
      };
      this.#waiters.set(id, [...(this.#waiters.get(id) ?? []), done]);
      this.#arm();
    });
  }

  /** Wakes the callers waiting for `id`: with `null` to look again, or with a failure. */
  wake(id: string, error: Error | null): void {
    for (const wake of this.#waiters.get(id) ?? []) wake(error);
  }

  /** Stops polling and rejects every waiting caller with `error`. */
  stop(error: Error): void {
    this.#stopped = true;
    clearTimeout(this.#poll);
    for (const id of [...this.#waiters.keys()]) this.wake(id, error);
  }

  /** Stops polling (callers still waiting are woken by `stop` later). */
  pause(): void {
    this.#stopped = true;
    clearTimeout(this.#poll);
  }

  #arm(): void {
    if (this.#poll !== undefined || this.#waiters.size === 0 || this.#stopped) return;
    this.#poll = setTimeout(() => {
      void this.#ended([...this.#waiters.keys()])
        .then(
          (ended) => ended.forEach((id) => this.wake(id, null)),
          () => undefined, // the database is away: the next poll tries again
        )
        .finally(() => {
          this.#poll = undefined;
          this.#arm();
        });
    }, this.#pollIntervalMs);
  }
}
