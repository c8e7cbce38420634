/**
 * The `signals` table (migration 005): storing a signal for a workflow execution, a waiting
 * task taking one, and marking a finished task's signals consumed. Parameterised through knex
 * bindings, like every statement of the store.
 */
import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import type { WorkflowStatus } from './rows.js';

/** What became of `insert`: stored, or why not. */
export type SignalInsert =
  | { readonly stored: true }
  | { readonly stored: false; readonly status: WorkflowStatus | null /* null: no such execution */ };

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
   * Stores a signal for a running execution and, in the same statement, tells the listening
   * runners (`notifier:workflowExecutionId`, delivered on commit). The execution's row is
   * share-locked, so a signal lands either before the execution ends (its end waits for this
   * statement) or not at all, with the status that refused it.
   */
  async insert(workflowExecutionId: string, name: string, payload: unknown, notifier: string): Promise<SignalInsert> {
    const s = this.schema;
    const result = await this.knex.raw<{ rows: { status: WorkflowStatus | null; stored: boolean }[] }>(
      `WITH w AS (
         SELECT id, status FROM ??.workflow_executions WHERE id = ? FOR SHARE
       ), stored AS (
         INSERT INTO ??.signals (workflow_execution_id, name, payload)
         SELECT id, ?, ?::jsonb FROM w WHERE status IN ('Pending', 'Running')
         RETURNING id
       )
       SELECT (SELECT status FROM w) AS status, EXISTS (SELECT 1 FROM stored) AS stored,
              CASE WHEN ?::boolean AND EXISTS (SELECT 1 FROM stored) THEN pg_notify(?, ?) END AS notified`,
      [
        s,
        workflowExecutionId,
        s,
        name,
        payload === undefined ? null : JSON.stringify(payload),
        this.channel !== null,
        this.channel ?? '',
        `${notifier}:${workflowExecutionId}`,
      ],
    );
    const row = result.rows[0];
    if (row?.stored === true) return { stored: true };
    return { stored: false, status: row?.status ?? null };
  }

  /**
   * The signal that answers wait number `ordinal` (0-based, per name) of a task: the one the
   * task took for that wait before (an attempt running again finds it), else the oldest free
   * signal of the name in the task's execution, which the task takes now. None: undefined.
   */
  async take(
    taskExecutionId: string,
    workflowExecutionId: string,
    name: string,
    ordinal: number,
  ): Promise<{ readonly payload: unknown } | undefined> {
    const s = this.schema;
    const result = await this.knex.raw<{ rows: { payload: unknown; absent: boolean }[] }>(
      `WITH mine AS (
         SELECT payload FROM ??.signals WHERE task_execution_id = ? AND name = ? AND ordinal = ?
       ), fresh AS (
         UPDATE ??.signals SET task_execution_id = ?, ordinal = ?, delivered_at = now()
         WHERE id = (SELECT id FROM ??.signals
                     WHERE workflow_execution_id = ? AND name = ? AND task_execution_id IS NULL
                       AND NOT EXISTS (SELECT 1 FROM mine)
                     ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
         RETURNING payload
       )
       SELECT payload, payload IS NULL AS absent FROM mine
       UNION ALL SELECT payload, payload IS NULL AS absent FROM fresh`,
      [s, taskExecutionId, name, ordinal, s, taskExecutionId, ordinal, s, workflowExecutionId, name],
    );
    const row = result.rows[0];
    if (row === undefined) return undefined;
    // SQL NULL: the signal was sent without a payload (JSON null is a payload, and stays null).
    return { payload: row.absent ? undefined : row.payload };
  }

  /** Marks the signals these tasks took as consumed (they ended), inside the outcome's transaction. */
  async consume(tx: Knex.Transaction, taskExecutionIds: readonly string[]): Promise<void> {
    if (taskExecutionIds.length === 0) return;
    await tx.raw(
      `UPDATE ??.signals SET consumed_at = now()
       WHERE task_execution_id = ANY(?::uuid[]) AND consumed_at IS NULL`,
      [this.schema, [...taskExecutionIds]],
    );
  }
}

/** The `NOTIFY` channel of one schema's signals (hashed past PostgreSQL's 63 bytes, as `readyChannel`). */
export function signalChannel(schema: string): string {
  const plain = `slotwise_signal_${schema}`;
  return plain.length <= 63
    ? plain
    : `slotwise_signal_${createHash('sha256').update(schema).digest('hex').slice(0, 32)}`;
}
