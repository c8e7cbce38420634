// 006: limits across runners. Each task row carries what a run of it needs, written at start
// from the task's definition: its weight in slots, the names of its limits, its concurrency key
// (from the workflow's input) with that key's limit, and the workflow's priority. Units are
// never counted in a column: a claim counts the Running rows that hold one, under an advisory
// lock per limit and per key (see `store/claim.ts`), so a runner that dies frees its units by
// the same recovery that frees its tasks. `wants_units` marks a run back from a wait that gave
// its units up and asks for them again: claims count it as a holder, so it goes before new work.
// `fair_tag` orders Ready tasks for start-time fair queuing between keys; `fair_keys` keeps each
// key's last tag, and `fair_clock` the virtual time when nothing is Ready.
import type { Knex } from 'knex';

export const name = '006_limits';

export async function up(knex: Knex, schema: string): Promise<void> {
  await knex.schema.withSchema(schema).alterTable('task_executions', (table) => {
    table.integer('slots').notNullable().defaultTo(1);
    table.specificType('limits', 'text[]').notNullable().defaultTo('{}');
    table.text('concurrency_key');
    table.integer('per_key_limit');
    table.boolean('per_key_include_deferred').notNullable().defaultTo(false);
    table.integer('priority').notNullable().defaultTo(0);
    table.bigInteger('fair_tag').notNullable().defaultTo(0);
    table.boolean('wants_units').notNullable().defaultTo(false);
  });
  await knex.schema.withSchema(schema).alterTable('workflow_executions', (table) => {
    table.integer('priority').notNullable().defaultTo(0);
  });
  // Claims take Ready tasks by (priority desc, fair_tag, id): the index hands them over in that order.
  await knex.raw(
    `CREATE INDEX task_executions_ready_fair ON ??.task_executions (priority DESC, fair_tag, id) WHERE status = 'Ready'`,
    [schema],
  );
  await knex.raw('DROP INDEX ??.task_executions_ready_by_id', [schema]);
  // Counting a key's holders looks at its Running rows only.
  await knex.raw(
    `CREATE INDEX task_executions_running_keys ON ??.task_executions (task_id, concurrency_key)
     WHERE status = 'Running' AND concurrency_key IS NOT NULL`,
    [schema],
  );
  await knex.schema.withSchema(schema).createTable('fair_keys', (table) => {
    table.text('task_id').notNullable();
    table.text('concurrency_key').notNullable();
    table.bigInteger('last_tag').notNullable();
    table.primary(['task_id', 'concurrency_key']);
  });
  await knex.schema.withSchema(schema).createTable('fair_clock', (table) => {
    table.integer('id').primary();
    table.bigInteger('now').notNullable();
  });
  await knex.raw('INSERT INTO ??.fair_clock (id, now) VALUES (1, 0)', [schema]);
}

export async function down(knex: Knex, schema: string): Promise<void> {
  await knex.schema.withSchema(schema).dropTable('fair_clock');
  await knex.schema.withSchema(schema).dropTable('fair_keys');
  await knex.raw('DROP INDEX ??.task_executions_running_keys', [schema]);
  await knex.raw(
    `CREATE INDEX task_executions_ready_by_id ON ??.task_executions (retry_at NULLS FIRST, id) WHERE status = 'Ready'`,
    [schema],
  );
  await knex.raw('DROP INDEX ??.task_executions_ready_fair', [schema]);
  await knex.schema.withSchema(schema).alterTable('workflow_executions', (table) => {
    table.dropColumn('priority');
  });
  await knex.schema.withSchema(schema).alterTable('task_executions', (table) => {
    for (const column of ['slots', 'limits', 'concurrency_key', 'per_key_limit', 'per_key_include_deferred']) {
      table.dropColumn(column);
    }
    for (const column of ['priority', 'fair_tag', 'wants_units']) table.dropColumn(column);
  });
}
