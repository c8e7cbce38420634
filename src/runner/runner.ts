import { EventEmitter } from 'node:events';
import { DatabaseUnavailableError, InvalidArgumentError, RunnerClosedError, WorkflowNotFoundError } from '../errors.js';
import { newExecutionId } from '../executor/execution-id.js';
import { Executor } from '../executor/executor.js';
import type { TaskFailedEvent, TaskFinishedEvent } from '../executor/events.js';
import { type Database, openDatabase } from '../store/database.js';
import { migrate } from '../store/migrate.js';
import { type ClaimedTask, Store } from '../store/store.js';
import { retryTransient } from '../store/transient.js';
import { assertStorable, mergeContext } from '../workflow/context.js';
import type { Workflow } from '../workflow/define-workflow.js';
import { type FilledRunnerOptions, type RunnerOptions, fillRunnerOptions } from './options.js';
import { type WorkflowResult, isTerminal, toWorkflowResult } from './result.js';
import { Batcher } from './batcher.js';
import { type Outcome, type Settlement, Transitions } from './transitions.js';

export interface SubStatusEvent {
  readonly workflowExecutionId: string;
  readonly taskExecutionId: string;
  readonly taskId: string;
  readonly subStatus: 'Active' | 'Deferred';
}

export interface RunnerEvents {
  /** A task's Running sub-state was written (it is in the database when this fires). */
  taskSubStatus: [SubStatusEvent];
  /** A state write failed for good (the database stayed away past `writeDeadlineMs`). */
  writeFailed: [DatabaseUnavailableError];
}

/** One claimed task being run by this process. */
interface LiveRun {
  readonly claim: ClaimedTask;
  readonly workflow: Workflow;
  /** Sub-state and outcome writes of this run, in order. */
  writes: Promise<void>;
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
 */
export class Runner extends EventEmitter<RunnerEvents> implements AsyncDisposable {
  readonly options: FilledRunnerOptions;
  /** Identifies this runner in `claimed_by`. */
  readonly runnerId = newExecutionId();
  readonly #database: Database;
  readonly #store: Store;
  readonly #transitions: Transitions;
  readonly #executor: Executor;
  readonly #workflows = new Map<string, Workflow>();
  readonly #live = new Map<string, LiveRun>();
  readonly #waiters = new Map<string, ((error: Error | null) => void)[]>();
  /** Workflow starts, written in batches (one statement for the starts queued meanwhile). */
  readonly #starts = new Batcher<{ workflow: Workflow; input: Record<string, unknown> }, string>(
    (starts) =>
      retryTransient(() => this.#transitions.createExecutions(starts), {
        deadlineMs: this.options.writeDeadlineMs,
        operation: `starting ${String(starts.length)} workflow(s)`,
      }),
    256,
  );
  /** Run outcomes, written in batches; each result says whether the run's workflow ended. */
  readonly #outcomes = new Batcher<Settlement, boolean>(async (settlements) => {
    const ended = await retryTransient(() => this.#transitions.applyOutcomes(settlements), {
      deadlineMs: this.options.writeDeadlineMs,
      operation: `recording the outcome of ${String(settlements.length)} task(s)`,
    });
    return settlements.map((s) => ended.has(s.claim.workflow_execution_id));
  }, 64);
  /** Executions started here whose end this runner has not seen yet. */
  readonly #unfinished = new Set<string>();
  readonly #started: Promise<void>;
  #starting = 0;
  #pumping = false;
  #pumpAgain = false;
  #pollTimer: NodeJS.Timeout | undefined;
  #waitPoll: NodeJS.Timeout | undefined;
  #closing: Promise<void> | null = null;

  constructor(options: RunnerOptions = {}) {
    super();
    this.options = fillRunnerOptions(options);
    for (const workflow of this.options.workflows) this.#register(workflow);
    this.#database = openDatabase(this.options.database, this.options.poolSize);
    this.#store = new Store(this.#database.knex, this.options.schema);
    this.#transitions = new Transitions(this.#store, this.options);
    this.#executor = new Executor({
      threads: this.options.threads,
      maxConcurrentTasks: this.options.maxConcurrentTasks,
    });
    this.#executor.on('taskStarted', (e) => {
      const live = this.#live.get(e.executionId);
      if (live !== undefined) live.started = true;
    });
    this.#executor.on('taskDeferred', (e) => this.#onSubState(e.executionId, 'Deferred', 'task_deferred'));
    this.#executor.on('taskResumed', (e) => this.#onSubState(e.executionId, 'Active', 'task_resumed'));
    this.#executor.on('taskCompleted', (e) => this.#live.get(e.executionId)?.finished?.(e));
    this.#executor.on('taskFailed', (e: TaskFailedEvent) => this.#live.get(e.executionId)?.finished?.(e));
    this.#started = this.#start();
    this.#started.catch(() => undefined); // surfaced by every call that awaits it
  }

  /** Resolves once migrations are applied and crashed runs recovered. Rejects if that failed. */
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
    if (this.#unfinished.has(id)) await this.#nextChange(id);
    for (;;) {
      const result = await this.status(id);
      if (isTerminal(result.status)) return result;
      await this.#nextChange(id);
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

  /** Stops claiming, lets running tasks finish and their state land, then closes. */
  close(): Promise<void> {
    this.#closing ??= this.#shutDown();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #start(): Promise<void> {
    await retryTransient(() => migrate(this.#database.knex, this.options.schema), {
      deadlineMs: this.options.writeDeadlineMs,
      operation: `migrating schema \`${this.options.schema}\``,
    });
    await retryTransient(
      () => this.#transitions.recover([...this.#workflows.keys()], (name) => this.#workflows.get(name)),
      {
        deadlineMs: this.options.writeDeadlineMs,
        operation: 'recovering tasks left Running by a stopped process',
      },
    );
    this.#pump();
  }

  async #shutDown(): Promise<void> {
    clearTimeout(this.#pollTimer);
    clearTimeout(this.#waitPoll);
    await this.#started.catch(() => undefined);
    while (this.#live.size > 0 || this.#starting > 0 || this.#pumping) {
      await Promise.all([...this.#live.values()].map((run) => run.writes.catch(() => undefined)));
      await new Promise((resolve) => setImmediate(resolve));
    }
    await this.#executor.close();
    await this.#database.close();
    for (const [id, waiters] of this.#waiters) {
      this.#waiters.delete(id);
      for (const wake of waiters) wake(new RunnerClosedError());
    }
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
    void this.#pumpLoop().finally(() => {
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
        claimed = await retryTransient(() => this.#store.claimReady(free, [...this.#workflows.keys()], this.runnerId), {
          deadlineMs: this.options.writeDeadlineMs,
          operation: 'claiming ready tasks',
        });
      } catch (error) {
        this.#reportWriteFailure(error);
        return;
      }
      for (const claim of claimed) this.#run(claim);
      if (claimed.length === free) this.#pumpAgain = true;
    } while (this.#pumpAgain);
  }

  #armPoll(): void {
    clearTimeout(this.#pollTimer);
    if (this.#closing !== null) return;
    const delay = Math.min(this.options.pollIntervalMs, this.#transitions.nextLocalRetryMs() ?? Infinity);
    this.#pollTimer = setTimeout(() => this.#pump(), Math.max(delay, 0));
    // Idle polling alone must not keep the process alive; waiting callers and live runs do.
    if (this.#waiters.size === 0 && this.#live.size === 0) this.#pollTimer.unref();
  }

  #run(claim: ClaimedTask): void {
    const workflow = this.#workflows.get(claim.workflow_name);
    const task = workflow?.task(claim.task_id);
    if (workflow === undefined || task === undefined) return; // claimed by name: cannot happen
    const live: LiveRun = { claim, workflow, writes: Promise.resolve(), started: false, finished: null };
    this.#live.set(claim.id, live);
    this.#starting += 1;
    const finished = new Promise<TaskFinishedEvent>((resolve) => (live.finished = resolve));
    void (async () => {
      let outcome: Outcome;
      try {
        const context = await this.#contextFor(claim, workflow);
        const run = this.#executor.run(task, context, {
          executionId: claim.id,
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
            // A run rejected before it started (the executor closing) has no finish event.
            return { ok: false as const, error, stats: live.started ? await finished : null };
          },
        );
      } catch (error) {
        this.#starting -= 1;
        outcome = { ok: false, error, stats: null };
      }
      live.writes = live.writes.then(() => this.#settle(live, outcome));
      await live.writes.catch(() => undefined);
      this.#live.delete(claim.id);
      this.#pump();
    })();
  }

  async #contextFor(claim: ClaimedTask, workflow: Workflow): Promise<Record<string, unknown>> {
    const dependencies = workflow.dependenciesOf(claim.task_id);
    if (dependencies.length === 0) return mergeContext(claim.workflow_input, []);
    const rows = await this.#store.slimTasks(this.#store.knex, claim.workflow_execution_id, dependencies);
    const outputs = dependencies.flatMap((id) => {
      const row = rows.find((r) => r.task_id === id);
      // SQL NULL: the dependency returned nothing, which adds nothing to the context.
      return row?.status === 'Completed' && row.output !== null ? [{ taskId: id, output: row.output }] : [];
    });
    return mergeContext(claim.workflow_input, outputs);
  }

  /**
   * Writes one run's outcome, batched with the outcomes that arrive meanwhile (one transaction
   * records them all, see `applyOutcomes`). Resolves once it is written, or its write failed
   * for good and was reported.
   */
  async #settle(live: LiveRun, outcome: Outcome): Promise<void> {
    try {
      const ended = await this.#outcomes.add({ claim: live.claim, workflow: live.workflow, outcome });
      if (ended) this.#wake(live.claim.workflow_execution_id, null);
    } catch (error) {
      this.#reportWriteFailure(error, live.claim.workflow_execution_id);
    }
  }

  #onSubState(executionId: string, subStatus: 'Active' | 'Deferred', eventType: string): void {
    const live = this.#live.get(executionId);
    if (live === undefined) return;
    const { claim } = live;
    live.writes = live.writes.then(() =>
      retryTransient(
        () =>
          this.#store.setSubStatus(claim.id, subStatus, {
            workflow_execution_id: claim.workflow_execution_id,
            task_execution_id: claim.id,
            event_type: eventType,
          }),
        { deadlineMs: this.options.writeDeadlineMs, operation: `recording task \`${claim.task_id}\` as ${subStatus}` },
      ).then(
        () => {
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

  #reportWriteFailure(error: unknown, workflowExecutionId?: string): void {
    const failure =
      error instanceof DatabaseUnavailableError ? error : new DatabaseUnavailableError('writing runner state', error);
    if (workflowExecutionId !== undefined) this.#wake(workflowExecutionId, failure);
    if (this.listenerCount('writeFailed') > 0) this.emit('writeFailed', failure);
  }

  /**
   * Resolves when this process ends the execution, or when the shared poll finds it ended (by
   * another process): one query per poll interval for every waiting caller together.
   */
  #nextChange(id: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = (error: Error | null): void => {
        const list = this.#waiters.get(id)?.filter((w) => w !== done) ?? [];
        if (list.length === 0) this.#waiters.delete(id);
        else this.#waiters.set(id, list);
        if (error === null) resolve();
        else reject(error);
      };
      this.#waiters.set(id, [...(this.#waiters.get(id) ?? []), done]);
      this.#armWaitPoll();
    });
  }

  #armWaitPoll(): void {
    if (this.#waitPoll !== undefined || this.#waiters.size === 0 || this.#closing !== null) return;
    this.#waitPoll = setTimeout(() => {
      void this.#store
        .endedAmong([...this.#waiters.keys()])
        .then(
          (ended) => ended.forEach((id) => this.#wake(id, null)),
          () => undefined, // the database is away: the next poll tries again
        )
        .finally(() => {
          this.#waitPoll = undefined;
          this.#armWaitPoll();
        });
    }, this.options.pollIntervalMs);
  }

  #wake(id: string, error: Error | null): void {
    this.#unfinished.delete(id);
    for (const wake of this.#waiters.get(id) ?? []) wake(error);
  }
}
