// The database a command works on: from --database or DATABASE_URL (the embedded database would
// be empty and gone at exit, so one of them is required), opened with a short timeout and
// checked at once, so that an unreachable server fails in about two seconds and says so.
import { type Database, openDatabase, redact, validateSchema } from '../store/database.js';
import { CliError } from './errors.js';

/** How long connecting (and each statement) may take before the database counts as unreachable. */
export const CONNECT_TIMEOUT_MS = 2_000;

export interface DatabaseFlags {
  readonly database?: string;
  readonly schema: string;
}

export interface OpenedDatabase {
  readonly database: Database;
  readonly schema: string;
  /** The connection string with its password hidden. */
  readonly shown: string;
  /** The connection string as given. */
  readonly url: string;
}

/** The connection string the flags (or DATABASE_URL) name; a usage error (exit 2) when none does. */
export function databaseUrl(flags: { readonly database?: string | undefined }, command: string): string {
  const url = flags.database ?? process.env.DATABASE_URL;
  if (url === undefined || url === '') {
    throw new CliError(`slotwise ${command}: no database: give --database URL or set DATABASE_URL`, 2);
  }
  return url;
}

/** Opens the database the flags (or DATABASE_URL) name and checks that it answers. */
export async function openFromFlags(flags: DatabaseFlags, command: string): Promise<OpenedDatabase> {
  const url = databaseUrl(flags, command);
  let schema: string;
  let database: Database;
  try {
    schema = validateSchema(flags.schema);
    // Silent (the default logger): the command reports a failure itself, once, and knex's
    // warnings (an "Acquire connection error" stack) would only repeat it.
    database = openDatabase(url, 2, `slotwise-${command}`, CONNECT_TIMEOUT_MS);
  } catch (error) {
    throw new CliError(`slotwise ${command}: ${(error as Error).message}`, 2);
  }
  const shown = redact(url);
  try {
    await database.knex.raw('select 1');
  } catch (error) {
    await database.close();
    throw new CliError(`slotwise ${command}: database ${shown} is unreachable: ${hidePassword(error, url)}`, 1);
  }
  return { database, schema, shown, url };
}

/** An error's message, with the URL's password (if any) masked wherever it appears. */
export function hidePassword(error: unknown, url: string): string {
  const message = error instanceof Error ? error.message : String(error);
  let password = '';
  try {
    password = decodeURIComponent(new URL(url).password);
  } catch {
    // not a URL: redact() already hid what it could in the parts we print
  }
  return password === '' ? message : message.split(password).join('***');
}
