/**
 * The task and workflow state machine, applied in transactions.
 *
 * Task states: `NotStarted → Ready → Running → Completed | Failed | Skipped`, Running carrying
 * the sub-state `Active | Deferred`. A retry puts a Running task back to Ready with a
 * `retry_at`; a crash recovery puts it back to Ready at once (or Failed, "abandoned", once
 * `maxRecoveryAttempts` is spent). When a task ends, each NotStarted dependent whose
 * dependencies are all terminal becomes Ready or Skipped by its trigger rule, in topological
 * order, so skips cascade in one pass. Workflow states: `Running → Completed | Failed` (Failed
 * when any task Failed). Every transition appends an `execution_events` row.
 *
 * Each transition locks the workflow's row first, so two outcomes of one workflow (from this
 * process or another) never interleave: a task is readied once, a workflow ends once. A
 * transition reads only the tasks it can change (the dependents of what ended, and their
 * dependencies), and the workflow's end is found from counters on its row, so its cost does
 * not grow with the size of the workflow.
 */
import type { Knex } from 'knex';
import { TaskAbandonedError, WorkflowFailedError } from '../errors.js';
import type { TaskFinishedEvent } from '../executor/events.js';
import type { ClaimedTask, EventRow, NewTaskRow, SlimTask, TaskStatus } from '../store/rows.js';
import { assignFairTags } from '../store/fair-tags.js';
import type { Orphan } from '../store/leases.js';
import type { SignalStore } from '../store/signals.js';
import type { Store } from '../store/store.js';
import { newExecutionId } from '../executor/execution-id.js';
import { assertStorable, mergeContext } from '../workflow/context.js';
import type { Workflow } from '../workflow/define-workflow.js';
import { retryDelayMs, shouldRetry } from '../workflow/retry.js';
import { evaluateTrigger } from '../workflow/trigger.js';
import { isTerminal, storedError } from './result.js';
import { readyStatus } from '../store/control.js';
import { needsColumns } from './start-needs.js';

/** A workflow to start, with its input and priority. */
export interface WorkflowStart {
  readonly workflow: Workflow;
  readonly input: Record<string, unknown>;
  /** Default: 0. */
  readonly priority?: number;
  /** Start at most once per key and workflow name (see `StartOptions`). Default: none. */
  readonly idempotencyKey?: string | null;
}

/** What a start wrote: the execution's id, and whether this start created it (not a key's earlier start). */
export interface StartedExecution {
  readonly id: string;
  readonly created: boolean;
}

export type Outcome =
  | { readonly ok: true; readonly output: unknown; readonly stats: TaskFinishedEvent | null }
  | { readonly ok: false; readonly error: unknown; readonly stats: TaskFinishedEvent | null };

/** How one run ended, to be recorded. */
export interface Settlement {
  readonly claim: ClaimedTask;
  readonly workflow: Workflow;
  readonly outcome: Outcome;
  /** Whether the run waited for signals (`runner.signal`): the ones it took are consumed once the task ends. */
  readonly tookSignals?: boolean;
}

export interface TransitionsOptions {
  /** Recoveries of a task before it is Failed as "abandoned". */
  readonly maxRecoveryAttempts: number;
  /** Where the signals tasks took are marked consumed when the tasks end. */
  readonly signals?: SignalStore;
  /** The runner id sent with `NOTIFY`s. Default: empty. */
  readonly notifier?: string;
  /** Told of the retries each committed `applyOutcomes` scheduled. */
  readonly onRetriesScheduled?: (retries: readonly RetryScheduled[]) => void;
}

/** A failed run whose task was made Ready again for another attempt. */
export interface RetryScheduled {
  readonly workflowExecutionId: string;
  readonly taskExecutionId: string;
  readonly taskId: string;
  /** The attempt that failed (1 for the first). */
  readonly attempt: number;
  readonly delayMs: number;
}

/** What became of a settlement: its workflow ended, it was recorded, or its claim was lost. */
export type SettlementResult = 'ended' | 'recorded' | 'lost';

/** Tasks of one workflow that ended in this transaction, to count on its row. */
interface EndedCount {
  readonly executionId: string;
  readonly workflow: Workflow;
  readonly input: Record<string, unknown>;
  readonly ended: number;
  readonly failed: number;
}

/** A task that reached a terminal state in this transaction. */
interface Ended {
  readonly taskId: string;
  readonly status: 'Completed' | 'Failed' | 'Skipped';
}

export class Transitions {
  readonly #store: Store;
  readonly #maxRecoveryAttempts: number;
  readonly #signals: SignalStore | undefined;
  /** Sent with the `NOTIFY` of tasks made Ready, so this process can tell its own apart. */
  readonly #notifier: string;
  readonly #onRetriesScheduled: (retries: readonly RetryScheduled[]) => void;
  /** When this process's scheduled retries fall due (epoch ms). */
  readonly #retries = new Set<number>();

  constructor(store: Store, options: TransitionsOptions) {
    this.#store = store;
    this.#maxRecoveryAttempts = options.maxRecoveryAttempts;
    this.#signals = options.signals;
    this.#notifier = options.notifier ?? '';
    this.#onRetriesScheduled = options.onRetriesScheduled ?? (() => undefined);
  }

  /** Ms until the earliest retry this process scheduled, if any. */
  nextLocalRetryMs(): number | null {
    const now = Date.now();
    for (const at of this.#retries) if (at <= now - 60_000) this.#retries.delete(at);
    if (this.#retries.size === 0) return null;
    return Math.max(0, Math.min(...this.#retries) - now);
  }

  /** `planExecutions` then `writeExecutions`, once (not for retrying: see `writeExecutions`); the ids. */
  async createExecutions(starts: readonly WorkflowStart[]): Promise<string[]> {
    return (await this.writeExecutions(planExecutions(starts))).map((started) => started.id);
  }

  /**
   * Inserts planned executions and their tasks: roots Ready (or Skipped, as their trigger rule
   * says on the input), the others NotStarted. All those without a skipped root go in one
   * statement; one with a skipped root takes a transaction of its own (the skip must reach its
   * dependents). Idempotent, so a write whose commit was not heard can be retried: the ids are
   * the plan's, and an execution already there is left as it is. A start whose idempotency key
   * an execution of its workflow has already writes nothing and is given that execution's id.
   */
  async writeExecutions(plans: readonly ExecutionPlan[]): Promise<StartedExecution[]> {
    const created = new Set<string>();
    const simple = plans.filter((p) => p.skipped.length === 0);
    if (simple.length > 0) {
      // One statement; keyed tasks take their fair tags in it too.
      const inserted = await this.#store.insertExecutions(
        simple.map((p) => p.row),
        simple.flatMap((p) => p.tasks),
        simple.flatMap((p) => p.events),
        this.#notifier,
      );
      for (const id of inserted) created.add(id);
    }
    for (const plan of plans.filter((p) => p.skipped.length > 0)) {
      await this.#store.transaction(async (tx) => {
        if (!(await this.#store.insertWorkflow(tx, { ...plan.row, status: 'Running' }))) return; // written already
        created.add(plan.row.id);
        await assignFairTags(tx, this.#store.schema, plan.tasks);
        await this.#store.insertTasks(
          tx,
          plan.tasks.map((t) => ({ ...t, ...(t.status === 'Skipped' ? { completed_at: tx.fn.now() } : {}) })),
        );
        await this.#advance(tx, plan.workflow, plan.row.input, plan.row.id, false, plan.skipped, plan.events);
      });
    }
    // Starts not written now: retried writes that had landed (their own ids) or keys started before.
    const keyed = plans.filter((p) => !created.has(p.row.id) && p.row.idempotency_key !== null);
    const existing = await this.#store.idsByIdempotencyKey(
      keyed.map((p) => ({ workflowName: p.row.workflow_name, key: p.row.idempotency_key ?? '' })),
    );
    return plans.map(({ row }) => {
      // Without a key, the id is this start's whether written now or by an earlier try of this write.
      if (created.has(row.id) || row.idempotency_key === null) return { id: row.id, created: true };
      const id = existing.get(`${row.workflow_name}\0${row.idempotency_key}`) ?? row.id;
      return { id, created: id === row.id };
    });
  }

  /**
   * Records how runs ended and what follows from them, for a batch of runs in one transaction:
   * their workflows' rows are locked in id order, completed tasks are written in one
   * statement, the workflows' counters in another. A run whose claim was lost (the task's
   * fencing token moved on: it was swept and claimed again, or settled already) changes
   * nothing. Returns what became of each settlement, in order.
   */
  async applyOutcomes(settlements: readonly Settlement[]): Promise<SettlementResult[]> {
    // Filled by the transaction's last (committed) try: a try that rolled back starts it over.
    let retries: RetryScheduled[] = [];
    const results = await this.#store.transaction(async (tx) => {
      retries = [];
      const workflowIds = [...new Set(settlements.map((s) => s.claim.workflow_execution_id))].sort();
      const workflows = await this.#store.lockWorkflows(tx, workflowIds);
      const states = await this.#store.taskStates(
        tx,
        settlements.map((s) => s.claim.id),
      );
      const events: EventRow[] = [];
      const completed: { id: string; claim_token: string; output: unknown; deferrals: number; deferred_ms: number }[] =
        [];
      const lost = new Set<string>();
      const settledAlready = new Set<string>();
      const ended = new Map<string, { workflow: Workflow; list: Ended[] }>();
      const consumers: string[] = [];
      for (const { claim, workflow, outcome, tookSignals } of settlements) {
        const row = states.get(claim.id);
        const task = workflow.task(claim.task_id);
        if (row !== undefined && row.status !== 'Running' && row.claim_token === claim.claim_token) {
          // Settled under this very claim: by this write, retried after its commit went unheard.
          // (A sweep could also have reset it, if this runner's lease lapsed at that moment:
          // then the task runs again elsewhere and this run's result is dropped all the same.)
          settledAlready.add(claim.id);
          continue;
        }
        if (row?.status !== 'Running' || row.claim_token !== claim.claim_token || task === undefined) {
          lost.add(claim.id);
          continue;
        }
        const stats = { deferrals: outcome.stats?.deferrals ?? 0, deferred_ms: outcome.stats?.deferredMs ?? 0 };
        const base = { workflow_execution_id: claim.workflow_execution_id, task_execution_id: claim.id };
        const error = outcome.ok ? storableOrError(outcome.output) : outcome.error;
        let status: 'Completed' | 'Failed';
        if (error === null && outcome.ok) {
          completed.push({ id: claim.id, claim_token: claim.claim_token, output: outcome.output, ...stats });
          events.push({ ...base, event_type: 'task_completed' });
          status = 'Completed';
        } else if (shouldRetry(task.workflow.retry, error, row.attempt)) {
          const delay = retryDelayMs(task.workflow.retry, row.attempt);
          const paused = workflows.get(claim.workflow_execution_id)?.paused ?? false;
          const retry = { status: readyStatus(paused), error: storedError(error), retryInMs: delay, ...stats };
          await this.#store.updateTask(tx, row.id, retry, claim.claim_token);
          events.push({ ...base, event_type: 'task_retry_scheduled', data: { attempt: row.attempt, delayMs: delay } });
          this.#retries.add(Date.now() + delay);
          retries.push({
            workflowExecutionId: claim.workflow_execution_id,
            taskExecutionId: claim.id,
            taskId: claim.task_id,
            attempt: row.attempt,
            delayMs: delay,
          });
          continue;
        } else {
          const failure = { status: 'Failed' as const, error: storedError(error), completed: true, ...stats };
          await this.#store.updateTask(tx, row.id, failure, claim.claim_token);
          events.push({ ...base, event_type: 'task_failed', data: storedError(error) });
          status = 'Failed';
        }
        if (tookSignals === true) consumers.push(claim.id);
        const entry = ended.get(claim.workflow_execution_id) ?? { workflow, list: [] };
        entry.list.push({ taskId: claim.task_id, status });
        ended.set(claim.workflow_execution_id, entry);
      }
      await this.#store.completeTasks(tx, completed);
      await this.#signals?.consume(tx, consumers);
      const counts: EndedCount[] = [];
      for (const [executionId, { workflow, list }] of ended) {
        const input = workflows.get(executionId)?.input ?? {};
        const paused = workflows.get(executionId)?.paused ?? false;
        const skipped = await this.#follow(tx, workflow, input, executionId, paused, list, events);
        const failed = list.filter((e) => e.status === 'Failed').length;
        counts.push({ executionId, workflow, input, ended: list.length + skipped, failed });
      }
      const finished = await this.#countAndFinish(tx, counts, events);
      await this.#store.insertEvents(tx, events);
      return settlements.map(({ claim }) => {
        if (lost.has(claim.id)) return 'lost';
        const id = claim.workflow_execution_id;
        const status = workflows.get(id)?.status;
        const ended = finished.has(id) || (settledAlready.has(claim.id) && status !== undefined && isTerminal(status));
        return ended ? 'ended' : 'recorded';
      });
    });
    if (retries.length > 0) this.#onRetriesScheduled(retries);
    return results;
  }

  /**
   * Takes orphaned claims back: each task (Running, its claimer dead or swept) whose fencing
   * token is still the one read goes back to Ready (its deferral starts over), or Failed as
   * "abandoned" once it has been recovered `maxRecoveryAttempts` times. At-least-once: a task
   * may run again. Returns how many went back to Ready.
   */
  async recover(orphans: readonly Orphan[], lookup: (name: string) => Workflow | undefined): Promise<number> {
    let readied = 0;
    for (const orphan of orphans) {
      const workflow = lookup(orphan.workflow_name);
      if (workflow === undefined) continue;
      readied += await this.#store.transaction(async (tx) => {
        const locked = await this.#store.lockWorkflowTask(tx, orphan.workflow_execution_id, orphan.id);
        const row = locked?.task;
        if (locked === undefined || row?.status !== 'Running' || row.claim_token !== orphan.claim_token) return 0;
        const base = { workflow_execution_id: orphan.workflow_execution_id, task_execution_id: row.id };
        const recoveries = row.recovery_attempts + 1;
        if (recoveries <= this.#maxRecoveryAttempts) {
          const reset = { status: readyStatus(locked.paused), recovery_attempts: recoveries, retryInMs: null };
          await this.#store.updateTask(tx, row.id, reset, orphan.claim_token);
          await this.#store.insertEvents(tx, [{ ...base, event_type: 'task_recovered', data: { recoveries } }]);
          if (!locked.paused) await this.#store.notifyReady(tx, this.#notifier);
          return 1;
        }
        const error = storedError(new TaskAbandonedError());
        await this.#store.updateTask(tx, row.id, { status: 'Failed', error, completed: true }, orphan.claim_token);
        await this.#advance(
          tx,
          workflow,
          locked.input,
          orphan.workflow_execution_id,
          locked.paused,
          [{ taskId: row.task_id, status: 'Failed' }],
          [{ ...base, event_type: 'task_abandoned' }],
        );
        return 0;
      });
    }
    return readied;
  }

  /** `#follow` then `#countAndFinish` for one workflow, writing the events. True if it ended. */
  async #advance(
    tx: Knex.Transaction,
    workflow: Workflow,
    input: Record<string, unknown>,
    executionId: string,
    paused: boolean,
    ended: readonly Ended[],
    events: EventRow[],
  ): Promise<boolean> {
    const skipped = await this.#follow(tx, workflow, input, executionId, paused, ended, events);
    const failed = ended.filter((e) => e.status === 'Failed').length;
    const finished = await this.#countAndFinish(
      tx,
      [{ executionId, workflow, input, ended: ended.length + skipped, failed }],
      events,
    );
    await this.#store.insertEvents(tx, events);
    return finished.has(executionId);
  }

  /**
   * Follows the tasks that just ended (already written in this transaction): each NotStarted
   * dependent whose dependencies are all terminal becomes Ready or Skipped by its trigger
   * rule, in topological order (so a skip reaches its own dependents in the same pass); Paused
   * instead of Ready while the execution is paused. Returns how many it skipped.
   */
  async #follow(
    tx: Knex.Transaction,
    workflow: Workflow,
    input: Record<string, unknown>,
    executionId: string,
    paused: boolean,
    ended: readonly Ended[],
    events: EventRow[],
  ): Promise<number> {
    const rows = new Map<string, SlimTask>();
    const load = async (taskIds: readonly string[]): Promise<void> => {
      const missing = taskIds.filter((id) => !rows.has(id));
      for (const row of await this.#store.slimTasks(tx, executionId, missing)) rows.set(row.task_id, row);
    };
    const candidates = new Set(ended.flatMap((e) => workflow.dependentsOf(e.taskId)));
    if (candidates.size === 0) return 0;
    const ready: string[] = [];
    const skipped: string[] = [];
    await load([...candidates].flatMap((id) => [id, ...workflow.dependenciesOf(id)]));
    for (const task of workflow.tasks) {
      if (!candidates.has(task.id)) continue;
      const row = rows.get(task.id);
      if (row?.status !== 'NotStarted') continue;
      await load(workflow.dependenciesOf(task.id));
      const dependencies = workflow.dependenciesOf(task.id).map((id) => {
        const dependency = rows.get(id);
        return { taskId: id, status: dependency?.status ?? 'NotStarted', output: outputOf(dependency) };
      });
      const decision = evaluateTrigger(task.workflow.trigger, dependencies, input);
      if (decision === 'wait') continue;
      const status = decision === 'run' ? 'Ready' : 'Skipped';
      (status === 'Ready' ? ready : skipped).push(row.id);
      rows.set(task.id, { ...row, status });
      events.push({
        workflow_execution_id: executionId,
        task_execution_id: row.id,
        event_type: `task_${status.toLowerCase()}`,
      });
      if (status === 'Skipped') {
        for (const dependent of workflow.dependentsOf(task.id)) candidates.add(dependent);
        await load(workflow.dependentsOf(task.id));
      }
    }
    await this.#store.setStatuses(tx, ready, readyStatus(paused));
    if (ready.length > 0 && !paused) await this.#store.notifyReady(tx, this.#notifier);
    await this.#store.setStatuses(tx, skipped, 'Skipped');
    return skipped.length;
  }

  /**
   * Counts the tasks that ended on their workflows' rows (one statement for all), and ends
   * every workflow with no open task left: Failed if any task failed, else Completed, with
   * the input merged with every completed task's output in topological order.
   */
  async #countAndFinish(tx: Knex.Transaction, counts: readonly EndedCount[], events: EventRow[]): Promise<Set<string>> {
    const finished = new Set<string>();
    const counters = await this.#store.countEndedMany(
      tx,
      counts.filter((c) => c.ended > 0).map((c) => ({ id: c.executionId, ended: c.ended, failed: c.failed })),
    );
    const closing = counts.filter((c) => (counters.get(c.executionId)?.open_tasks ?? 1) <= 0);
    if (closing.length === 0) return finished;
    const outputs = new Map<string, Map<string, unknown>>();
    for (const row of await this.#store.completedOutputsMany(
      tx,
      closing.map((c) => c.executionId),
    )) {
      const byTask = outputs.get(row.workflow_execution_id) ?? new Map<string, unknown>();
      byTask.set(row.task_id, row.output);
      outputs.set(row.workflow_execution_id, byTask);
    }
    const endings = closing.map(({ executionId, workflow, input }) => {
      const failed = (counters.get(executionId)?.failed_tasks ?? 0) > 0;
      const byTask = outputs.get(executionId) ?? new Map<string, unknown>();
      const completedOutputs = workflow.tasks.flatMap((t) =>
        byTask.has(t.id) ? [{ taskId: t.id, output: byTask.get(t.id) ?? undefined }] : [],
      );
      events.push({
        workflow_execution_id: executionId,
        event_type: failed ? 'workflow_failed' : 'workflow_completed',
      });
      finished.add(executionId);
      return {
        id: executionId,
        status: failed ? ('Failed' as const) : ('Completed' as const),
        output: mergeContext(input, completedOutputs),
        error: failed ? storedError(new WorkflowFailedError()) : null,
      };
    });
    await this.#store.finishWorkflows(tx, endings);
    return finished;
  }
}

/** A stored output; SQL NULL (the task returned nothing) adds nothing to a context. */
function outputOf(row: SlimTask | undefined): unknown {
  return row?.status === 'Completed' && row.output !== null ? row.output : undefined;
}

/** null if JSON can store the output, else the ContextNotStorableError saying where it cannot. */
function storableOrError(output: unknown): unknown {
  try {
    assertStorable(output, 'output');
    return null;
  } catch (error) {
    return error;
  }
}

/** The rows and events that start one execution, ids included. */
export type ExecutionPlan = ReturnType<typeof planExecution>;

/** Plans executions: their ids are chosen here, once, so that writing them can be retried. */
export function planExecutions(starts: readonly WorkflowStart[]): ExecutionPlan[] {
  return starts.map(({ workflow, input, priority, idempotencyKey }) =>
    planExecution(workflow, input, priority ?? 0, idempotencyKey ?? null),
  );
}

function planExecution(
  workflow: Workflow,
  input: Record<string, unknown>,
  priority: number,
  idempotencyKey: string | null,
) {
  const id = newExecutionId();
  const tasks = workflow.tasks.map((task) => {
    const decision =
      workflow.dependenciesOf(task.id).length === 0 ? evaluateTrigger(task.workflow.trigger, [], input) : null;
    const status: TaskStatus = decision === null ? 'NotStarted' : decision === 'run' ? 'Ready' : 'Skipped';
    const row: NewTaskRow = {
      id: newExecutionId(),
      workflow_execution_id: id,
      workflow_name: workflow.name,
      task_id: task.id,
      status,
      max_attempts: task.workflow.retry.maxAttempts,
      dependencies: workflow.dependenciesOf(task.id),
      ...needsColumns(task, input, priority),
    };
    return row;
  });
  const events: EventRow[] = [
    { workflow_execution_id: id, event_type: 'workflow_started' },
    ...tasks
      .filter((t) => t.status !== 'NotStarted')
      .map((t) => ({
        workflow_execution_id: id,
        task_execution_id: t.id,
        event_type: `task_${t.status.toLowerCase()}`,
      })),
  ];
  const skipped: Ended[] = tasks
    .filter((t) => t.status === 'Skipped')
    .map((t) => ({ taskId: t.task_id, status: 'Skipped' }));
  const row = {
    id,
    workflow_name: workflow.name,
    input,
    open_tasks: workflow.tasks.length,
    priority,
    idempotency_key: idempotencyKey,
  };
  return { workflow, row, tasks, events, skipped };
}
