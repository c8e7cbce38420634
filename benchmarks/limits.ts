/**
 * Limits suite: what weights, limits and keys cost, and what fairness buys.
 *
 * - Admission overhead (executor, 2 threads, 2 slots): bursts of runs submitted at once, each
 *   run naming one named limit (large enough never to bind) and a concurrency key (one of 64),
 *   against the same task without needs, in alternating rounds; no-op runs (all admission) and
 *   100 µs runs. The ratio is the median of per-round ratios (limited / plain).
 * - Persisted throughput (PostgreSQL, 2 threads, 32 slots): 1,000 single-task workflows started
 *   at once, each with a key of its own and `perKeyLimit: 1` (so every claim takes the advisory
 *   locks and counts holders), against 1,000 without needs on a runner that knows no task with
 *   needs (the one-statement claim), alternating.
 * - Fairness (executor, 1 thread, 1 slot): 500 runs of one key queued, then 5 of another; the
 *   time from the flood's start until the 5 are done, with keys taking turns and, as the
 *   baseline, with no keys (first in, first out: the 5 wait for the 500). Runs spin 200 µs.
 */
import { Executor, Runner } from '../src/index.js';
import { type KeyedInput, keyedWorkflow, limitedSpin, plainSpin, plainWorkflow, turnSpin } from './limits-tasks.js';
import type { SuiteResult } from './report.js';
import { median, perSecond } from './stats.js';
import knexModule from 'knex';

const POSTGRES_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const ROUNDS = 5;
const NOOP_RUNS = 20_000;
const CPU_RUNS = 4_000;
const KEYS = 64;
const PERSISTED = 1_000;
const PERSIST_ROUNDS = 5;
const FLOOD = 500;
const SMALL = 5;

async function burst(executor: Executor, task: typeof plainSpin, runs: number, us: number): Promise<number> {
  const pending: Promise<unknown>[] = [];
  const start = performance.now();
  for (let i = 0; i < runs; i += 1) pending.push(executor.run(task, { key: `k${String(i % KEYS)}`, us }));
  await Promise.all(pending);
  return perSecond(runs, performance.now() - start);
}

/** Limited / plain rates over alternating rounds: [plain median, limited median, ratio median]. */
async function compareAdmission(executor: Executor, runs: number, us: number): Promise<[number, number, number]> {
  const plain: number[] = [];
  const limited: number[] = [];
  const ratios: number[] = [];
  await burst(executor, plainSpin, 2_000, us);
  await burst(executor, limitedSpin, 2_000, us);
  for (let round = 0; round < ROUNDS; round += 1) {
    const first = round % 2 === 0;
    const a = await burst(executor, first ? plainSpin : limitedSpin, runs, us);
    const b = await burst(executor, first ? limitedSpin : plainSpin, runs, us);
    const [p, l] = first ? [a, b] : [b, a];
    plain.push(p);
    limited.push(l);
    ratios.push(l / p);
  }
  return [median(plain), median(limited), median(ratios)];
}

/** Ms from the flood's first run until the small key's runs are all done. */
async function fairness(executor: Executor, task: typeof plainSpin): Promise<number> {
  const start = performance.now();
  const flood: Promise<unknown>[] = [];
  for (let i = 0; i < FLOOD; i += 1) flood.push(executor.run(task, { key: 'big', us: 200 } satisfies KeyedInput));
  const small: Promise<unknown>[] = [];
  for (let i = 0; i < SMALL; i += 1) small.push(executor.run(task, { key: 'small', us: 200 } satisfies KeyedInput));
  await Promise.all(small);
  const elapsed = performance.now() - start;
  await Promise.all(flood);
  return elapsed;
}

/**
 * Persisted: two runners, each in a schema of its own, one for each workload (a runner that knows
 * no task with needs keeps the one-statement claim: the baseline is what a user without keys gets).
 */
async function persistedRates(): Promise<{ plain: number; keyed: number; ratio: number }> {
  const stamp = `${String(process.pid)}_${Date.now().toString(36)}`;
  const schemas = [`bench_limits_plain_${stamp}`, `bench_limits_keyed_${stamp}`] as const;
  const options = { database: POSTGRES_URL, threads: 2, maxConcurrentTasks: 32 } as const;
  const plainRunner = new Runner({ ...options, schema: schemas[0], workflows: [plainWorkflow] });
  const keyedRunner = new Runner({ ...options, schema: schemas[1], workflows: [keyedWorkflow] });
  const rate = async (keyed: boolean): Promise<number> => {
    const runner = keyed ? keyedRunner : plainRunner;
    const start = performance.now();
    const ids = await Promise.all(
      Array.from({ length: PERSISTED }, (_, i) =>
        keyed ? runner.start(keyedWorkflow, { key: `tenant-${String(i)}` }) : runner.start(plainWorkflow),
      ),
    );
    const results = await Promise.all(ids.map((id) => runner.wait(id)));
    if (results.some((r) => r.status !== 'Completed')) throw new Error('limits: a persisted run did not complete');
    return perSecond(PERSISTED, performance.now() - start);
  };
  try {
    await Promise.all([plainRunner.ready(), keyedRunner.ready()]);
    await rate(false);
    await rate(true);
    const plain: number[] = [];
    const keyed: number[] = [];
    const ratios: number[] = [];
    for (let round = 0; round < PERSIST_ROUNDS; round += 1) {
      const first = round % 2 === 0;
      const a = await rate(!first);
      const b = await rate(first);
      const [p, k] = first ? [a, b] : [b, a];
      plain.push(p);
      keyed.push(k);
      ratios.push(k / p);
    }
    return { plain: median(plain), keyed: median(keyed), ratio: median(ratios) };
  } finally {
    await Promise.all([plainRunner.close(), keyedRunner.close()]);
    const knex = knexModule.knex({ client: 'pg', connection: POSTGRES_URL, pool: { min: 0, max: 1 } });
    try {
      for (const schema of schemas) await knex.raw('DROP SCHEMA IF EXISTS ?? CASCADE', [schema]);
    } finally {
      await knex.destroy();
    }
  }
}

export async function limits(): Promise<SuiteResult> {
  const executor = new Executor({ threads: 2, maxConcurrentTasks: 2, limits: { shared: 1_000_000 } });
  const single = new Executor({ threads: 1, maxConcurrentTasks: 1 });
  try {
    const [noopPlain, noopLimited, noopRatio] = await compareAdmission(executor, NOOP_RUNS, 0);
    const [cpuPlain, cpuLimited, cpuRatio] = await compareAdmission(executor, CPU_RUNS, 100);
    await fairness(single, turnSpin);
    const turns: number[] = [];
    const fifo: number[] = [];
    for (let round = 0; round < 3; round += 1) {
      turns.push(await fairness(single, turnSpin));
      fifo.push(await fairness(single, plainSpin));
    }
    const persisted = await persistedRates();
    return {
      metrics: {
        noop_runs_per_s_plain: noopPlain,
        noop_runs_per_s_limit_and_key: noopLimited,
        noop_ratio_limit_and_key_vs_plain: noopRatio,
        cpu100us_runs_per_s_plain: cpuPlain,
        cpu100us_runs_per_s_limit_and_key: cpuLimited,
        cpu100us_ratio_limit_and_key_vs_plain: cpuRatio,
        persisted_tasks_per_s_no_keys: persisted.plain,
        persisted_tasks_per_s_1000_keys_per_key_limit_1: persisted.keyed,
        persisted_ratio_keys_vs_no_keys: persisted.ratio,
        small_key_done_ms_with_turns: median(turns),
        small_key_done_ms_fifo: median(fifo),
        small_key_speedup_with_turns: median(fifo) / median(turns),
      },
      targets: [
        { metric: 'noop_ratio_limit_and_key_vs_plain', op: '>=', value: 0.95 },
        { metric: 'persisted_ratio_keys_vs_no_keys', op: '>=', value: 0.8 },
      ],
    };
  } finally {
    await executor.close();
    await single.close();
  }
}
