// 002: per-workflow counters of open and failed tasks, kept by the scheduler under the
// workflow's row lock, so that "has the workflow ended?" costs one row instead of a scan of
// every task (a 2,000-task workflow otherwise reads 4 million rows over its life).
import type { Knex } from 'knex';

export const name = '002_task_counters';

export async function up(knex: Knex, schema: string): Promise<void> {
  await knex.schema.withSchema(schema).alterTable('workflow_executions', (table) => {
    table.integer('open_tasks').notNullable().defaultTo(0);
    table.integer('failed_tasks').notNullable().defaultTo(0);
  });
}

export async function down(knex: Knex, schema: string): Promise<void> {
  await knex.schema.withSchema(schema).alterTable('workflow_executions', (table) => {
    table.dropColumn('open_tasks');
    table.dropColumn('failed_tasks');
  });
}
