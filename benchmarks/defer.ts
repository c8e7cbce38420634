/**
 * Defer suite: the mixed workload deferral exists for. Eight tasks wait for an outside
 * condition (here: a wall-clock time 2 s after the mode starts), submitted first, then 400
 * CPU tasks of 5 ms, on two threads and two slots. Three modes, each on a fresh executor:
 *
 * - defer:    the waiting tasks use `handle.deferUntil`, so they hold no slot while they wait
 *             and the CPU tasks should run as if the waiters were not there;
 * - hold:     the waiting tasks poll with `await setTimeout` and keep their slot, which is what
 *             a plain pool does: the CPU tasks queue behind them for the whole wait;
 * - cpu_only: the CPU tasks alone, the reference.
 *
 * Figure: time from the start of a mode until its last CPU task has finished. Every mode runs
 * a few rounds (order rotated, the machine is noisy) and the median is kept. Each round also
 * checks that all eight waiting tasks completed, after their time, and none failed.
 */
import { Executor, type Timeline, TimelineRecorder } from '../src/index.js';
import type { SuiteResult } from './report.js';
import { epochNow, median } from './stats.js';
import { deferUntilTime, holdUntilTime, spin } from './tasks.js';

const THREADS = 2;
const WAITERS = 8;
const WAIT_MS = 2_000;
const POLL_MS = 20;
const CPU_TASKS = 400;
const CPU_US = 5_000;
const ROUNDS = 5;

type Mode = 'defer' | 'hold' | 'cpu_only';
const MODES: readonly Mode[] = ['defer', 'hold', 'cpu_only'];

interface ModeRun {
  /** From the start of the mode to the last CPU task's result. */
  readonly cpuDoneMs: number;
  /** Waiting tasks that completed after their time. */
  readonly waitersCompleted: number;
  /** From the start of the mode to the last waiting task's result. */
  readonly waitersDoneMs: number;
}

/** With `record`, also the slot timeline of the run (its listeners cost a little: not for measured runs). */
async function runMode(mode: Mode, record = false): Promise<ModeRun & { timeline?: Timeline }> {
  const executor = new Executor({ threads: THREADS, maxConcurrentTasks: THREADS });
  let recorder: TimelineRecorder | null = null;
  try {
    // Before the clock starts: both threads up and the task module imported on each.
    await Promise.all(Array.from({ length: 2 * THREADS }, () => executor.run(spin, 1_000)));
    if (record) recorder = TimelineRecorder.attach(executor);

    const start = performance.now();
    const until = epochNow() + WAIT_MS;
    const waiter = mode === 'defer' ? deferUntilTime : holdUntilTime;
    // Each waiter notes when its own result arrived; it resolves with the time its body ended.
    const waiters = Array.from({ length: mode === 'cpu_only' ? 0 : WAITERS }, () =>
      executor.run(waiter, { until, pollIntervalMs: POLL_MS }).then((endedAt) => ({ endedAt, at: performance.now() })),
    );
    const cpu = Array.from({ length: CPU_TASKS }, () => executor.run(spin, CPU_US));
    await Promise.all(cpu);
    const cpuDoneMs = performance.now() - start;

    const outcomes = await Promise.allSettled(waiters);
    const doneAt = outcomes.flatMap((o) => (o.status === 'fulfilled' && o.value.endedAt >= until ? [o.value.at] : []));
    const waitersDoneMs = doneAt.length === 0 ? Number.NaN : Math.max(...doneAt) - start;
    const run = { cpuDoneMs, waitersCompleted: doneAt.length, waitersDoneMs };
    return recorder === null ? run : { ...run, timeline: recorder.timeline() };
  } finally {
    recorder?.detach();
    await executor.close();
  }
}

export async function defer(): Promise<SuiteResult> {
  const runs: Record<Mode, ModeRun[]> = { defer: [], hold: [], cpu_only: [] };
  for (let round = 0; round < ROUNDS; round += 1) {
    for (let i = 0; i < MODES.length; i += 1) {
      const mode = MODES[(i + round) % MODES.length] ?? 'defer';
      runs[mode].push(await runMode(mode));
    }
  }
  const cpuDone = (mode: Mode): number => median(runs[mode].map((r) => r.cpuDoneMs));
  const fewestCompleted = (mode: Mode): number => Math.min(...runs[mode].map((r) => r.waitersCompleted));
  const deferMs = cpuDone('defer');
  const holdMs = cpuDone('hold');
  const cpuOnlyMs = cpuDone('cpu_only');
  // One more deferUntil run, not measured, for the report's picture of the slots.
  const { timeline } = await runMode('defer', true);
  return {
    ...(timeline === undefined ? {} : { timeline }),
    metrics: {
      cpu_done_ms_defer: deferMs,
      cpu_done_ms_hold: holdMs,
      cpu_done_ms_cpu_only: cpuOnlyMs,
      defer_vs_cpu_only: deferMs / cpuOnlyMs,
      hold_vs_defer: holdMs / deferMs,
      waiters_done_ms_defer: median(runs.defer.map((r) => r.waitersDoneMs)),
      waiters_done_ms_hold: median(runs.hold.map((r) => r.waitersDoneMs)),
      waiters_completed_defer: fewestCompleted('defer'),
      waiters_completed_hold: fewestCompleted('hold'),
    },
    targets: [
      { metric: 'defer_vs_cpu_only', op: '<=', value: 1.05 },
      { metric: 'hold_vs_defer', op: '>=', value: 2.5 },
      { metric: 'waiters_completed_defer', op: '>=', value: WAITERS },
      { metric: 'waiters_completed_hold', op: '>=', value: WAITERS },
    ],
  };
}
