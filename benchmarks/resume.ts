/**
 * Resume suite: how soon a run whose wait is over goes on while the CPU is saturated, and what
 * that costs the CPU work.
 *
 * Saturation: 2 threads, 2 slots, a stream of synchronous CPU tasks of L ms (four in flight, so
 * both threads are always busy and work is always queued). Ten runs park first, then are
 * released one by one from the main thread, a random 2–4 L apart (the first two warm the path
 * up on the round's fresh threads and are not measured): by a shared flag their
 * `deferUntil` polls (poll interval P), or by `executor.signal` to their `waitForSignal`. Lag:
 * the release to the line after the wait (a stamp the task takes), in ms and in units of L.
 * The floor is the run's own thread: it may be in the middle of a CPU task (≤ L), plus one poll
 * to notice for a polled wait. Targets: polled p99 ≤ P + 1.5 L, signalled p99 ≤ 1.5 L.
 *
 * Throughput: CPU tasks per second over the same window, against the same stream with no
 * parked runs (cpu_only, same run): `cpu_slowdown_<mode>_<L>ms` = cpu_only rate / mode rate.
 *
 * Free slot: one run waits for a signal on an idle executor; `signal()` to the task's next
 * line, beside a bare `postMessage` round trip to a worker in the same run.
 *
 * Across processes (PostgreSQL): `runner.signal` to the task's next line in another process,
 * beside graphile-worker's `addJob` to its job's start (see resume-runner.ts).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { Executor } from '../src/index.js';
import type { SuiteResult, Target } from './report.js';
import { parkOnFlag, parkOnSignal } from './resume-tasks.js';
import { epochNow, percentile, perSecond } from './stats.js';
import { spin } from './tasks.js';
import { runnerSignalLatency } from './resume-runner.js';

const THREADS = 2;
const PARKED = 8;
const IN_FLIGHT = 4;
const ROUNDS = 6;
/** Released first in each round and not measured: the resume path's first use on fresh threads. */
const WARMUP = 2;
const CASES: readonly { readonly cpuMs: number; readonly pollMs: number }[] = [
  { cpuMs: 5, pollMs: 1 },
  { cpuMs: 20, pollMs: 10 },
  { cpuMs: 50, pollMs: 10 },
];
type Mode = 'until' | 'signal' | 'cpu_only';
const MODES: readonly Mode[] = ['until', 'signal', 'cpu_only'];
const FREE_SLOT_ROUNDS = 300;
const ECHO_WORKER = new URL('./echo-worker.js', import.meta.url);

interface Round {
  readonly lagsMs: number[];
  readonly cpuDone: number;
  readonly windowMs: number;
}

/** Keeps `IN_FLIGHT` CPU runs of `cpuMs` going until stopped; counts the ones that finished. */
function cpuStream(executor: Executor, cpuMs: number): { stop: () => Promise<number> } {
  let running = true;
  let done = 0;
  const lanes = Array.from({ length: IN_FLIGHT }, async () => {
    while (running) {
      await executor.run(spin, cpuMs * 1000);
      if (running) done += 1;
    }
  });
  return {
    stop: async () => {
      running = false;
      const counted = done;
      await Promise.all(lanes);
      return counted;
    },
  };
}

async function runRound(mode: Mode, cpuMs: number, pollMs: number): Promise<Round> {
  const executor = new Executor({ threads: THREADS, maxConcurrentTasks: THREADS });
  try {
    await Promise.all(Array.from({ length: 2 * THREADS }, () => executor.run(spin, 1_000)));
    const flags = new Int32Array(new SharedArrayBuffer((PARKED + WARMUP) * Int32Array.BYTES_PER_ELEMENT));
    const ids = Array.from({ length: PARKED + WARMUP }, (_, i) => `resume-${mode}-${String(i)}-${String(epochNow())}`);
    let parked = 0;
    const allParked = new Promise<void>((resolve) => {
      const event = mode === 'signal' ? 'taskAwaitingSignal' : 'taskDeferred';
      executor.on(event, () => {
        parked += 1;
        if (parked === PARKED + WARMUP) resolve();
      });
    });
    const runs =
      mode === 'cpu_only'
        ? []
        : ids.map((executionId, index) =>
            mode === 'until'
              ? executor.run(parkOnFlag, { flags, index, pollIntervalMs: pollMs }, { executionId })
              : executor.run(parkOnSignal, null, { executionId }),
          );
    if (mode !== 'cpu_only') await allParked;
    const stream = cpuStream(executor, cpuMs);
    const start = performance.now();
    await sleep(3 * cpuMs);
    const lagsMs: number[] = [];
    for (let i = 0; i < PARKED + WARMUP; i += 1) {
      await sleep(cpuMs * (2 + 2 * Math.random()));
      const releasedAt = epochNow();
      if (mode === 'until') {
        Atomics.store(flags, i, 1);
      } else if (mode === 'signal') {
        executor.signal(ids[i] ?? '', 'go');
      }
      const run = runs[i];
      if (run === undefined)
        await sleep(cpuMs); // cpu_only: the same schedule, nothing to wait for
      else if (i < WARMUP) await run;
      else lagsMs.push((await run) - releasedAt);
    }
    const windowMs = performance.now() - start;
    const cpuDone = await stream.stop();
    return { lagsMs, cpuDone, windowMs };
  } finally {
    await executor.close();
  }
}

/** `signal()` to the task's next line, one run waiting on an idle executor, in µs. */
async function freeSlotSignalLatencies(): Promise<number[]> {
  const executor = new Executor({ threads: THREADS, maxConcurrentTasks: THREADS });
  const samples: number[] = [];
  try {
    for (let i = 0; i < FREE_SLOT_ROUNDS + 30; i += 1) {
      const executionId = `free-${String(i)}-${String(epochNow())}`;
      const awaiting = new Promise<void>((resolve) => {
        const listener = (e: { executionId: string }): void => {
          if (e.executionId !== executionId) return;
          executor.off('taskAwaitingSignal', listener);
          resolve();
        };
        executor.on('taskAwaitingSignal', listener);
      });
      const run = executor.run(parkOnSignal, null, { executionId });
      await awaiting;
      const sentAt = epochNow();
      executor.signal(executionId, 'go');
      const resumedAt = await run;
      if (i >= 30) samples.push((resumedAt - sentAt) * 1000);
    }
    return samples;
  } finally {
    await executor.close();
  }
}

/** A bare `postMessage` round trip to a worker thread, in µs (the floor of any cross-thread hand-over). */
async function postMessageRoundTrips(): Promise<number[]> {
  const worker = new Worker(ECHO_WORKER);
  let answer: (() => void) | null = null;
  worker.on('message', () => answer?.());
  const samples: number[] = [];
  try {
    for (let i = 0; i < 1_200; i += 1) {
      const start = performance.now();
      await new Promise<void>((resolve) => {
        answer = resolve;
        worker.postMessage(i);
      });
      if (i >= 200) samples.push((performance.now() - start) * 1000);
    }
    return samples;
  } finally {
    await worker.terminate();
  }
}

export async function resume(): Promise<SuiteResult> {
  const metrics: Record<string, number> = {};
  const targets: Target[] = [];
  for (const { cpuMs, pollMs } of CASES) {
    const rounds: Record<Mode, Round[]> = { until: [], signal: [], cpu_only: [] };
    for (let round = 0; round < ROUNDS; round += 1) {
      for (let i = 0; i < MODES.length; i += 1) {
        const mode = MODES[(i + round) % MODES.length] ?? 'until';
        rounds[mode].push(await runRound(mode, cpuMs, pollMs));
      }
    }
    const rate = (mode: Mode): number =>
      perSecond(
        rounds[mode].reduce((sum, r) => sum + r.cpuDone, 0),
        rounds[mode].reduce((sum, r) => sum + r.windowMs, 0),
      );
    const L = `${String(cpuMs)}ms`;
    metrics[`cpu_only_per_s_${L}`] = rate('cpu_only');
    for (const mode of ['until', 'signal'] as const) {
      const lags = rounds[mode].flatMap((r) => r.lagsMs);
      const p99 = percentile(lags, 99);
      metrics[`lag_p50_ms_${mode}_${L}`] = percentile(lags, 50);
      metrics[`lag_p99_ms_${mode}_${L}`] = p99;
      metrics[`lag_p99_in_L_${mode}_${L}`] = p99 / cpuMs;
      metrics[`cpu_slowdown_ratio_${mode}_${L}`] = rate('cpu_only') / rate(mode);
      targets.push({
        metric: `lag_p99_ms_${mode}_${L}`,
        op: '<=',
        value: mode === 'until' ? pollMs + 1.5 * cpuMs : 1.5 * cpuMs,
      });
      targets.push({ metric: `cpu_slowdown_ratio_${mode}_${L}`, op: '<=', value: 1.05 });
    }
  }
  metrics.signal_to_resume_p50_us = percentile(await freeSlotSignalLatencies(), 50);
  metrics.postmessage_rtt_p50_us = percentile(await postMessageRoundTrips(), 50);
  targets.push({ metric: 'signal_to_resume_p50_us', op: '<=', value: 200 });
  const crossProcess = await runnerSignalLatency();
  if (crossProcess !== null) {
    metrics.runner_signal_to_resume_p50_ms = crossProcess.slotwiseP50Ms;
    metrics.runner_signal_to_resume_p99_ms = crossProcess.slotwiseP99Ms;
    metrics.graphile_add_to_start_p50_ms = crossProcess.graphileP50Ms;
    metrics.graphile_add_to_start_p99_ms = crossProcess.graphileP99Ms;
    targets.push({ metric: 'runner_signal_to_resume_p50_ms', op: '<=', value: 5 });
  }
  return { metrics, targets };
}
