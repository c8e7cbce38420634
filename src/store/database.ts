/**
 * Opening the database a runner keeps its state in: PostgreSQL through knex and pg when given
 * a connection string (or a knex instance), otherwise an embedded PostgreSQL (PGlite, through
 * the knex-pglite dialect) in memory or in a data directory. One SQL dialect either way.
 */
import knexModule, { type Knex } from 'knex';
import ClientPgLite from 'knex-pglite';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve as resolvePath } from 'node:path';
import { EmbeddedDatabaseInUseError, InvalidArgumentError } from '../errors.js';
import { type Logger, SILENT, knexLog } from '../logger.js';

/** Where a runner keeps its state. */
export type DatabaseOption =
  /** A PostgreSQL connection string, e.g. `postgres://user@host:5432/db`. */
  | string
  /** A knex instance (pg or knex-pglite client) owned by the caller: it is not destroyed on close. */
  | Knex
  /** The embedded database, kept in `dataDir` (a folder) instead of memory. */
  | { readonly embedded: true; readonly dataDir?: string };

export interface Database {
  readonly knex: Knex;
  /** True for the embedded PGlite database (one process, one connection). */
  readonly embedded: boolean;
  /** Destroys the knex instance if this module created it. */
  close(): Promise<void>;
}

const SCHEMA = /^[a-z_][a-z0-9_]{0,62}$/;

/** The shortest bound on a statement, connecting included (a busy machine is not a dead database). */
const MIN_STATEMENT_TIMEOUT_MS = 1_000;

/** Validates a schema name: it is used as an SQL identifier. */
export function validateSchema(schema: unknown): string {
  if (typeof schema !== 'string' || !SCHEMA.test(schema)) {
    throw new InvalidArgumentError('schema', 'a lower-case SQL identifier (letters, digits, _; 1-63 chars)', schema);
  }
  return schema;
}

/**
 * Opens the database. `owner` (a runner id) takes the lock of an embedded data directory, so a
 * second process cannot open it while the first lives (`EmbeddedDatabaseInUseError`).
 */
export function openDatabase(
  option: DatabaseOption | undefined,
  poolSize: number,
  owner: string,
  timeoutMs = 30_000,
  logger: Logger = SILENT,
): Database {
  if (option === undefined || (typeof option === 'object' && 'embedded' in option)) {
    const dataDir = option?.dataDir;
    const unlock = dataDir === undefined ? () => undefined : lockDataDir(dataDir, owner);
    const knex = knexModule.knex({
      client: ClientPgLite,
      dialect: 'postgres',
      log: knexLog(logger),
      connection: dataDir === undefined ? {} : { filename: dataDir },
    });
    return {
      knex,
      embedded: true,
      close: async () => {
        await knex.destroy();
        unlock();
      },
    };
  }
  if (typeof option === 'string') {
    if (!/^postgres(ql)?:\/\//.test(option)) {
      throw new InvalidArgumentError('database', 'a postgres:// connection string', redact(option));
    }
    // A database that stops answering must fail a statement, not hang it: the write deadline
    // is enforced between failed attempts, so every attempt needs a bound of its own.
    const bound = Math.max(timeoutMs, MIN_STATEMENT_TIMEOUT_MS);
    const knex = knexModule.knex({
      client: 'pg',
      connection: { connectionString: option, connectionTimeoutMillis: bound, query_timeout: bound, keepAlive: true },
      pool: { min: 0, max: poolSize },
      acquireConnectionTimeout: bound,
      log: knexLog(logger),
    });
    return { knex, embedded: false, close: () => knex.destroy() };
  }
  if (typeof option === 'function' && typeof (option as Knex).raw === 'function') {
    const embedded = ((option as Knex).client as object).constructor === ClientPgLite;
    return { knex: option, embedded, close: () => Promise.resolve() };
  }
  throw new InvalidArgumentError('database', 'a connection string, a knex instance or { embedded: true }', option);
}

/**
 * Takes the lock file beside an embedded data directory (`<dataDir>.slotwise-lock`, holding the
 * owner's runner id, host and pid), or fails if a live process holds it; a lock left by a
 * process that is gone is taken over. Returns the function that gives it back.
 */
function lockDataDir(dataDir: string, owner: string): () => void {
  const file = `${resolvePath(dataDir)}.slotwise-lock`;
  const mine = { runnerId: owner, host: hostname(), pid: process.pid };
  for (;;) {
    try {
      writeFileSync(file, JSON.stringify(mine), { flag: 'wx' });
      return () => {
        if (readLock(file)?.runnerId === owner) rmSync(file, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = readLock(file);
      if (holder !== null && (holder.host !== mine.host || processAlive(holder.pid))) {
        throw new EmbeddedDatabaseInUseError(`data directory \`${dataDir}\``, holder);
      }
      rmSync(file, { force: true }); // left by a process that is gone
    }
  }
}

function readLock(file: string): { runnerId: string; host: string; pid: number } | null {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as { runnerId: string; host: string; pid: number };
  } catch {
    return null; // gone, or half written by a process that died: not a live holder
  }
}

/** Whether a process of this host lives (EPERM: it does, as another user's). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A connection string with its password hidden, for messages and logs: in the user part (even
 * with a raw `@` in it, or no user name) and in a `password` parameter. What does not parse as
 * a URL loses everything before its last `@` (but its scheme).
 */
export function redact(connection: string): string {
  try {
    const url = new URL(connection);
    if (url.password !== '') url.password = '***';
    if (url.searchParams.has('password')) url.searchParams.set('password', '***');
    return url.href;
  } catch {
    return connection.replace(/^([a-z][a-z0-9+.-]*:\/\/)?.*@/i, '$1***@');
  }
}
