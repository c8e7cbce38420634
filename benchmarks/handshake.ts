/**
 * Handshake suite: latency of the two hand-overs a deferral makes, with bare cross-thread
 * figures measured in the same run as yardsticks (postMessage round trip, notify → waitAsync).
 *
 * One executor, one slot (`maxConcurrentTasks: 1`), two threads. Each iteration:
 * 1. task A (`deferOnFlag`) takes the slot and defers on a shared flag that is 0;
 * 2. task B (`stampStart`), submitted right after A, waits in the queue for A's slot;
 * 3. once B has finished, the main thread sets the flag; A's next poll (every 1 ms) sees it
 *    and A asks for its slot back, with the slot free.
 *
 * release_seen: A's condition first false in the worker (the release is about to happen) to A's
 *   `taskDeferred` on the main thread.
 * release_to_start (the target): A's condition first false in its worker (the release) to B's
 *   body running on a thread: the whole hand-over as the queued task experiences it
 *   (cross-thread stamps).
 * release_to_dispatch: A's `taskDeferred` to B's `taskStarted` (main-thread event times): only
 *   the main thread's synchronous dispatch, as B is started inside the call that releases A's slot.
 * reclaim: A's condition turning true in the worker to A's `taskResumed` on the main thread
 *   (slot granted): the worker's request crossing over and being granted.
 * reclaim_to_resume: the same start to `deferUntil` returning in the worker (grant carried back).
 *
 * Worker stamps and main-thread event times are compared on `epochNow()`; the clock offset
 * between threads is measured in the same run (clock.ts) and reported.
 */
import { Worker } from 'node:worker_threads';
import { Executor } from '../src/index.js';
import { measureClockOffset } from './clock.js';
import type { SuiteResult } from './report.js';
import { percentile } from './stats.js';
import { STAMP, deferOnFlag, stampStart } from './tasks.js';
import { measureWakeLatency } from './wake.js';

const WARMUP = 30;
const ITERATIONS = 300;
const POLL_MS = 1;
const ECHO_WARMUP = 200;
const ECHO_ROUNDS = 2_000;

const ECHO_WORKER = new URL('./echo-worker.js', import.meta.url);

/** Latency samples in µs, one per measured iteration. */
type Samples = Record<'releaseSeen' | 'releaseToDispatch' | 'releaseToStart' | 'reclaim' | 'reclaimToResume', number[]>;

async function deferralSamples(): Promise<Samples> {
  const executor = new Executor({ threads: 2, maxConcurrentTasks: 1 });
  let deferredAt = Number.NaN;
  let queuedStartedAt = Number.NaN;
  let resumedAt = Number.NaN;
  executor.on('taskDeferred', (e) => {
    if (e.taskId === deferOnFlag.id) deferredAt = e.at;
  });
  executor.on('taskStarted', (e) => {
    if (e.taskId === stampStart.id) queuedStartedAt = e.at;
  });
  executor.on('taskResumed', (e) => {
    if (e.taskId === deferOnFlag.id) resumedAt = e.at;
  });

  const flag = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
  const stamps = new Float64Array(new SharedArrayBuffer(4 * Float64Array.BYTES_PER_ELEMENT));
  const stamp = (index: number): number => stamps[index] ?? Number.NaN;
  const samples: Samples = {
    releaseSeen: [],
    releaseToDispatch: [],
    releaseToStart: [],
    reclaim: [],
    reclaimToResume: [],
  };
  try {
    for (let i = 0; i < WARMUP + ITERATIONS; i += 1) {
      Atomics.store(flag, 0, 0);
      stamps.fill(Number.NaN);
      deferredAt = queuedStartedAt = resumedAt = Number.NaN;
      const deferring = executor.run(deferOnFlag, { flag, stamps, pollIntervalMs: POLL_MS });
      const queued = executor.run(stampStart, stamps); // queued: A holds the only slot
      await queued; // B can only have run once A gave its slot back
      Atomics.store(flag, 0, 1);
      await deferring;
      if (i < WARMUP) continue;
      samples.releaseSeen.push((performance.timeOrigin + deferredAt - stamp(STAMP.released)) * 1000);
      samples.releaseToDispatch.push((queuedStartedAt - deferredAt) * 1000);
      samples.releaseToStart.push((stamp(STAMP.queuedBody) - stamp(STAMP.released)) * 1000);
      samples.reclaim.push((performance.timeOrigin + resumedAt - stamp(STAMP.conditionTrue)) * 1000);
      samples.reclaimToResume.push((stamp(STAMP.resumed) - stamp(STAMP.conditionTrue)) * 1000);
    }
  } finally {
    await executor.close();
  }
  // A missing event or stamp would show up as NaN: fail loudly rather than report a wrong figure.
  for (const [name, values] of Object.entries(samples)) {
    if (values.some((v) => !Number.isFinite(v))) throw new Error(`handshake: incomplete ${name} samples`);
  }
  return samples;
}

/** Baselines on a bare worker, in µs: postMessage round trips, notify → waitAsync wake-ups, clock offset. */
async function echoSamples(): Promise<{ roundTrips: number[]; wakes: number[]; offsetUs: number }> {
  const worker = new Worker(ECHO_WORKER);
  let answer: (() => void) | null = null;
  worker.on('message', () => answer?.());
  const roundTrip = (i: number): Promise<void> =>
    new Promise((resolve) => {
      answer = resolve;
      worker.postMessage(i);
    });
  const roundTrips: number[] = [];
  try {
    for (let i = 0; i < ECHO_WARMUP + ECHO_ROUNDS; i += 1) {
      const start = performance.now();
      await roundTrip(i);
      if (i >= ECHO_WARMUP) roundTrips.push((performance.now() - start) * 1000);
    }
    const wakes = await measureWakeLatency(worker, ECHO_ROUNDS, ECHO_WARMUP);
    return { roundTrips, wakes, offsetUs: measureClockOffset(worker).offsetUs };
  } finally {
    await worker.terminate();
  }
}

export async function handshake(): Promise<SuiteResult> {
  const deferrals = await deferralSamples();
  const echo = await echoSamples();
  return {
    metrics: {
      release_seen_p50_us: percentile(deferrals.releaseSeen, 50),
      release_seen_p99_us: percentile(deferrals.releaseSeen, 99),
      release_to_start_p50_us: percentile(deferrals.releaseToStart, 50),
      release_to_start_p99_us: percentile(deferrals.releaseToStart, 99),
      release_to_dispatch_p50_us: percentile(deferrals.releaseToDispatch, 50),
      release_to_dispatch_p99_us: percentile(deferrals.releaseToDispatch, 99),
      reclaim_p50_us: percentile(deferrals.reclaim, 50),
      reclaim_p99_us: percentile(deferrals.reclaim, 99),
      reclaim_to_resume_p50_us: percentile(deferrals.reclaimToResume, 50),
      reclaim_to_resume_p99_us: percentile(deferrals.reclaimToResume, 99),
      postmessage_rtt_p50_us: percentile(echo.roundTrips, 50),
      postmessage_rtt_p99_us: percentile(echo.roundTrips, 99),
      atomics_wake_p50_us: percentile(echo.wakes, 50),
      atomics_wake_p99_us: percentile(echo.wakes, 99),
      clock_offset_us: echo.offsetUs,
    },
    targets: [
      { metric: 'reclaim_p50_us', op: '<=', value: 150 },
      { metric: 'release_to_start_p50_us', op: '<=', value: 150 },
    ],
  };
}
