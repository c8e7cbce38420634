import { EventEmitter } from 'node:events';
import {
  ClaimLostError,
  DatabaseUnavailableError,
  EmbeddedDatabaseInUseError,
  InvalidArgumentError,
  OutcomeRefusedError,
  RunnerClosedError,
  SlotwiseError,
  WorkflowEndedError,
  WorkflowNotFoundError,
} from '../errors.js';
import { newExecutionId } from '../executor/execution-id.js';
import { Executor } from '../executor/executor.js';
import { checkCloseOptions } from '../executor/options.js';
import type { TaskFailedEvent, TaskFinishedEvent } from '../executor/events.js';
import { type Database, openDatabase } from '../store/database.js';
import { migrate } from '../store/migrate.js';
import { Leases } from '../store/leases.js';
import { NotificationListener } from '../store/listener.js';
import { type SignalInsert, SignalStore, isSignalRace, parseSignalNotice } from '../store/signals.js';
import type { ClaimedTask } from '../store/rows.js';
import { Store } from '../store/store.js';
import { isTransient, retryTransient } from '../store/transient.js';
import { assertStorable } from '../workflow/context.js';
import type { Workflow } from '../workflow/define-workflow.js';
import { type FilledRunnerOptions, type RunnerOptions, executorOptionsOf, fillRunnerOptions } from './options.js';
import { type WorkflowResult, isTerminal, toWorkflowResult } from './result.js';
import { Batcher } from './batcher.js';
import { EndWaiters } from './end-waiters.js';
import { taskContext } from './task-context.js';
import type { RunnerCloseOptions, RunnerEvents } from './events.js';
import { LeaseKeeper, leaseSafetyMargin } from './lease-keeper.js';
import { SignalWaits } from './signal-waits.js';
import { checkSignalName } from '../task/wait-options.js';
import { type Outcome, type Settlement, type SettlementResult, Transitions, planExecutions } from './transitions.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * How long the executor's close waits, twice (for the runs, then for their cancellations),
 * before it terminates the threads under tasks deaf to their aborted signal.
 */
const SHUTDOWN_GRACE_MS = 1_000;

/**
 * One claimed task being run by this process. Its fate: `own` runs to its outcome; `lost` (the
 * claim is another runner's now) is aborted and its result discarded; `release` (shutting down,
 * or the lease may have lapsed) is aborted and its claim given back, unless it finished first.
 */
interface LiveRun {
  readonly claim: ClaimedTask;
  readonly workflow: Workflow;
  readonly abort: AbortController;
  fate: 'own' | 'lost' | 'release';
  /** Sub-state and outcome writes of this run, in order. */
  writes: Promise<void>;
  /** Settles when the run is over and its writes are done (it has left `#live`). */
  done: Promise<void>;
  started: boolean;
  finished: ((event: TaskFinishedEvent) => void) | null;
}

/**
 * Runs workflows whose state lives in PostgreSQL (or the embedded PGlite), on an {@link Executor}.
 *
 * The loop: claim Ready tasks (never more than free slots), run each on the executor with its
 * context (the workflow input merged with its dependencies' outputs), write the Running
 * sub-state as the executor reports deferrals, and on the end of a run write its outcome and
 * the transitions it causes (dependents Ready or Skipped, retries, the workflow's end) in one
 * transaction. See `transitions.ts` for the state machine.
 *
 * Several runners (processes, machines) may share one PostgreSQL schema: claims skip each
 * other's locked rows, each runner holds a lease it renews by heartbeat and every write about a
 * claimed task is fenced by the claim's token (`lease-keeper.ts`), and `NOTIFY` wakes the
 * others when tasks become Ready. The embedded database serves one runner.
 */
export class Runner extends EventEmitter<RunnerEvents> implements AsyncDisposable {
  readonly options: FilledRunnerOptions;
  /** Identifies this runner in `claimed_by`. */
  readonly runnerId = newExecutionId();
  readonly #database: Database;
  readonly #store: Store;
  readonly #leases: Leases;
  readonly #leaseKeeper: LeaseKeeper;
  readonly #listener: NotificationListener | null;
  readonly #signals: SignalStore;
  readonly #signalWaits: SignalWaits;
  readonly #transitions: Transitions;
  readonly #executor: Executor;
  readonly #workflows = new Map<string, Workflow>();
  readonly #live = new Map<string, LiveRun>();
  readonly #endWaiters: EndWaiters;
  /** Workflow starts, written in batches (one statement for the starts queued meanwhile). */
  readonly #starts = new Batcher<{ workflow: Workflow; input: Record<string, unknown> }, string>(async (starts) => {
    // Ids are chosen once: a retried write whose first commit was not heard finds them there.
    const plans = planExecutions(starts);
    await retryTransient(() => this.#transitions.writeExecutions(plans), {
      ...this.#retrying,
      operation: `starting ${String(starts.length)} workflow(s)`,
    });
    return plans.map((p) => p.row.id);
  }, 256);
  /** Run outcomes, written in batches (one transaction for the outcomes queued meanwhile). */
  readonly #outcomes = new Batcher<Settlement, SettlementResult>(
    (settlements) => this.#recordOutcomes(settlements),
    64,
  );
  /** Executions started here whose end this runner has not seen yet. */
  readonly #unfinished = new Set<string>();
  readonly #started: Promise<void>;
  #starting = 0;
  #pumping = false;
  #pumpAgain = false;
  /** The pump loop going on, if any. */
  #pumpRun: Promise<void> = Promise.resolve();
  #pollTimer: NodeJS.Timeout | undefined;
  #closing: Promise<void> | null = null;

  constructor(options: RunnerOptions = {}) {
    super();
    this.options = fillRunnerOptions(options);
    for (const workflow of this.options.workflows) this.#register(workflow);
    this.#database = openDatabase(
      this.options.database,
      this.options.poolSize,
      this.runnerId,
      this.options.writeDeadlineMs,
      this.options.logger,
    );
    const { knex, embedded } = this.#database;
    this.#store = new Store(knex, this.options.schema, !embedded);
    this.#endWaiters = new EndWaiters((ids) => this.#store.endedAmong(ids), this.options.pollIntervalMs);
    this.#leases = new Leases(knex, this.options.schema);
    this.#signals = new SignalStore(knex, this.options.schema, !embedded);
    this.#transitions = new Transitions(this.#store, {
      ...this.options,
      notifier: this.runnerId,
      signals: this.#signals,
    });
    this.#leaseKeeper = new LeaseKeeper(this.#leases, {
      runnerId: this.runnerId,
      heartbeatIntervalMs: this.options.heartbeatIntervalMs,
      leaseMs: this.options.leaseMs,
      workflowNames: () => [...this.#workflows.keys()],
      held: () => [...this.#live.values()].map((r) => r.claim),
      onLost: (ids) => this.#loseClaims(ids),
      onLapsed: () => this.#releaseAll((id) => new ClaimLostError(id)),
      recover: async (orphans) => {
        const readied = await this.#transitions.recover(orphans, (name) => this.#workflows.get(name));
        if (readied > 0) {
          this.options.logger.warn(`slotwise: took over ${String(readied)} task(s) of runners that died`, {
            runnerId: this.runnerId,
          });
        }
        return readied;
      },
      onReady: () => this.#pump(),
      onError: (error) => {
        if (!isTransient(error)) this.#reportWriteFailure(error);
      },
    });
    this.#listener = this.#listen(knex);
    this.#executor = new Executor(executorOptionsOf(this.options));
    this.#signalWaits = new SignalWaits(this.#signals, this.#executor, this.options.writeDeadlineMs, (error, id) =>
      this.#reportWriteFailure(error, id),
    );
    this.#executor.on('taskAwaitingSignal', (e) => {
      const live = this.#live.get(e.executionId);
      if (live !== undefined && live.fate === 'own') this.#signalWaits.wait(live.claim, e.name);
    });
    this.#executor.on('taskStarted', (e) => {
      const live = this.#live.get(e.executionId);
      if (live !== undefined) live.started = true;
    });
    this.#executor.on('taskDeferred', (e) => this.#onSubState(e.executionId, 'Deferred', 'task_deferred'));
    this.#executor.on('taskResumed', (e) => {
      if (e.wait === 'signal') this.#signalWaits.ended(e.executionId);
      this.#onSubState(e.executionId, 'Active', 'task_resumed');
    });
    this.#executor.on('taskCompleted', (e) => this.#live.get(e.executionId)?.finished?.(e));
    this.#executor.on('taskFailed', (e: TaskFailedEvent) => this.#live.get(e.executionId)?.finished?.(e));
    // Whatever stops the start (a refused login, a database that does not exist, a bad port)
    // reaches the caller as a typed error; slotwise's own errors as they are.
    this.#started = this.#start().catch((error: unknown) => {
      throw error instanceof SlotwiseError ? error : new DatabaseUnavailableError('starting the runner', error);
    });
    this.#started.catch(() => undefined); // surfaced by every call that awaits it
  }

  /** What every retried write is given: the deadline, and the logger told of each retry. */
  get #retrying(): { deadlineMs: number; onRetry: (error: unknown, operation: string) => void } {
    return {
      deadlineMs: this.options.writeDeadlineMs,
      onRetry: (error, operation) =>
        this.options.logger.warn(`slotwise: retrying ${operation} after a database error`, {
          runnerId: this.runnerId,
          error: error instanceof Error ? error.message : String(error),
        }),
    };
  }

  /**
   * The executor this runner runs tasks on, to observe: its events and `metrics()` (a
   * {@link TimelineRecorder} attaches to it). Runs started on it directly are not persisted,
   * and closing it is the runner's job (`close`).
   */
  get executor(): Executor {
    return this.#executor;
  }

  /**
   * Resolves once migrations are applied, this runner holds its lease, and tasks orphaned by
   * dead runners are recovered. Rejects if that failed.
   */
  ready(): Promise<void> {
    return this.#started;
  }

  /** Starts `workflow` with `input` and resolves with its id at once; the work goes on. */
  async start(workflow: Workflow, input: Record<string, unknown> = {}): Promise<string> {
    if (this.#closing !== null) throw new RunnerClosedError();
    if (typeof workflow !== 'object' || workflow === null || typeof workflow.name !== 'string') {
      throw new InvalidArgumentError('workflow', 'a workflow from defineWorkflow()', workflow);
    }
    assertStorable(input, 'input');
    await this.#started;
    this.#register(workflow);
    const id = await this.#starts.add({ workflow, input });
    this.#unfinished.add(id);
    this.#pump();
    return id;
  }

  /** Waits for the workflow execution to end and returns its result (Completed or Failed). */
  async wait(id: string): Promise<WorkflowResult> {
    await this.#started;
    // An execution this runner started and has not seen end needs no first look.
    if (this.#unfinished.has(id)) await this.#endWaiters.next(id);
    for (;;) {
      const result = await this.status(id);
      if (isTerminal(result.status)) return result;
      await this.#endWaiters.next(id);
    }
  }

  /** `start` then `wait`. */
  async execute(workflow: Workflow, input: Record<string, unknown> = {}): Promise<WorkflowResult> {
    return this.wait(await this.start(workflow, input));
  }

  /** The execution's state now, with every task's. */
  async status(id: string): Promise<WorkflowResult> {
    await this.#started;
    const found = await this.#store.workflowWithTasks(id);
    if (found === undefined) throw new WorkflowNotFoundError(id);
    return toWorkflowResult(found.workflow, found.tasks);
  }

  /**
   * Sends the signal `name`, with `payload` (JSON), to the workflow execution `id`, from any
   * process. The signal is stored first, so one sent before a task waits for it, or while no
   * runner holds that task, is not lost; then the runner holding a task that waits for it is
   * woken (`NOTIFY`). Each signal ends one `handle.waitForSignal(name)` of one task of the
   * execution: the oldest signal of the name goes to the task that waits first. A task run
   * again after a crash gets the same signals for the same waits. Resolves once stored.
   *
   * Rejects with `WorkflowNotFoundError` (no such execution), `WorkflowEndedError` (it has
   * ended), `ContextNotStorableError` (the payload is not JSON) or `InvalidArgumentError`.
   */
  async signal(id: string, name: string, payload?: unknown): Promise<void> {
    if (this.#closing !== null) throw new RunnerClosedError();
    if (typeof id !== 'string' || id.length === 0) {
      throw new InvalidArgumentError('id', 'a workflow execution id (a UUID string)', id);
    }
    checkSignalName(name);
    if (payload !== undefined) assertStorable(payload, 'payload');
    await this.#started;
    if (!UUID.test(id)) throw new WorkflowNotFoundError(id);
    const store = (): Promise<SignalInsert> =>
      retryTransient(() => this.#signals.insert(id, name, payload, this.runnerId), {
        ...this.#retrying,
        operation: `storing signal \`${name}\` for workflow execution \`${id}\``,
      });
    // A wait that took a free signal as this one was given to it: store this one free instead.
    const result = await store().catch((error: unknown) => {
      if (isSignalRace(error)) return store();
      throw error;
    });
    if (!result.stored) {
      throw result.status === null ? new WorkflowNotFoundError(id) : new WorkflowEndedError(id, result.status);
    }
    this.#signalWaits.offer(id); // a task of this process may be the one waiting (given it, or free)
  }

  /**
   * Stops claiming, gives back claims on tasks that have not started, lets running tasks finish
   * and their state land (up to `timeoutMs`; past it, the rest are aborted and their claims
   * given back), then closes.
   */
  close(options: RunnerCloseOptions = {}): Promise<void> {
    checkCloseOptions(options, '`runner.close()`');
    const timeoutMs = options.timeoutMs ?? Infinity;
    this.#closing ??= this.#shutDown(timeoutMs);
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #start(): Promise<void> {
    await retryTransient(() => migrate(this.#database.knex, this.options.schema), {
      ...this.#retrying,
      operation: `migrating schema \`${this.options.schema}\``,
    });
    if (this.#database.embedded) {
      const holder = await this.#leases.registerAlone(this.runnerId, this.options.leaseMs);
      if (holder !== undefined) {
        throw new EmbeddedDatabaseInUseError(`schema \`${this.options.schema}\``, {
          runnerId: holder.id,
          host: holder.host,
          pid: holder.pid,
        });
      }
    }
    await retryTransient(() => this.#leaseKeeper.start(), {
      ...this.#retrying,
      operation: 'taking the runner lease and recovering tasks of dead runners',
    });
    this.#listener?.start();
    this.#pump();
  }

  async #shutDown(timeoutMs: number): Promise<void> {
    clearTimeout(this.#pollTimer);
    this.#endWaiters.pause(); // from now on, only this process's own ends wake callers
    const started = await this.#started.then(
      () => true,
      () => false,
    );
    for (const live of this.#live.values()) if (!live.started && live.fate === 'own') this.#release(live);
    // Past the deadline: abort the runs and give their claims back; a task deaf to its signal
    // gets about two seconds' grace, then its thread is terminated (the executor's close does that).
    const deadline = Number.isFinite(timeoutMs)
      ? setTimeout(() => {
          this.#releaseAll(() => new RunnerClosedError());
          void this.#executor.close({ timeoutMs: SHUTDOWN_GRACE_MS });
        }, timeoutMs)
      : undefined;
    while (this.#live.size > 0 || this.#pumping) {
      await Promise.all([...this.#live.values()].map((run) => run.done));
      await this.#pumpRun;
    }
    clearTimeout(deadline);
    await this.#leaseKeeper.stop();
    await this.#listener?.close();
    // Others need not wait for this runner's lease to expire: it holds nothing now.
    if (started) await this.#leases.remove(this.runnerId).catch(() => undefined);
    await this.#executor.close();
    await this.#database.close();
    this.#endWaiters.stop(new RunnerClosedError());
  }

  /**
   * The `LISTEN` connection (PostgreSQL only): tasks made Ready wake the pump, signals stored
   * wake their execution's waiting runs. Payloads name the sender, whose own are not news.
   */
  #listen(knex: Database['knex']): NotificationListener | null {
    const readyChannel = this.#store.channel;
    const signalChannel = this.#signals.channel;
    if (readyChannel === null || signalChannel === null) return null;
    const channels = new Map<string, (payload: string) => void>([
      [readyChannel, (notifier) => notifier !== this.runnerId && this.#pump()],
      [
        signalChannel,
        (payload) => {
          const notice = parseSignalNotice(payload);
          if (notice !== null && notice.notifier !== this.runnerId) this.#signalWaits.notice(notice);
        },
      ],
    ]);
    return new NotificationListener(knex, channels, () => {
      this.#pump();
      this.#signalWaits.offer(null);
    });
  }

  #register(workflow: Workflow): void {
    const known = this.#workflows.get(workflow.name);
    if (known !== undefined && known !== workflow) {
      throw new InvalidArgumentError('workflow', `the one workflow named \`${workflow.name}\``, workflow);
    }
    this.#workflows.set(workflow.name, workflow);
  }

  /** Claims and starts as many Ready tasks as there are free slots; runs again while it fills them. */
  #pump(): void {
    if (this.#closing !== null) return;
    if (this.#pumping) {
      this.#pumpAgain = true;
      return;
    }
    this.#pumping = true;
    this.#pumpRun = this.#pumpLoop().finally(() => {
      this.#pumping = false;
      this.#armPoll();
    });
  }

  async #pumpLoop(): Promise<void> {
    do {
      this.#pumpAgain = false;
      const free = this.#executor.metrics().availableSlots - this.#starting;
      if (free <= 0 || this.#closing !== null) return;
      let claimed: ClaimedTask[];
      try {
        const options = {
          leaseMarginMs: leaseSafetyMargin(this.options.heartbeatIntervalMs, this.options.leaseMs),
          exclude: [...this.#live.keys()], // runs still stopping here: another runner may take them
        };
        claimed = await retryTransient(
          () => this.#store.claimReady(free, [...this.#workflows.keys()], this.runnerId, options),
          { ...this.#retrying, operation: 'claiming ready tasks' },
        );
      } catch (error) {
        this.#reportWriteFailure(error);
        return;
      }
      for (const claim of claimed) this.#run(claim);
      if (claimed.length === free) this.#pumpAgain = true;
    } while (this.#pumpAgain);
  }

  /**
   * The fallback look for due work: Ready tasks nobody announced (retries falling due), or
   * announced while the listener was away. While `LISTEN` works, once per heartbeat interval.
   */
  #armPoll(): void {
    clearTimeout(this.#pollTimer);
    if (this.#closing !== null) return;
    const interval =
      this.#listener?.listening === true
        ? Math.max(this.options.pollIntervalMs, this.options.heartbeatIntervalMs)
        : this.options.pollIntervalMs;
    const delay = Math.min(interval, this.#transitions.nextLocalRetryMs() ?? Infinity);
    this.#pollTimer = setTimeout(
      () => {
        this.#pump();
        // A signal announced while the listener was away is found here.
        if (this.#signalWaits.size > 0) this.#signalWaits.offer(null);
      },
      Math.max(delay, 0),
    );
    // Idle polling alone must not keep the process alive; waiting callers and live runs do.
    if (this.#endWaiters.size === 0 && this.#live.size === 0) this.#pollTimer.unref();
  }

  #run(claim: ClaimedTask): void {
    const workflow = this.#workflows.get(claim.workflow_name);
    const task = workflow?.task(claim.task_id);
    if (workflow === undefined || task === undefined) return; // claimed by name: cannot happen
    const live: LiveRun = {
      claim,
      workflow,
      abort: new AbortController(),
      fate: 'own',
      writes: Promise.resolve(),
      done: Promise.resolve(),
      started: false,
      finished: null,
    };
    this.#live.set(claim.id, live);
    if (this.#closing !== null) this.#release(live); // claimed as close() began: give it back
    this.#starting += 1;
    const finished = new Promise<TaskFinishedEvent>((resolve) => (live.finished = resolve));
    live.done = (async () => {
      let outcome: Outcome;
      try {
        const context = await retryTransient(() => taskContext(this.#store, claim, workflow), {
          ...this.#retrying,
          operation: `reading the context of task \`${claim.task_id}\``,
        }).catch((error: unknown) => {
          // Not the task's failure: give the claim back, to run when the database answers.
          if (error instanceof DatabaseUnavailableError) this.#release(live);
          throw error;
        });
        const run = this.#executor.run(task, context, {
          executionId: claim.id,
          signal: live.abort.signal,
          ...(task.workflow.timeoutMs === undefined ? {} : { timeoutMs: task.workflow.timeoutMs }),
        });
        this.#starting -= 1;
        this.#pump(); // another slot may still be free
        // Its slot is free once the run settles: claim more work while its outcome is written.
        outcome = await run.then(
          async (output) => {
            this.#pump();
            return { ok: true as const, output, stats: await finished };
          },
          async (error: unknown) => {
            this.#pump();
            // A run rejected before it started (aborted, the executor closing) has no finish
            // event. A released one need not wait for its thread to stop: nothing is recorded.
            const stats = live.started && live.fate !== 'release' ? await finished : null;
            return { ok: false as const, error, stats };
          },
        );
      } catch (error) {
        this.#starting -= 1;
        outcome = { ok: false, error, stats: null };
      }
      live.writes = live.writes.then(() => this.#conclude(live, outcome));
      await live.writes.catch(() => undefined);
      this.#signalWaits.forget(claim.id);
      this.#live.delete(claim.id);
      this.#pump();
    })();
  }

  /**
   * Ends a run by its fate: a lost claim writes nothing; a released one goes back to Ready
   * unless the run finished first; otherwise the outcome is written, batched with the outcomes
   * that arrive meanwhile (one transaction records them all, see `applyOutcomes`). Resolves once
   * written, or once its write failed for good and was reported.
   */
  async #conclude(live: LiveRun, outcome: Outcome): Promise<void> {
    const { claim } = live;
    try {
      if (live.fate === 'lost') {
        this.#emitClaimLost(claim);
      } else if (live.fate === 'release' && !outcome.ok) {
        await retryTransient(() => this.#store.releaseClaims([claim], this.runnerId), {
          ...this.#retrying,
          operation: `releasing the claim on task \`${claim.task_id}\``,
        });
      } else {
        const tookSignals = this.#signalWaits.waited(claim.id);
        const result = await this.#outcomes.add({ claim, workflow: live.workflow, outcome, tookSignals });
        if (result === 'ended') this.#wake(claim.workflow_execution_id, null);
        if (result === 'lost') this.#emitClaimLost(claim);
      }
    } catch (error) {
      this.#reportWriteFailure(error, claim.workflow_execution_id);
    }
  }

  /**
   * Writes a batch of outcomes, retrying through transient errors. One the database refuses for
   * good (a value it cannot store, say) must not sink the rest of its batch: on such an error
   * they are written one at a time, and the refused one is recorded as a failure of its task,
   * with the database's error, instead of looping through recoveries.
   */
  async #recordOutcomes(settlements: readonly Settlement[]): Promise<SettlementResult[]> {
    const write = (batch: readonly Settlement[]): Promise<SettlementResult[]> =>
      retryTransient(() => this.#transitions.applyOutcomes(batch), {
        ...this.#retrying,
        operation: `recording the outcome of ${String(batch.length)} task(s)`,
      });
    try {
      return await write(settlements);
    } catch (error) {
      if (error instanceof DatabaseUnavailableError) throw error;
      const results: SettlementResult[] = [];
      for (const settlement of settlements) {
        try {
          results.push(...(await write([settlement])));
        } catch (refused) {
          if (refused instanceof DatabaseUnavailableError) throw refused;
          const error = new OutcomeRefusedError(settlement.claim.task_id, refused);
          const failed = { ok: false as const, error, stats: settlement.outcome.stats };
          results.push(...(await write([{ ...settlement, outcome: failed }])));
        }
      }
      return results;
    }
  }

  #onSubState(executionId: string, subStatus: 'Active' | 'Deferred', eventType: string): void {
    const live = this.#live.get(executionId);
    if (live === undefined) return;
    const { claim } = live;
    const event = {
      workflow_execution_id: claim.workflow_execution_id,
      task_execution_id: claim.id,
      event_type: eventType,
    };
    live.writes = live.writes.then(() =>
      retryTransient(() => this.#store.setSubStatus(claim.id, claim.claim_token, subStatus, event), {
        ...this.#retrying,
        operation: `recording task \`${claim.task_id}\` as ${subStatus}`,
      }).then(
        (written) => {
          if (!written) {
            this.#loseClaims([claim.id]);
            return;
          }
          this.emit('taskSubStatus', {
            workflowExecutionId: claim.workflow_execution_id,
            taskExecutionId: claim.id,
            taskId: claim.task_id,
            subStatus,
          });
        },
        (error: unknown) => this.#reportWriteFailure(error, claim.workflow_execution_id),
      ),
    );
    if (subStatus === 'Deferred') this.#pump(); // its slot is free for other work
  }

  /** The claims on these tasks are another runner's now: abort their runs, discard their results. */
  #loseClaims(ids: readonly string[]): void {
    for (const id of ids) {
      const live = this.#live.get(id);
      if (live === undefined || live.fate === 'lost') continue;
      live.fate = 'lost';
      live.abort.abort(new ClaimLostError(id));
    }
  }

  /** Aborts every run this runner still owns and gives its claim back (see `#release`). */
  #releaseAll(reason: (taskExecutionId: string) => Error): void {
    for (const live of this.#live.values()) if (live.fate === 'own') this.#release(live, reason(live.claim.id));
  }

  /** Aborts a run; once it settles, its claim goes back to Ready unless it had finished already. */
  #release(live: LiveRun, reason: Error = new RunnerClosedError()): void {
    live.fate = 'release';
    live.abort.abort(reason);
  }

  #emitClaimLost(claim: ClaimedTask): void {
    this.options.logger.warn(`slotwise: lost the claim on task \`${claim.task_id}\`; another runner has it`, {
      runnerId: this.runnerId,
      workflowExecutionId: claim.workflow_execution_id,
      taskExecutionId: claim.id,
    });
    this.emit('claimLost', {
      workflowExecutionId: claim.workflow_execution_id,
      taskExecutionId: claim.id,
      taskId: claim.task_id,
      error: new ClaimLostError(claim.id),
    });
  }

  #reportWriteFailure(error: unknown, workflowExecutionId?: string): void {
    const failure =
      error instanceof DatabaseUnavailableError ? error : new DatabaseUnavailableError('writing runner state', error);
    if (workflowExecutionId !== undefined) this.#wake(workflowExecutionId, failure);
    this.options.logger.error(`slotwise: ${failure.message}`, {
      runnerId: this.runnerId,
      ...(workflowExecutionId === undefined ? {} : { workflowExecutionId }),
    });
    if (this.listenerCount('writeFailed') > 0) this.emit('writeFailed', failure);
  }

  #wake(id: string, error: Error | null): void {
    this.#unfinished.delete(id);
    this.#endWaiters.wake(id, error);
  }
}
