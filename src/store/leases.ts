/**
 * The SQL of runner leases: each runner's row in `runners`, renewed by heartbeat, and the
 * sweep that takes claims away from runners whose lease expired. Every time here is the
 * database's `now()`, never a runner's clock, so runners on machines whose clocks disagree
 * still agree on who holds what.
 */
import { hostname } from 'node:os';
import type { Knex } from 'knex';
import { processAlive } from './database.js';
import type { ClaimedTask } from './rows.js';

/** A claim a runner believes it holds. */
export interface HeldClaim {
  readonly id: string;
  readonly claim_token: string;
}

/** A claim as the sweep and the stray check see it: enough to recover it. */
export type Orphan = Pick<ClaimedTask, 'id' | 'workflow_execution_id' | 'task_id' | 'workflow_name' | 'claim_token'>;

export interface Heartbeat {
  /**
   * False when this runner's lease had already expired (or its row was swept): nothing was
   * renewed, and every claim it holds may be another runner's by now.
   */
  readonly renewed: boolean;
  /** Ids of claims the runner believed it held that are no longer its own. */
  readonly lost: string[];
  /** Those of them whose workflow execution was cancelled (`runner.cancel`), with its reason. */
  readonly cancelled: CancelledClaim[];
  /**
   * Claims the database gives the runner that it does not believe it holds: a claim still in
   * flight as the beat was sent, or a run whose end could not be written.
   */
  readonly strays: Orphan[];
  /** Some runner's lease has expired, or some Running task has no live claimer: time to sweep. */
  readonly sweepDue: boolean;
  /** Ms until the earliest other runner's lease expires (null: no other runner). */
  readonly nextExpiryMs: number | null;
}

/** A claim lost to a cancel. */
export interface CancelledClaim {
  readonly id: string;
  readonly workflowExecutionId: string;
  readonly reason: string | null;
}

/** Another runner's row: who holds an embedded database. */
export interface RunnerRow {
  readonly id: string;
  readonly host: string;
  readonly pid: number;
  readonly live: boolean;
}

export class Leases {
  constructor(
    readonly knex: Knex,
    readonly schema: string,
    /** The registering runner's slots, shown beside its slots in use (`slotwise dashboard`). */
    readonly maxSlots: number | null = null,
  ) {}

  /** Takes (or takes again, after a lapse) `runnerId`'s lease for `leaseMs`. */
  async register(runnerId: string, leaseMs: number): Promise<void> {
    await this.knex.raw(
      `INSERT INTO ??.runners (id, host, pid, max_slots, lease_expires_at)
       VALUES (?, ?, ?, ?, now() + ? * interval '1 millisecond')
       ON CONFLICT (id) DO UPDATE SET heartbeat_at = now(), lease_expires_at = excluded.lease_expires_at`,
      [this.schema, runnerId, hostname(), process.pid, this.maxSlots, leaseMs],
    );
  }

  /**
   * Renews `runnerId`'s lease for `leaseMs`, only while it is still live (a lease that expired
   * stays expired: a sweeper may be taking its claims), and in the same statement checks the
   * claims the runner believes it holds and whether a sweep is due: one statement per runner
   * per interval, whatever it runs.
   */
  async heartbeat(
    runnerId: string,
    leaseMs: number,
    held: readonly HeldClaim[],
    workflowNames: readonly string[],
  ): Promise<Heartbeat> {
    const s = this.schema;
    const result = await this.knex.raw<{
      rows: {
        renewed: boolean;
        lost: string[];
        cancelled: CancelledClaim[] | null;
        strays: Orphan[] | null;
        sweep_due: boolean;
        next_expiry_ms: number | null;
      }[];
    }>(
      `WITH renewed AS (
         UPDATE ??.runners SET heartbeat_at = now(), lease_expires_at = now() + ? * interval '1 millisecond'
         WHERE id = ? AND lease_expires_at > now()
         RETURNING id
       )
       SELECT
         EXISTS (SELECT 1 FROM renewed) AS renewed,
         ARRAY(SELECT d.id FROM unnest(?::uuid[], ?::bigint[]) AS d(id, claim_token)
               WHERE NOT EXISTS (SELECT 1 FROM ??.task_executions t
                                 WHERE t.id = d.id AND t.status = 'Running' AND t.claim_token = d.claim_token)
         )::text[] AS lost,
         (SELECT json_agg(json_build_object('id', t.id, 'workflowExecutionId', t.workflow_execution_id,
                                            'reason', w.error->>'reason'))
          FROM ??.task_executions t JOIN ??.workflow_executions w ON w.id = t.workflow_execution_id
          WHERE t.id = ANY(?::uuid[]) AND t.status = 'Cancelled') AS cancelled,
         (SELECT json_agg(json_build_object('id', t.id, 'workflow_execution_id', t.workflow_execution_id,
                                            'task_id', t.task_id, 'workflow_name', t.workflow_name,
                                            'claim_token', t.claim_token::text))
          FROM ??.task_executions t
          WHERE t.status = 'Running' AND t.claimed_by = ? AND t.id <> ALL(?::uuid[])) AS strays,
         EXISTS (SELECT 1 FROM ??.runners WHERE lease_expires_at <= now())
           OR EXISTS (${orphansSql('1')}) AS sweep_due,
         (SELECT extract(epoch FROM min(lease_expires_at) - now()) * 1000
          FROM ??.runners WHERE id <> ?)::float8 AS next_expiry_ms`,
      [
        s,
        leaseMs,
        runnerId,
        held.map((c) => c.id),
        held.map((c) => c.claim_token),
        s,
        s,
        s,
        held.map((c) => c.id),
        s,
        runnerId,
        held.map((c) => c.id),
        s,
        ...orphanBindings(s, workflowNames),
        s,
        runnerId,
      ],
    );
    const row = result.rows[0];
    return {
      renewed: row?.renewed ?? false,
      lost: row?.lost ?? [],
      cancelled: row?.cancelled ?? [],
      strays: row?.strays ?? [],
      sweepDue: row?.sweep_due ?? false,
      nextExpiryMs: row?.next_expiry_ms ?? null,
    };
  }

  /**
   * Deletes the rows of runners whose lease expired (skipping rows another sweeper or a late
   * heartbeat holds); their Running tasks become orphans, which `orphans` finds.
   */
  async expire(): Promise<string[]> {
    const s = this.schema;
    const result = await this.knex.raw<{ rows: { id: string }[] }>(
      `DELETE FROM ??.runners WHERE id IN (
         SELECT id FROM ??.runners WHERE lease_expires_at <= now() FOR UPDATE SKIP LOCKED
       ) RETURNING id`,
      [s, s],
    );
    return result.rows.map((r) => r.id);
  }

  /** Running tasks of these workflows whose claimer holds no live lease (it died, or was swept). */
  async orphans(workflowNames: readonly string[]): Promise<Orphan[]> {
    if (workflowNames.length === 0) return [];
    const result = await this.knex.raw<{ rows: Orphan[] }>(
      `${orphansSql(ORPHAN_COLUMNS)} ORDER BY t.id`,
      orphanBindings(this.schema, workflowNames),
    );
    return result.rows;
  }

  /** Removes a runner's row (it is shutting down, its claims released first). */
  async remove(runnerId: string): Promise<void> {
    await this.knex.raw('DELETE FROM ??.runners WHERE id = ?', [this.schema, runnerId]);
  }

  /**
   * For the embedded database, which serves one runner: registers `runnerId` as the only
   * runner, unless another runner holds it (that runner's row is returned, nothing changed).
   * Every other row is a stale leftover of a stopped process and is deleted, which makes every
   * Running task an orphan for the first sweep.
   */
  async registerAlone(runnerId: string, leaseMs: number): Promise<RunnerRow | undefined> {
    const s = this.schema;
    return this.knex.transaction(async (tx) => {
      const result = await tx.raw<{ rows: RunnerRow[] }>(
        'SELECT id, host, pid, lease_expires_at > now() AS live FROM ??.runners ORDER BY started_at FOR UPDATE',
        [s],
      );
      const holder = result.rows.find(holdsEmbeddedDatabase);
      if (holder !== undefined) return holder;
      await tx.raw('DELETE FROM ??.runners', [s]);
      await tx.raw(
        `INSERT INTO ??.runners (id, host, pid, max_slots, lease_expires_at)
         VALUES (?, ?, ?, ?, now() + ? * interval '1 millisecond')`,
        [s, runnerId, hostname(), process.pid, this.maxSlots, leaseMs],
      );
      return undefined;
    });
  }
}

/**
 * Running tasks of some workflows whose claimer holds no live lease (bindings: see
 * `orphanBindings`). Only tasks of workflows the sweeper knows: it must be able to advance them.
 */
function orphansSql(columns: string): string {
  return `SELECT ${columns} FROM ??.task_executions t
    WHERE t.status = 'Running' AND t.workflow_name = ANY(?)
      AND NOT EXISTS (SELECT 1 FROM ??.runners r WHERE r.id = t.claimed_by AND r.lease_expires_at > now())`;
}

const ORPHAN_COLUMNS = 't.id, t.workflow_execution_id, t.task_id, t.workflow_name, t.claim_token::text AS claim_token';

function orphanBindings(schema: string, workflowNames: readonly string[]): Knex.Value[] {
  return [schema, [...workflowNames], schema];
}

/**
 * Whether a runner's row keeps others off an embedded database. A runner of this host holds it
 * while its process lives, whatever its lease says (a stopped or slow process still has the
 * database open); one of another host, while its lease is live.
 */
function holdsEmbeddedDatabase(row: RunnerRow): boolean {
  return row.host === hostname() ? processAlive(row.pid) : row.live;
}
