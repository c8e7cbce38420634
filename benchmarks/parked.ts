/**
 * Parked suite: what tasks parked in `deferUntil` cost while they wait, in memory and in CPU
 * taken from the tasks that run. N tasks (N = 1,000, 10,000, 100,000) defer at once on an
 * executor of two threads and two slots (`threads: 2, maxConcurrentTasks: 2`), each polling
 * every 1 s a condition that stays false (word 0 of a SharedArrayBuffer every run's input
 * shares) until the end, when it turns 1 and they all finish. Meanwhile 1 ms CPU tasks run
 * through the same executor.
 *
 * - rss_per_task_bytes_N: process RSS with N parked minus RSS just before parking, over N (RSS
 *   is the whole process: the worker threads live in it). Both readings come after a full
 *   collection in the main thread and in both workers, so they count what parked runs keep,
 *   not garbage that happens to be uncollected. rss_mib_N: the same growth in MiB (target at
 *   100k: < 1024); rss_before_mib_N: its baseline. rss_peak_mib_N: the process's peak RSS
 *   (getrusage maxrss) over the same baseline, garbage included.
 * - heap_main_per_task_bytes_N, heap_workers_per_task_bytes_N, heap_committed_per_task_bytes_N:
 *   from the same readings, growth over N of the V8 heap used by the main thread, by the two
 *   workers together, and committed by all three (used plus free space in their pages): where
 *   the RSS goes.
 * - poll_cpu_us_per_task_N: process CPU time (every thread) per second with N parked and
 *   nothing else running, minus the same with nothing parked, over N: the cost of one poll
 *   (one a second per task), garbage collection included. Each figure is a 3 s window, 1 s
 *   after the memory reading's collections.
 * - cpu_idle_per_s_N, cpu_parked_per_s_N, cpu_ratio_N: bursts of 2,000 CPU tasks of 1 ms (a
 *   burst outlasts a poll interval), submitted at once and timed to the last result. The
 *   machine is shared and noisy, so bursts with and without parked runs alternate: an idle
 *   burst, then rounds of (park N, a burst with N parked, release, an idle burst), five rounds
 *   (one round with three parked bursts at 100k, where parking alone takes 10-30 s). A round's
 *   ratio is its parked rate over the mean of the idle bursts on either side; cpu_ratio_N is
 *   the median over rounds (target >= 0.9 at 10k), the rates are medians of all bursts.
 * - park_ms_N: from the first `run` until the executor's metrics show N deferred (polled every
 *   50 ms). release_ms_N: from the flag turning 1 until the last parked run has resolved (the
 *   flag is seen at the next poll, up to 1 s later). Medians over rounds.
 *
 * Each N runs in a fresh child process (`node --expose-gc`, this module as entry): every N
 * starts from the same RSS, not from what the previous N left in the heaps and the allocator,
 * and the collections need `gc()`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Executor } from '../src/index.js';
import {
  type MemoryReading,
  allDeferred,
  checkIdle,
  isEntry,
  park,
  readMemory,
  release,
  runInChild,
  serveChild,
} from './memory.js';
import type { SuiteResult } from './report.js';
import { median, perSecond } from './stats.js';
import { spin } from './tasks.js';

const THREADS = 2;
const COUNTS: readonly number[] = [1_000, 10_000, 100_000];
const POLL_INTERVAL_MS = 1_000;
const CPU_TASKS = 2_000;
const CPU_US = 1_000;
/** Park-and-release rounds and bursts with all N parked per round; parking 100,000 takes tens of seconds. */
const ROUNDS_SMALL = 5;
const PARKED_BURSTS_SMALL = 1;
const LARGE = 100_000;
const PARKED_BURSTS_LARGE = 3;
/** Quiet CPU windows: QUIET_MS long, SETTLE_MS after the collections of the reading before them. */
const SETTLE_MS = 1_000;
const QUIET_MS = 3_000;
const MIB = 2 ** 20;

/** What one child measures for one N (bytes, ms, tasks/s, µs). */
interface ParkedRun {
  /** Just before the first parking, and with all N parked, both after collections. */
  readonly before: MemoryReading;
  readonly parked: MemoryReading;
  /** Peak RSS of the child (getrusage maxrss), bytes. */
  readonly peakRss: number;
  /** Process CPU µs per wall second with nothing running, and with N parked (the first time) and nothing else running. */
  readonly quietCpu: { readonly idle: number; readonly parked: number };
  /** One idle burst before each parking, and one after the last release: rounds + 1. */
  readonly idleRates: readonly number[];
  /** Per round, its bursts with all N parked. */
  readonly parkedRates: readonly (readonly number[])[];
  readonly parkMs: readonly number[];
  readonly releaseMs: readonly number[];
}

/** Submits CPU_TASKS CPU tasks at once: tasks/s until the last one's result. */
async function cpuBurst(executor: Executor): Promise<number> {
  const start = performance.now();
  await Promise.all(Array.from({ length: CPU_TASKS }, () => executor.run(spin, CPU_US)));
  return perSecond(CPU_TASKS, performance.now() - start);
}

async function cpuBursts(executor: Executor, count: number): Promise<number[]> {
  const rates: number[] = [];
  for (let i = 0; i < count; i += 1) rates.push(await cpuBurst(executor));
  return rates;
}

/** CPU time of the whole process (every thread) in µs per wall second, over QUIET_MS in which this thread only waits. */
async function quietCpu(): Promise<number> {
  await sleep(SETTLE_MS);
  const start = process.cpuUsage();
  const startedAt = performance.now();
  await sleep(QUIET_MS);
  const used = process.cpuUsage(start);
  return ((used.user + used.system) * 1_000) / (performance.now() - startedAt);
}

/** Threads up, both task modules imported on each, the spin and the deferral paths run a few times. */
async function warmUp(executor: Executor): Promise<void> {
  await Promise.all(Array.from({ length: 200 }, () => executor.run(spin, CPU_US)));
  const flag = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
  const parking = park(executor, flag, 100, 5);
  await allDeferred(executor, 100, parking);
  await release(flag, parking);
  await readMemory(executor, false);
}

/**
 * The child's work for one N. An idle burst, then rounds of: park N, bursts with N parked,
 * release, an idle burst. The first round also reads memory and quiet CPU, before and parked.
 */
async function parkedRun(count: number): Promise<ParkedRun> {
  const executor = new Executor({ threads: THREADS, maxConcurrentTasks: THREADS });
  const flags: Int32Array[] = [];
  try {
    await warmUp(executor);
    const large = count >= LARGE;
    const idleRates = [await cpuBurst(executor)];
    const before = await readMemory(executor, true);
    const quiet = { idle: await quietCpu(), parked: Number.NaN };
    let parked = before;
    const parkedRates: number[][] = [];
    const parkMs: number[] = [];
    const releaseMs: number[] = [];
    for (let round = 0; round < (large ? 1 : ROUNDS_SMALL); round += 1) {
      const flag = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
      flags.push(flag);
      const parkStart = performance.now();
      const parking = park(executor, flag, count, POLL_INTERVAL_MS);
      await allDeferred(executor, count, parking);
      parkMs.push(performance.now() - parkStart);
      if (round === 0) {
        parked = await readMemory(executor, true);
        quiet.parked = await quietCpu();
      }
      parkedRates.push(await cpuBursts(executor, large ? PARKED_BURSTS_LARGE : PARKED_BURSTS_SMALL));
      const releaseStart = performance.now();
      await release(flag, parking);
      releaseMs.push(performance.now() - releaseStart);
      idleRates.push(await cpuBurst(executor));
    }
    checkIdle(executor);
    const peakRss = process.resourceUsage().maxRSS * 1024;
    return { before, parked, peakRss, quietCpu: quiet, idleRates, parkedRates, parkMs, releaseMs };
  } finally {
    for (const flag of flags) Atomics.store(flag, 0, 1); // lets parked runs go, so close() does not wait for ever
    await executor.close({ timeoutMs: 30_000 });
  }
}

/** 1,000 → '1k'. */
function label(count: number): string {
  return `${String(count / 1_000)}k`;
}

function runMetrics(count: number, run: ParkedRun): Record<string, number> {
  const n = label(count);
  const grown = (of: (reading: MemoryReading) => number): number => of(run.parked) - of(run.before);
  // Each round's parked rate against the mean of the idle bursts on either side of it.
  const ratios = run.parkedRates.map(
    (rates, i) => median(rates) / (((run.idleRates[i] ?? Number.NaN) + (run.idleRates[i + 1] ?? Number.NaN)) / 2),
  );
  return {
    [`park_ms_${n}`]: median(run.parkMs),
    [`rss_before_mib_${n}`]: run.before.rss / MIB,
    [`rss_mib_${n}`]: grown((r) => r.rss) / MIB,
    [`rss_peak_mib_${n}`]: (run.peakRss - run.before.rss) / MIB,
    [`rss_per_task_bytes_${n}`]: grown((r) => r.rss) / count,
    [`heap_main_per_task_bytes_${n}`]: grown((r) => r.mainHeap) / count,
    [`heap_workers_per_task_bytes_${n}`]: grown((r) => r.workersHeap) / count,
    [`heap_committed_per_task_bytes_${n}`]: grown((r) => r.committed) / count,
    [`poll_cpu_us_per_task_${n}`]: (run.quietCpu.parked - run.quietCpu.idle) / (count * (1_000 / POLL_INTERVAL_MS)),
    [`cpu_idle_per_s_${n}`]: median(run.idleRates),
    [`cpu_parked_per_s_${n}`]: median(run.parkedRates.flat()),
    [`cpu_ratio_${n}`]: median(ratios),
    [`release_ms_${n}`]: median(run.releaseMs),
  };
}

export async function parked(): Promise<SuiteResult> {
  let metrics: Record<string, number> = {};
  for (const count of COUNTS) {
    const run = await runInChild<ParkedRun>(import.meta.url, [String(count)]);
    metrics = { ...metrics, ...runMetrics(count, run) };
  }
  return {
    metrics,
    targets: [
      { metric: 'rss_mib_100k', op: '<=', value: 1024 },
      { metric: 'cpu_ratio_10k', op: '>=', value: 0.9 },
    ],
  };
}

if (isEntry(import.meta.url)) {
  const count = Number(process.argv[2]);
  if (!Number.isSafeInteger(count) || count < 1) throw new Error('usage: node --expose-gc parked.js <count>');
  serveChild(() => parkedRun(count));
}
