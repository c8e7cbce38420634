/** Small statistics helpers for the suites. All inputs are plain numbers; none are mutated. */

/** Nearest-rank percentile (`p` in 0..100) of `values`; NaN for an empty list. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] ?? Number.NaN;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const upper = sorted[mid] ?? Number.NaN;
  return sorted.length % 2 === 1 ? upper : ((sorted[mid - 1] ?? Number.NaN) + upper) / 2;
}

/** Operations per second for `count` operations done in `elapsedMs`. */
export function perSecond(count: number, elapsedMs: number): number {
  return elapsedMs > 0 ? (count * 1000) / elapsedMs : Number.NaN;
}

/** Rounds for display and JSON: enough digits to compare runs, not the float noise. */
export function round(value: number, digits = 3): number {
  if (!Number.isFinite(value)) return value;
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/**
 * A clock that reads the same in every thread of this process: `performance.timeOrigin` plus
 * `performance.now()`, in ms. Both rest on the same monotonic clock, so a stamp taken in a
 * worker thread can be subtracted from one taken on the main thread (the handshake suite
 * checks the offset between threads and reports it).
 */
export function epochNow(): number {
  return performance.timeOrigin + performance.now();
}
