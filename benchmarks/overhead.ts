/**
 * Overhead suite: what slotwise's admission path costs per task, against raw Piscina.
 *
 * Both sides get two threads. The executor (`threads: 2, maxConcurrentTasks: 2`) takes a slot
 * on the main thread, builds its request envelope (id, module URL) and lets two runs at a time
 * into its pool; raw Piscina (`minThreads = maxThreads = 2`, every other option at its default)
 * runs a bare worker function from its own queue. Each burst submits every task at once and
 * is timed until the last result arrives, so throughput is the figure: the main thread shares
 * the two cores with the workers, and whatever it spends per task shows up directly.
 *
 * Workloads: a no-op (all overhead) and a 100 µs CPU spin (the overhead next to real work).
 * The machine is noisy (and shared): both sides are warmed up first, then each workload runs
 * several rounds, a round being one executor burst and one raw burst back to back, order
 * alternated. Rates are the medians over rounds; a ratio is the median of the per-round
 * ratios, so each compares two bursts run a second apart, under the same background load.
 */
import { Piscina } from 'piscina';
import { Executor } from '../src/index.js';
import type { RawTask } from './raw-worker.js';
import type { SuiteResult } from './report.js';
import { median, perSecond } from './stats.js';
import { noop, spin } from './tasks.js';

const THREADS = 2;
const ROUNDS = 5;
const WARMUP_TASKS = 3_000;
const NOOP_TASKS = 20_000;
const CPU_TASKS = 4_000;
const CPU_US = 100;

const RAW_WORKER = new URL('./raw-worker.js', import.meta.url);

/** Submits one task; resolves with its result. */
type Submit = () => Promise<unknown>;

/** Submits `count` tasks at once and returns tasks per second until the last one settled. */
async function burst(submit: Submit, count: number): Promise<number> {
  const runs: Promise<unknown>[] = [];
  const start = performance.now();
  for (let i = 0; i < count; i += 1) runs.push(submit());
  await Promise.all(runs);
  return perSecond(count, performance.now() - start);
}

interface Comparison {
  readonly executor: number;
  readonly raw: number;
  readonly ratio: number;
}

/** Runs `ROUNDS` rounds of one executor and one raw burst, alternating which goes first. */
async function compare(executor: Submit, raw: Submit, count: number): Promise<Comparison> {
  const executorRates: number[] = [];
  const rawRates: number[] = [];
  const ratios: number[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    let executorRate: number;
    let rawRate: number;
    if (round % 2 === 0) {
      executorRate = await burst(executor, count);
      rawRate = await burst(raw, count);
    } else {
      rawRate = await burst(raw, count);
      executorRate = await burst(executor, count);
    }
    executorRates.push(executorRate);
    rawRates.push(rawRate);
    ratios.push(executorRate / rawRate);
  }
  return { executor: median(executorRates), raw: median(rawRates), ratio: median(ratios) };
}

export async function overhead(): Promise<SuiteResult> {
  const executor = new Executor({ threads: THREADS, maxConcurrentTasks: THREADS });
  const raw = new Piscina<RawTask, number | undefined>({
    filename: RAW_WORKER.href,
    minThreads: THREADS,
    maxThreads: THREADS,
  });
  try {
    const executorNoop: Submit = () => executor.run(noop, undefined);
    const rawNoop: Submit = () => raw.run({ kind: 'noop' });
    const executorCpu: Submit = () => executor.run(spin, CPU_US);
    const rawCpu: Submit = () => raw.run({ kind: 'spin', us: CPU_US });

    // Warm-up: threads started, task modules imported, both paths optimised by the JIT.
    for (const submit of [executorNoop, rawNoop, executorCpu, rawCpu]) await burst(submit, WARMUP_TASKS);

    const noops = await compare(executorNoop, rawNoop, NOOP_TASKS);
    const cpu = await compare(executorCpu, rawCpu, CPU_TASKS);
    return {
      metrics: {
        noop_executor_per_s: noops.executor,
        noop_raw_per_s: noops.raw,
        noop_ratio: noops.ratio,
        cpu100us_executor_per_s: cpu.executor,
        cpu100us_raw_per_s: cpu.raw,
        cpu100us_ratio: cpu.ratio,
      },
      targets: [
        { metric: 'noop_ratio', op: '>=', value: 0.9 },
        { metric: 'cpu100us_ratio', op: '>=', value: 0.97 },
      ],
    };
  } finally {
    await executor.close();
    await raw.close();
  }
}
