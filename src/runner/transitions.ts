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
 * process or another) never interleave: a task is readied once, a workflow ends once.
 */
import type { Knex } from 'knex';
import type { TaskFinishedEvent } from '../executor/events.js';
import type { RunnerOptions } from './options.js';
import type { ClaimedTask, EventRow, Store, TaskRow, TaskStatus } from '../store/store.js';
import { newExecutionId } from '../executor/execution-id.js';
import { assertStorable, mergeContext } from '../workflow/context.js';
import type { Workflow } from '../workflow/define-workflow.js';
import { retryDelayMs, shouldRetry } from '../workflow/retry.js';
import { evaluateTrigger } from '../workflow/trigger.js';
import { storedError } from './result.js';

export type Outcome =
  | { readonly ok: true; readonly output: unknown; readonly stats: TaskFinishedEvent | null }
  | { readonly ok: false; readonly error: unknown; readonly stats: TaskFinishedEvent | null };

const TERMINAL: ReadonlySet<TaskStatus> = new Set(['Completed', 'Failed', 'Skipped']);

export class Transitions {
  readonly #store: Store;
  readonly #maxRecoveryAttempts: number;
  /** When this process's scheduled retries fall due (epoch ms). */
  readonly #retries = new Set<number>();

  constructor(store: Store, options: Required<Pick<RunnerOptions, 'maxRecoveryAttempts'>>) {
    this.#store = store;
    this.#maxRecoveryAttempts = options.maxRecoveryAttempts;
  }

  /** Ms until the earliest retry this process scheduled, if any. */
  nextLocalRetryMs(): number | null {
    const now = Date.now();
    for (const at of this.#retries) if (at <= now - 60_000) this.#retries.delete(at);
    if (this.#retries.size === 0) return null;
    return Math.max(0, Math.min(...this.#retries) - now);
  }

  /** Inserts the execution and its tasks, roots Ready, in one transaction. Returns its id. */
  async createExecution(workflow: Workflow, input: Record<string, unknown>): Promise<string> {
    const id = newExecutionId();
    await this.#store.transaction(async (tx) => {
      await this.#store.insertWorkflow(tx, { id, workflow_name: workflow.name, status: 'Running', input });
      const rows = workflow.tasks.map((task) => ({
        id: newExecutionId(),
        workflow_execution_id: id,
        task_id: task.id,
        status: 'NotStarted' as const,
        max_attempts: task.workflow.retry.maxAttempts,
      }));
      await this.#store.insertTasks(tx, rows);
      const events: EventRow[] = [{ workflow_execution_id: id, event_type: 'workflow_started' }];
      await this.#advance(tx, workflow, input, id, rows as unknown as TaskRow[], events);
    });
    return id;
  }

  /**
   * Records how a run ended and what follows from it. Returns true if the workflow ended.
   * Changes nothing if the task is no longer Running (its outcome was already recorded).
   */
  async applyOutcome(claim: ClaimedTask, workflow: Workflow, outcome: Outcome): Promise<boolean> {
    return this.#store.transaction(async (tx) => {
      const execution = await this.#store.lockWorkflow(tx, claim.workflow_execution_id);
      if (execution === undefined) return false;
      const rows = await this.#store.tasksOf(tx, claim.workflow_execution_id);
      const row = rows.find((r) => r.id === claim.id);
      if (row?.status !== 'Running') return false;
      const task = workflow.task(claim.task_id);
      if (task === undefined) return false;
      const stats = { deferrals: outcome.stats?.deferrals ?? 0, deferred_ms: outcome.stats?.deferredMs ?? 0 };
      const base = { workflow_execution_id: claim.workflow_execution_id, task_execution_id: claim.id };
      const events: EventRow[] = [];

      let error: unknown = outcome.ok ? null : outcome.error;
      if (outcome.ok) {
        try {
          assertStorable(outcome.output, 'output');
        } catch (notStorable) {
          error = notStorable;
        }
      }
      if (error === null && outcome.ok) {
        await this.#store.updateTask(
          tx,
          row.id,
          { status: 'Completed', output: outcome.output ?? null, completed: true, ...stats },
          true,
        );
        events.push({ ...base, event_type: 'task_completed' });
        replace(rows, row, { status: 'Completed', output: outcome.output ?? null });
      } else if (shouldRetry(task.workflow.retry, error as Error, row.attempt)) {
        const delay = retryDelayMs(task.workflow.retry, row.attempt);
        await this.#store.updateTask(
          tx,
          row.id,
          { status: 'Ready', error: storedError(error), retryInMs: delay, ...stats },
          true,
        );
        events.push({ ...base, event_type: 'task_retry_scheduled', data: { attempt: row.attempt, delayMs: delay } });
        this.#retries.add(Date.now() + delay);
        await this.#store.insertEvents(tx, events);
        return false;
      } else {
        await this.#store.updateTask(
          tx,
          row.id,
          { status: 'Failed', error: storedError(error), completed: true, ...stats },
          true,
        );
        events.push({ ...base, event_type: 'task_failed', data: storedError(error) });
        replace(rows, row, { status: 'Failed' });
      }
      return this.#advance(tx, workflow, execution.input, claim.workflow_execution_id, rows, events);
    });
  }

  /**
   * After a crash: every Running task of these workflows had its run die with its process.
   * Each goes back to Ready (its deferral starts over), or Failed as "abandoned" once it has
   * been recovered `maxRecoveryAttempts` times. At-least-once: a task may run again.
   */
  async recover(workflowNames: readonly string[], lookup: (name: string) => Workflow | undefined): Promise<void> {
    for (const stale of await this.#store.runningTasks(workflowNames)) {
      const workflow = lookup(stale.workflow_name);
      if (workflow === undefined) continue;
      await this.#store.transaction(async (tx) => {
        const execution = await this.#store.lockWorkflow(tx, stale.workflow_execution_id);
        if (execution === undefined) return;
        const rows = await this.#store.tasksOf(tx, stale.workflow_execution_id);
        const row = rows.find((r) => r.id === stale.id);
        if (row?.status !== 'Running') return;
        const base = { workflow_execution_id: row.workflow_execution_id, task_execution_id: row.id };
        const recoveries = row.recovery_attempts + 1;
        if (recoveries <= this.#maxRecoveryAttempts) {
          await this.#store.updateTask(
            tx,
            row.id,
            { status: 'Ready', recovery_attempts: recoveries, retryInMs: null },
            true,
          );
          await this.#store.insertEvents(tx, [{ ...base, event_type: 'task_recovered', data: { recoveries } }]);
          return;
        }
        const error = { name: 'Error', code: 'SLOTWISE_TASK_ABANDONED', message: 'abandoned' };
        await this.#store.updateTask(tx, row.id, { status: 'Failed', error, completed: true }, true);
        replace(rows, row, { status: 'Failed' });
        await this.#advance(tx, workflow, execution.input, row.workflow_execution_id, rows, [
          { ...base, event_type: 'task_abandoned' },
        ]);
      });
    }
  }

  /**
   * Readies or skips every NotStarted task whose dependencies are all terminal, in topological
   * order (so a skip reaches its own dependents in the same pass), and ends the workflow when
   * every task is terminal. Writes the events. Returns true if the workflow ended.
   */
  async #advance(
    tx: Knex.Transaction,
    workflow: Workflow,
    input: Record<string, unknown>,
    executionId: string,
    rows: TaskRow[],
    events: EventRow[],
  ): Promise<boolean> {
    const byTask = new Map(rows.map((r) => [r.task_id, r]));
    for (const task of workflow.tasks) {
      const row = byTask.get(task.id);
      if (row?.status !== 'NotStarted') continue;
      const dependencies = workflow.dependenciesOf(task.id).map((id) => {
        const dependency = byTask.get(id);
        return { taskId: id, status: dependency?.status ?? 'NotStarted', output: dependency?.output };
      });
      const decision = evaluateTrigger(task.workflow.trigger, dependencies, input);
      if (decision === 'wait') continue;
      const status = decision === 'run' ? 'Ready' : 'Skipped';
      await this.#store.updateTask(tx, row.id, { status, completed: status === 'Skipped' }, false);
      events.push({
        workflow_execution_id: executionId,
        task_execution_id: row.id,
        event_type: `task_${status.toLowerCase()}`,
      });
      byTask.set(task.id, { ...row, status });
    }
    const all = [...byTask.values()];
    const ended = all.every((r) => TERMINAL.has(r.status));
    if (ended) {
      const failed = all.some((r) => r.status === 'Failed');
      const completed = workflow.tasks.flatMap((t) => {
        const r = byTask.get(t.id);
        return r?.status === 'Completed' ? [{ taskId: t.id, output: r.output }] : [];
      });
      const error = failed ? { name: 'Error', code: 'SLOTWISE_WORKFLOW_FAILED', message: 'a task failed' } : null;
      await this.#store.finishWorkflow(
        tx,
        executionId,
        failed ? 'Failed' : 'Completed',
        mergeContext(input, completed),
        error,
      );
      events.push({
        workflow_execution_id: executionId,
        event_type: failed ? 'workflow_failed' : 'workflow_completed',
      });
    }
    await this.#store.insertEvents(tx, events);
    return ended;
  }
}

function replace(rows: TaskRow[], row: TaskRow, change: Partial<TaskRow>): void {
  rows[rows.indexOf(row)] = { ...row, ...change };
}
