// `slotwise status`: the workflow executions of a schema and their tasks, and the limits and keys
// in use (active, deferred, reclaiming and queued tasks of each), as text or one JSON
// document; with --watch, redrawn in place every second until Ctrl-C.
import { setTimeout as sleep } from 'node:timers/promises';
import { type DatabaseFlags, openFromFlags } from './database.js';
import { CliError } from './errors.js';
import { formatStatus } from './status-format.js';
import { hasTables, readStatus } from './status-query.js';
import { limitUsage } from '../store/limit-usage.js';

export interface StatusFlags extends DatabaseFlags {
  readonly workflow?: string;
  readonly limit: number;
  readonly json?: boolean;
  readonly watch?: boolean;
}

const WATCH_INTERVAL_MS = 1_000;
/** Cursor home, then clear the screen: the next report replaces the last one. */
const REDRAW = '\x1b[H\x1b[2J';

export async function statusCommand(flags: StatusFlags): Promise<void> {
  const { database, schema, shown } = await openFromFlags(flags, 'status');
  const stop = new AbortController();
  const onSigint = (): void => stop.abort();
  try {
    if (!(await hasTables(database.knex, schema))) {
      throw new CliError(
        `slotwise status: schema ${schema} of ${shown} has no slotwise tables (run slotwise migrate)`,
        1,
      );
    }
    const query = { schema, limit: flags.limit, ...(flags.workflow === undefined ? {} : { workflow: flags.workflow }) };
    const report = async (): Promise<string> => {
      const workflows = await readStatus(database.knex, query);
      const limits = await limitUsage(database.knex, schema);
      if (flags.workflow !== undefined && workflows.length === 0) {
        throw new CliError(`slotwise status: no workflow execution ${flags.workflow} in schema ${schema}`, 1);
      }
      return flags.json === true
        ? `${JSON.stringify({ database: shown, schema, limits, workflows }, null, 2)}\n`
        : formatStatus(schema, shown, workflows, limits);
    };
    if (flags.watch !== true) {
      process.stdout.write(await report());
      return;
    }
    process.once('SIGINT', onSigint);
    while (!stop.signal.aborted) {
      const text = await report();
      process.stdout.write(process.stdout.isTTY ? `${REDRAW}${text}` : `${text}\n`);
      await sleep(WATCH_INTERVAL_MS, undefined, { signal: stop.signal }).catch(() => undefined);
    }
  } finally {
    process.off('SIGINT', onSigint);
    await database.close();
  }
}
