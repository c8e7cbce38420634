/**
 * Checks that `epochNow()` (timeOrigin + performance.now()) reads the same in a worker thread
 * as on the main thread, since the handshake suite subtracts stamps taken on both.
 *
 * NTP-style exchange with both threads busy-spinning on a SharedArrayBuffer word (no event
 * loop in the way, so a round trip takes well under a microsecond): the main thread notes
 * t0, hands the turn over, the worker stamps its clock and hands it back, the main thread
 * notes t1. Offset = worker stamp - (t0 + t1) / 2, from the round with the shortest round trip.
 */
import type { Worker } from 'node:worker_threads';
import { epochNow } from './stats.js';

export const PROBE_LAYOUT = { stampOffset: 8, bytes: 16 } as const;

export interface ProbeMessage {
  readonly probe: SharedArrayBuffer;
  readonly rounds: number;
}

export interface ClockOffset {
  /** Worker clock minus main clock, in µs. */
  readonly offsetUs: number;
  /** Round trip of the best round, in µs: the offset is known to within half of it. */
  readonly roundTripUs: number;
}

/** Runs the exchange with `worker` (an `echo-worker.js`). Blocks the main thread while it runs. */
export function measureClockOffset(worker: Worker, rounds = 2_000): ClockOffset {
  const probe = new SharedArrayBuffer(PROBE_LAYOUT.bytes);
  const turn = new Int32Array(probe, 0, 1);
  const stamp = new Float64Array(probe, PROBE_LAYOUT.stampOffset, 1);
  const message: ProbeMessage = { probe, rounds };
  worker.postMessage(message);
  const deadline = performance.now() + 5_000;
  let best: ClockOffset = { offsetUs: Number.NaN, roundTripUs: Infinity };
  for (let i = 1; i <= rounds; i += 1) {
    const t0 = epochNow();
    Atomics.store(turn, 0, 2 * i - 1);
    while (Atomics.load(turn, 0) !== 2 * i) {
      if (performance.now() > deadline) throw new Error('clock probe: the worker did not answer');
    }
    const t1 = epochNow();
    const roundTripUs = (t1 - t0) * 1000;
    const workerStamp = stamp[0] ?? Number.NaN;
    if (roundTripUs < best.roundTripUs) best = { offsetUs: (workerStamp - (t0 + t1) / 2) * 1000, roundTripUs };
  }
  return best;
}
