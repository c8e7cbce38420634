/**
 * Latency histograms of an executor, as Piscina keeps `waitTime` and `runTime`: how long runs
 * waited for their first slot, how long they ran (first slot to end, waits included), and how
 * long each wait lasted. Node's own `perf_hooks` histograms (HdrHistogram inside) hold the
 * values, in microseconds; `snapshot` reads them out in milliseconds.
 */
import { type RecordableHistogram, createHistogram } from 'node:perf_hooks';

/** Percentiles of one histogram, in ms; all 0 while `count` is 0. */
export interface LatencySummary {
  readonly count: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

export interface ExecutorLatency {
  /** From `run()` to the run's first slot. */
  readonly waitForSlotMs: LatencySummary;
  /** From the first slot to the end, waits included. */
  readonly runMs: LatencySummary;
  /** One wait each: slot given back to slot granted again. */
  readonly deferredMs: LatencySummary;
}

export class LatencyHistograms {
  readonly #waitForSlot = createHistogram();
  readonly #run = createHistogram();
  readonly #deferred = createHistogram();

  waitedForSlot(ms: number): void {
    record(this.#waitForSlot, ms);
  }

  ran(ms: number): void {
    record(this.#run, ms);
  }

  deferred(ms: number): void {
    record(this.#deferred, ms);
  }

  snapshot(): ExecutorLatency {
    return {
      waitForSlotMs: summary(this.#waitForSlot),
      runMs: summary(this.#run),
      deferredMs: summary(this.#deferred),
    };
  }
}

/** Whole microseconds, at least 1 (the histogram's lowest value). */
function record(histogram: RecordableHistogram, ms: number): void {
  histogram.record(Math.max(1, Math.round(ms * 1000)));
}

function summary(histogram: RecordableHistogram): LatencySummary {
  const count = histogram.count;
  if (count === 0) return { count: 0, p50: 0, p90: 0, p99: 0, max: 0 };
  return {
    count,
    p50: histogram.percentile(50) / 1000,
    p90: histogram.percentile(90) / 1000,
    p99: histogram.percentile(99) / 1000,
    max: histogram.max / 1000,
  };
}
