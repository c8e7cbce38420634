/**
 * Finding executions and forgetting old ones. Listing is newest first by keyset pagination on
 * `(created_at, id)` (migration 008's indexes: no OFFSET, so page 1,000 costs what page 1
 * does); a cursor is the last row's creation time in microseconds (exact: a JavaScript `Date`
 * would round it to milliseconds) and its id. Pruning deletes finished executions in small
 * batches, each its own transaction taking rows no one else has locked, so it never holds up
 * running work; their tasks, events and signals go with them (`ON DELETE CASCADE`).
 */
import type { Knex } from 'knex';
import type { StoredError, WorkflowStatus } from './rows.js';

/** One execution as `list` shows it. */
export interface ExecutionSummary {
  readonly id: string;
  readonly workflowName: string;
  readonly status: WorkflowStatus;
  readonly paused: boolean;
  readonly error: StoredError | null;
  readonly createdAt: Date;
  readonly completedAt: Date | null;
}

/** Where a page starts: just after this row, in list order. */
export interface ListCursor {
  readonly createdMicros: string;
  readonly id: string;
}

export interface ListQuery {
  readonly status: WorkflowStatus | null;
  readonly workflow: string | null;
  readonly limit: number;
  readonly after: ListCursor | null;
}

/** Up to `limit` executions after the cursor, newest first, and the cursor of the next page (null: none). */
export async function listExecutions(
  knex: Knex,
  schema: string,
  query: ListQuery,
): Promise<{ executions: ExecutionSummary[]; next: ListCursor | null }> {
  const select = knex
    .withSchema(schema)
    .table('workflow_executions')
    .select(
      'id',
      'workflow_name',
      'status',
      'paused',
      'error',
      'created_at',
      'completed_at',
      knex.raw('(extract(epoch FROM created_at) * 1000000)::bigint::text AS created_micros'),
    )
    .orderBy([
      { column: 'created_at', order: 'desc' },
      { column: 'id', order: 'desc' },
    ])
    .limit(query.limit + 1);
  if (query.status !== null) void select.where('status', query.status);
  if (query.workflow !== null) void select.where('workflow_name', query.workflow);
  if (query.after !== null) {
    void select.whereRaw(`(created_at, id) < (timestamptz 'epoch' + CAST(? AS bigint) * interval '1 microsecond', ?)`, [
      query.after.createdMicros,
      query.after.id,
    ]);
  }
  const rows = (await select) as {
    id: string;
    workflow_name: string;
    status: WorkflowStatus;
    paused: boolean;
    error: StoredError | null;
    created_at: Date;
    completed_at: Date | null;
    created_micros: string;
  }[];
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  return {
    executions: page.map((r) => ({
      id: r.id,
      workflowName: r.workflow_name,
      status: r.status,
      paused: r.paused,
      error: r.error,
      createdAt: r.created_at,
      completedAt: r.completed_at,
    })),
    next: rows.length > query.limit && last !== undefined ? { createdMicros: last.created_micros, id: last.id } : null,
  };
}

/** How many executions one prune transaction deletes at most. */
export const PRUNE_BATCH = 500;

/**
 * Deletes one batch of executions that ended (in `statuses`) more than `olderThanMs` ago, with
 * everything of theirs; returns how many. `lock`: a transaction-scoped advisory lock to try
 * first (periodic retention: one runner at a time); the batch is skipped (0) if it is taken.
 */
export async function pruneBatch(
  knex: Knex,
  schema: string,
  olderThanMs: number,
  statuses: readonly WorkflowStatus[],
  lock: string | null,
): Promise<number> {
  const result = await knex.raw<{ rows: { n: number }[] }>(
    `WITH allowed AS (
       SELECT CASE WHEN CAST(:lock AS text) IS NULL THEN true
                   ELSE pg_try_advisory_xact_lock(hashtextextended(CAST(:lock AS text), 0)) END AS ok
     ), doomed AS (
       SELECT w.id FROM :schema:.workflow_executions w
       WHERE (SELECT ok FROM allowed) AND w.completed_at IS NOT NULL
         AND w.completed_at < now() - CAST(:olderThanMs AS float8) * interval '1 millisecond'
         AND w.status = ANY(CAST(:statuses AS text[])) AND w.status <> 'Running'
       -- Oldest first, by the index on (status, created_at): an execution ends after it starts.
       ORDER BY w.created_at
       LIMIT :batch
       FOR UPDATE SKIP LOCKED
     ), deleted AS (
       DELETE FROM :schema:.workflow_executions w USING doomed WHERE w.id = doomed.id RETURNING 1
     )
     SELECT count(*)::int AS n FROM deleted`,
    { schema, lock, olderThanMs, statuses: [...statuses], batch: PRUNE_BATCH },
  );
  return result.rows[0]?.n ?? 0;
}

/** Runs prune batches until one is not full (or `stopped` says so); how many were deleted in all. */
export async function pruneAll(batch: () => Promise<number>, stopped: () => boolean = () => false): Promise<number> {
  let deleted = 0;
  for (;;) {
    const n = await batch();
    deleted += n;
    if (n < PRUNE_BATCH || stopped()) return deleted;
  }
}
