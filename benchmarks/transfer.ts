/**
 * Transfer suite: an 8 MiB buffer to a worker thread and back, one round trip at a time.
 *
 * Three ways, in the same rounds: slotwise moving it (the `transfer` run option in,
 * `transfer(output, [buffer])` out), slotwise copying it (structured clone both ways, as without
 * the option), and raw Piscina moving it (`Piscina.move` in and out, every pool option at its
 * default). The task touches one byte, so the figure is the cost of getting the buffer there
 * and back. Moved buffers come back and are sent again (the usual pattern: one buffer passed
 * to and fro); copies are fresh each time. Ours and Piscina's moved trips alternate in short
 * rounds; the ratio is the median of per-round ratios of median trips, so each compares runs a
 * moment apart, under the same load. Copies run last, on their own executor: their garbage
 * would otherwise tax the moved trips.
 */
import { Piscina } from 'piscina';
import { Executor } from '../src/index.js';
import type { RawTask } from './raw-worker.js';
import type { SuiteResult } from './report.js';
import { median } from './stats.js';
import { noop, touchCopied, touchMoved } from './tasks.js';

const BYTES = 8 * 1024 * 1024;
const MOVED_ROUNDS = 20;
const MOVED_TRIPS = 300;
const COPIED_TRIPS = 40;
const WARMUP_TRIPS = 300;

const RAW_WORKER = new URL('./raw-worker.js', import.meta.url);

/** One round trip: sends `bytes`, resolves with what came back. */
type Trip = (bytes: Uint8Array) => Promise<Uint8Array>;

/**
 * Median µs of `trips` sequential round trips, each passing the returned buffer on. The median,
 * not the mean: on a shared machine a few trips are stretched by whatever else runs.
 */
async function timeTrips(trip: Trip, trips: number): Promise<number> {
  let bytes: Uint8Array = new Uint8Array(BYTES);
  const times: number[] = [];
  for (let i = 0; i < trips; i += 1) {
    const start = performance.now();
    bytes = await trip(bytes);
    times.push((performance.now() - start) * 1000);
  }
  if (bytes.byteLength !== BYTES) throw new Error('the buffer did not come back whole');
  return median(times);
}

export async function transferSuite(): Promise<SuiteResult> {
  // Copies leave megabytes of garbage in their threads' heaps: they get their own executor, so
  // the moved figures (ours and Piscina's) are not taxed by another run's collections.
  const executor = new Executor({ threads: 1, maxConcurrentTasks: 1 });
  const copying = new Executor({ threads: 1, maxConcurrentTasks: 1 });
  const raw = new Piscina<RawTask, Uint8Array>({ filename: RAW_WORKER.href, minThreads: 1, maxThreads: 1 });
  try {
    const moved: Trip = (bytes) => executor.run(touchMoved, bytes, { transfer: [bytes] });
    const piscinaMoved: Trip = (bytes) => raw.run(Piscina.move(bytes) as Uint8Array);
    const copied: Trip = (bytes) => copying.run(touchCopied, bytes);
    for (const trip of [moved, piscinaMoved]) await timeTrips(trip, WARMUP_TRIPS);

    // Moved, ours against Piscina's, in many short alternating rounds; and a no-op round trip
    // of each (no buffer), which tells the cost of a run from the cost of the move.
    const movedUs: number[] = [];
    const piscinaUs: number[] = [];
    const noopUs: number[] = [];
    const piscinaNoopUs: number[] = [];
    for (let round = 0; round < MOVED_ROUNDS; round += 1) {
      const order: [Trip, number[]][] = [
        [moved, movedUs],
        [piscinaMoved, piscinaUs],
        [(bytes) => executor.run(noop, undefined).then(() => bytes), noopUs],
        [(bytes) => raw.run({ kind: 'noop' }).then(() => bytes), piscinaNoopUs],
      ];
      if (round % 2 === 1) order.reverse();
      for (const [trip, into] of order) into.push(await timeTrips(trip, MOVED_TRIPS));
    }
    // Copied last: its megabytes of garbage on this thread would tax whatever ran after it.
    await timeTrips(copied, 3);
    const copiedUs = [await timeTrips(copied, COPIED_TRIPS)];
    const movedMedian = median(movedUs);
    return {
      metrics: {
        moved_roundtrip_us: movedMedian,
        piscina_move_roundtrip_us: median(piscinaUs),
        copied_roundtrip_us: median(copiedUs),
        moved_speedup_vs_copied: median(copiedUs) / movedMedian,
        moved_ratio_vs_piscina: median(piscinaUs.map((value, i) => value / (movedUs[i] ?? Number.NaN))),
        noop_roundtrip_us: median(noopUs),
        piscina_noop_roundtrip_us: median(piscinaNoopUs),
        noop_ratio_vs_piscina: median(piscinaNoopUs.map((value, i) => value / (noopUs[i] ?? Number.NaN))),
      },
      targets: [{ metric: 'moved_ratio_vs_piscina', op: '>=', value: 0.95 }],
    };
  } finally {
    await executor.close();
    await copying.close();
    await raw.close();
  }
}
