// 008: operating workflows. Workflow executions can be `Cancelled` (a terminal status) and
// paused (`paused`: their Ready tasks wait as `Paused`, which no claim reads, so the claim pays
// nothing for pausing); tasks running when their workflow is cancelled end `Cancelled`. The
// never-written workflow status `Pending` is retired. A start may carry an idempotency key,
// unique per workflow name: a second start with it finds the first execution. Executions are
// listed newest first by keyset pagination on `(created_at, id)`, with or without a status; and
// finished ones are pruned oldest first. `schedules` holds cron
// schedules: each row's `next_run_at` is the tick a runner fires next, under the row's lock.
import type { Knex } from 'knex';

export const name = '008_operations';

export async function up(knex: Knex, schema: string): Promise<void> {
  await knex.raw(
    `ALTER TABLE ??.workflow_executions DROP CONSTRAINT workflow_executions_status_check,
       ADD CONSTRAINT workflow_executions_status_check CHECK (status IN ('Running', 'Completed', 'Failed', 'Cancelled')),
       ADD COLUMN paused boolean NOT NULL DEFAULT false,
       ADD COLUMN idempotency_key text`,
    [schema],
  );
  await knex.raw(
    `ALTER TABLE ??.task_executions DROP CONSTRAINT task_executions_status_check,
       ADD CONSTRAINT task_executions_status_check
       CHECK (status IN ('NotStarted', 'Ready', 'Paused', 'Running', 'Completed', 'Failed', 'Skipped', 'Cancelled'))`,
    [schema],
  );
  await knex.raw(
    `CREATE UNIQUE INDEX workflow_executions_idempotency ON ??.workflow_executions (workflow_name, idempotency_key)
     WHERE idempotency_key IS NOT NULL`,
    [schema],
  );
  // Listing: newest first, all of them or by status (which replaces 001's index on status alone,
  // and serves pruning: finished executions oldest first). Every index here is written again when
  // an execution ends (its status changes), so there are only these two: a list by workflow name
  // walks the first one and filters.
  await knex.raw('CREATE INDEX workflow_executions_newest ON ??.workflow_executions (created_at DESC, id DESC)', [
    schema,
  ]);
  await knex.raw(
    'CREATE INDEX workflow_executions_newest_by_status ON ??.workflow_executions (status, created_at DESC, id DESC)',
    [schema],
  );
  await knex.raw('DROP INDEX ??.workflow_executions_status', [schema]);
  // Deleting an execution deletes its signals (ON DELETE CASCADE): by this index, not a scan.
  await knex.raw('CREATE INDEX signals_by_execution ON ??.signals (workflow_execution_id)', [schema]);
  // A paused workflow's held tasks, found again on resume.
  await knex.raw(
    `CREATE INDEX task_executions_paused ON ??.task_executions (workflow_execution_id) WHERE status = 'Paused'`,
    [schema],
  );
  await knex.schema.withSchema(schema).createTable('schedules', (table) => {
    table.text('name').primary();
    table.text('workflow_name').notNullable();
    table.text('cron').notNullable();
    table.text('timezone').notNullable();
    table.jsonb('input').notNullable();
    table.integer('max_catch_up').notNullable();
    table.timestamp('next_run_at', { useTz: true }).notNullable();
    table.timestamp('last_run_at', { useTz: true });
    table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    table.index(['next_run_at'], 'schedules_due');
  });
}

export async function down(knex: Knex, schema: string): Promise<void> {
  await knex.schema.withSchema(schema).dropTable('schedules');
  await knex.raw('DROP INDEX ??.task_executions_paused', [schema]);
  await knex.raw('DROP INDEX ??.signals_by_execution', [schema]);
  await knex.raw('CREATE INDEX workflow_executions_status ON ??.workflow_executions (status)', [schema]);
  for (const index of ['newest_by_status', 'newest', 'idempotency']) {
    await knex.raw('DROP INDEX ??', [`${schema}.workflow_executions_${index}`]);
  }
  await knex.raw(
    `ALTER TABLE ??.task_executions DROP CONSTRAINT task_executions_status_check,
       ADD CONSTRAINT task_executions_status_check
       CHECK (status IN ('NotStarted', 'Ready', 'Running', 'Completed', 'Failed', 'Skipped'))`,
    [schema],
  );
  await knex.raw(
    `ALTER TABLE ??.workflow_executions DROP CONSTRAINT workflow_executions_status_check,
       ADD CONSTRAINT workflow_executions_status_check CHECK (status IN ('Pending', 'Running', 'Completed', 'Failed')),
       DROP COLUMN paused, DROP COLUMN idempotency_key`,
    [schema],
  );
}
