/**
 * Applies the migrations in the top-level `migrations/` folder to one schema, through knex's
 * migrator with an explicit list (no folder scanning: the list is the order). Safe when several
 * processes start together: on PostgreSQL they queue on an advisory lock for the schema (knex's
 * own lock row is not enough: the first run of two processes would race to create knex's
 * tables), and the embedded database has one process by construction.
 */
import type { Knex } from 'knex';
import * as m001 from '../../migrations/001_create_tables.js';
import * as m002 from '../../migrations/002_task_counters.js';
import * as m003 from '../../migrations/003_ready_index_by_id.js';
import * as m004 from '../../migrations/004_runner_leases.js';
import * as m005 from '../../migrations/005_signals.js';
import * as m006 from '../../migrations/006_limits.js';
import * as m007 from '../../migrations/007_claim_functions.js';
import * as m008 from '../../migrations/008_operations.js';
import * as m009 from '../../migrations/009_service.js';
import { SchemaTooNewError } from '../errors.js';

interface Migration {
  readonly name: string;
  up(knex: Knex, schema: string): Promise<void>;
  down(knex: Knex, schema: string): Promise<void>;
}

/** Every migration, in order. Append new ones at the end. */
export const MIGRATIONS: readonly Migration[] = [m001, m002, m003, m004, m005, m006, m007, m008, m009];

const LOCK_WAIT_MS = 60_000;

export async function migrate(knex: Knex, schema: string): Promise<void> {
  await withMigrationLock(knex, schema, () => migrateLocked(knex, schema));
}

async function migrateLocked(knex: Knex, schema: string): Promise<void> {
  await createSchema(knex, schema);
  await assertKnownMigrations(knex, schema);
  const config = migratorConfig(schema);
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (let wait = 25; ; wait = Math.min(wait * 2, 1000)) {
    try {
      await knex.migrate.latest(config);
      return;
    } catch (error) {
      if (!isMigrationLocked(error) || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, wait)); // another process is migrating
    }
  }
}

/** Names of applied and pending migrations. */
export async function migrationStatus(knex: Knex, schema: string): Promise<{ applied: string[]; pending: string[] }> {
  await createSchema(knex, schema);
  const [applied, pending] = (await knex.migrate.list(migratorConfig(schema))) as [{ name: string }[], Migration[]];
  return { applied: applied.map((m) => m.name), pending: pending.map((m) => m.name) };
}

/** Fails with a typed error when the schema has migrations this code does not know (a newer version). */
export async function assertKnownMigrations(knex: Knex, schema: string): Promise<void> {
  if (!(await knex.schema.withSchema(schema).hasTable('slotwise_migrations'))) return;
  const rows: { name: string }[] = await knex.withSchema(schema).table('slotwise_migrations').select('name');
  const known = new Set(MIGRATIONS.map((m) => m.name));
  const unknown = rows.map((r) => r.name).filter((name) => !known.has(name));
  if (unknown.length > 0) {
    throw new SchemaTooNewError(schema, unknown);
  }
}

function migratorConfig(schema: string): Knex.MigratorConfig {
  return {
    schemaName: schema,
    tableName: 'slotwise_migrations',
    migrationSource: {
      getMigrations: () => Promise.resolve([...MIGRATIONS]),
      getMigrationName: (migration: Migration) => migration.name,
      getMigration: (migration: Migration) =>
        Promise.resolve({ up: (k: Knex) => migration.up(k, schema), down: (k: Knex) => migration.down(k, schema) }),
    },
  };
}

async function createSchema(knex: Knex, schema: string): Promise<void> {
  try {
    await knex.raw('CREATE SCHEMA IF NOT EXISTS ??', [schema]);
  } catch (error) {
    // Two processes creating it at once: one wins, the other sees a unique violation.
    if ((error as { code?: string }).code !== '23505') throw error;
  }
}

function isMigrationLocked(error: unknown): boolean {
  return error instanceof Error && (error.name === 'MigrationLocked' || /already locked/i.test(error.message));
}

/**
 * Runs `work` while holding a session advisory lock named after the schema, on a connection
 * of its own. Skipped where the pool has a single connection (the embedded database), which
 * the lock would starve.
 */
async function withMigrationLock(knex: Knex, schema: string, work: () => Promise<void>): Promise<void> {
  const poolMax = (knex.client as { config?: { pool?: { max?: number } } }).config?.pool?.max;
  if (poolMax !== undefined && poolMax < 2) return work();
  const client = knex.client as { acquireConnection(): Promise<unknown>; releaseConnection(c: unknown): Promise<void> };
  const connection = await client.acquireConnection();
  const key = `slotwise:migrate:${schema}`;
  try {
    await knex.raw('SELECT pg_advisory_lock(hashtext(?))', [key]).connection(connection);
    try {
      await work();
    } finally {
      await knex.raw('SELECT pg_advisory_unlock(hashtext(?))', [key]).connection(connection);
    }
  } finally {
    await client.releaseConnection(connection);
  }
}
