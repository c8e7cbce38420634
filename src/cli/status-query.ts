// What `slotwise status` reads: the newest workflow executions of a schema and their tasks,
// with plain SQL on the tables of migrations/ (see docs/reference/database-schema.md).
import type { Knex } from 'knex';

export interface TaskStatusLine {
  readonly taskId: string;
  readonly status: string;
  /** Active or Deferred while Running, else null. */
  readonly subStatus: string | null;
  readonly attempt: number;
  readonly maxAttempts: number;
  readonly deferrals: number;
  /** Time spent deferred, as recorded when the task ended (0 before). */
  readonly deferredMs: number;
  /** How long the task has been in its current deferral, while it is Deferred. */
  readonly deferredNowMs: number | null;
  /** The id of the runner holding the claim, while Running. */
  readonly claimedBy: string | null;
  readonly startedAt: string | null;
  readonly completedAt: string | null;
}

export interface WorkflowStatusReport {
  readonly id: string;
  readonly name: string;
  readonly status: string;
  /** Paused (`runner.pause`, `slotwise pause`): it starts no new task. */
  readonly paused: boolean;
  readonly createdAt: string;
  readonly completedAt: string | null;
  readonly tasks: TaskStatusLine[];
}

export interface StatusQuery {
  readonly schema: string;
  readonly workflow?: string;
  readonly limit: number;
}

/** Whether the schema holds slotwise's tables. */
export async function hasTables(knex: Knex, schema: string): Promise<boolean> {
  return knex.schema.withSchema(schema).hasTable('task_executions');
}

const iso = (value: Date | string | null): string | null =>
  value === null ? null : value instanceof Date ? value.toISOString() : value;

/** The newest `limit` workflow executions (or the one asked for), newest first, each with its tasks. */
export async function readStatus(knex: Knex, query: StatusQuery): Promise<WorkflowStatusReport[]> {
  const { schema } = query;
  const { rows: workflows } = await knex.raw<{
    rows: {
      id: string;
      workflow_name: string;
      status: string;
      paused: boolean;
      created_at: Date;
      completed_at: Date | null;
    }[];
  }>(
    `SELECT id, workflow_name, status, paused, created_at, completed_at FROM ??.workflow_executions
     WHERE ?::text IS NULL OR id::text = lower(?::text)
     ORDER BY created_at DESC, id DESC LIMIT ?`,
    [schema, query.workflow ?? null, query.workflow ?? null, query.limit],
  );
  if (workflows.length === 0) return [];
  const { rows: tasks } = await knex.raw<{
    rows: {
      workflow_execution_id: string;
      task_id: string;
      status: string;
      sub_status: string | null;
      attempt: number;
      max_attempts: number;
      deferrals: number;
      deferred_ms: number | string;
      deferred_now_ms: number | string | null;
      claimed_by: string | null;
      started_at: Date | null;
      completed_at: Date | null;
    }[];
  }>(
    `SELECT workflow_execution_id, task_id, status, sub_status, attempt, max_attempts, deferrals, deferred_ms,
            CASE WHEN sub_status = 'Deferred' THEN extract(epoch FROM now() - updated_at) * 1000 END AS deferred_now_ms,
            claimed_by, started_at, completed_at
     FROM ??.task_executions WHERE workflow_execution_id = ANY(?::uuid[])
     ORDER BY started_at NULLS LAST, task_id`,
    [schema, workflows.map((w) => w.id)],
  );
  return workflows.map((w) => ({
    id: w.id,
    name: w.workflow_name,
    status: w.status,
    paused: w.paused,
    createdAt: iso(w.created_at) ?? '',
    completedAt: iso(w.completed_at),
    tasks: tasks
      .filter((t) => t.workflow_execution_id === w.id)
      .map((t) => ({
        taskId: t.task_id,
        status: t.status,
        subStatus: t.sub_status,
        attempt: t.attempt,
        maxAttempts: t.max_attempts,
        deferrals: t.deferrals,
        deferredMs: Math.round(Number(t.deferred_ms)),
        deferredNowMs: t.deferred_now_ms === null ? null : Math.round(Number(t.deferred_now_ms)),
        claimedBy: t.claimed_by,
        startedAt: iso(t.started_at),
        completedAt: iso(t.completed_at),
      })),
  }));
}
