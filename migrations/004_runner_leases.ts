// 004: several runners on one database. Each runner keeps a row in `runners` whose lease it
// renews by heartbeat (times from the database's clock, never a runner's); a task's claim is
// fenced by `claim_token`, a per-row counter every claim increments, so a write from a runner
// that lost the claim (its lease expired, the task was swept and claimed again) matches no row.
// Tasks also get their workflow's name: a runner claims only tasks of workflows it knows, and
// filtering on a column of the claimed row keeps the claim an ordered index scan that stops at
// its LIMIT (a join to the workflow row let the planner scan and sort every Ready task when
// statistics lagged behind a burst of new work: 6 ms instead of 0.1 ms for 5,000 Ready tasks).
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
    table.text('workflow_name');
  });
  await knex.raw(
    `UPDATE ??.task_executions t SET workflow_name = w.workflow_name
     FROM ??.workflow_executions w WHERE w.id = t.workflow_execution_id`,
    [schema, schema],
  );
  await knex.raw('ALTER TABLE ??.task_executions ALTER COLUMN workflow_name SET NOT NULL', [schema]);
}

export async function down(knex: Knex, schema: string): Promise<void> {
  await knex.schema.withSchema(schema).alterTable('task_executions', (table) => {
    table.dropColumn('claim_token');
    table.dropColumn('workflow_name');
  });
  await knex.schema.withSchema(schema).dropTable('runners');
}
