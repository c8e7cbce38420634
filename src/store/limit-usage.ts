/**
 * What every limit and key is used for now, across every runner, as `slotwise status` shows it:
 * read from the rows (migration 006), so it needs no runner's options.
 */
import type { Knex } from 'knex';

/** One named limit's or key's runs now. */
export interface UnitUsage {
  /** `limit`: a named limit (`name`); `key`: a task's (`name`) concurrency key (`key`) with a per-key limit. */
  readonly kind: 'limit' | 'key';
  readonly name: string;
  readonly key: string | null;
  /** Running and active (they hold a unit). */
  readonly active: number;
  /** Running and deferred (they hold a unit if the limit counts deferred runs). */
  readonly deferred: number;
  /** Back from a wait, waiting for their unit. */
  readonly reclaiming: number;
  /** Ready, waiting to be claimed. */
  readonly queued: number;
  /** A key's limit, from its rows (a named limit's is in each runner's options). */
  readonly max: number | null;
}

export async function limitUsage(knex: Knex, schema: string, maxKeys = 50): Promise<UnitUsage[]> {
  const result = await knex.raw<{ rows: UnitUsage[] }>(
    `WITH open AS (
       SELECT task_id, limits, concurrency_key, per_key_limit, status, sub_status, wants_units
       FROM :schema:.task_executions
       WHERE status IN ('Ready', 'Running') AND (limits <> '{}' OR per_key_limit IS NOT NULL)
     ), counted AS (
       SELECT 'limit' AS kind, l AS name, NULL::text AS key, NULL::int AS max, status, sub_status, wants_units
       FROM open CROSS JOIN unnest(limits) l
       UNION ALL
       SELECT 'key', task_id, concurrency_key, per_key_limit, status, sub_status, wants_units
       FROM open WHERE per_key_limit IS NOT NULL AND concurrency_key IS NOT NULL
     )
     SELECT kind, name, key, max(max)::int AS max,
            count(*) FILTER (WHERE status = 'Running' AND sub_status = 'Active')::int AS active,
            count(*) FILTER (WHERE status = 'Running' AND sub_status = 'Deferred' AND NOT wants_units)::int AS deferred,
            count(*) FILTER (WHERE status = 'Running' AND wants_units)::int AS reclaiming,
            count(*) FILTER (WHERE status = 'Ready')::int AS queued
     FROM counted GROUP BY kind, name, key
     ORDER BY kind DESC, count(*) DESC, name, key
     LIMIT :maxKeys`,
    { schema, maxKeys },
  );
  return result.rows;
}
