/**
 * Baseline for the handshake's cross-thread wake-ups: how long after a worker's
 * `Atomics.notify` a pending `Atomics.waitAsync` on the main thread resumes its awaiter.
 * The slot handshake moves both ways through exactly this, so `release_seen` and `reclaim`
 * are best read next to it (and next to the postMessage round trip).
 */
import type { Worker } from 'node:worker_threads';
import { epochNow } from './stats.js';

/** Word 0 (Int32): 0 → 1 when the worker notifies. Float64 at byte 8: the worker's stamp. */
export const WAKE_LAYOUT = { stampOffset: 8, bytes: 16 } as const;

export interface WakeMessage {
  readonly wake: SharedArrayBuffer;
}

/** Main side: arm a waitAsync, ask the worker to notify, time stamp → resumption, in µs. */
export async function measureWakeLatency(worker: Worker, rounds: number, warmup: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < warmup + rounds; i += 1) {
    const wake = new SharedArrayBuffer(WAKE_LAYOUT.bytes);
    const word = new Int32Array(wake, 0, 1);
    const stamp = new Float64Array(wake, WAKE_LAYOUT.stampOffset, 1);
    const waiting = Atomics.waitAsync(word, 0, 0);
    const message: WakeMessage = { wake };
    worker.postMessage(message);
    if (waiting.async) await waiting.value;
    const resumed = epochNow();
    if (i >= warmup) samples.push((resumed - (stamp[0] ?? Number.NaN)) * 1000);
  }
  return samples;
}
