/** What `runner.status`, `runner.wait` and `runner.execute` report about a workflow execution. */
import { isTerminalWorkflowStatus } from '../store/states.js';
import type { StoredError, TaskRow, TaskStatus, TaskSubStatus, WorkflowRow, WorkflowStatus } from '../store/rows.js';

export interface TaskResult {
  readonly taskId: string;
  /** `NotStarted → Ready (or Paused) → Running → Completed | Failed | Skipped | Cancelled` (see `TaskStates`). */
  readonly status: TaskStatus;
  /** While Running: `Active` (holds a slot) or `Deferred` (parked in `deferUntil`, no slot). */
  readonly subStatus: TaskSubStatus | null;
  /** Attempts started so far (a retry or a recovery starts another). */
  readonly attempts: number;
  readonly recoveryAttempts: number;
  readonly error: StoredError | null;
  readonly startedAt: Date | null;
  readonly completedAt: Date | null;
  /** Time spent deferred without a slot, over the attempt that finished. */
  readonly deferredMs: number;
  readonly deferrals: number;
}

export interface WorkflowResult {
  readonly id: string;
  readonly workflowName: string;
  /** `Running → Completed | Failed | Cancelled` (see `WorkflowStates`). */
  readonly status: WorkflowStatus;
  /** Whether it is paused (`runner.pause`): it starts no new task until resumed. */
  readonly paused: boolean;
  /** The input merged with every completed task's output (see `mergeContext`); null until the end. */
  readonly output: Record<string, unknown> | null;
  readonly error: StoredError | null;
  readonly createdAt: Date;
  readonly completedAt: Date | null;
  readonly tasks: readonly TaskResult[];
}

export function toWorkflowResult(workflow: WorkflowRow, tasks: readonly TaskRow[]): WorkflowResult {
  return {
    id: workflow.id,
    workflowName: workflow.workflow_name,
    status: workflow.status,
    paused: workflow.paused,
    output: workflow.output,
    error: workflow.error,
    createdAt: workflow.created_at,
    completedAt: workflow.completed_at,
    tasks: tasks.map((t) => ({
      taskId: t.task_id,
      status: t.status,
      subStatus: t.sub_status,
      attempts: t.attempt,
      recoveryAttempts: t.recovery_attempts,
      error: t.error,
      startedAt: t.started_at,
      completedAt: t.completed_at,
      deferredMs: Number(t.deferred_ms),
      deferrals: t.deferrals,
    })),
  };
}

export function isTerminal(status: WorkflowStatus): boolean {
  return isTerminalWorkflowStatus(status);
}

export function storedError(error: unknown): StoredError {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { name: error.name, code: typeof code === 'string' ? code : null, message: error.message };
  }
  return { name: 'Error', code: null, message: String(error) };
}
