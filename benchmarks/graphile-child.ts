/**
 * A graphile-worker child process of the scale suite (see scale-protocol.ts): `run()` with
 * one no-op task, `concurrency` jobs at once, in the suite's schema. Ready once its pool
 * listens for new jobs (graphile-worker is woken by the NOTIFY of `add_jobs`). Its
 * per-job "Completed task" info lines are dropped (our runner logs nothing per task);
 * warnings and errors go to stderr.
 */
import { EventEmitter } from 'node:events';
import { Logger, type WorkerEvents, run } from 'graphile-worker';
import { type ChildConfig, type Started, serve } from './scale-protocol.js';

const quiet = new Logger(() => (level, message) => {
  if (String(level) === 'error' || String(level) === 'warning') console.error(`graphile-worker ${level}: ${message}`);
});

async function start(config: ChildConfig): Promise<Started> {
  const events: WorkerEvents = new EventEmitter();
  const listening = new Promise<void>((resolve) => events.once('pool:listen:success', () => resolve()));
  const runner = await run({
    connectionString: config.database,
    schema: config.schema,
    concurrency: config.concurrency,
    // Its advice (it warns below this): a connection per concurrent job, plus its LISTEN client.
    maxPoolSize: config.concurrency + 1,
    noHandleSignals: true,
    logger: quiet,
    events,
    taskList: { 'scale.noop': () => undefined },
  });
  await listening;
  const settings = { concurrency: config.concurrency, maxPoolSize: config.concurrency + 1 };
  return { id: String(process.pid), settings, close: () => runner.stop() };
}

serve(start);
