/**
 * A runner child process of the scale suite (see scale-protocol.ts): one Runner on the
 * suite's PostgreSQL schema that may claim the suite's workflows. It starts nothing itself:
 * the parent inserts the work, the runners of every child claim it.
 */
import { Runner } from '../src/index.js';
import { type ChildConfig, type Started, serve } from './scale-protocol.js';
import { holdWorkflow, noopWorkflow } from './scale-tasks.js';

/** The runner's filled options that are numbers (threads, slots, intervals, leases, ...). */
function numericOptions(runner: Runner): Record<string, number> {
  const entries = Object.entries(runner.options).flatMap(([key, value]: [string, unknown]) =>
    typeof value === 'number' ? [[key, value] as const] : [],
  );
  return Object.fromEntries(entries);
}

async function start(config: ChildConfig): Promise<Started> {
  const runner = new Runner({
    database: config.database,
    schema: config.schema,
    threads: config.threads,
    maxConcurrentTasks: config.concurrency,
    workflows: [noopWorkflow, holdWorkflow],
  });
  runner.on('writeFailed', (error) => console.error(`scale-child ${String(process.pid)}:`, error));
  await runner.ready();
  return { id: runner.runnerId, settings: numericOptions(runner), close: () => runner.close() };
}

serve(start);
