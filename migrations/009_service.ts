// 009: what a dashboard reads without loading workflow code. Each task execution keeps the ids
// of its dependencies (the execution's DAG, written with it when it starts; older executions
// have none), and each runner its slots (`maxConcurrentTasks`, null for runners of an older
// version), so that slots in use can be shown beside the whole.
import type { Knex } from 'knex';

export const name = '009_service';

export async function up(knex: Knex, schema: string): Promise<void> {
  await knex.raw(`ALTER TABLE ??.task_executions ADD COLUMN dependencies text[] NOT NULL DEFAULT '{}'`, [schema]);
  await knex.raw('ALTER TABLE ??.runners ADD COLUMN max_slots integer', [schema]);
}

export async function down(knex: Knex, schema: string): Promise<void> {
  await knex.raw('ALTER TABLE ??.runners DROP COLUMN max_slots', [schema]);
  await knex.raw('ALTER TABLE ??.task_executions DROP COLUMN dependencies', [schema]);
}
