/**
 * The rows of the runner's tables as the store reads and writes them (see
 * `docs/reference/database-schema.md`), and the shapes of its writes.
 */
import type { TaskStatus, TaskSubStatus, WorkflowStatus } from './states.js';

export type { TaskStatus, TaskSubStatus, WorkflowStatus };

export interface WorkflowRow {
  readonly id: string;
  readonly workflow_name: string;
  readonly status: WorkflowStatus;
  /** Paused (`runner.pause`): its tasks that would be Ready wait as `Paused`. */
  readonly paused: boolean;
  readonly input: Record<string, unknown>;
  readonly output: Record<string, unknown> | null;
  readonly error: StoredError | null;
  readonly created_at: Date;
  readonly completed_at: Date | null;
}

export interface TaskRow {
  readonly id: string;
  readonly workflow_execution_id: string;
  /** Its workflow's name (a copy of the workflow row's: claims filter on it). */
  readonly workflow_name: string;
  readonly task_id: string;
  readonly status: TaskStatus;
  readonly sub_status: TaskSubStatus | null;
  readonly attempt: number;
  readonly max_attempts: number;
  readonly retry_at: Date | null;
  readonly recovery_attempts: number;
  readonly deferrals: number;
  readonly deferred_ms: number;
  readonly output: unknown;
  readonly error: StoredError | null;
  readonly started_at: Date | null;
  readonly completed_at: Date | null;
}

/** What a new task row says its runs need (migration 006), written at start. */
export interface TaskNeedsColumns {
  readonly slots: number;
  readonly limits: readonly string[];
  readonly concurrency_key: string | null;
  readonly per_key_limit: number | null;
  readonly per_key_include_deferred: boolean;
  readonly priority: number;
  /** Its place in fair order; null: the virtual time when it is written (a task without a key). */
  fair_tag: number | null;
}

/** A workflow execution row as a start writes it. */
export interface NewWorkflowRow extends Pick<WorkflowRow, 'id' | 'workflow_name' | 'input'> {
  readonly open_tasks: number;
  readonly priority: number;
  readonly idempotency_key: string | null;
}

/** A task row as a start writes it. */
export type NewTaskRow = Pick<
  TaskRow,
  'id' | 'workflow_execution_id' | 'workflow_name' | 'task_id' | 'status' | 'max_attempts'
> &
  TaskNeedsColumns & {
    /** Ids of the tasks it depends on (the execution's DAG, for readers without the workflow). */
    readonly dependencies: readonly string[];
  };

/** A claimed task, with what it needs to run: its workflow's name and input. */
export interface ClaimedTask {
  readonly id: string;
  readonly workflow_execution_id: string;
  readonly task_id: string;
  readonly attempt: number;
  /**
   * The fencing token of this claim (a bigint, as text): every write about the claimed task
   * carries it and changes nothing once another claim has moved it on.
   */
  readonly claim_token: string;
  readonly workflow_name: string;
  readonly workflow_input: Record<string, unknown>;
  /** What a run needs, as written at start (migration 006). */
  readonly slots: number;
  readonly limits: readonly string[];
  readonly concurrency_key: string | null;
  readonly per_key_limit: number | null;
  readonly per_key_include_deferred: boolean;
}

/** What the scheduler reads of a task: no timestamps (parsing them was a third of the cost). */
export interface SlimTask {
  readonly id: string;
  readonly task_id: string;
  readonly status: TaskStatus;
  readonly attempt: number;
  readonly claim_token: string;
  readonly recovery_attempts: number;
  readonly output: unknown;
}

/** How an error is kept in the database. */
export interface StoredError {
  readonly name: string;
  readonly code: string | null;
  readonly message: string;
}

export interface EventRow {
  readonly workflow_execution_id: string;
  readonly task_execution_id?: string | null;
  readonly event_type: string;
  readonly data?: unknown;
}

/** A change to one task row, made by the scheduler inside its transaction. */
export interface TaskUpdate {
  readonly status: TaskStatus;
  readonly sub_status?: TaskSubStatus | null;
  readonly output?: unknown;
  readonly error?: StoredError | null;
  readonly retryInMs?: number | null;
  readonly completed?: boolean;
  readonly deferrals?: number;
  readonly deferred_ms?: number;
  readonly recovery_attempts?: number;
}
