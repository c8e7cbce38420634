/**
 * Memory suite: does memory come back after heavy use, or does something stay behind? One
 * executor (`threads: 2, maxConcurrentTasks: 2`) takes two loads in turn:
 *
 * - noops:  1,000,000 no-op tasks, in waves of 10,000 in flight (each wave awaited in full);
 * - parked: 10,000 tasks deferred at once (1 s polls of a shared flag), then all released.
 *
 * Readings, each of the main thread's V8 heap used, the two worker threads' heaps used
 * (summed; read inside each thread by a task) and the process RSS (worker threads live in the
 * process), in MiB:
 *
 * - start:   after a warm-up of both loads (threads up, modules imported, code optimised), then
 *            settled;
 * - after:   right after the load ended (parked also reads `loaded`, with all 10,000 parked);
 * - settled: a full collection in every thread, 10 s of quiet, another collection.
 *
 * Ratios are to start (`*_settled_ratio` near 1: nothing kept). The suite runs in a child
 * process of its own (`node --expose-gc`, this module as entry): collections need `gc()`, and
 * a fresh process starts from no other suite's heap. The same helpers serve the parked suite.
 */
import { fork } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Executor } from '../src/index.js';
import { parkOnFlag, threadHeap } from './parked-tasks.js';
import type { SuiteResult } from './report.js';
import { noop } from './tasks.js';

const THREADS = 2;
const NOOP_TASKS = 1_000_000;
const WAVE = 10_000;
const PARKED = 10_000;
const POLL_INTERVAL_MS = 1_000;
/**
 * Quiet time between the collections of a settled reading. V8 gives committed heap pages back to
 * the system only when its memory reducer runs, some seconds into a quiet spell: with 1 s, RSS
 * after 10,000 parked runs stayed ~1.3x its start although every heap was back; with 10 s it is back too.
 */
const SETTLE_MS = 10_000;
const WATCH_MS = 50;
const PARK_TIMEOUT_MS = 180_000;
const MIB = 2 ** 20;

/** One look at memory; bytes. */
export interface MemoryReading {
  /** Resident set of the whole process: main thread, worker threads, native memory. */
  readonly rss: number;
  readonly mainHeap: number;
  /** Heap used of every worker thread of the executor, summed. */
  readonly workersHeap: number;
  /** Heap memory committed by V8 in the main thread and every worker thread (used and free), summed. */
  readonly committed: number;
}

/** A full collection on this thread; the children of both suites run with `--expose-gc`. */
export function collectGarbage(): void {
  if (globalThis.gc === undefined) throw new Error('memory: gc() is missing, run node with --expose-gc');
  globalThis.gc();
}

/**
 * Reads memory, after a full collection in every thread when `collect` is true. One
 * `threadHeap` run per thread, all sent at once, so each lands on a different thread (checked):
 * the executor must have as many slots as threads.
 */
export async function readMemory(executor: Executor, collect: boolean): Promise<MemoryReading> {
  const { threads } = executor.options;
  const heaps = await Promise.all(Array.from({ length: threads }, () => executor.run(threadHeap, collect)));
  if (new Set(heaps.map((heap) => heap.threadId)).size !== threads) {
    throw new Error(`memory: the ${String(threads)} heap readings did not land on ${String(threads)} threads`);
  }
  if (collect && heaps.some((heap) => !heap.collected)) throw new Error('memory: gc() is missing in a worker thread');
  if (collect) collectGarbage();
  const { rss, heapUsed, heapTotal } = process.memoryUsage();
  return {
    rss,
    mainHeap: heapUsed,
    workersHeap: heaps.reduce((sum, heap) => sum + heap.heapUsed, 0),
    committed: heaps.reduce((sum, heap) => sum + heap.heapTotal, heapTotal),
  };
}

/** Collect, wait SETTLE_MS, read after another collection. */
async function settledReading(executor: Executor): Promise<MemoryReading> {
  await readMemory(executor, true);
  await sleep(SETTLE_MS);
  return readMemory(executor, true);
}

/** N runs of `parkOnFlag` on `flag`, and a way to learn whether one failed. */
export interface Parking {
  /** Resolves when every run has resolved; never rejects. */
  readonly finished: Promise<void>;
  /** The first run's failure, if any. */
  failure(): Error | undefined;
}

/** Submits `count` runs that defer until word 0 of `flag` turns 1. */
export function park(executor: Executor, flag: Int32Array, count: number, pollIntervalMs: number): Parking {
  const failures: Error[] = [];
  const input = { flag, pollIntervalMs };
  const runs = Array.from({ length: count }, () => executor.run(parkOnFlag, input));
  const finished = Promise.all(runs).then(
    () => undefined,
    (error: unknown) => void failures.push(error instanceof Error ? error : new Error(String(error))),
  );
  return { finished, failure: () => failures[0] };
}

/** Polls the executor's metrics every WATCH_MS until `count` runs are deferred. */
export async function allDeferred(executor: Executor, count: number, parking: Parking): Promise<void> {
  const deadline = performance.now() + PARK_TIMEOUT_MS;
  while (executor.metrics().deferredTasks < count) {
    const failure = parking.failure();
    if (failure !== undefined) throw failure;
    if (performance.now() > deadline) {
      const { deferredTasks } = executor.metrics();
      throw new Error(`memory: ${String(deferredTasks)}/${String(count)} deferred after ${String(PARK_TIMEOUT_MS)} ms`);
    }
    await sleep(WATCH_MS);
  }
}

/** Turns the flag and waits for every parked run; throws if one failed. */
export async function release(flag: Int32Array, parking: Parking): Promise<void> {
  Atomics.store(flag, 0, 1);
  await parking.finished;
  const failure = parking.failure();
  if (failure !== undefined) throw failure;
}

/** Throws unless the executor is idle with every slot back and nothing failed. */
export function checkIdle(executor: Executor): void {
  const m = executor.metrics();
  if (m.availableSlots !== m.maxConcurrentTasks || m.deferredTasks + m.reclaimingTasks + m.queuedTasks > 0) {
    throw new Error(`memory: the executor is not idle: ${JSON.stringify(m)}`);
  }
  if (m.totalFailed > 0) throw new Error(`memory: ${String(m.totalFailed)} run(s) failed`);
}

async function noopWaves(executor: Executor, total: number): Promise<void> {
  for (let done = 0; done < total; done += WAVE) {
    await Promise.all(Array.from({ length: Math.min(WAVE, total - done) }, () => executor.run(noop, undefined)));
  }
}

async function parkAndRelease(executor: Executor, count: number, pollIntervalMs: number): Promise<MemoryReading> {
  const flag = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
  const parking = park(executor, flag, count, pollIntervalMs);
  try {
    await allDeferred(executor, count, parking);
    return await readMemory(executor, false);
  } finally {
    await release(flag, parking);
  }
}

interface LoadReadings {
  readonly loaded?: MemoryReading;
  readonly after: MemoryReading;
  readonly settled: MemoryReading;
}

async function measure(): Promise<{ start: MemoryReading; noops: LoadReadings; parked: LoadReadings }> {
  const executor = new Executor({ threads: THREADS, maxConcurrentTasks: THREADS });
  try {
    await noopWaves(executor, 2 * WAVE);
    await parkAndRelease(executor, 100, 5);
    const start = await settledReading(executor);

    await noopWaves(executor, NOOP_TASKS);
    const noops = { after: await readMemory(executor, false), settled: await settledReading(executor) };

    const loaded = await parkAndRelease(executor, PARKED, POLL_INTERVAL_MS);
    const parked = { loaded, after: await readMemory(executor, false), settled: await settledReading(executor) };
    checkIdle(executor);
    return { start, noops, parked };
  } finally {
    await executor.close({ timeoutMs: 30_000 });
  }
}

function mib(bytes: number): number {
  return bytes / MIB;
}

/** `<load>_<kind>_<moment>_mib` for each reading, and `<load>_<kind>_<moment>_ratio` to start. */
function loadMetrics(load: string, readings: LoadReadings, start: MemoryReading): Record<string, number> {
  const metrics: Record<string, number> = {};
  const kinds = [
    ['heap', (r: MemoryReading) => r.mainHeap],
    ['workers_heap', (r: MemoryReading) => r.workersHeap],
    ['rss', (r: MemoryReading) => r.rss],
  ] as const;
  for (const [kind, of] of kinds) {
    for (const [moment, reading] of Object.entries(readings) as [string, MemoryReading][]) {
      metrics[`${load}_${kind}_${moment}_mib`] = mib(of(reading));
    }
    for (const [moment, reading] of Object.entries(readings) as [string, MemoryReading][]) {
      metrics[`${load}_${kind}_${moment}_ratio`] = of(reading) / of(start);
    }
  }
  return metrics;
}

export async function memory(): Promise<SuiteResult> {
  const { start, noops, parked } = await runInChild<Awaited<ReturnType<typeof measure>>>(import.meta.url, []);
  return {
    metrics: {
      heap_start_mib: mib(start.mainHeap),
      workers_heap_start_mib: mib(start.workersHeap),
      rss_start_mib: mib(start.rss),
      ...loadMetrics('noops', noops, start),
      ...loadMetrics('parked', parked, start),
    },
    // Measured: heaps back to 0.98-1.04 of start, RSS to 0.90-1.0 (see the header for why 10 s).
    targets: (['noops', 'parked'] as const).flatMap((load) => [
      { metric: `${load}_heap_settled_ratio`, op: '<=', value: 1.2 },
      { metric: `${load}_workers_heap_settled_ratio`, op: '<=', value: 1.2 },
      { metric: `${load}_rss_settled_ratio`, op: '<=', value: 1.5 },
    ]),
  };
}

/** What a child process sends back: its result, or why it failed. */
type ChildMessage<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

/**
 * Runs the compiled module `entry` in a child `node --expose-gc` with `args`; resolves with
 * the value the child's {@link serveChild} sent, once the child has exited.
 */
export function runInChild<T>(entry: string, args: readonly string[]): Promise<T> {
  const child = fork(fileURLToPath(entry), args, {
    execArgv: [...process.execArgv, '--expose-gc'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    let message: ChildMessage<T> | undefined;
    child.once('message', (received: ChildMessage<T>) => (message = received));
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (message?.ok === true) resolve(message.value);
      else {
        const why = message?.error ?? `exited (${String(code ?? signal)}) without a result`;
        reject(new Error(`${fileURLToPath(entry)} ${args.join(' ')}: ${why}`));
      }
    });
  });
}

/** True in the process whose entry point is the module at `moduleUrl`. */
export function isEntry(moduleUrl: string): boolean {
  const entry = process.argv[1];
  return entry !== undefined && pathToFileURL(entry).href === moduleUrl;
}

/** In a child started by {@link runInChild}: runs `work`, sends its outcome to the parent, lets go of the channel. */
export function serveChild<T>(work: () => Promise<T>): void {
  const send = (message: ChildMessage<T>): void => {
    process.send?.(message, () => process.disconnect());
  };
  work().then(
    (value) => send({ ok: true, value }),
    (error: unknown) => {
      process.exitCode = 1;
      send({ ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    },
  );
}

if (isEntry(import.meta.url)) serveChild(measure);
