/**
 * Persist suite: the persisted Runner end to end (claim, run on a thread, write the outcome,
 * wake the waiter), on PostgreSQL (DATABASE_URL, or the local test database) and on the
 * embedded PGlite (`new Runner()` with no database, in memory). Each backend gets one runner
 * in a fresh schema, dropped at the end, and three measurements, in this order:
 *
 * - wide_tasks_per_s: one workflow of N no-op tasks without dependencies (all Ready at once),
 *   from calling `execute` to its result;
 * - single_tasks_per_s: M single-task workflows started at once with `start`, then every one
 *   `wait`ed, from the first `start` to the last result;
 * - start_latency_p50/p99_ms: one workflow at a time (latency, not queueing): the main
 *   thread's `epochNow()` just before `start`, to the `epochNow()` the task takes as its body
 *   begins (the same clock base on every thread), returned as its output.
 *
 * Runner settings: `threads: 2` (the machine's cores), `maxConcurrentTasks: 32`: a no-op run
 * is over in microseconds, the database writes around it take milliseconds, so more slots
 * than threads keep claims and outcome writes of several runs in flight at once, and let
 * them batch (with 8 slots the wide workflow measured ~860 tasks/s, with 32 ~1,950).
 * `pollIntervalMs` stays at its default (1 s): the work here is found by local wake-ups.
 *
 * Targets (PostgreSQL), from the issue: >= 1,000 tasks/s for a wide workflow of no-op tasks
 * and for many single-task workflows, and a p50 start latency <= 5 ms. For context, Cloacina
 * (a Rust workflow engine on PostgreSQL) documents about 220 tasks/s.
 */
import knexModule from 'knex';
import { Runner, type RunnerOptions, type Workflow, type WorkflowResult } from '../src/index.js';
import { MAX_WIDE, singleWorkflow, stampWorkflow, wideWorkflow } from './persist-tasks.js';
import type { SuiteResult } from './report.js';
import { epochNow, percentile, perSecond } from './stats.js';

const POSTGRES_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const RUNNER_OPTIONS = { threads: 2, maxConcurrentTasks: 32 } as const satisfies RunnerOptions;
const WARMUP_WIDE = 100;
const WARMUP_SINGLES = 100;
const LATENCY_WARMUP = 20;
const LATENCY_ITERATIONS = 200;

interface Backend {
  readonly name: 'postgres' | 'pglite';
  /** Tasks in the wide workflow, and single-task workflows started at once. */
  readonly wide: number;
  readonly singles: number;
  /** The `database` option of the runner: a connection string, or none for PGlite. */
  readonly database: string | undefined;
  /** Drops the schema; the in-memory PGlite goes with its runner, so it has nothing to do. */
  drop(schema: string): Promise<void>;
}

const BACKENDS: readonly Backend[] = [
  { name: 'postgres', wide: MAX_WIDE, singles: 1_000, database: POSTGRES_URL, drop: dropPostgresSchema },
  // PGlite is one connection, run on the main thread: fewer tasks keep the suite short.
  { name: 'pglite', wide: 500, singles: 500, database: undefined, drop: () => Promise.resolve() },
];

/** The runner owns (and closes) its own pool; dropping the schema takes a connection of our own. */
async function dropPostgresSchema(schema: string): Promise<void> {
  const knex = knexModule.knex({ client: 'pg', connection: POSTGRES_URL, pool: { min: 0, max: 1 } });
  try {
    await knex.raw('DROP SCHEMA IF EXISTS ?? CASCADE', [schema]);
  } finally {
    await knex.destroy();
  }
}

/** Fails loudly rather than report a rate for work that did not all complete. */
function assertCompleted(result: WorkflowResult, tasks: number): void {
  const done = result.tasks.filter((t) => t.status === 'Completed').length;
  if (result.status !== 'Completed' || done !== tasks) {
    throw new Error(
      `persist: ${result.workflowName} ended ${result.status} with ${String(done)}/${String(tasks)} tasks`,
    );
  }
}

async function wideRate(runner: Runner, workflow: Workflow): Promise<number> {
  const start = performance.now();
  const result = await runner.execute(workflow);
  const elapsed = performance.now() - start;
  assertCompleted(result, workflow.tasks.length);
  return perSecond(workflow.tasks.length, elapsed);
}

async function singlesRate(runner: Runner, count: number): Promise<number> {
  const start = performance.now();
  const ids = await Promise.all(Array.from({ length: count }, () => runner.start(singleWorkflow)));
  const results = await Promise.all(ids.map((id) => runner.wait(id)));
  const elapsed = performance.now() - start;
  for (const result of results) assertCompleted(result, 1);
  return perSecond(count, elapsed);
}

/** One `start` → task body start, in ms; then waits for the end so the next one starts alone. */
async function startLatency(runner: Runner): Promise<number> {
  const before = epochNow();
  const result = await runner.wait(await runner.start(stampWorkflow));
  assertCompleted(result, 1);
  const startedAt = result.output?.startedAt;
  if (typeof startedAt !== 'number') throw new Error('persist: the stamp task returned no startedAt');
  return startedAt - before;
}

async function measure(backend: Backend): Promise<Record<string, number>> {
  const schema = `bench_persist_${String(process.pid)}_${Date.now().toString(36)}`;
  const runner = new Runner({
    ...RUNNER_OPTIONS,
    schema,
    ...(backend.database === undefined ? {} : { database: backend.database }),
  });
  try {
    await runner.ready();
    // Warm-up: threads started, task modules imported, pool connections open, JIT warm.
    await wideRate(runner, wideWorkflow(WARMUP_WIDE));
    await singlesRate(runner, WARMUP_SINGLES);
    for (let i = 0; i < LATENCY_WARMUP; i += 1) await startLatency(runner);

    const wide = await wideRate(runner, wideWorkflow(backend.wide));
    const single = await singlesRate(runner, backend.singles);
    const latencies: number[] = [];
    for (let i = 0; i < LATENCY_ITERATIONS; i += 1) latencies.push(await startLatency(runner));
    return {
      [`wide_tasks_per_s_${backend.name}`]: wide,
      [`single_tasks_per_s_${backend.name}`]: single,
      [`start_latency_p50_ms_${backend.name}`]: percentile(latencies, 50),
      [`start_latency_p99_ms_${backend.name}`]: percentile(latencies, 99),
    };
  } finally {
    await runner.close();
    await backend.drop(schema);
  }
}

export async function persist(): Promise<SuiteResult> {
  const metrics: Record<string, number> = {};
  for (const backend of BACKENDS) Object.assign(metrics, await measure(backend));
  return {
    metrics,
    targets: [
      { metric: 'wide_tasks_per_s_postgres', op: '>=', value: 1_000 },
      { metric: 'single_tasks_per_s_postgres', op: '>=', value: 1_000 },
      { metric: 'start_latency_p50_ms_postgres', op: '<=', value: 5 },
    ],
  };
}
