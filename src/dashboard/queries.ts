/**
 * What the dashboard reads, with plain SELECTs on the tables of migrations/ (see
 * docs/reference/database-schema.md): it never writes, takes no lock and creates nothing, so it
 * can be pointed at a production schema. Listing reuses the store's keyset pagination.
 * JSON columns (inputs, outputs) come back as text cut at PREVIEW_CHARS: a task's output may be
 * megabytes, and the page shows a preview of it.
 */
import type { Knex } from 'knex';
import { MIGRATIONS } from '../store/migrate.js';
import { type ExecutionSummary, type ListQuery, listExecutions } from '../store/history.js';
import type { StoredError, TaskStatus, TaskSubStatus, WorkflowStatus } from '../store/rows.js';
import { ScheduleStore } from '../store/schedules.js';
import { type ScheduleInfo, toScheduleInfo } from '../runner/schedule-options.js';

/** How much of a JSON value the page is sent. */
export const PREVIEW_CHARS = 4_000;
/** The most events one execution's page reads (a long retrying run may write many). */
export const MAX_EVENTS = 20_000;

/** A JSON value as text, cut to PREVIEW_CHARS. */
export interface JsonPreview {
  readonly text: string;
  readonly truncated: boolean;
}

/**
 * Why the schema cannot be shown (no slotwise tables, or migrations this version needs not
 * applied yet), or null when it can. Reads only: `migrationStatus` would create the schema.
 */
export async function schemaProblem(knex: Knex, schema: string): Promise<string | null> {
  const { rows } = await knex.raw<{ rows: { present: boolean }[] }>('SELECT to_regclass(?) IS NOT NULL AS present', [
    `"${schema}".slotwise_migrations`,
  ]);
  if (rows[0]?.present !== true) return 'has no slotwise tables';
  const applied = new Set(
    (await knex.withSchema(schema).table('slotwise_migrations').select<{ name: string }[]>('name')).map((r) => r.name),
  );
  const pending = MIGRATIONS.map((m) => m.name).filter((name) => !applied.has(name));
  return pending.length === 0 ? null : `is not migrated to this version (pending: ${pending.join(', ')})`;
}

export interface ExecutionListItem extends ExecutionSummary {
  /** How many of its tasks are in each state. */
  readonly tasks: Partial<Record<TaskStatus, number>>;
}

/** A page of executions (newest first), each with its tasks counted by state. */
export async function listWithCounts(
  knex: Knex,
  schema: string,
  query: ListQuery,
): Promise<{ executions: ExecutionListItem[]; next: Awaited<ReturnType<typeof listExecutions>>['next'] }> {
  const page = await listExecutions(knex, schema, query);
  if (page.executions.length === 0) return { executions: [], next: page.next };
  const { rows } = await knex.raw<{ rows: { id: string; status: TaskStatus; n: number }[] }>(
    `SELECT workflow_execution_id AS id, status, count(*)::int AS n FROM ??.task_executions
     WHERE workflow_execution_id = ANY(?::uuid[]) GROUP BY 1, 2`,
    [schema, page.executions.map((e) => e.id)],
  );
  const counts = new Map<string, Partial<Record<TaskStatus, number>>>();
  for (const row of rows) counts.set(row.id, { ...counts.get(row.id), [row.status]: row.n });
  return { executions: page.executions.map((e) => ({ ...e, tasks: counts.get(e.id) ?? {} })), next: page.next };
}

export interface ExecutionInfo {
  readonly id: string;
  readonly workflowName: string;
  readonly status: WorkflowStatus;
  readonly paused: boolean;
  readonly priority: number;
  readonly input: JsonPreview;
  readonly output: JsonPreview | null;
  readonly error: StoredError | null;
  readonly createdAt: Date;
  readonly completedAt: Date | null;
}

export interface TaskInfo {
  readonly id: string;
  readonly taskId: string;
  readonly status: TaskStatus;
  readonly subStatus: TaskSubStatus | null;
  readonly attempt: number;
  readonly maxAttempts: number;
  readonly recoveryAttempts: number;
  readonly retryAt: Date | null;
  readonly deferrals: number;
  readonly deferredMs: number;
  readonly slots: number;
  readonly claimedBy: string | null;
  readonly dependencies: readonly string[];
  readonly output: JsonPreview | null;
  readonly error: StoredError | null;
  readonly startedAt: Date | null;
  readonly completedAt: Date | null;
}

export interface EventInfo {
  readonly id: string;
  readonly taskExecutionId: string | null;
  readonly type: string;
  readonly data: unknown;
  readonly at: Date;
}

export interface ExecutionDetail {
  readonly execution: ExecutionInfo;
  /** In creation order (ids are time-ordered). */
  readonly tasks: readonly TaskInfo[];
  /** In the order they were written; at most MAX_EVENTS of the first ones. */
  readonly events: readonly EventInfo[];
  readonly eventsTruncated: boolean;
  /** The database's clock when this was read: where a running span ends. */
  readonly now: Date;
}

const preview = (text: string | null, length: number | null): JsonPreview | null =>
  text === null ? null : { text, truncated: (length ?? 0) > text.length };

/** One execution with its tasks and events; undefined when there is none of that id. */
export async function readExecution(knex: Knex, schema: string, id: string): Promise<ExecutionDetail | undefined> {
  const { rows: executions } = await knex.raw<{
    rows: {
      id: string;
      workflow_name: string;
      status: WorkflowStatus;
      paused: boolean;
      priority: number;
      input: string;
      input_length: number;
      output: string | null;
      output_length: number | null;
      error: StoredError | null;
      created_at: Date;
      completed_at: Date | null;
      now: Date;
    }[];
  }>(
    `SELECT id, workflow_name, status, paused, priority, left(input::text, :n) AS input,
            length(input::text) AS input_length, left(output::text, :n) AS output,
            length(output::text) AS output_length, error, created_at, completed_at, now() AS now
     FROM :schema:.workflow_executions WHERE id = :id`,
    { schema, id, n: PREVIEW_CHARS },
  );
  const w = executions[0];
  if (w === undefined) return undefined;
  const { rows: tasks } = await knex.raw<{
    rows: (Omit<TaskInfo, 'output' | 'deferredMs'> & {
      output: string | null;
      output_length: number | null;
      deferredMs: number | string;
    })[];
  }>(
    `SELECT id, task_id AS "taskId", status, sub_status AS "subStatus", attempt, max_attempts AS "maxAttempts",
            recovery_attempts AS "recoveryAttempts", retry_at AS "retryAt", deferrals, deferred_ms AS "deferredMs",
            slots, claimed_by AS "claimedBy", dependencies, left(output::text, :n) AS output,
            length(output::text) AS output_length, error, started_at AS "startedAt", completed_at AS "completedAt"
     FROM :schema:.task_executions WHERE workflow_execution_id = :id ORDER BY id`,
    { schema, id, n: PREVIEW_CHARS },
  );
  const { rows: events } = await knex.raw<{ rows: EventInfo[] }>(
    // ORDER BY e.id, the bigint: a bare `id` would name the output column, its text, and put 10 before 9.
    `SELECT e.id::text AS id, e.task_execution_id AS "taskExecutionId", e.event_type AS type, e.data,
            e.created_at AS at
     FROM :schema:.execution_events e WHERE e.workflow_execution_id = :id ORDER BY e.id LIMIT :limit`,
    { schema, id, limit: MAX_EVENTS + 1 },
  );
  return {
    execution: {
      id: w.id,
      workflowName: w.workflow_name,
      status: w.status,
      paused: w.paused,
      priority: w.priority,
      input: preview(w.input, w.input_length) ?? { text: '', truncated: false },
      output: preview(w.output, w.output_length),
      error: w.error,
      createdAt: w.created_at,
      completedAt: w.completed_at,
    },
    tasks: tasks.map(({ output, output_length, ...t }) => ({
      ...t,
      deferredMs: Math.round(Number(t.deferredMs)),
      output: preview(output, output_length),
    })),
    events: events.slice(0, MAX_EVENTS),
    eventsTruncated: events.length > MAX_EVENTS,
    now: w.now,
  };
}

export interface RunnerInfo {
  readonly id: string;
  readonly host: string;
  readonly pid: number;
  /** Its `maxConcurrentTasks`; null for a runner of a version before migration 009. */
  readonly maxSlots: number | null;
  /** Slots held by its Active tasks (a task may weigh more than one). */
  readonly slotsInUse: number;
  readonly activeTasks: number;
  readonly deferredTasks: number;
  /** Whether its lease is still unexpired, by the database's clock. */
  readonly live: boolean;
  /** Ms since its last heartbeat renewed the lease. */
  readonly leaseAgeMs: number;
  /** Ms until the lease expires (negative: expired, not yet swept). */
  readonly leaseLeftMs: number;
  readonly startedAt: Date;
  readonly heartbeatAt: Date;
}

/** Every runner row, with what its tasks hold now; times by the database's clock. */
export async function readRunners(knex: Knex, schema: string): Promise<RunnerInfo[]> {
  // Running tasks only: the partial index on (claimed_by) WHERE status = 'Running' serves it.
  const { rows } = await knex.raw<{ rows: (RunnerInfo & { leaseAgeMs: number; leaseLeftMs: number })[] }>(
    `SELECT r.id, r.host, r.pid, r.max_slots AS "maxSlots", r.started_at AS "startedAt",
            r.heartbeat_at AS "heartbeatAt", r.lease_expires_at > now() AS live,
            (extract(epoch FROM now() - r.heartbeat_at) * 1000)::float8 AS "leaseAgeMs",
            (extract(epoch FROM r.lease_expires_at - now()) * 1000)::float8 AS "leaseLeftMs",
            coalesce(u.slots, 0)::int AS "slotsInUse", coalesce(u.active, 0)::int AS "activeTasks",
            coalesce(u.deferred, 0)::int AS "deferredTasks"
     FROM :schema:.runners r
     LEFT JOIN (
       SELECT claimed_by, sum(slots) FILTER (WHERE sub_status = 'Active') AS slots,
              count(*) FILTER (WHERE sub_status = 'Active') AS active,
              count(*) FILTER (WHERE sub_status = 'Deferred') AS deferred
       FROM :schema:.task_executions WHERE status = 'Running' GROUP BY claimed_by
     ) u ON u.claimed_by = r.id
     ORDER BY r.started_at, r.id`,
    { schema },
  );
  return rows.map((r) => ({ ...r, leaseAgeMs: Math.round(r.leaseAgeMs), leaseLeftMs: Math.round(r.leaseLeftMs) }));
}

/** Every schedule, by name, as `runner.schedules()` gives them. */
export async function readSchedules(knex: Knex, schema: string): Promise<ScheduleInfo[]> {
  return (await new ScheduleStore(knex, schema).all()).map(toScheduleInfo);
}
