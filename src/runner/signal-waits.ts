/**
 * The runner's side of `runner.signal`: the runs of this process that wait for a signal no
 * in-process buffer had, and their signals from the database.
 *
 * A run's wait is learnt from the executor (`taskAwaitingSignal`); the run then takes, in one
 * statement (`SignalStore.take`), the signal that answers that wait: the one its task took for
 * the same wait in an earlier attempt, else the oldest free one of the name. Found, it goes to
 * the run through `executor.signal`. Not found, the wait is registered in the database and
 * stays listed here. A signal sent later goes straight to the registered wait, and its
 * announcement (`notice`) carries the payload: it is handed over with no query. An
 * announcement of a free signal for the wait's execution, listening starting again, and the
 * runner's fallback poll make the wait try to take again. A wait is tried by one take at a
 * time; an announcement during a take makes it try once more after.
 *
 * Which task gets a signal when several wait on one name in one execution: the one whose take
 * runs first, in practice the one that began waiting first. Each signal goes to one task.
 */
import type { Executor } from '../executor/executor.js';
import type { ClaimedTask } from '../store/rows.js';
import { type SignalNotice, type SignalStore, isSignalRace } from '../store/signals.js';
import type { Retry } from './retry.js';

interface Wait {
  readonly claim: ClaimedTask;
  readonly name: string;
  taking: boolean;
  again: boolean;
}

export class SignalWaits {
  readonly #store: SignalStore;
  readonly #executor: Executor;
  readonly #retry: Retry;
  readonly #onError: (error: unknown, workflowExecutionId: string) => void;
  readonly #waits = new Map<string, Wait>();
  /** Per task execution (this attempt): how many signals of each name it has taken. */
  readonly #taken = new Map<string, Map<string, number>>();

  constructor(
    store: SignalStore,
    executor: Executor,
    retry: Retry,
    onError: (error: unknown, workflowExecutionId: string) => void,
  ) {
    this.#store = store;
    this.#executor = executor;
    this.#retry = retry;
    this.#onError = onError;
  }

  get size(): number {
    return this.#waits.size;
  }

  /** The run of `claim` waits for a signal named `name`. */
  wait(claim: ClaimedTask, name: string): void {
    const wait: Wait = { claim, name, taking: false, again: false };
    this.#waits.set(claim.id, wait);
    if (!this.#taken.has(claim.id)) this.#taken.set(claim.id, new Map());
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

  /**
   * A signal was announced. Given straight to a wait of this process, with its payload in the
   * notice: handed over at once. Otherwise the waits of its execution try to take it.
   */
  notice(notice: SignalNotice): void {
    const id = notice.taskExecutionId;
    const wait = id === undefined ? undefined : this.#waits.get(id);
    if (wait === undefined) {
      if (id === undefined) this.offer(notice.workflowExecutionId);
      return;
    }
    const rank = this.#taken.get(wait.claim.id)?.get(wait.name) ?? 0;
    if (notice.inNotice && wait.name === notice.name && notice.ordinal === rank) {
      this.#handOver(wait, rank, notice.absent ? undefined : notice.payload);
    } else {
      void this.#take(wait);
    }
  }

  /**
   * The run's signal wait ended by itself (timed out, aborted): it is no longer listed, and its
   * registration goes, so that the next signal of the name is left for a task that waits. If
   * that delete fails, the stale registration may get the signal: then the task's next wait of
   * the name takes it, and its outcome removes the registration in any case.
   */
  ended(taskExecutionId: string): void {
    if (!this.#waits.delete(taskExecutionId)) return;
    this.#store.dropWait(taskExecutionId).catch(() => undefined);
  }

  /** Whether this attempt of the task waited for a signal (its outcome then tidies its rows). */
  waited(taskExecutionId: string): boolean {
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
          this.#handOver(wait, rank, found.payload);
          return;
        }
      } while (wait.again);
    } catch (error) {
      this.#onError(error, claim.workflow_execution_id);
    } finally {
      wait.taking = false;
    }
  }

  /** The wait has its signal: count it, and hand the payload to the run. */
  #handOver(wait: Wait, rank: number, payload: unknown): void {
    const counts = this.#taken.get(wait.claim.id) ?? new Map<string, number>();
    counts.set(wait.name, rank + 1);
    this.#taken.set(wait.claim.id, counts);
    this.#waits.delete(wait.claim.id);
    this.#executor.signal(wait.claim.id, wait.name, payload);
  }

  async #takeOnce(claim: ClaimedTask, name: string, rank: number): Promise<{ readonly payload: unknown } | undefined> {
    const take = (): Promise<{ readonly payload: unknown } | undefined> =>
      this.#retry(`taking signal \`${name}\` for task \`${claim.task_id}\``, () =>
        this.#store.take(claim.id, claim.workflow_execution_id, name, rank),
      );
    try {
      return await take();
    } catch (error) {
      // The other take won; this one now finds the signal it took for this very wait.
      if (isSignalRace(error)) return take();
      throw error;
    }
  }
}
