// 001: the three tables of the persisted runner. Append-only: never edit a migration that has
// shipped; add the next number instead.
import type { Knex } from 'knex';

export const name = '001_create_tables';

export async function up(knex: Knex, schema: string): Promise<void> {
  await knex.schema.withSchema(schema).createTable('workflow_executions', (table) => {
    table.uuid('id').primary();
    table.text('workflow_name').notNullable();
    table.text('status').notNullable();
    table.jsonb('input').notNullable();
    table.jsonb('output');
    table.jsonb('error');
    table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    table.timestamp('completed_at', { useTz: true });
    table.index(['status'], 'workflow_executions_status');
  });
  await knex.raw(
    `ALTER TABLE ??.workflow_executions ADD CONSTRAINT workflow_executions_status_check
     CHECK (status IN ('Pending', 'Running', 'Completed', 'Failed'))`,
    [schema],
  );

  await knex.schema.withSchema(schema).createTable('task_executions', (table) => {
    table.uuid('id').primary();
    table
      .uuid('workflow_execution_id')
      .notNullable()
      .references('id')
      .inTable(`${schema}.workflow_executions`)
      .onDelete('CASCADE');
    table.text('task_id').notNullable();
    table.text('status').notNullable();
    table.text('sub_status');
    table.integer('attempt').notNullable().defaultTo(0);
    table.integer('max_attempts').notNullable();
    table.timestamp('retry_at', { useTz: true });
    table.integer('recovery_attempts').notNullable().defaultTo(0);
    table.integer('deferrals').notNullable().defaultTo(0);
    table.double('deferred_ms').notNullable().defaultTo(0);
    table.text('claimed_by');
    table.jsonb('output');
    table.jsonb('error');
    table.timestamp('started_at', { useTz: true });
    table.timestamp('completed_at', { useTz: true });
    table.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    table.unique(['workflow_execution_id', 'task_id'], { indexName: 'task_executions_workflow_task' });
  });
  await knex.raw(
    `ALTER TABLE ??.task_executions ADD CONSTRAINT task_executions_status_check
     CHECK (status IN ('NotStarted', 'Ready', 'Running', 'Completed', 'Failed', 'Skipped')),
     ADD CONSTRAINT task_executions_sub_status_check
     CHECK ((status = 'Running' AND sub_status IN ('Active', 'Deferred')) OR (status <> 'Running' AND sub_status IS NULL))`,
    [schema],
  );
  // The claim query scans Ready tasks by due time on every tick: keep that index small.
  await knex.raw(
    `CREATE INDEX task_executions_ready ON ??.task_executions (retry_at NULLS FIRST) WHERE status = 'Ready'`,
    [schema],
  );
  // Recovery and leases look for Running tasks.
  await knex.raw(`CREATE INDEX task_executions_running ON ??.task_executions (claimed_by) WHERE status = 'Running'`, [
    schema,
  ]);

  await knex.schema.withSchema(schema).createTable('execution_events', (table) => {
    table.bigIncrements('id').primary();
    table
      .uuid('workflow_execution_id')
      .notNullable()
      .references('id')
      .inTable(`${schema}.workflow_executions`)
      .onDelete('CASCADE');
    table.uuid('task_execution_id');
    table.text('event_type').notNullable();
    table.jsonb('data');
    table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    table.index(['workflow_execution_id', 'id'], 'execution_events_workflow');
  });
}

export async function down(knex: Knex, schema: string): Promise<void> {
  await knex.schema.withSchema(schema).dropTable('execution_events');
  await knex.schema.withSchema(schema).dropTable('task_executions');
  await knex.schema.withSchema(schema).dropTable('workflow_executions');
}
