/**
 * graphile-worker 0.16.6 for the resume suite's baseline: one worker, one task that prints
 * `started <i> <epochNow()>` as its job starts, in the given schema. Prints `ready` once its
 * pool listens for new jobs.
 */
import { EventEmitter } from 'node:events';
import { Logger, type WorkerEvents, run } from 'graphile-worker';
import { epochNow } from './stats.js';

const [database, schema] = process.argv.slice(2);
if (database === undefined || schema === undefined)
  throw new Error('usage: graphile-latency-child <database> <schema>');
const quiet = new Logger(() => (level, message) => {
  if (String(level) === 'error' || String(level) === 'warning') console.error(`graphile-worker ${level}: ${message}`);
});
const events: WorkerEvents = new EventEmitter();
const listening = new Promise<void>((resolve) => events.once('pool:listen:success', () => resolve()));
const worker = await run({
  connectionString: database,
  schema,
  concurrency: 1,
  noHandleSignals: true,
  logger: quiet,
  events,
  taskList: {
    'bench.latency': (payload) => {
      process.stdout.write(`started ${String((payload as { i: number }).i)} ${String(epochNow())}\n`);
    },
  },
});
await listening;
process.stdout.write('ready\n');
process.once('SIGTERM', () => {
  void worker.stop().then(() => process.exit(0));
});
