/**
 * Scale suite: the Runner in several processes on one PostgreSQL (DATABASE_URL, or the local
 * test database), graphile-worker on the same database in the same run, and how long a dead
 * runner's tasks wait before a survivor takes them over. Every system runs in child processes
 * (scale-child.ts: one Runner; graphile-child.ts: graphile-worker's `run()`), each
 * configuration in a fresh schema of its own, dropped at the end. This process only inserts
 * the work and watches it end, in SQL.
 *
 * - runners_K_tps (K = 1, 2, 3): single-task no-op workflows/s with K runner processes, each
 *   `threads: 2` (the machine's cores) and `maxConcurrentTasks: 24` (a no-op run is over in
 *   microseconds, the writes around it take milliseconds: more slots than threads keep
 *   claims and outcome writes of many runs in flight, and let them batch).
 * - graphile_worker_tps: no-op jobs/s of graphile-worker 0.16.6 (its last release on Node 20)
 *   in one process, `concurrency: 24`: the same total concurrency as runners_1; its other
 *   settings at their defaults but for `maxPoolSize: 25` (it warns when its pool is smaller
 *   than its concurrency; the runner keeps its default poolSize of 10).
 * - vs_graphile_worker = runners_1_tps / graphile_worker_tps. Target >= 1.
 *
 * Fairness: process start-up is left out for both. The children are started and each reports
 * ready (`runner.ready()` resolved; graphile-worker's pool listening for new jobs); a warm-up
 * batch runs to its end; then the clock starts, N units of work are inserted at once in
 * statements of 1,000 (our workflows with the build's `Transitions.createExecutions`, which is
 * what `start` does for a batch; graphile-worker's jobs with its `add_jobs`; both NOTIFY the
 * workers), and the clock stops when a COUNT(*) polled every 20 ms finds no workflow Running
 * (no job left). runners_1 and graphile-worker run side by side (both started, the one not timed idle),
 * their batches in turn, three each, so a busy spell of a shared machine hits both alike;
 * each figure is the median of its three batches. Every other runner setting is its default.
 *
 * dead_runner_recovery_s: two runner processes, every setting but threads and slots at its
 * default (heartbeatIntervalMs 5,000, leaseMs 10,000: the documented bound is the default
 * one); 40 workflows whose task defers until a file exists, so all are Running/Deferred. The
 * runner holding the most is SIGKILLed just after it renewed its lease (seen in `runners`):
 * the worst moment, its whole lease runs out after the kill. The figure is the time from the
 * kill until the survivor has claimed every task the dead one held (`claimed_by`, polled in
 * SQL): about leaseMs when the survivor's heartbeat falls just after the expiry, about leaseMs
 * + heartbeatIntervalMs when just before (the two runners start together, so their beats are
 * nearly in phase and either can happen). Target: <= dead_runner_bound_s = (leaseMs +
 * heartbeatIntervalMs) / 1000 with the settings the survivor reports. NaN (null in the JSON)
 * if the tasks were not taken over within three times the bound.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import knexModule, { type Knex } from 'knex';
import type { Workflow } from '../src/index.js';
import { Transitions } from '../src/runner/transitions.js';
import { migrate } from '../src/store/migrate.js';
import { Store } from '../src/store/store.js';
import { GRAPHILE_WORKER, SuiteSkipped, installed } from './baselines.js';
import type { SuiteResult } from './report.js';
import type { ChildConfig, ParentMessage, ReadyMessage } from './scale-protocol.js';
import { holdWorkflow, noopWorkflow } from './scale-tasks.js';
import { median, perSecond } from './stats.js';

const POSTGRES_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const THREADS = 2;
const SLOTS = 24;
/** Units of work per timed batch, and timed batches per configuration (the median is reported). */
const COUNT = 5_000;
const ROUNDS = 3;
const WARMUP = 500;
/** Work items per insert statement. */
const BATCH = 1_000;
const WATCH_MS = 20;
const DRAIN_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 30_000;
/** Deferring workflows held by the two runners of the recovery measurement. */
const HOLDS = 40;
const DEFAULT_HEARTBEAT_MS = 5_000;
const DEFAULT_LEASE_MS = 10_000;

interface Child {
  readonly process: ChildProcess;
  readonly ready: ReadyMessage;
}

/** What the clock waits on: a way to insert N units of work, how many are not done, and a final check. */
interface Workload {
  insert(count: number): Promise<void>;
  remaining(): Promise<number>;
  /** Throws unless all the work inserted so far completed (not failed). */
  check(): Promise<void>;
}

function spawnChild(entry: string, config: ChildConfig): Promise<Child> {
  const path = fileURLToPath(new URL(entry, import.meta.url));
  const child = fork(path, [JSON.stringify(config)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    const early = (code: number | null): void => reject(new Error(`scale: ${entry} exited (${String(code)}) early`));
    child.once('exit', early);
    child.once('message', (ready: ReadyMessage) => {
      child.off('exit', early);
      resolve({ process: child, ready });
    });
  });
}

/** Asks a child to close (SIGKILL past STOP_TIMEOUT_MS) and waits for its exit. */
async function stopChild({ process: child }: Child): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  if (child.connected && !child.killed) child.send('close' satisfies ParentMessage, () => undefined);
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}

/** Starts one child per config, all at once, runs `work` once every one is ready, then stops them. */
async function withChildren<T>(
  entry: string,
  configs: readonly ChildConfig[],
  work: (children: Child[]) => Promise<T>,
): Promise<T> {
  const settled = await Promise.allSettled(configs.map((config) => spawnChild(entry, config)));
  const children = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  try {
    for (const s of settled) if (s.status === 'rejected') throw s.reason;
    return await work(children);
  } finally {
    await Promise.all(children.map(stopChild));
  }
}

/** Runs `work` in a fresh schema name, and drops that schema after. */
async function withSchema<T>(knex: Knex, label: string, work: (schema: string) => Promise<T>): Promise<T> {
  const schema = `bench_scale_${label}_${String(process.pid)}_${Date.now().toString(36)}`;
  try {
    return await work(schema);
  } finally {
    await knex.raw('DROP SCHEMA IF EXISTS ?? CASCADE', [schema]);
  }
}

async function countOf(knex: Knex, sql: string, bindings: readonly Knex.RawBinding[]): Promise<number> {
  const result = await knex.raw<{ rows: { n: number }[] }>(sql, bindings);
  return result.rows[0]?.n ?? Number.NaN;
}

/** Polls `done` every WATCH_MS; false if `timeoutMs` passed first. */
async function until(done: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!(await done())) {
    if (performance.now() > deadline) return false;
    await sleep(WATCH_MS);
  }
  return true;
}

/**
 * Inserts `count` executions of `workflow` as `Runner.start` does for a batch, without running
 * anything in this process. The one place that uses the build's internals (their signatures
 * may change).
 */
async function insertWorkflows(
  knex: Knex,
  schema: string,
  workflow: Workflow,
  count: number,
  input: Record<string, unknown> = {},
): Promise<void> {
  const transitions = new Transitions(new Store(knex, schema), { maxRecoveryAttempts: 3 });
  for (let done = 0; done < count; done += BATCH) {
    const starts = Array.from({ length: Math.min(BATCH, count - done) }, () => ({ workflow, input }));
    await transitions.createExecutions(starts);
  }
}

function workflowLoad(knex: Knex, schema: string, workflow: Workflow, input: Record<string, unknown> = {}): Workload {
  let inserted = 0;
  return {
    insert: async (count) => {
      await insertWorkflows(knex, schema, workflow, count, input);
      inserted += count;
    },
    remaining: () =>
      countOf(knex, `SELECT count(*)::int AS n FROM ??.workflow_executions WHERE status = 'Running'`, [schema]),
    check: async () => {
      const sql = `SELECT count(*)::int AS n FROM ??.workflow_executions WHERE status = 'Completed'`;
      const completed = await countOf(knex, sql, [schema]);
      if (completed !== inserted) {
        throw new Error(`scale: ${String(completed)}/${String(inserted)} workflows Completed in ${schema}`);
      }
    },
  };
}

/** A failed job stays in the table (to be retried), so an empty table is a check in itself. */
function jobLoad(knex: Knex, schema: string): Workload {
  return {
    insert: async (count) => {
      for (let done = 0; done < count; done += BATCH) {
        await knex.raw(
          `SELECT count(*) FROM ??.add_jobs(ARRAY(
             SELECT ROW('scale.noop', NULL, NULL, NULL, NULL, NULL, NULL, NULL)::??.job_spec
             FROM generate_series(1, ?)))`,
          [schema, schema, Math.min(BATCH, count - done)],
        );
      }
    },
    remaining: () => countOf(knex, 'SELECT count(*)::int AS n FROM ??._private_jobs', [schema]),
    check: () => Promise.resolve(),
  };
}

/** Waits until none of the work is left, or throws past `timeoutMs`. */
async function drain(load: Workload, timeoutMs = DRAIN_TIMEOUT_MS): Promise<void> {
  if (!(await until(async () => (await load.remaining()) === 0, timeoutMs))) {
    throw new Error(`scale: work still left after ${String(timeoutMs / 1000)} s`);
  }
}

/** Inserts `count` units of work and waits for all to end: units/s, insert included. */
async function rate(load: Workload, count: number): Promise<number> {
  const started = performance.now();
  await load.insert(count);
  await drain(load);
  return perSecond(count, performance.now() - started);
}

/** ROUNDS timed batches of each load in turn (so a slow spell of the machine hits all alike): medians. */
async function medianRates(loads: readonly Workload[]): Promise<number[]> {
  const rates = loads.map((): number[] => []);
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const [i, load] of loads.entries()) rates[i]?.push(await rate(load, COUNT));
  }
  for (const load of loads) await load.check();
  return rates.map(median);
}

function runnerConfig(schema: string): ChildConfig {
  return { database: POSTGRES_URL, schema, concurrency: SLOTS, threads: THREADS };
}

/** `processes` runner children on a fresh schema, ready and warmed up, for `work`. */
async function withRunners<T>(knex: Knex, processes: number, work: (load: Workload) => Promise<T>): Promise<T> {
  return withSchema(knex, `r${String(processes)}`, async (schema) => {
    await migrate(knex, schema);
    const configs = Array.from({ length: processes }, () => runnerConfig(schema));
    return withChildren('./scale-child.js', configs, async () => {
      const load = workflowLoad(knex, schema, noopWorkflow);
      await rate(load, WARMUP);
      return work(load);
    });
  });
}

/** A graphile-worker child on a fresh schema (its `run()` migrates it), ready and warmed up, for `work`. */
async function withGraphile<T>(knex: Knex, work: (load: Workload) => Promise<T>): Promise<T> {
  return withSchema(knex, 'gw', async (schema) => {
    const config: ChildConfig = { database: POSTGRES_URL, schema, concurrency: SLOTS, threads: THREADS };
    return withChildren('./graphile-child.js', [config], async () => {
      const load = jobLoad(knex, schema);
      await rate(load, WARMUP);
      return work(load);
    });
  });
}

/** The Running tasks of the schema by the runner that holds them. */
async function holders(knex: Knex, schema: string): Promise<Map<string, string[]>> {
  const result = await knex.raw<{ rows: { claimed_by: string; ids: string[] }[] }>(
    `SELECT claimed_by, array_agg(id::text) AS ids FROM ??.task_executions WHERE status = 'Running' GROUP BY claimed_by`,
    [schema],
  );
  return new Map(result.rows.map((row) => [row.claimed_by, row.ids]));
}

/** (leaseMs + heartbeatIntervalMs) / 1000, with the settings a runner reports (else the defaults). */
function recoveryBound(settings: Record<string, number>): number {
  return ((settings.leaseMs ?? DEFAULT_LEASE_MS) + (settings.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_MS)) / 1000;
}

/** Resolves just after runner `id` renewed its lease (its `lease_expires_at` moved on). */
async function renewal(knex: Knex, schema: string, id: string, timeoutMs: number): Promise<void> {
  const lease = async (): Promise<string> => {
    const sql = 'SELECT lease_expires_at::text AS at FROM ??.runners WHERE id = ?';
    const result = await knex.raw<{ rows: { at: string }[] }>(sql, [schema, id]);
    return result.rows[0]?.at ?? '';
  };
  const first = await lease();
  if (!(await until(async () => (await lease()) !== first, timeoutMs))) {
    throw new Error(`scale: runner ${id} did not renew its lease within ${String(timeoutMs / 1000)} s`);
  }
}

/**
 * Kills the runner holding the most deferred tasks just after it renewed its lease (the worst
 * moment: the whole lease runs out after the kill), and times until the survivor has claimed
 * every one of them (NaN past three times the bound).
 */
async function killAndWatch(
  knex: Knex,
  schema: string,
  children: readonly Child[],
): Promise<{ seconds: number; bound: number }> {
  const held = await holders(knex, schema);
  const [victim, survivor] = [...children].sort(
    (a, b) => (held.get(b.ready.id)?.length ?? 0) - (held.get(a.ready.id)?.length ?? 0),
  );
  if (victim === undefined || survivor === undefined) throw new Error('scale: two runners expected');
  const ids = held.get(victim.ready.id) ?? [];
  const bound = recoveryBound(survivor.ready.settings);
  const sql = `SELECT count(*)::int AS n FROM ??.task_executions
               WHERE id = ANY(?::uuid[]) AND status = 'Running' AND claimed_by = ?`;
  await renewal(knex, schema, victim.ready.id, bound * 1_000);
  const killedAt = performance.now();
  victim.process.kill('SIGKILL');
  const taken = await until(
    async () => (await countOf(knex, sql, [schema, ids, survivor.ready.id])) === ids.length,
    bound * 3_000,
  );
  return { seconds: taken ? (performance.now() - killedAt) / 1000 : Number.NaN, bound };
}

async function deadRunnerRecovery(knex: Knex): Promise<{ seconds: number; bound: number }> {
  return withSchema(knex, 'dead', async (schema) => {
    await migrate(knex, schema);
    const flagFile = join(tmpdir(), `${schema}.flag`);
    const deferred = `SELECT count(*)::int AS n FROM ??.task_executions WHERE status = 'Running' AND sub_status = 'Deferred'`;
    try {
      return await withChildren('./scale-child.js', [runnerConfig(schema), runnerConfig(schema)], async (children) => {
        const load = workflowLoad(knex, schema, holdWorkflow, { flagFile });
        await load.insert(HOLDS);
        if (!(await until(async () => (await countOf(knex, deferred, [schema])) === HOLDS, 30_000))) {
          throw new Error(`scale: the ${String(HOLDS)} hold tasks were not all Deferred within 30 s`);
        }
        const recovery = await killAndWatch(knex, schema, children);
        await writeFile(flagFile, '');
        if (!Number.isNaN(recovery.seconds)) {
          await drain(load);
          await load.check();
        }
        return recovery;
      });
    } finally {
      await rm(flagFile, { force: true });
    }
  });
}

export async function scale(): Promise<SuiteResult> {
  if (!installed(GRAPHILE_WORKER)) throw new SuiteSkipped('scale', GRAPHILE_WORKER);
  const knex = knexModule.knex({ client: 'pg', connection: POSTGRES_URL, pool: { min: 0, max: 2 } });
  try {
    // runners_1 and graphile-worker side by side, their batches in turn: the pair the ratio compares.
    const [runners1 = Number.NaN, graphile = Number.NaN] = await withRunners(knex, 1, (runners) =>
      withGraphile(knex, (jobs) => medianRates([runners, jobs])),
    );
    const [runners2 = Number.NaN] = await withRunners(knex, 2, (load) => medianRates([load]));
    const [runners3 = Number.NaN] = await withRunners(knex, 3, (load) => medianRates([load]));
    const recovery = await deadRunnerRecovery(knex);
    const metrics = {
      runners_1_tps: runners1,
      runners_2_tps: runners2,
      runners_3_tps: runners3,
      graphile_worker_tps: graphile,
      vs_graphile_worker: runners1 / graphile,
      dead_runner_recovery_s: recovery.seconds,
      dead_runner_bound_s: recovery.bound,
    };
    return {
      metrics,
      targets: [
        { metric: 'vs_graphile_worker', op: '>=', value: 1 },
        { metric: 'dead_runner_recovery_s', op: '<=', value: recovery.bound },
      ],
    };
  } finally {
    await knex.destroy();
  }
}
