/**
 * The `signals` and `signal_waits` tables (migration 005): storing a signal for a workflow
 * execution, a waiting task taking one, and the bookkeeping when tasks end. Parameterised
 * through knex bindings, like every statement of the store.
 *
 * A signal goes to a wait one of two ways, whichever comes first, each in one statement:
 * - the wait takes it (`take`): the signal its task took for that wait before, else the oldest
 *   free one of the name; finding none, the wait is registered in `signal_waits`;
 * - the sender gives it (`insert`): the oldest registered wait of the name gets the new signal
 *   at once, and the `NOTIFY` carries the task, the wait and the payload, so the runner holding
 *   the task hands it over with no query of its own.
 * When both statements run at once, neither may see the other: the signal is then stored free
 * and announced, and the announcement makes the waiting runner take it.
 */
import type { Knex } from 'knex';
import type { WorkflowStatus } from './rows.js';
import { channelName } from './listener.js';

/** What became of `insert`: stored, or why not. */
export type SignalInsert =
  | { readonly stored: true }
  | { readonly stored: false; readonly status: WorkflowStatus | null /* null: no such execution */ };

/** A signal announced on the channel (JSON of the `NOTIFY` payload). */
export interface SignalNotice {
  /** The sender's runner id. */
  readonly notifier: string;
  readonly workflowExecutionId: string;
  /** Set when the signal went straight to a registered wait: that wait's task and number. */
  readonly taskExecutionId?: string;
  readonly ordinal?: number;
  readonly name: string;
  /** Whether the payload is in this notice (it is unless its JSON is long). */
  readonly inNotice: boolean;
  /** The signal was sent without a payload. */
  readonly absent: boolean;
  readonly payload?: unknown;
}

/** Payloads longer than this (as JSON) are not put in notifications (PostgreSQL's limit is 8000 bytes). */
const NOTICE_PAYLOAD_BYTES = 6_000;

export class SignalStore {
  /** The channel `NOTIFY` wakes runners on when a signal is stored; null: nobody to wake. */
  readonly channel: string | null;

  constructor(
    readonly knex: Knex,
    readonly schema: string,
    notify: boolean,
  ) {
    this.channel = notify ? signalChannel(schema) : null;
  }

  /**
   * Stores a signal for a running execution, gives it to the oldest registered wait of its
   * name if there is one, and announces it (delivered on commit), all in one statement. Not
   * stored: the execution's status, or null when there is no such execution. (An execution
   * that ends at that very moment keeps the signal untaken, like one no task waited for: no
   * row lock is taken for that, which keeps the statement to its writes.)
   */
  async insert(workflowExecutionId: string, name: string, payload: unknown, notifier: string): Promise<SignalInsert> {
    const s = this.schema;
    const json = payload === undefined ? null : JSON.stringify(payload);
    const result = await this.knex.raw<{ rows: { status: WorkflowStatus | null; stored: boolean }[] }>(
      `WITH w AS (
         SELECT id, status FROM ??.workflow_executions WHERE id = ?
       ), waiter AS (
         DELETE FROM ??.signal_waits
         WHERE task_execution_id = (SELECT r.task_execution_id FROM ??.signal_waits r
                                    WHERE r.workflow_execution_id = ? AND r.name = ?
                                      AND EXISTS (SELECT 1 FROM w WHERE status = 'Running')
                                      AND NOT EXISTS (SELECT 1 FROM ??.signals t
                                                      WHERE t.task_execution_id = r.task_execution_id
                                                        AND t.name = r.name AND t.ordinal = r.ordinal)
                                    ORDER BY r.created_at LIMIT 1 FOR UPDATE SKIP LOCKED)
         RETURNING task_execution_id, ordinal
       ), stored AS (
         INSERT INTO ??.signals (workflow_execution_id, name, payload, task_execution_id, ordinal, delivered_at)
         SELECT w.id, ?, ?::jsonb, waiter.task_execution_id, waiter.ordinal,
                CASE WHEN waiter.task_execution_id IS NULL THEN NULL ELSE now() END
         FROM w LEFT JOIN waiter ON true WHERE w.status = 'Running'
         RETURNING task_execution_id, ordinal
       )
       SELECT (SELECT status FROM w) AS status, EXISTS (SELECT 1 FROM stored) AS stored,
              (SELECT pg_notify(?, json_build_object(
                   'notifier', ?::text, 'workflowExecutionId', ?::text, 'name', ?::text,
                   'taskExecutionId', task_execution_id, 'ordinal', ordinal,
                   'absent', ?::jsonb IS NULL,
                   'inNotice', coalesce(octet_length(?::text), 0) <= ?,
                   'payload', CASE WHEN coalesce(octet_length(?::text), 0) <= ? THEN ?::jsonb END)::text)
               FROM stored WHERE ?::boolean) AS notified`,
      [
        s,
        workflowExecutionId,
        s,
        s,
        workflowExecutionId,
        name,
        s,
        s,
        name,
        json,
        this.channel ?? '',
        notifier,
        workflowExecutionId,
        name,
        json,
        json,
        NOTICE_PAYLOAD_BYTES,
        json,
        NOTICE_PAYLOAD_BYTES,
        json,
        this.channel !== null,
      ],
    );
    const row = result.rows[0];
    if (row?.stored === true) return { stored: true };
    return { stored: false, status: row?.status ?? null };
  }

  /**
   * The signal that answers wait number `ordinal` (0-based, per name) of a task: the one the
   * task took (or was given) for that wait before (an attempt running again finds it), else the
   * oldest free signal of the name in the task's execution, which the task takes now. None:
   * undefined, and the wait is registered, so the next signal of the name comes straight to it.
   *
   * Committed without waiting for the WAL flush (`synchronous_commit` off for this statement's
   * transaction only): a take or registration that a database crash loses leaves the signal
   * free again, to be taken by the same wait when its task runs again.
   */
  async take(
    taskExecutionId: string,
    workflowExecutionId: string,
    name: string,
    ordinal: number,
  ): Promise<{ readonly payload: unknown } | undefined> {
    const s = this.schema;
    const result = await this.knex.raw<{ rows: { payload: unknown; absent: boolean; found: boolean }[] }>(
      `WITH relaxed AS (
         SELECT set_config('synchronous_commit', 'off', true) AS setting
       ), mine AS (
         SELECT payload FROM ??.signals WHERE task_execution_id = ? AND name = ? AND ordinal = ?
       ), fresh AS (
         UPDATE ??.signals SET task_execution_id = ?, ordinal = ?, delivered_at = now()
         WHERE id = (SELECT id FROM ??.signals
                     WHERE workflow_execution_id = ? AND name = ? AND task_execution_id IS NULL
                       AND NOT EXISTS (SELECT 1 FROM mine)
                     ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
         RETURNING payload
       ), found AS (
         SELECT payload FROM mine UNION ALL SELECT payload FROM fresh
       ), unregistered AS (
         DELETE FROM ??.signal_waits WHERE task_execution_id = ? AND EXISTS (SELECT 1 FROM found)
       ), registered AS (
         INSERT INTO ??.signal_waits (task_execution_id, workflow_execution_id, name, ordinal)
         SELECT ?, ?, ?, ? FROM relaxed WHERE NOT EXISTS (SELECT 1 FROM found)
         ON CONFLICT (task_execution_id) DO UPDATE
           SET name = EXCLUDED.name, ordinal = EXCLUDED.ordinal, created_at = now()
       )
       SELECT payload, payload IS NULL AS absent, true AS found FROM found, relaxed
       UNION ALL SELECT NULL, true, false FROM relaxed WHERE NOT EXISTS (SELECT 1 FROM found)`,
      [
        s,
        taskExecutionId,
        name,
        ordinal,
        s,
        taskExecutionId,
        ordinal,
        s,
        workflowExecutionId,
        name,
        s,
        taskExecutionId,
        s,
        taskExecutionId,
        workflowExecutionId,
        name,
        ordinal,
      ],
    );
    const row = result.rows.find((r) => r.found);
    if (row === undefined) return undefined;
    // SQL NULL: the signal was sent without a payload (JSON null is a payload, and stays null).
    return { payload: row.absent ? undefined : row.payload };
  }

  /** Forgets the registered wait of a task that stopped waiting without a signal. */
  async dropWait(taskExecutionId: string): Promise<void> {
    await this.knex.raw('DELETE FROM ??.signal_waits WHERE task_execution_id = ?', [this.schema, taskExecutionId]);
  }

  /**
   * Inside a task's outcome transaction: its signals are consumed, and a wait it left
   * registered (it ended while waiting, or the wait timed out) is forgotten.
   */
  async consume(tx: Knex.Transaction, taskExecutionIds: readonly string[]): Promise<void> {
    if (taskExecutionIds.length === 0) return;
    await tx.raw(
      `WITH consumed AS (
         UPDATE ??.signals SET consumed_at = now()
         WHERE task_execution_id = ANY(?::uuid[]) AND consumed_at IS NULL
       )
       DELETE FROM ??.signal_waits WHERE task_execution_id = ANY(?::uuid[])`,
      [this.schema, [...taskExecutionIds], this.schema, [...taskExecutionIds]],
    );
  }
}

/**
 * A unique violation on `signals_task_wait`: a wait took a free signal as the sender gave it a
 * new one (or a run and its stale twin took one for the same wait). Trying again settles it.
 */
export function isSignalRace(error: unknown): boolean {
  return (error as { code?: unknown }).code === '23505';
}

/** Reads a notification of the signal channel; null for one that is not ours. */
export function parseSignalNotice(text: string): SignalNotice | null {
  try {
    const notice = JSON.parse(text) as Partial<SignalNotice>;
    if (typeof notice.notifier !== 'string' || typeof notice.workflowExecutionId !== 'string') return null;
    if (typeof notice.name !== 'string' || typeof notice.inNotice !== 'boolean') return null;
    return notice as SignalNotice;
  } catch {
    return null;
  }
}

/** The `NOTIFY` channel of one schema's signals. */
export function signalChannel(schema: string): string {
  return channelName('signal', schema);
}
