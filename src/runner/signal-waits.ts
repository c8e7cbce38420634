/**
 * The runner's side of `runner.signal`: the runs of this process that wait for a signal no
 * in-process buffer had, and taking their signals from the database as signals arrive.
 *
 * A run's wait is learnt from the executor (`taskAwaitingSignal`); the run then takes, in one
 * statement (`SignalStore.take`), the signal that answers that wait: the one its task took for
 * the same wait in an earlier attempt, else the oldest free one of the name. Found, it goes to
 * the run through `executor.signal`. Not found, the wait stays listed, and is tried again when
 * a signal for its execution is announced (`NOTIFY`, or this process's own `runner.signal`),
 * when listening starts again, and on the runner's fallback poll. A wait is tried by one take
 * at a time; an announcement during a take makes it try once more after.
 *
 * Which task gets a signal when several wait on one name in one execution: the one whose take
 * runs first, in practice the one that began waiting first. Each signal goes to one task.
 */
import type { Executor } from '../executor/executor.js';
import type { ClaimedTask } from '../store/rows.js';
import type { SignalStore } from '../store/signals.js';
import { retryTransient } from '../store/transient.js';

interface Wait {
  readonly claim: ClaimedTask;
  readonly name: string;
  taking: boolean;
  again: boolean;
}

/** Unique violation: two takes gave one wait of a task a signal at once (a run and its stale twin). */
const UNIQUE_VIOLATION = '23505';

export class SignalWaits {
  readonly #store: SignalStore;
  readonly #executor: Executor;
  readonly #deadlineMs: number;
  readonly #onError: (error: unknown, workflowExecutionId: string) => void;
  readonly #waits = new Map<string, Wait>();
  /** Per task execution (this attempt): how many signals of each name it has taken. */
  readonly #taken = new Map<string, Map<string, number>>();

  constructor(
    store: SignalStore,
    executor: Executor,
    deadlineMs: number,
    onError: (error: unknown, workflowExecutionId: string) => void,
  ) {
    this.#store = store;
    this.#executor = executor;
    this.#deadlineMs = deadlineMs;
    this.#onError = onError;
  }

  get size(): number {
    return this.#waits.size;
  }

  /** The run of `claim` waits for a signal named `name`. */
  wait(claim: ClaimedTask, name: string): void {
    const wait: Wait = { claim, name, taking: false, again: false };
    this.#waits.set(claim.id, wait);
    void this.#take(wait);
  }

  /** Signals may have arrived for `workflowExecutionId` (null: for any execution). */
  offer(workflowExecutionId: string | null): void {
    for (const wait of this.#waits.values()) {
      if (workflowExecutionId === null || wait.claim.workflow_execution_id === workflowExecutionId) {
        void this.#take(wait);
      }
    }
  }

  /** Whether this attempt of the task took any signal (its outcome then marks them consumed). */
  tookAny(taskExecutionId: string): boolean {
    return this.#taken.has(taskExecutionId);
  }

  /** The run ended: forget its wait and its counts. */
  forget(taskExecutionId: string): void {
    this.#waits.delete(taskExecutionId);
    this.#taken.delete(taskExecutionId);
  }

  async #take(wait: Wait): Promise<void> {
    if (wait.taking) {
      wait.again = true;
      return;
    }
    wait.taking = true;
    const { claim, name } = wait;
    try {
      do {
        wait.again = false;
        const rank = this.#taken.get(claim.id)?.get(name) ?? 0;
        const found = await this.#takeOnce(claim, name, rank);
        if (this.#waits.get(claim.id) !== wait) return; // the run ended, or waits anew
        if (found !== undefined) {
          const counts = this.#taken.get(claim.id) ?? new Map<string, number>();
          counts.set(name, rank + 1);
          this.#taken.set(claim.id, counts);
          this.#waits.delete(claim.id);
          this.#executor.signal(claim.id, name, found.payload);
          return;
        }
      } while (wait.again);
    } catch (error) {
      this.#onError(error, claim.workflow_execution_id);
    } finally {
      wait.taking = false;
    }
  }

  async #takeOnce(claim: ClaimedTask, name: string, rank: number): Promise<{ readonly payload: unknown } | undefined> {
    const take = (): Promise<{ readonly payload: unknown } | undefined> =>
      retryTransient(() => this.#store.take(claim.id, claim.workflow_execution_id, name, rank), {
        deadlineMs: this.#deadlineMs,
        operation: `taking signal \`${name}\` for task \`${claim.task_id}\``,
      });
    try {
      return await take();
    } catch (error) {
      // The other take won; this one now finds the signal it took for this very wait.
      if ((error as { code?: unknown }).code === UNIQUE_VIOLATION) return take();
      throw error;
    }
  }
}
