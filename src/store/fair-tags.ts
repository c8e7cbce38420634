/**
 * Fair order between concurrency keys across runners: start-time fair queuing tags, written on
 * each task row at start (`fair_tag`), that claims follow after priority (see `FairQueue` for the
 * same rule in one process).
 *
 * The virtual time is the tag of the first Ready task in claim order (the round being served),
 * or, with nothing Ready, the last virtual time a keyed start saw (`fair_clock`). A keyed task
 * is tagged `max(virtual time, its key's last tag + 1)`: a key with a backlog gets one turn per
 * round, and a key that comes back after a quiet spell starts at the current round. A task
 * without a key is tagged with the virtual time.
 */
import type { Knex } from 'knex';
import type { NewTaskRow } from './rows.js';

/** The virtual time, as an SQL expression over the (validated, plain) schema's tables. */
export function virtualTimeSql(schema: string): string {
  return `COALESCE(
    (SELECT fair_tag FROM "${schema}".task_executions WHERE status = 'Ready' ORDER BY priority DESC, fair_tag, id LIMIT 1),
    (SELECT now FROM "${schema}".fair_clock WHERE id = 1), 0)`;
}

/**
 * Sets `fair_tag` on the keyed tasks among `tasks` (in their order, per key), moving each key's
 * last tag on in the same transaction (its row stays locked to the commit, so two starts of one
 * key take turns, and their tags never collide).
 */
export async function assignFairTags(tx: Knex.Transaction, schema: string, tasks: NewTaskRow[]): Promise<void> {
  const perKey = new Map<string, NewTaskRow[]>();
  for (const task of tasks) {
    if (task.concurrency_key === null) continue;
    const id = JSON.stringify([task.task_id, task.concurrency_key]);
    const list = perKey.get(id);
    if (list === undefined) perKey.set(id, [task]);
    else list.push(task);
  }
  if (perKey.size === 0) return;
  const groups = [...perKey.values()];
  const result = await tx.raw<{ rows: { task_id: string; concurrency_key: string; last_tag: string }[] }>(
    `WITH clock AS (
       SELECT ${virtualTimeSql(schema)} AS now
     ), moved AS (
       UPDATE :schema:.fair_clock SET now = (SELECT now FROM clock) WHERE id = 1 AND now < (SELECT now FROM clock)
     )
     INSERT INTO :schema:.fair_keys AS f (task_id, concurrency_key, last_tag)
     SELECT x.task_id, x.key, (SELECT now FROM clock) + x.n - 1
     FROM unnest(CAST(:taskIds AS text[]), CAST(:keys AS text[]), CAST(:counts AS int[])) AS x(task_id, key, n)
     ON CONFLICT (task_id, concurrency_key) DO UPDATE
       SET last_tag = GREATEST(f.last_tag + 1, (SELECT now FROM clock)) + (EXCLUDED.last_tag - (SELECT now FROM clock))
     RETURNING f.task_id, f.concurrency_key, f.last_tag::text AS last_tag`,
    {
      schema,
      taskIds: groups.map((g) => (g[0] as NewTaskRow).task_id),
      keys: groups.map((g) => (g[0] as NewTaskRow).concurrency_key),
      counts: groups.map((g) => g.length),
    },
  );
  for (const row of result.rows) {
    const group = perKey.get(JSON.stringify([row.task_id, row.concurrency_key])) ?? [];
    const first = Number(row.last_tag) - group.length + 1;
    group.forEach((task, i) => (task.fair_tag = first + i));
  }
}
