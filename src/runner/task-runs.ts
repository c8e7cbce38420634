/**
 * The tasks a runner has claimed and runs, each from its claim to its outcome written: its
 * context read, its run on the executor, its Running sub-state written as the executor reports
 * waits, and its end (an outcome, a claim given back, or a claim lost to another runner).
 */
import type { EventEmitter } from 'node:events';
import { ClaimLostError, DatabaseUnavailableError, RunnerClosedError, WorkflowCancelledError } from '../errors.js';
import type { TaskFinishedEvent } from '../executor/events.js';
import type { Executor } from '../executor/executor.js';
import type { Logger } from '../logger.js';
import type { ClaimedTask } from '../store/rows.js';
import type { Store } from '../store/store.js';
import type { Workflow } from '../workflow/define-workflow.js';
import type { HeldUnits, RunnerEvents } from './events.js';
import type { OutcomeWriter } from './outcome-writer.js';
import type { Retry } from './retry.js';
import type { SignalWaits } from './signal-waits.js';
import { taskContext } from './task-context.js';
import type { Outcome } from './transitions.js';
import type { FilledLimit } from '../slots/needs.js';
import { givesUnitsUp, takeUnitsBack } from '../store/claim.js';
import type { CancelledClaim } from '../store/leases.js';

/**
 * One claimed task being run by this process. Its fate: `own` runs to its outcome; `lost` (the
 * claim is another runner's now) is aborted and its result discarded; `release` (shutting down,
 * or the lease may have lapsed) is aborted and its claim given back, unless it finished first;
 * `cancelled` (its workflow execution was cancelled) is aborted and writes nothing: the cancel
 * has ended its row already.
 */
interface LiveRun {
  readonly claim: ClaimedTask;
  readonly workflow: Workflow;
  readonly abort: AbortController;
  fate: 'own' | 'lost' | 'release' | 'cancelled';
  /** Sub-state and outcome writes of this run, in order. */
  writes: Promise<void>;
  /** Settles when the run is over and its writes are done (it has left the runs). */
  done: Promise<void>;
  started: boolean;
  finished: ((event: TaskFinishedEvent) => void) | null;
  /** Whether its waits give fleet-wide units up (then it takes them back through the database). */
  readonly gated: boolean;
  /** The sub-state last asked for, and the one last written (see `#onSubState`). */
  wanted: 'Active' | 'Deferred';
  written: 'Active' | 'Deferred';
}

/** What the runs need of their runner. */
export interface TaskRunsContext {
  readonly runnerId: string;
  readonly logger: Logger;
  /** The runner, which emits `taskSubStatus` and `claimLost`. */
  readonly events: EventEmitter<RunnerEvents>;
  readonly executor: Executor;
  readonly store: Store;
  readonly signalWaits: SignalWaits;
  readonly outcomes: OutcomeWriter;
  readonly retry: Retry;
  /** The runner's named limits (fleet-wide). */
  readonly limits: ReadonlyMap<string, FilledLimit>;
  /** How long a run waiting for a unit held elsewhere waits before it asks again, at most. */
  readonly unitRetryMs: number;
  /** Claim more work: a slot may be free. */
  readonly pump: () => void;
  /** The workflow execution ended (`null`), or a write about it failed for good. */
  readonly wake: (workflowExecutionId: string, error: Error | null) => void;
  readonly reportWriteFailure: (error: unknown, workflowExecutionId?: string) => void;
  readonly closing: () => boolean;
}

export class TaskRuns {
  readonly #live = new Map<string, LiveRun>();
  /** Slots of claimed runs not yet handed to the executor (spoken for). */
  #starting = 0;
  /** Runs waiting for a fleet-wide unit, woken when a run here ends or defers. */
  readonly #unitWaiters = new Set<() => void>();

  constructor(private readonly context: TaskRunsContext) {
    const { executor, signalWaits } = context;
    executor.on('taskAwaitingSignal', (e) => {
      const live = this.#live.get(e.executionId);
      if (live !== undefined && live.fate === 'own') signalWaits.wait(live.claim, e.name);
    });
    executor.on('taskStarted', (e) => {
      const live = this.#live.get(e.executionId);
      if (live !== undefined) live.started = true;
    });
    executor.on('taskDeferred', (e) => this.#onSubState(e.executionId, 'Deferred', 'task_deferred'));
    executor.on('taskResumed', (e) => {
      if (e.wait === 'signal') signalWaits.ended(e.executionId);
      this.#onSubState(e.executionId, 'Active', 'task_resumed');
    });
    executor.on('taskCompleted', (e) => this.#live.get(e.executionId)?.finished?.(e));
    executor.on('taskFailed', (e) => this.#live.get(e.executionId)?.finished?.(e));
  }

  get size(): number {
    return this.#live.size;
  }

  /** Slots the executor has free that no claimed run is about to take. */
  freeSlots(): number {
    return this.context.executor.metrics().availableSlots - this.#starting;
  }

  /** Task execution ids of every run here, stopping ones included. */
  ids(): string[] {
    return [...this.#live.keys()];
  }

  /** The claims held, for the lease keeper's checks. */
  claims(): ClaimedTask[] {
    return [...this.#live.values()].map((live) => live.claim);
  }

  /**
   * The named limits' and per-key limits' units of the runs here, counted by the sub-state the
   * database has (a run back from a wait counts Deferred until its unit is taken back and written).
   */
  heldUnits(): HeldUnits[] {
    const counts = new Map<
      string,
      { kind: 'limit' | 'key'; name: string; key: string | null; active: number; deferred: number }
    >();
    const count = (kind: 'limit' | 'key', name: string, key: string | null, subState: 'Active' | 'Deferred'): void => {
      const id = JSON.stringify([kind, name, key]);
      let entry = counts.get(id);
      if (entry === undefined) counts.set(id, (entry = { kind, name, key, active: 0, deferred: 0 }));
      if (subState === 'Active') entry.active += 1;
      else entry.deferred += 1;
    };
    for (const live of this.#live.values()) {
      if (!live.started || live.fate !== 'own') continue;
      const { claim } = live;
      for (const limit of claim.limits) count('limit', limit, null, live.written);
      if (claim.per_key_limit !== null && claim.concurrency_key !== null) {
        count('key', claim.task_id, claim.concurrency_key, live.written);
      }
    }
    return [...counts.values()];
  }

  /** Resolves once every run now here is over and written. */
  async allDone(): Promise<void> {
    await Promise.all([...this.#live.values()].map((live) => live.done));
  }

  /** Gives back the claims of runs that have not started (shutting down). */
  releaseUnstarted(): void {
    for (const live of this.#live.values()) if (!live.started && live.fate === 'own') this.#release(live);
  }

  /** Aborts every run this runner still owns and gives its claim back. */
  releaseAll(reason: (taskExecutionId: string) => Error): void {
    for (const live of this.#live.values()) if (live.fate === 'own') this.#release(live, reason(live.claim.id));
  }

  /** The claims on these tasks are another runner's now: abort their runs, discard their results. */
  loseClaims(ids: readonly string[]): void {
    for (const id of ids) {
      const live = this.#live.get(id);
      if (live === undefined || live.fate === 'lost' || live.fate === 'cancelled') continue;
      live.fate = 'lost';
      live.abort.abort(new ClaimLostError(id));
    }
  }

  /**
   * The workflow execution `executionId` was cancelled (its rows say so already): aborts its
   * runs here with `reason`; their results are discarded and their slots come back as they stop.
   * Returns how many it aborted.
   */
  cancelExecution(executionId: string, reason: Error): number {
    let aborted = 0;
    for (const live of this.#live.values()) {
      if (live.claim.workflow_execution_id !== executionId || live.fate === 'cancelled') continue;
      live.fate = 'cancelled';
      live.abort.abort(reason);
      aborted += 1;
    }
    return aborted;
  }

  /** These claims were lost to cancels (found by a heartbeat): aborts their runs as `cancelExecution` does. */
  cancelClaims(claims: readonly CancelledClaim[]): void {
    for (const { id, workflowExecutionId, reason } of claims) {
      const live = this.#live.get(id);
      if (live === undefined || live.fate === 'cancelled') continue;
      live.fate = 'cancelled';
      live.abort.abort(new WorkflowCancelledError(workflowExecutionId, reason));
    }
  }

  /** Runs a claimed task of `workflow` to its end. */
  run(claim: ClaimedTask, workflow: Workflow): void {
    const task = workflow.task(claim.task_id);
    if (task === undefined) return; // claimed by workflow and task name: cannot happen
    const { executor, retry, pump } = this.context;
    const live: LiveRun = {
      claim,
      workflow,
      abort: new AbortController(),
      fate: 'own',
      writes: Promise.resolve(),
      done: Promise.resolve(),
      started: false,
      finished: null,
      gated: givesUnitsUp(claim, this.context.limits),
      wanted: 'Active',
      written: 'Active',
    };
    this.#live.set(claim.id, live);
    if (this.context.closing()) this.#release(live); // claimed as close() began: give it back
    this.#starting += claim.slots;
    const finished = new Promise<TaskFinishedEvent>((resolve) => (live.finished = resolve));
    live.done = (async () => {
      let outcome: Outcome;
      try {
        const context = await retry(`reading the context of task \`${claim.task_id}\``, () =>
          taskContext(this.context.store, claim, workflow),
        ).catch((error: unknown) => {
          // Not the task's failure: give the claim back, to run when the database answers.
          if (error instanceof DatabaseUnavailableError) this.#release(live);
          throw error;
        });
        const run = executor.run(task, context, {
          executionId: claim.id,
          signal: live.abort.signal,
          // Its limits are held fleet-wide, in the database: claimed within them, taken back
          // after each wait through `beforeResume`. The executor counts its slots only.
          enforceLimits: false,
          ...(task.workflow.timeoutMs === undefined ? {} : { timeoutMs: task.workflow.timeoutMs }),
          ...(live.gated ? { beforeResume: () => this.#takeUnitsBack(live) } : {}),
        });
        this.#starting -= claim.slots;
        pump(); // another slot may still be free
        // Its slot is free once the run settles: claim more work while its outcome is written.
        outcome = await run.then(
          async (output) => {
            pump();
            return { ok: true as const, output, stats: await finished };
          },
          async (error: unknown) => {
            pump();
            // A run rejected before it started (aborted, the executor closing) has no finish
            // event. A released one need not wait for its thread to stop: nothing is recorded.
            const stats = live.started && live.fate !== 'release' ? await finished : null;
            return { ok: false as const, error, stats };
          },
        );
      } catch (error) {
        this.#starting -= claim.slots;
        outcome = { ok: false, error, stats: null };
      }
      live.writes = live.writes.then(() => this.#conclude(live, outcome));
      await live.writes.catch(() => undefined);
      this.context.signalWaits.forget(claim.id);
      this.#live.delete(claim.id);
      this.#wakeUnitWaiters();
      pump();
    })();
  }

  /**
   * Ends a run by its fate: a lost claim writes nothing; a released one goes back to Ready
   * unless the run finished first; otherwise the outcome is written, batched with the outcomes
   * that arrive meanwhile. Resolves once written, or once its write failed for good and was reported.
   */
  async #conclude(live: LiveRun, outcome: Outcome): Promise<void> {
    const { claim } = live;
    const { store, runnerId, retry, signalWaits, outcomes } = this.context;
    try {
      if (live.fate === 'cancelled') {
        // Nothing to write: the cancel ended the task's row and moved its fencing token on.
      } else if (live.fate === 'lost') {
        this.#emitClaimLost(claim);
      } else if (live.fate === 'release' && !outcome.ok) {
        await retry(`releasing the claim on task \`${claim.task_id}\``, () => store.releaseClaims([claim], runnerId));
      } else {
        const tookSignals = signalWaits.waited(claim.id);
        const result = await outcomes.write({ claim, workflow: live.workflow, outcome, tookSignals });
        if (result === 'ended') this.context.wake(claim.workflow_execution_id, null);
        if (result === 'lost') this.#emitClaimLost(claim);
      }
    } catch (error) {
      this.context.reportWriteFailure(error, claim.workflow_execution_id);
    }
  }

  /**
   * Writes a run's sub-state as the executor reports its waits, in order. A gated run (one whose
   * waits give fleet-wide units up) writes Deferred only if it is still deferred when the write
   * comes up, and goes back to Active through `#takeUnitsBack`, under the limits' locks, never by
   * a plain write: a wait that was over before it was written (Deferred then Active at once)
   * writes nothing, so no other runner ever sees its unit as free.
   */
  #onSubState(executionId: string, subStatus: 'Active' | 'Deferred', eventType: string): void {
    const live = this.#live.get(executionId);
    if (live === undefined) return;
    live.wanted = subStatus;
    live.writes = live.writes.then(async () => {
      if (live.gated && (live.wanted !== subStatus || live.written === subStatus)) return;
      await this.#writeSubState(live, subStatus, eventType);
    });
    if (subStatus === 'Deferred') {
      this.#wakeUnitWaiters();
      this.context.pump(); // its slot is free for other work
    }
  }

  async #writeSubState(live: LiveRun, subStatus: 'Active' | 'Deferred', eventType: string): Promise<void> {
    const { claim } = live;
    const { store, retry } = this.context;
    const event = {
      workflow_execution_id: claim.workflow_execution_id,
      task_execution_id: claim.id,
      event_type: eventType,
    };
    try {
      const written = await retry(`recording task \`${claim.task_id}\` as ${subStatus}`, () =>
        store.setSubStatus(claim.id, claim.claim_token, subStatus, event),
      );
      if (!written) {
        this.loseClaims([claim.id]);
        return;
      }
      live.written = subStatus;
      this.#emitSubStatus(live, subStatus);
    } catch (error) {
      this.context.reportWriteFailure(error, claim.workflow_execution_id);
    }
  }

  /**
   * A gated run's wait is over: it takes back, fleet-wide, the units it gave up (after its
   * Deferred write, in its write order). While another runner's tasks hold them, it is marked
   * as wanting them (so no new claim takes them first) and asks again when a run here ends or
   * defers, or after a while (a run elsewhere may have ended). Resolves once it has them, or
   * once the run is no longer this runner's to resume.
   */
  #takeUnitsBack(live: LiveRun): Promise<void> {
    const { claim } = live;
    const { store, retry, limits, unitRetryMs } = this.context;
    const taking = live.writes.then(async () => {
      let delayMs = Math.min(10, unitRetryMs);
      for (;;) {
        if (live.fate !== 'own') return;
        let result: 'taken' | 'wait' | 'lost';
        try {
          result = await retry(`taking back the limits of task \`${claim.task_id}\``, () =>
            takeUnitsBack(store.knex, store.schema, claim, limits),
          );
        } catch (error) {
          this.context.reportWriteFailure(error, claim.workflow_execution_id);
          throw error;
        }
        if (result === 'lost') {
          this.loseClaims([claim.id]);
          return;
        }
        if (result === 'taken') {
          live.written = 'Active';
          this.#emitSubStatus(live, 'Active');
          return;
        }
        await new Promise<void>((resolve) => {
          const wake = (): void => {
            clearTimeout(timer);
            this.#unitWaiters.delete(wake);
            resolve();
          };
          const timer = setTimeout(wake, delayMs);
          this.#unitWaiters.add(wake);
        });
        delayMs = Math.min(delayMs * 2, unitRetryMs);
      }
    });
    live.writes = taking.catch(() => undefined);
    return taking;
  }

  #wakeUnitWaiters(): void {
    for (const wake of [...this.#unitWaiters]) wake();
  }

  #emitSubStatus(live: LiveRun, subStatus: 'Active' | 'Deferred'): void {
    this.context.events.emit('taskSubStatus', {
      workflowExecutionId: live.claim.workflow_execution_id,
      taskExecutionId: live.claim.id,
      taskId: live.claim.task_id,
      subStatus,
    });
  }

  /** Aborts a run; once it settles, its claim goes back to Ready unless it had finished already. */
  #release(live: LiveRun, reason: Error = new RunnerClosedError()): void {
    live.fate = 'release';
    live.abort.abort(reason);
  }

  #emitClaimLost(claim: ClaimedTask): void {
    this.context.logger.warn(`slotwise: lost the claim on task \`${claim.task_id}\`; another runner has it`, {
      runnerId: this.context.runnerId,
      workflowExecutionId: claim.workflow_execution_id,
      taskExecutionId: claim.id,
    });
    this.context.events.emit('claimLost', {
      workflowExecutionId: claim.workflow_execution_id,
      taskExecutionId: claim.id,
      taskId: claim.task_id,
      error: new ClaimLostError(claim.id),
    });
  }
}
