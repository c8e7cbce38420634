// 004: several runners on one database. Each runner keeps a row in `runners` whose lease it
// renews by heartbeat (times from the database's clock, never a runner's); a task's claim is
// fenced by `claim_token`, a per-row counter every claim increments, so a write from a runner
// that lost the claim (its lease expired, the task was swept and claimed again) matches no row.
import type { Knex } from 'knex';

export const name = '004_runner_leases';

export async function up(knex: Knex, schema: string): Promise<void> {
  await knex.schema.withSchema(schema).createTable('runners', (table) => {
    table.text('id').primary();
    table.text('host').notNullable();
    table.integer('pid').notNullable();
    table.timestamp('started_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    table.timestamp('heartbeat_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    table.timestamp('lease_expires_at', { useTz: true }).notNullable();
    table.index(['lease_expires_at'], 'runners_lease_expires_at');
  });
  await knex.schema.withSchema(schema).alterTable('task_executions', (table) => {
    table.bigInteger('claim_token').notNullable().defaultTo(0);
  });
}

export async function down(knex: Knex, schema: string): Promise<void> {
  await knex.schema.withSchema(schema).alterTable('task_executions', (table) => {
    table.dropColumn('claim_token');
  });
  await knex.schema.withSchema(schema).dropTable('runners');
}
