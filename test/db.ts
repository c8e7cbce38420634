// Databases for the runner's tests: the embedded PGlite (always) and PostgreSQL from
// TEST_DATABASE_URL (when reachable). Each test gets a schema of its own, dropped after a test
// that passed and kept after one that failed, for inspection.
import knexModule, { type Knex } from 'knex';
import ClientPgLite from 'knex-pglite';

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface Backend {
  readonly name: 'pglite' | 'postgres';
  /** The database the runner is given: one shared knex per test file and backend. */
  readonly knex: () => Knex;
}

let postgresReachable: boolean | null = null;

async function probePostgres(): Promise<boolean> {
  const knex = knexModule.knex({ client: 'pg', connection: TEST_DATABASE_URL, acquireConnectionTimeout: 3000 });
  try {
    await knex.raw('select 1');
    return true;
  } catch (error) {
    const required = process.env.SLOTWISE_REQUIRE_POSTGRES === '1';
    const reason = `PostgreSQL suites left out: ${TEST_DATABASE_URL.replace(/:[^:@/]*@/, ':***@')} is unreachable (${(error as Error).message})`;
    if (required)
      throw new Error(`${reason}. CI requires it: start it with pg_ctlcluster, or unset SLOTWISE_REQUIRE_POSTGRES.`);
    console.log(reason);
    return false;
  } finally {
    await knex.destroy();
  }
}

/** The backends to run a test file against; PostgreSQL only when it answers (CI: always). */
export async function backends(): Promise<Backend[]> {
  postgresReachable ??= await probePostgres();
  const list: Backend[] = [
    {
      name: 'pglite',
      knex: shared(() => knexModule.knex({ client: ClientPgLite, dialect: 'postgres', connection: {} })),
    },
  ];
  if (postgresReachable) {
    list.push({
      name: 'postgres',
      knex: shared(() => knexModule.knex({ client: 'pg', connection: TEST_DATABASE_URL, pool: { min: 0, max: 10 } })),
    });
  }
  return list;
}

const opened: Knex[] = [];

function shared(open: () => Knex): () => Knex {
  let knex: Knex | null = null;
  return () => {
    if (knex === null) {
      knex = open();
      opened.push(knex);
    }
    return knex;
  };
}

let counter = 0;

/** A fresh schema name for one test (not created: the runner migrates it). */
export function freshSchema(prefix: string): string {
  counter += 1;
  return `t_${prefix}_${process.pid}_${counter}`;
}

/** Drops the schema if the test passed (kept for inspection otherwise). */
export async function dropSchema(knex: Knex, schema: string, passed: boolean): Promise<void> {
  if (passed) await knex.raw('DROP SCHEMA IF EXISTS ?? CASCADE', [schema]);
  else console.log(`kept schema ${schema} of a failed test for inspection`);
}

after(async () => {
  await Promise.all(opened.splice(0).map((knex) => knex.destroy()));
});
