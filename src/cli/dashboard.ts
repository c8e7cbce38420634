// `slotwise dashboard`: serves the read-only web dashboard of a schema (src/dashboard/) until
// SIGINT or SIGTERM, then closes it and exits 0. Start-up failures exit 1 with one line: an
// unreachable database, a schema that is missing or not migrated, a port in use.
import { once } from 'node:events';
import { startDashboard } from '../dashboard/server.js';
import { schemaProblem } from '../dashboard/queries.js';
import { type DatabaseFlags, openFromFlags } from './database.js';
import { CliError } from './errors.js';

export interface DashboardFlags extends DatabaseFlags {
  readonly port: number;
  readonly host: string;
}

export async function dashboardCommand(flags: DashboardFlags): Promise<void> {
  const { database, schema, shown, url } = await openFromFlags(flags, 'dashboard');
  try {
    // Checked here (startDashboard checks it as well) for a message that names the database.
    const problem = await schemaProblem(database.knex, schema);
    if (problem !== null) {
      throw new CliError(`slotwise dashboard: schema ${schema} of ${shown} ${problem}: run slotwise migrate`, 1);
    }
  } finally {
    await database.close(); // the command's short-timeout probe; the server opens its own pool
  }
  let dashboard;
  try {
    dashboard = await startDashboard({ database: url, schema, port: flags.port, host: flags.host });
  } catch (error) {
    throw listenFailure(error, flags) ?? error;
  }
  process.stdout.write(`slotwise dashboard: ${dashboard.url}\n`);
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await once(stop.signal, 'abort');
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await dashboard.close();
  }
}

/** The one-line message of an address that cannot be bound, or null for any other error. */
function listenFailure(error: unknown, flags: DashboardFlags): CliError | null {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  const where = `${flags.host.includes(':') ? `[${flags.host}]` : flags.host}:${String(flags.port)}`;
  if (code === 'EADDRINUSE' || code === 'EACCES') {
    const why = code === 'EADDRINUSE' ? 'is in use' : 'may not be bound by this user';
    return new CliError(`slotwise dashboard: port ${where} ${why}: pick another --port (0 picks a free one)`, 1);
  }
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') {
    return new CliError(`slotwise dashboard: cannot bind ${where}: no such address on this machine (see --host)`, 1);
  }
  return null;
}
