/**
 * The data access layer of the persisted runner: every SQL statement it runs, parameterised
 * through knex bindings, against tables in one validated schema. No workflow logic here: the
 * scheduler decides, this module reads and writes.
 */
import type { Knex } from 'knex';
import type {
  TaskSubStatus,
  WorkflowStatus,
  WorkflowRow,
  TaskRow,
  ClaimedTask,
  SlimTask,
  StoredError,
  EventRow,
  TaskUpdate,
  NewTaskRow,
  NewWorkflowRow,
} from './rows.js';
import { virtualTimeSql } from './fair-tags.js';
import { channelName } from './listener.js';

export class Store {
  /** The channel `NOTIFY` wakes runners on when tasks become Ready; null: nobody to wake. */
  readonly channel: string | null;

  /**
   * @param notify Whether transitions that make tasks Ready send a `NOTIFY` (PostgreSQL, where
   *   other processes may be listening; not the embedded database, which has one process).
   */
  constructor(
    readonly knex: Knex,
    readonly schema: string,
    notify = true,
  ) {
    this.channel = notify ? readyChannel(schema) : null;
  }

  transaction<T>(work: (tx: Knex.Transaction) => Promise<T>): Promise<T> {
    return this.knex.transaction(work);
  }

  #table(db: Knex | Knex.Transaction, table: string): Knex.QueryBuilder {
    return db.withSchema(this.schema).table(table);
  }

  /** Inserts a workflow execution unless one with its id exists; returns whether it did. */
  async insertWorkflow(tx: Knex.Transaction, row: NewWorkflowRow & Pick<WorkflowRow, 'status'>): Promise<boolean> {
    // Skipped on any conflict: its id (a retried write) or its idempotency key (started before).
    const inserted = await this.#table(tx, 'workflow_executions')
      .insert({ ...row, input: JSON.stringify(row.input) })
      .onConflict()
      .ignore()
      .returning('id');
    return inserted.length > 0;
  }

  async insertTasks(tx: Knex.Transaction, rows: readonly (NewTaskRow & { completed_at?: unknown })[]): Promise<void> {
    await this.#table(tx, 'task_executions').insert(
      rows.map((row) => ({
        ...row,
        limits: tx.raw('CAST(? AS text[])', [[...row.limits]]),
        dependencies: tx.raw('CAST(? AS text[])', [[...row.dependencies]]),
        fair_tag: row.fair_tag ?? tx.raw(`(${virtualTimeSql(this.schema)})`),
      })),
    );
  }

  /**
   * Inserts workflow executions, their tasks and their first events in one statement (atomic on
   * its own, so no transaction round trips): the common start of workflows. An execution whose
   * id exists already is skipped with its tasks and events (a retried write that had landed).
   */
  async insertExecutions(
    workflows: readonly NewWorkflowRow[],
    tasks: readonly NewTaskRow[],
    events: readonly EventRow[],
    notifier: string,
  ): Promise<string[]> {
    const s = this.schema;
    // Returns the ids written: an execution is skipped on a conflict of its id (a retried write
    // that had landed) or of its idempotency key (started before).
    const result = await this.knex.raw<{ rows: { inserted: string[] | null }[] }>(
      `WITH w AS (
         INSERT INTO ??.workflow_executions (id, workflow_name, status, input, open_tasks, priority, idempotency_key)
         SELECT id, workflow_name, 'Running', input, open_tasks, priority, idempotency_key
         FROM unnest(?::uuid[], ?::text[], ?::jsonb[], ?::int[], ?::int[], ?::text[])
           AS x(id, workflow_name, input, open_tasks, priority, idempotency_key)
         ON CONFLICT DO NOTHING
         RETURNING id
       ), clock AS (
         SELECT ${virtualTimeSql(s)} AS now
       ), x AS (
         SELECT * FROM unnest(?::uuid[], ?::uuid[], ?::text[], ?::text[], ?::text[], ?::int[], ?::int[], ?::jsonb[],
                              ?::text[], ?::int[], ?::boolean[], ?::int[], ?::jsonb[]) WITH ORDINALITY
           AS x(id, workflow_execution_id, workflow_name, task_id, status, max_attempts, slots, limits,
                concurrency_key, per_key_limit, per_key_include_deferred, priority, dependencies, ord)
         WHERE x.workflow_execution_id IN (SELECT id FROM w)
       ), keyed AS (
         SELECT task_id, concurrency_key, count(*)::bigint AS n FROM x
         WHERE concurrency_key IS NOT NULL GROUP BY task_id, concurrency_key
       ), moved AS (
         UPDATE ??.fair_clock SET now = (SELECT now FROM clock)
         WHERE id = 1 AND now < (SELECT now FROM clock) AND EXISTS (SELECT 1 FROM keyed)
       ), bumped AS (
         -- Each key's last tag moves on by its tasks here (see fair-tags.ts); its row stays
         -- locked to the commit, so two starts of one key take turns and never share a tag.
         INSERT INTO ??.fair_keys AS f (task_id, concurrency_key, last_tag)
         SELECT task_id, concurrency_key, (SELECT now FROM clock) + n - 1 FROM keyed
         ON CONFLICT (task_id, concurrency_key) DO UPDATE
           SET last_tag = GREATEST(f.last_tag + 1, (SELECT now FROM clock)) + (EXCLUDED.last_tag - (SELECT now FROM clock))
         RETURNING f.task_id, f.concurrency_key, f.last_tag
       ), t AS (
         INSERT INTO ??.task_executions (id, workflow_execution_id, workflow_name, task_id, status, max_attempts,
           slots, limits, concurrency_key, per_key_limit, per_key_include_deferred, priority, dependencies, fair_tag)
         SELECT x.id, x.workflow_execution_id, x.workflow_name, x.task_id, x.status, x.max_attempts, x.slots,
           ARRAY(SELECT jsonb_array_elements_text(x.limits)), x.concurrency_key, x.per_key_limit,
           x.per_key_include_deferred, x.priority, ARRAY(SELECT jsonb_array_elements_text(x.dependencies)),
           CASE WHEN x.concurrency_key IS NULL THEN (SELECT now FROM clock)
                ELSE b.last_tag - k.n + row_number() OVER (PARTITION BY x.task_id, x.concurrency_key ORDER BY x.ord) END
         FROM x
         LEFT JOIN bumped b ON b.task_id = x.task_id AND b.concurrency_key = x.concurrency_key
         LEFT JOIN keyed k ON k.task_id = x.task_id AND k.concurrency_key = x.concurrency_key
       ), e AS (
         INSERT INTO ??.execution_events (workflow_execution_id, task_execution_id, event_type)
         SELECT * FROM unnest(?::uuid[], ?::uuid[], ?::text[]) AS x(workflow_execution_id, task_execution_id, event_type)
         WHERE x.workflow_execution_id IN (SELECT id FROM w)
       )
       SELECT (SELECT array_agg(id)::text[] FROM w) AS inserted,
              (SELECT pg_notify(?, ?) WHERE ?::boolean AND EXISTS (SELECT 1 FROM w)) AS notified`,
      [
        s,
        workflows.map((w) => w.id),
        workflows.map((w) => w.workflow_name),
        workflows.map((w) => JSON.stringify(w.input)),
        workflows.map((w) => w.open_tasks),
        workflows.map((w) => w.priority),
        workflows.map((w) => w.idempotency_key) as Knex.Value,
        tasks.map((t) => t.id),
        tasks.map((t) => t.workflow_execution_id),
        tasks.map((t) => t.workflow_name),
        tasks.map((t) => t.task_id),
        tasks.map((t) => t.status),
        tasks.map((t) => t.max_attempts),
        tasks.map((t) => t.slots),
        tasks.map((t) => JSON.stringify(t.limits)),
        tasks.map((t) => t.concurrency_key) as Knex.Value,
        tasks.map((t) => t.per_key_limit) as Knex.Value,
        tasks.map((t) => t.per_key_include_deferred),
        tasks.map((t) => t.priority),
        tasks.map((t) => JSON.stringify(t.dependencies)),
        s,
        s,
        s,
        s,
        events.map((e) => e.workflow_execution_id),
        events.map((e) => e.task_execution_id ?? null) as Knex.Value,
        events.map((e) => e.event_type),
        this.channel ?? '',
        notifier,
        this.channel !== null && tasks.some((t) => t.status === 'Ready'),
      ],
    );
    return result.rows[0]?.inserted ?? [];
  }

  /** The executions started with these idempotency keys, by `workflowName NUL key`. */
  async idsByIdempotencyKey(keys: readonly { workflowName: string; key: string }[]): Promise<Map<string, string>> {
    if (keys.length === 0) return new Map();
    const result = await this.knex.raw<{ rows: { workflow_name: string; idempotency_key: string; id: string }[] }>(
      `SELECT w.workflow_name, w.idempotency_key, w.id
       FROM unnest(?::text[], ?::text[]) AS k(workflow_name, idempotency_key)
       JOIN ??.workflow_executions w ON w.workflow_name = k.workflow_name AND w.idempotency_key = k.idempotency_key`,
      [keys.map((k) => k.workflowName), keys.map((k) => k.key), this.schema],
    );
    return new Map(result.rows.map((r) => [`${r.workflow_name}\0${r.idempotency_key}`, r.id]));
  }

  /**
   * Wakes the runners listening for Ready tasks (delivered when `tx` commits; PostgreSQL folds
   * identical notifications of one transaction into one). `notifier` is the sender's runner
   * id, so that it can ignore its own.
   */
  async notifyReady(tx: Knex.Transaction, notifier: string): Promise<void> {
    if (this.channel !== null) await tx.raw('SELECT pg_notify(?, ?)', [this.channel, notifier]);
  }

  async insertEvents(db: Knex | Knex.Transaction, events: readonly EventRow[]): Promise<void> {
    if (events.length === 0) return;
    await this.#table(db, 'execution_events').insert(
      events.map((e) => ({
        workflow_execution_id: e.workflow_execution_id,
        task_execution_id: e.task_execution_id ?? null,
        event_type: e.event_type,
        data: e.data === undefined ? null : JSON.stringify(e.data),
      })),
    );
  }

  /**
   * Claims up to `limit` Ready tasks that are due, of workflows this runner knows, and marks
   * them Running/Active, moving each one's fencing token on. `SKIP LOCKED` lets several
   * claimers run at once without waiting on each other or claiming one task twice. A runner
   * whose lease has less than `leaseMarginMs` left claims nothing: the sweeper may soon take its
   * claims away. Tasks in `exclude` (this runner's runs still stopping) are not claimed.
   */
  async claimReady(
    limit: number,
    workflowNames: readonly string[],
    runnerId: string,
    options: { readonly leaseMarginMs?: number; readonly exclude?: readonly string[] } = {},
  ): Promise<ClaimedTask[]> {
    if (limit <= 0 || workflowNames.length === 0) return [];
    // One statement: pick, mark Running/Active and log `task_started` for each claimed task.
    // For tasks that need nothing but one slot each; `claim.ts` claims those with needs.
    const result = await this.knex.raw<{ rows: ClaimedTask[] }>(
      `WITH due AS (
         SELECT t.id FROM :schema:.task_executions t
         WHERE t.status = 'Ready' AND (t.retry_at IS NULL OR t.retry_at <= now())
           AND t.workflow_name = ANY(:workflowNames) AND t.id <> ALL(CAST(:exclude AS uuid[]))
           AND EXISTS (SELECT 1 FROM :schema:.runners r
                       WHERE r.id = :runnerId AND r.lease_expires_at > now() + :leaseMarginMs * interval '1 millisecond')
         ORDER BY t.priority DESC, t.fair_tag, t.id
         LIMIT :limit
         FOR UPDATE OF t SKIP LOCKED
       ), claimed AS (
         UPDATE :schema:.task_executions t
         SET status = 'Running', sub_status = 'Active', attempt = t.attempt + 1, retry_at = NULL,
             claimed_by = :runnerId, claim_token = t.claim_token + 1, started_at = now(), updated_at = now()
         FROM due, :schema:.workflow_executions w
         WHERE t.id = due.id AND w.id = t.workflow_execution_id
         RETURNING t.id, t.workflow_execution_id, t.task_id, t.attempt, t.claim_token::text AS claim_token,
                   w.workflow_name, w.input AS workflow_input, t.slots, t.limits, t.concurrency_key,
                   t.per_key_limit, t.per_key_include_deferred
       ), logged AS (
         INSERT INTO :schema:.execution_events (workflow_execution_id, task_execution_id, event_type, data)
         SELECT workflow_execution_id, id, 'task_started', jsonb_build_object('attempt', attempt) FROM claimed
       )
       SELECT * FROM claimed ORDER BY id`,
      {
        schema: this.schema,
        workflowNames: [...workflowNames],
        exclude: [...(options.exclude ?? [])],
        runnerId,
        leaseMarginMs: options.leaseMarginMs ?? 0,
        limit,
      },
    );
    return result.rows;
  }

  /**
   * Locks a workflow's row for the rest of the transaction (its task transitions serialise on
   * it) and reads one of its tasks, in one statement.
   */
  async lockWorkflowTask(
    tx: Knex.Transaction,
    workflowExecutionId: string,
    taskExecutionId: string,
  ): Promise<{ input: Record<string, unknown>; paused: boolean; task: SlimTask } | undefined> {
    const s = this.schema;
    const result = await tx.raw<{ rows: (SlimTask & { workflow_input: Record<string, unknown>; paused: boolean })[] }>(
      `SELECT w.input AS workflow_input, w.paused, t.id, t.task_id, t.status, t.attempt, t.claim_token::text AS claim_token, t.recovery_attempts,
              NULL AS output
       FROM ??.workflow_executions w JOIN ??.task_executions t ON t.workflow_execution_id = w.id
       WHERE w.id = ? AND t.id = ?
       FOR UPDATE OF w`,
      [s, s, workflowExecutionId, taskExecutionId],
    );
    const row = result.rows[0];
    return row === undefined ? undefined : { input: row.workflow_input, paused: row.paused, task: row };
  }

  /** Locks several workflows' rows, in id order (so two batches never deadlock); their inputs and states. */
  async lockWorkflows(
    tx: Knex.Transaction,
    ids: readonly string[],
  ): Promise<Map<string, { input: Record<string, unknown>; status: WorkflowStatus; paused: boolean }>> {
    const result = await tx.raw<{
      rows: { id: string; input: Record<string, unknown>; status: WorkflowStatus; paused: boolean }[];
    }>(`SELECT id, input, status, paused FROM ??.workflow_executions WHERE id = ANY(?) ORDER BY id FOR UPDATE`, [
      this.schema,
      [...ids],
    ]);
    return new Map(result.rows.map((r) => [r.id, r]));
  }

  /**
   * Status, attempt and fencing token of tasks, by task execution id, locked for the rest of
   * the transaction (in id order; callers lock the tasks' workflows first).
   */
  async taskStates(tx: Knex.Transaction, ids: readonly string[]): Promise<Map<string, SlimTask>> {
    const result = await tx.raw<{ rows: SlimTask[] }>(
      `SELECT id, task_id, status, attempt, claim_token::text AS claim_token, recovery_attempts, NULL AS output
       FROM ??.task_executions WHERE id = ANY(?) ORDER BY id FOR UPDATE`,
      [this.schema, [...ids]],
    );
    return new Map(result.rows.map((r) => [r.id, r]));
  }

  /**
   * Marks Running tasks Completed with their outputs and deferral figures, in one statement;
   * a row whose fencing token moved on is left alone.
   */
  async completeTasks(
    tx: Knex.Transaction,
    rows: readonly { id: string; claim_token: string; output: unknown; deferrals: number; deferred_ms: number }[],
  ): Promise<void> {
    if (rows.length === 0) return;
    await tx.raw(
      `UPDATE ??.task_executions t
       SET status = 'Completed', sub_status = NULL, claimed_by = NULL, output = d.output,
           deferrals = d.deferrals, deferred_ms = d.deferred_ms, completed_at = now(), updated_at = now()
       FROM unnest(?::uuid[], ?::bigint[], ?::jsonb[], ?::int[], ?::float8[])
            AS d(id, claim_token, output, deferrals, deferred_ms)
       WHERE t.id = d.id AND t.status = 'Running' AND t.claim_token = d.claim_token`,
      [
        this.schema,
        rows.map((r) => r.id),
        rows.map((r) => r.claim_token),
        // SQL NULL for a task that returned nothing; JSON text otherwise (JSON null included).
        rows.map((r) => (r.output === undefined ? null : JSON.stringify(r.output))) as Knex.Value,
        rows.map((r) => r.deferrals),
        rows.map((r) => r.deferred_ms),
      ],
    );
  }

  /** `countEnded` for several workflows in one statement; their counters after. */
  async countEndedMany(
    tx: Knex.Transaction,
    counts: readonly { id: string; ended: number; failed: number }[],
  ): Promise<Map<string, { open_tasks: number; failed_tasks: number }>> {
    if (counts.length === 0) return new Map();
    const result = await tx.raw<{ rows: { id: string; open_tasks: number; failed_tasks: number }[] }>(
      `UPDATE ??.workflow_executions w
       SET open_tasks = w.open_tasks - d.ended, failed_tasks = w.failed_tasks + d.failed
       FROM unnest(?::uuid[], ?::int[], ?::int[]) AS d(id, ended, failed)
       WHERE w.id = d.id
       RETURNING w.id, w.open_tasks, w.failed_tasks`,
      [this.schema, counts.map((c) => c.id), counts.map((c) => c.ended), counts.map((c) => c.failed)],
    );
    return new Map(result.rows.map((r) => [r.id, r]));
  }

  /** Outputs of the Completed tasks of several workflows. */
  async completedOutputsMany(
    tx: Knex.Transaction,
    ids: readonly string[],
  ): Promise<{ workflow_execution_id: string; task_id: string; output: unknown }[]> {
    if (ids.length === 0) return [];
    const result = await tx.raw<{ rows: { workflow_execution_id: string; task_id: string; output: unknown }[] }>(
      `SELECT workflow_execution_id, task_id, output FROM ??.task_executions
       WHERE workflow_execution_id = ANY(?) AND status = 'Completed'`,
      [this.schema, [...ids]],
    );
    return result.rows;
  }

  /** Slim rows of some tasks of a workflow, by task id; outputs only of Completed ones. */
  async slimTasks(
    db: Knex | Knex.Transaction,
    workflowExecutionId: string,
    taskIds: readonly string[],
  ): Promise<SlimTask[]> {
    if (taskIds.length === 0) return [];
    const s = this.schema;
    const result = await db.raw<{ rows: SlimTask[] }>(
      `SELECT id, task_id, status, attempt, claim_token::text AS claim_token, recovery_attempts,
              CASE WHEN status = 'Completed' THEN output END AS output
       FROM ??.task_executions WHERE workflow_execution_id = ? AND task_id = ANY(?)`,
      [s, workflowExecutionId, [...taskIds]],
    );
    return result.rows;
  }

  /** Marks tasks Ready or Skipped in one statement. */
  async setStatuses(
    tx: Knex.Transaction,
    ids: readonly string[],
    status: 'Ready' | 'Paused' | 'Skipped',
  ): Promise<void> {
    if (ids.length === 0) return;
    const values: Record<string, unknown> = { status, sub_status: null, updated_at: this.knex.fn.now() };
    if (status === 'Skipped') values.completed_at = this.knex.fn.now();
    await this.#table(tx, 'task_executions')
      .whereIn('id', [...ids])
      .update(values);
  }

  /**
   * Applies a task update to a Running task, only while its fencing token is still `claimToken`
   * (a write about a claim that was lost or already settled changes nothing); returns whether
   * it changed the row.
   */
  async updateTask(db: Knex | Knex.Transaction, id: string, update: TaskUpdate, claimToken: string): Promise<boolean> {
    const values: Record<string, unknown> = {
      status: update.status,
      sub_status: update.sub_status ?? null,
      updated_at: this.knex.fn.now(),
    };
    if (update.output !== undefined) values.output = JSON.stringify(update.output);
    if (update.error !== undefined) values.error = update.error === null ? null : JSON.stringify(update.error);
    if (update.retryInMs !== undefined) {
      values.retry_at =
        update.retryInMs === null ? null : this.knex.raw(`now() + (? * interval '1 millisecond')`, [update.retryInMs]);
    }
    if (update.completed === true) values.completed_at = this.knex.fn.now();
    if (update.deferrals !== undefined) values.deferrals = update.deferrals;
    if (update.deferred_ms !== undefined) values.deferred_ms = update.deferred_ms;
    if (update.recovery_attempts !== undefined) values.recovery_attempts = update.recovery_attempts;
    if (update.status !== 'Running') values.claimed_by = null;
    const changed = await this.#table(db, 'task_executions')
      .where({ id, status: 'Running', claim_token: claimToken })
      .update(values);
    return Number(changed) > 0;
  }

  /**
   * Sets the Running sub-state of a claimed task and logs `event`, in one statement; returns
   * false, changing nothing, if the claim was lost (the token moved on or the task left Running).
   */
  async setSubStatus(id: string, claimToken: string, subStatus: TaskSubStatus, event: EventRow): Promise<boolean> {
    const s = this.schema;
    const result = await this.knex.raw<{ rows: { id: string }[] }>(
      `WITH changed AS (
         UPDATE ??.task_executions SET sub_status = ?, updated_at = now()
         WHERE id = ? AND status = 'Running' AND claim_token = ?
         RETURNING id, workflow_execution_id
       ), logged AS (
         INSERT INTO ??.execution_events (workflow_execution_id, task_execution_id, event_type)
         SELECT workflow_execution_id, id, ? FROM changed
       )
       SELECT id FROM changed`,
      [s, subStatus, id, claimToken, s, event.event_type],
    );
    return result.rows.length > 0;
  }

  /**
   * Gives claims back unfinished (a runner shutting down, or unsure it still holds its lease):
   * each task whose token is still the given one goes back to Ready with its attempt uncounted,
   * logs `task_released`, and wakes the runners. Returns the ids it released.
   */
  async releaseClaims(claims: readonly { id: string; claim_token: string }[], notifier: string): Promise<string[]> {
    if (claims.length === 0) return [];
    const s = this.schema;
    return this.transaction(async (tx) => {
      const result = await tx.raw<{ rows: { id: string }[] }>(
        `WITH released AS (
           UPDATE ??.task_executions t
           SET status = CASE WHEN w.paused THEN 'Paused' ELSE 'Ready' END, sub_status = NULL, claimed_by = NULL,
               attempt = t.attempt - 1, updated_at = now()
           FROM unnest(?::uuid[], ?::bigint[]) AS d(id, claim_token), ??.workflow_executions w
           WHERE t.id = d.id AND t.status = 'Running' AND t.claim_token = d.claim_token AND w.id = t.workflow_execution_id
           RETURNING t.id, t.workflow_execution_id
         ), logged AS (
           INSERT INTO ??.execution_events (workflow_execution_id, task_execution_id, event_type)
           SELECT workflow_execution_id, id, 'task_released' FROM released
         )
         SELECT id FROM released`,
        [s, claims.map((c) => c.id), claims.map((c) => c.claim_token), s, s],
      );
      if (result.rows.length > 0) await this.notifyReady(tx, notifier);
      return result.rows.map((r) => r.id);
    });
  }

  /** Ends several workflows in one statement (each only if still Running: not if it was cancelled). */
  async finishWorkflows(
    tx: Knex.Transaction,
    endings: readonly {
      id: string;
      status: 'Completed' | 'Failed';
      output: Record<string, unknown>;
      error: StoredError | null;
    }[],
  ): Promise<void> {
    if (endings.length === 0) return;
    await tx.raw(
      `UPDATE ??.workflow_executions w
       SET status = d.status, output = d.output, error = d.error, completed_at = now()
       FROM unnest(?::uuid[], ?::text[], ?::jsonb[], ?::jsonb[]) AS d(id, status, output, error)
       WHERE w.id = d.id AND w.status = 'Running'`,
      [
        this.schema,
        endings.map((e) => e.id),
        endings.map((e) => e.status),
        endings.map((e) => JSON.stringify(e.output)),
        endings.map((e) => (e.error === null ? null : JSON.stringify(e.error))) as Knex.Value,
      ],
    );
  }

  /** A workflow execution with all its tasks, in one query (tasks in creation order). */
  async workflowWithTasks(id: string): Promise<{ workflow: WorkflowRow; tasks: TaskRow[] } | undefined> {
    const s = this.schema;
    const result = await this.knex.raw<{ rows: (WorkflowRow & { tasks: TaskRow[] })[] }>(
      `SELECT w.id, w.workflow_name, w.status, w.paused, w.input, w.output, w.error, w.created_at, w.completed_at,
              COALESCE((SELECT json_agg(t ORDER BY t.id) FROM ??.task_executions t
                        WHERE t.workflow_execution_id = w.id), '[]') AS tasks
       FROM ??.workflow_executions w WHERE w.id = ?`,
      [s, s, id],
    );
    const row = result.rows[0];
    if (row === undefined) return undefined;
    // json_agg gives timestamps as text: give them back their type.
    const date = (value: unknown): Date | null =>
      value === null || value === undefined ? null : new Date(value as string);
    const tasks = row.tasks.map((t) => ({ ...t, started_at: date(t.started_at), completed_at: date(t.completed_at) }));
    return { workflow: row, tasks };
  }

  /** Ids among `ids` of workflow executions that have ended. */
  async endedAmong(ids: readonly string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const result = await this.knex.raw<{ rows: { id: string }[] }>(
      `SELECT id FROM ??.workflow_executions WHERE id = ANY(?) AND status <> 'Running'`,
      [this.schema, [...ids]],
    );
    const rows = result.rows;
    return rows.map((r) => r.id);
  }
}

/** The `NOTIFY` channel of one schema's Ready tasks. */
export function readyChannel(schema: string): string {
  return channelName('ready', schema);
}
