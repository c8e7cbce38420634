// 003: the claim query orders Ready tasks by (retry_at NULLS FIRST, id). 001's index covered
// retry_at only, so every claim sorted all Ready tasks of a wide workflow by id; this one
// hands them over in claim order.
import type { Knex } from 'knex';

export const name = '003_ready_index_by_id';

export async function up(knex: Knex, schema: string): Promise<void> {
  await knex.raw(
    `CREATE INDEX task_executions_ready_by_id ON ??.task_executions (retry_at NULLS FIRST, id) WHERE status = 'Ready'`,
    [schema],
  );
  await knex.raw('DROP INDEX ??.task_executions_ready', [schema]);
}

export async function down(knex: Knex, schema: string): Promise<void> {
  await knex.raw(
    `CREATE INDEX task_executions_ready ON ??.task_executions (retry_at NULLS FIRST) WHERE status = 'Ready'`,
    [schema],
  );
  await knex.raw('DROP INDEX ??.task_executions_ready_by_id', [schema]);
}
