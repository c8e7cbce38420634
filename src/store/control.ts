/**
 * Operating workflow executions from any process: cancel, pause, resume. Each is one
 * transaction that locks the execution's row first, as every transition does (`transitions.ts`),
 * so it never interleaves with an outcome being written for the same execution.
 *
 * A cancel ends the execution `Cancelled`; its tasks that had not started become `Skipped`, and
 * its running ones `Cancelled` with their fencing token moved on, so whatever their runners
 * write about them later changes nothing. A `NOTIFY` on the schema's control channel tells the
 * runner holding them to abort them; one that misses it finds out at its next heartbeat.
 *
 * Pausing moves the execution's Ready tasks to `Paused`, which no claim reads, and every later
 * transition that would make one of its tasks Ready makes it `Paused` instead (see
 * `readyStatus`); resuming moves them back and wakes the runners.
 */
import type { Knex } from 'knex';
import { TaskStates, WorkflowStates } from './states.js';
import type { StoredError, WorkflowStatus } from './rows.js';
import { channelName } from './listener.js';

/** What the control channel carries (JSON). */
export interface ControlNotice {
  readonly kind: 'cancel' | 'resume';
  readonly workflowExecutionId: string;
  readonly reason: string | null;
  /** The runner that sent it, which acted on it already. */
  readonly notifier: string;
}

/** The outcome of a cancel, pause or resume: not found, ended already (how), or done. */
export type ControlResult =
  | { readonly kind: 'not-found' }
  | { readonly kind: 'ended'; readonly status: WorkflowStatus }
  | { readonly kind: 'done'; readonly changed: boolean };

/** The status a task made Ready gets: `Paused` while its workflow execution is paused. */
export function readyStatus(paused: boolean): 'Ready' | 'Paused' {
  return paused ? TaskStates.Paused : TaskStates.Ready;
}

export function controlChannel(schema: string): string {
  return channelName('control', schema);
}

export function parseControlNotice(payload: string): ControlNotice | null {
  try {
    const notice = JSON.parse(payload) as Partial<ControlNotice>;
    if ((notice.kind !== 'cancel' && notice.kind !== 'resume') || typeof notice.workflowExecutionId !== 'string') {
      return null;
    }
    return {
      kind: notice.kind,
      workflowExecutionId: notice.workflowExecutionId,
      reason: typeof notice.reason === 'string' ? notice.reason : null,
      notifier: typeof notice.notifier === 'string' ? notice.notifier : '',
    };
  } catch {
    return null;
  }
}

export class ControlStore {
  /** Null: no other process to tell (the embedded database). */
  readonly channel: string | null;

  constructor(
    readonly knex: Knex,
    readonly schema: string,
    notify: boolean,
  ) {
    this.channel = notify ? controlChannel(schema) : null;
  }

  /**
   * Cancels the execution `id`: it ends `Cancelled` with `error`, its tasks as described above;
   * its signal waits are dropped (their tasks run no more).
   */
  async cancel(id: string, error: StoredError & { reason: string | null }, notifier: string): Promise<ControlResult> {
    return this.#locked(id, async (tx) => {
      await tx.raw(
        `WITH skipped AS (
           UPDATE :schema:.task_executions SET status = 'Skipped', sub_status = NULL, completed_at = now(), updated_at = now()
           WHERE workflow_execution_id = :id AND status IN ('NotStarted', 'Ready', 'Paused')
           RETURNING id
         ), stopped AS (
           UPDATE :schema:.task_executions t
           SET status = 'Cancelled', sub_status = NULL, claimed_by = NULL, wants_units = false,
               claim_token = t.claim_token + 1, error = CAST(:error AS jsonb), completed_at = now(), updated_at = now()
           WHERE workflow_execution_id = :id AND status = 'Running'
           RETURNING id
         ), ended AS (
           UPDATE :schema:.workflow_executions
           SET status = 'Cancelled', paused = false, error = CAST(:error AS jsonb), completed_at = now()
           WHERE id = :id
         ), unwaited AS (
           DELETE FROM :schema:.signal_waits WHERE workflow_execution_id = :id
         ), logged AS (
           INSERT INTO :schema:.execution_events (workflow_execution_id, task_execution_id, event_type, data)
           SELECT CAST(:id AS uuid), NULL::uuid, 'workflow_cancelled', jsonb_build_object('reason', CAST(:reason AS text))
           UNION ALL SELECT CAST(:id AS uuid), id, 'task_cancelled', NULL FROM stopped
           UNION ALL SELECT CAST(:id AS uuid), id, 'task_skipped', NULL FROM skipped
         )
         SELECT pg_notify(:channel, :notice) WHERE CAST(:notify AS boolean)`,
        {
          schema: this.schema,
          id,
          error: JSON.stringify(error),
          reason: error.reason,
          ...this.#notice({ kind: 'cancel', workflowExecutionId: id, reason: error.reason, notifier }),
        },
      );
      return true;
    });
  }

  /** Pauses the execution `id`: its Ready tasks wait as `Paused` until it is resumed. */
  async pause(id: string): Promise<ControlResult> {
    return this.#locked(id, async (tx, paused) => {
      if (paused) return false;
      await tx.raw(
        `WITH held AS (
           UPDATE :schema:.workflow_executions SET paused = true WHERE id = :id
         ), parked AS (
           UPDATE :schema:.task_executions SET status = 'Paused', updated_at = now()
           WHERE workflow_execution_id = :id AND status = 'Ready'
         )
         INSERT INTO :schema:.execution_events (workflow_execution_id, event_type) VALUES (:id, 'workflow_paused')`,
        { schema: this.schema, id },
      );
      return true;
    });
  }

  /** Resumes the paused execution `id`: its `Paused` tasks are Ready again, and runners are woken. */
  async resume(id: string, notifier: string): Promise<ControlResult> {
    return this.#locked(id, async (tx, paused) => {
      if (!paused) return false;
      await tx.raw(
        `WITH released AS (
           UPDATE :schema:.workflow_executions SET paused = false WHERE id = :id
         ), readied AS (
           UPDATE :schema:.task_executions SET status = 'Ready', updated_at = now()
           WHERE workflow_execution_id = :id AND status = 'Paused'
         ), logged AS (
           INSERT INTO :schema:.execution_events (workflow_execution_id, event_type) VALUES (:id, 'workflow_resumed')
         )
         SELECT pg_notify(:channel, :notice) WHERE CAST(:notify AS boolean)`,
        {
          schema: this.schema,
          id,
          ...this.#notice({ kind: 'resume', workflowExecutionId: id, reason: null, notifier }),
        },
      );
      return true;
    });
  }

  /** Bindings of a control notice: `channel`, `notice` and whether to send it. */
  #notice(notice: ControlNotice): { channel: string; notice: string; notify: boolean } {
    return { channel: this.channel ?? '', notice: JSON.stringify(notice), notify: this.channel !== null };
  }

  /**
   * Locks the execution's row, then runs `change` on a Running one (`paused`: whether it is
   * paused); `change` says whether it changed anything.
   */
  async #locked(
    id: string,
    change: (tx: Knex.Transaction, paused: boolean) => Promise<boolean>,
  ): Promise<ControlResult> {
    return this.knex.transaction(async (tx) => {
      const rows = (
        await tx.raw<{ rows: { status: WorkflowStatus; paused: boolean }[] }>(
          'SELECT status, paused FROM ??.workflow_executions WHERE id = ? FOR UPDATE',
          [this.schema, id],
        )
      ).rows;
      const row = rows[0];
      if (row === undefined) return { kind: 'not-found' };
      if (row.status !== WorkflowStates.Running) {
        return { kind: 'ended', status: row.status };
      }
      return { kind: 'done', changed: await change(tx, row.paused) };
    });
  }
}
