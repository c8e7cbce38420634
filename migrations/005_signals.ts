// 005: signals sent to workflow executions (`runner.signal`), kept until a task takes them,
// and the signal waits of tasks that found none (so a signal sent later goes straight to one).
// A signal is stored before anyone is told of it, so one sent before its task waits, or while
// no runner holds the task, is not lost. A task that waits takes the oldest free signal of the
// name and keeps it: `task_execution_id` and `ordinal` (its 0-based rank among the signals of
// that name the task took) say which wait of the task it answers, so an attempt that runs again
// after a crash finds the same signal for the same wait. `consumed_at` is set when the task ends.
import type { Knex } from 'knex';

export const name = '005_signals';

export async function up(knex: Knex, schema: string): Promise<void> {
  await knex.schema.withSchema(schema).createTable('signals', (table) => {
    table.bigIncrements('id').primary();
    table
      .uuid('workflow_execution_id')
      .notNullable()
      .references('id')
      .inTable(`${schema}.workflow_executions`)
      .onDelete('CASCADE');
    table.text('name').notNullable();
    table.jsonb('payload');
    table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    table.uuid('task_execution_id');
    table.integer('ordinal');
    table.timestamp('delivered_at', { useTz: true });
    table.timestamp('consumed_at', { useTz: true });
    table.unique(['task_execution_id', 'name', 'ordinal'], { indexName: 'signals_task_wait' });
  });
  // A waiting task looks for the oldest free signal of its name in its execution.
  await knex.raw(
    `CREATE INDEX signals_free ON ??.signals (workflow_execution_id, name, id) WHERE task_execution_id IS NULL`,
    [schema],
  );
  // A task waiting for a signal none was there for: `runner.signal` gives the next one of the
  // name straight to the oldest such wait, and tells its runner with the payload.
  await knex.schema.withSchema(schema).createTable('signal_waits', (table) => {
    table.uuid('task_execution_id').primary();
    table
      .uuid('workflow_execution_id')
      .notNullable()
      .references('id')
      .inTable(`${schema}.workflow_executions`)
      .onDelete('CASCADE');
    table.text('name').notNullable();
    table.integer('ordinal').notNullable();
    table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    table.index(['workflow_execution_id', 'name', 'created_at'], 'signal_waits_by_name');
  });
}

export async function down(knex: Knex, schema: string): Promise<void> {
  await knex.schema.withSchema(schema).dropTable('signal_waits');
  await knex.schema.withSchema(schema).dropTable('signals');
}
