import { EventEmitter } from 'node:events';
import {
  ClaimLostError,
  DatabaseUnavailableError,
  EmbeddedDatabaseInUseError,
  InvalidArgumentError,
  RunnerClosedError,
  SlotwiseError,
  WorkflowCancelledError,
  WorkflowEndedError,
  WorkflowNotFoundError,
  messageOf,
} from '../errors.js';
import { ControlStore, parseControlNotice } from '../store/control.js';
import type { CancelOptions, CancelResult } from './control-options.js';
import { ScheduleStore } from '../store/schedules.js';
import { Scheduler } from './scheduler.js';
import type { ScheduleInfo, ScheduleOptions } from './schedule-options.js';
import type { ExecutionPage, ListOptions, PruneOptions } from './history-options.js';
import { Operations } from './operations.js';
import { isUuid, newExecutionId } from '../executor/execution-id.js';
import { Executor } from '../executor/executor.js';
import { checkCloseOptions } from '../executor/options.js';
import { type Database, openDatabase } from '../store/database.js';
import { migrate } from '../store/migrate.js';
import { Leases } from '../store/leases.js';
import { NotificationListener } from '../store/listener.js';
import { type SignalInsert, SignalStore, isSignalRace, parseSignalNotice } from '../store/signals.js';
import { Store } from '../store/store.js';
import { isTransient } from '../store/transient.js';
import { assertStorable } from '../workflow/context.js';
import type { Workflow } from '../workflow/define-workflow.js';
import { type FilledRunnerOptions, type RunnerOptions, executorOptionsOf, fillRunnerOptions } from './options.js';
import { type WorkflowResult, isTerminal, toWorkflowResult } from './result.js';
import { Batcher } from './batcher.js';
import { EndWaiters } from './end-waiters.js';
import type { HeldUnits, RunnerCloseOptions, RunnerEvents } from './events.js';
import { LeaseKeeper, leaseSafetyMargin } from './lease-keeper.js';
import { SignalWaits } from './signal-waits.js';
import { checkSignalName } from '../task/wait-options.js';
import { type StartedExecution, Transitions, type WorkflowStart, planExecutions } from './transitions.js';
import { type StartOptions, anyNeeds, checkStartOptions, checkWorkflowNeeds } from './start-needs.js';
import { claimWithinLimits } from '../store/claim.js';
import { ClaimLoop } from './claim-loop.js';
import { OutcomeWriter } from './outcome-writer.js';
import { type Retry, retrying } from './retry.js';
import { TaskRuns } from './task-runs.js';

/**
 * How long the executor's close waits, twice (for the runs, then for their cancellations),
 * before it terminates the threads under tasks deaf to their aborted signal.
 */
const SHUTDOWN_GRACE_MS = 1_000;

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
  readonly #control: ControlStore;
  readonly #scheduleStore: ScheduleStore;
  readonly #scheduler: Scheduler;
  readonly #operations: Operations;
  readonly #signalWaits: SignalWaits;
  readonly #transitions: Transitions;
  readonly #executor: Executor;
  readonly #workflows = new Map<string, Workflow>();
  /** Some workflow here has a task that needs more than one slot (claims then weigh needs). */
  #claimsNeedLimits = false;
  readonly #retry: Retry;
  readonly #runs: TaskRuns;
  readonly #claims: ClaimLoop;
  readonly #endWaiters: EndWaiters;
  /** Workflow starts, written in batches (one statement for the starts queued meanwhile). */
  readonly #starts = new Batcher<WorkflowStart, StartedExecution>(async (starts) => {
    // Ids are chosen once: a retried write whose first commit was not heard finds them there.
    const plans = planExecutions(starts);
    return this.#retry(`starting ${String(starts.length)} workflow(s)`, () => this.#transitions.writeExecutions(plans));
  }, 256);
  /** Executions started here whose end this runner has not seen yet. */
  readonly #unfinished = new Set<string>();
  readonly #started: Promise<void>;
  #closing: Promise<void> | null = null;

  constructor(options: RunnerOptions = {}) {
    super();
    this.options = fillRunnerOptions(options);
    this.#retry = retrying(this.options.writeDeadlineMs, this.options.logger, this.runnerId);
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
    this.#leases = new Leases(knex, this.options.schema, this.options.maxConcurrentTasks);
    this.#signals = new SignalStore(knex, this.options.schema, !embedded);
    this.#control = new ControlStore(knex, this.options.schema, !embedded);
    this.#scheduleStore = new ScheduleStore(knex, this.options.schema);
    this.#scheduler = new Scheduler({
      store: this.#scheduleStore,
      workflows: this.#workflows,
      start: (start) => this.#starts.add(start),
      logger: this.options.logger,
      runnerId: this.runnerId,
    });
    this.#transitions = new Transitions(this.#store, {
      ...this.options,
      notifier: this.runnerId,
      signals: this.#signals,
      onRetriesScheduled: (retries) => {
        if (this.listenerCount('taskRetryScheduled') === 0) return;
        for (const retry of retries) this.#tell('taskRetryScheduled', retry);
      },
    });
    this.#leaseKeeper = new LeaseKeeper(this.#leases, {
      runnerId: this.runnerId,
      heartbeatIntervalMs: this.options.heartbeatIntervalMs,
      leaseMs: this.options.leaseMs,
      workflowNames: () => [...this.#workflows.keys()],
      held: () => this.#runs.claims(),
      onLost: (ids) => this.#runs.loseClaims(ids),
      onCancelled: (claims) => {
        this.#runs.cancelClaims(claims);
        for (const claim of claims) this.#wake(claim.workflowExecutionId, null);
      },
      onLapsed: () => this.#runs.releaseAll((id) => new ClaimLostError(id)),
      recover: async (orphans) => {
        const readied = await this.#transitions.recover(orphans, (name) => this.#workflows.get(name));
        if (readied > 0) this.#tell('tasksRecovered', { count: readied });
        if (readied > 0) {
          this.options.logger.warn(`slotwise: took over ${String(readied)} task(s) of runners that died`, {
            runnerId: this.runnerId,
          });
        }
        return readied;
      },
      onReady: () => this.#claims.pump(),
      onError: (error) => {
        if (!isTransient(error)) this.#reportWriteFailure(error);
      },
    });
    this.#listener = this.#listen(knex);
    this.#executor = new Executor(executorOptionsOf(this.options));
    this.#signalWaits = new SignalWaits(this.#signals, this.#executor, this.#retry, (error, id) =>
      this.#reportWriteFailure(error, id),
    );
    this.#runs = new TaskRuns({
      runnerId: this.runnerId,
      logger: this.options.logger,
      events: this,
      executor: this.#executor,
      store: this.#store,
      signalWaits: this.#signalWaits,
      outcomes: new OutcomeWriter(this.#transitions, this.#retry),
      retry: this.#retry,
      limits: this.options.limits,
      unitRetryMs: this.options.pollIntervalMs,
      pump: () => this.#claims.pump(),
      wake: (id, error) => this.#wake(id, error),
      reportWriteFailure: (error, id) => this.#reportWriteFailure(error, id),
      closing: () => this.#closing !== null,
    });
    const leaseMarginMs = leaseSafetyMargin(this.options.heartbeatIntervalMs, this.options.leaseMs);
    this.#claims = new ClaimLoop({
      runs: this.#runs,
      workflows: this.#workflows,
      retry: this.#retry,
      claim: async (free, names, exclude) => {
        const sentAt = performance.now();
        // Tasks that need one slot and nothing else take the one-statement claim.
        const claimed = await (this.#claimsNeedLimits
          ? claimWithinLimits(this.#store.knex, this.#store.schema, {
              runnerId: this.runnerId,
              freeSlots: free,
              maxSlots: this.options.maxConcurrentTasks,
              workflowNames: names,
              exclude,
              leaseMarginMs,
              limits: this.options.limits,
            })
          : this.#store.claimReady(free, names, this.runnerId, { leaseMarginMs, exclude }));
        this.#tell('claimed', { count: claimed.length, durationMs: performance.now() - sentAt });
        return claimed;
      },
      nextLookMs: () => {
        // While LISTEN works, announcements come by it: the look is once per heartbeat interval.
        const interval =
          this.#listener?.listening === true
            ? Math.max(this.options.pollIntervalMs, this.options.heartbeatIntervalMs)
            : this.options.pollIntervalMs;
        return Math.min(interval, this.#transitions.nextLocalRetryMs() ?? Infinity);
      },
      onLook: () => {
        if (this.#signalWaits.size > 0) this.#signalWaits.offer(null);
      },
      busy: () => this.#endWaiters.size > 0 || this.#runs.size > 0,
      reportWriteFailure: (error) => this.#reportWriteFailure(error),
      closing: () => this.#closing !== null,
    });
    this.#operations = new Operations({
      options: this.options,
      runnerId: this.runnerId,
      knex,
      schema: this.options.schema,
      control: this.#control,
      schedules: this.#scheduleStore,
      retry: this.#retry,
      ready: () => this.#started,
      closing: () => this.#closing !== null,
      status: (id) => this.status(id),
      register: (workflow) => this.#register(workflow),
      cancelled: (id, error) => {
        this.#runs.cancelExecution(id, error);
        this.#wake(id, null);
      },
      resumed: () => this.#claims.pump(),
    });
    // Whatever stops the start (a refused login, a database that does not exist, a bad port)
    // reaches the caller as a typed error; slotwise's own errors as they are.
    this.#started = this.#start().catch((error: unknown) => {
      throw error instanceof SlotwiseError ? error : new DatabaseUnavailableError('starting the runner', error);
    });
    this.#started.catch(() => undefined); // surfaced by every call that awaits it
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
   * Whether this runner holds its lease now (renewed within `leaseMs`, less the safety margin
   * claims keep): what a health check reports. False before `ready()`, after `close()`, and
   * while the database does not answer the heartbeat.
   */
  get leaseHeld(): boolean {
    return this.#leaseKeeper.held;
  }

  /**
   * The units of named limits and per-key limits this runner's started tasks hold now, by
   * sub-state: this process's share of the fleet-wide use (`slotwise status` shows the whole).
   */
  heldUnits(): HeldUnits[] {
    return this.#runs.heldUnits();
  }

  /**
   * Resolves once migrations are applied, this runner holds its lease, and tasks orphaned by
   * dead runners are recovered. Rejects if that failed.
   */
  ready(): Promise<void> {
    return this.#started;
  }

  /**
   * Starts `workflow` with `input` and resolves with its id at once; the work goes on. Rejects
   * with `InvalidArgumentError` (a bad option, input or concurrency key, a task heavier than
   * `maxConcurrentTasks`) or `UnknownLimitError` before anything is written.
   */
  async start(workflow: Workflow, input: Record<string, unknown> = {}, options: StartOptions = {}): Promise<string> {
    if (this.#closing !== null) throw new RunnerClosedError();
    if (typeof workflow !== 'object' || workflow === null || typeof workflow.name !== 'string') {
      throw new InvalidArgumentError('workflow', 'a workflow from defineWorkflow()', workflow);
    }
    assertStorable(input, 'input');
    const { priority, idempotencyKey } = checkStartOptions(options);
    checkWorkflowNeeds(workflow, input, this.options.limits, this.options.maxConcurrentTasks);
    await this.#started;
    this.#register(workflow);
    const { id, created } = await this.#starts.add({ workflow, input, priority, idempotencyKey });
    if (created) this.#unfinished.add(id); // (one a key found may have ended, or be another process's)
    this.#claims.pump();
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
  async execute(
    workflow: Workflow,
    input: Record<string, unknown> = {},
    options: StartOptions = {},
  ): Promise<WorkflowResult> {
    return this.wait(await this.start(workflow, input, options));
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
    if (!isUuid(id)) throw new WorkflowNotFoundError(id);
    const store = (): Promise<SignalInsert> =>
      this.#retry(`storing signal \`${name}\` for workflow execution \`${id}\``, () =>
        this.#signals.insert(id, name, payload, this.runnerId),
      );
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
   * Cancels the workflow execution `id`, from any process: it ends `Cancelled`, with a
   * `WorkflowCancelledError` (carrying `reason`) as its error. Its tasks that have not started
   * are Skipped (`always` trigger rules do not run after a cancel); its running and deferred ones,
   * in whichever runner holds them, end `Cancelled`: their runs see `handle.signal` abort (with
   * the `WorkflowCancelledError` in the runner's process, at once here or by `NOTIFY`, else by
   * the holder's next heartbeat), their slots come back as they stop, and whatever they return
   * is discarded. `wait(id)` resolves with the Cancelled result.
   *
   * Resolves with `cancelled: true` and the result; for an execution that had ended already,
   * with `cancelled: false` and its result, changing nothing. Rejects with
   * `WorkflowNotFoundError` for an unknown id, `InvalidArgumentError` for a bad option.
   */
  cancel(id: string, options: CancelOptions = {}): Promise<CancelResult> {
    return this.#operations.cancel(id, options);
  }

  /**
   * Pauses the workflow execution `id`, from any process: it starts no new task until
   * `resume(id)` (its tasks that would be Ready wait as `Paused`); running and deferred tasks go
   * on and may finish. Pausing a paused execution changes nothing. Resolves with its state
   * (`paused: true`). Rejects with `WorkflowNotFoundError`, or `WorkflowEndedError` once it has ended.
   */
  pause(id: string): Promise<WorkflowResult> {
    return this.#operations.pause(id);
  }

  /**
   * Resumes the paused workflow execution `id`: its `Paused` tasks are Ready again and runners
   * are woken (`NOTIFY`; others look within their poll interval). Resuming an execution that is
   * not paused changes nothing. Rejects as `pause` does.
   */
  resume(id: string): Promise<WorkflowResult> {
    return this.#operations.resume(id);
  }

  /**
   * Workflow executions, newest first, a page at a time (keyset pagination: `next` is the cursor
   * of the page after, null on the last). Filters: `status`, `workflow` (its name). Rejects with
   * `InvalidArgumentError` for a bad option or a cursor that is not a `next` of this method.
   */
  list(options: ListOptions = {}): Promise<ExecutionPage> {
    return this.#operations.list(options);
  }

  /**
   * Deletes the executions that ended more than `olderThanMs` ago (in `status`, default every
   * terminal state) with their tasks, events and signals, in batches of 500, each a short
   * transaction that skips rows others hold (nothing running is touched). Resolves with how many
   * executions it deleted.
   */
  prune(options: PruneOptions): Promise<number> {
    return this.#operations.prune(options);
  }

  /**
   * Creates (or replaces) the schedule `name`: `workflow` is started with `input` at every tick
   * of the cron expression `cron` in `timezone` (default UTC), by whichever runner that knows the
   * workflow looks first; each tick starts exactly one execution however many runners there are
   * (its idempotency key is `schedule:<name>:<tick as ISO time>`). Ticks missed while no runner
   * was up: the latest `maxCatchUp` (default 1) are started when one is back, older ones dropped.
   * Schedules live in the database. Resolves with the schedule and its next tick. Rejects with
   * `InvalidArgumentError` for a bad cron expression (quoted in the message), time zone, name or option.
   */
  schedule(name: string, options: ScheduleOptions): Promise<ScheduleInfo> {
    return this.#operations.schedule(name, options);
  }

  /** Deletes the schedule `name` (executions it started stay); resolves with whether there was one. */
  unschedule(name: string): Promise<boolean> {
    return this.#operations.unschedule(name);
  }

  /** Every schedule in the database, by name, with its next tick. */
  schedules(): Promise<ScheduleInfo[]> {
    return this.#operations.schedules();
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

  /**
   * Emits an event told from inside a claim, a recovery or a committed write: a listener that
   * throws is logged, and never let into that path (a claim's rows are taken already, a write
   * is committed: failing them now would lose or repeat work).
   */
  #tell<K extends 'taskRetryScheduled' | 'tasksRecovered' | 'claimed'>(event: K, ...args: RunnerEvents[K]): void {
    try {
      (this.emit as (event: K, ...args: RunnerEvents[K]) => boolean)(event, ...args);
    } catch (error) {
      this.options.logger.warn(`slotwise: a \`${event}\` listener threw: ${messageOf(error)}`, { error });
    }
  }

  async #start(): Promise<void> {
    await this.#retry(`migrating schema \`${this.options.schema}\``, () =>
      migrate(this.#database.knex, this.options.schema),
    );
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
    await this.#retry('taking the runner lease and recovering tasks of dead runners', () => this.#leaseKeeper.start());
    this.#listener?.start();
    this.#claims.pump();
    this.#operations.startRetention();
    this.#scheduler.start();
  }

  async #shutDown(timeoutMs: number): Promise<void> {
    this.#claims.stop();
    await this.#scheduler.stop();
    this.#endWaiters.pause(); // from now on, only this process's own ends wake callers
    const started = await this.#started.then(
      () => true,
      () => false,
    );
    this.#runs.releaseUnstarted();
    // Past the deadline: abort the runs and give their claims back; a task deaf to its signal
    // gets a second's grace (SHUTDOWN_GRACE_MS), then its thread is terminated (the executor's close does that).
    const deadline = Number.isFinite(timeoutMs)
      ? setTimeout(() => {
          this.#runs.releaseAll(() => new RunnerClosedError());
          void this.#executor.close({ timeoutMs: SHUTDOWN_GRACE_MS });
        }, timeoutMs)
      : undefined;
    while (this.#runs.size > 0 || this.#claims.pumping) {
      await this.#runs.allDone();
      await this.#claims.running;
    }
    clearTimeout(deadline);
    await this.#operations.stop();
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
    const controlChannel = this.#control.channel;
    if (readyChannel === null || signalChannel === null || controlChannel === null) return null;
    const channels = new Map<string, (payload: string) => void>([
      [readyChannel, (notifier) => notifier !== this.runnerId && this.#claims.pump()],
      [
        signalChannel,
        (payload) => {
          const notice = parseSignalNotice(payload);
          if (notice !== null && notice.notifier !== this.runnerId) this.#signalWaits.notice(notice);
        },
      ],
      [
        controlChannel,
        (payload) => {
          const notice = parseControlNotice(payload);
          if (notice === null || notice.notifier === this.runnerId) return;
          const id = notice.workflowExecutionId;
          if (notice.kind === 'resume') return this.#claims.pump();
          this.#runs.cancelExecution(id, new WorkflowCancelledError(id, notice.reason));
          this.#wake(id, null);
        },
      ],
    ]);
    return new NotificationListener(knex, channels, () => {
      this.#claims.pump();
      this.#signalWaits.offer(null);
    });
  }

  #register(workflow: Workflow): void {
    const known = this.#workflows.get(workflow.name);
    if (known !== undefined && known !== workflow) {
      throw new InvalidArgumentError('workflow', `the one workflow named \`${workflow.name}\``, workflow);
    }
    this.#workflows.set(workflow.name, workflow);
    this.#claimsNeedLimits ||= anyNeeds([workflow]);
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
