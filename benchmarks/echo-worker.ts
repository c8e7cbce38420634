/**
 * A bare `node:worker_threads` worker for the handshake suite's baselines:
 * - a probe runs the clock exchange of `clock.ts` on a SharedArrayBuffer;
 * - a wake request stamps the clock and notifies the main thread's waitAsync (`wake.ts`);
 * - any other message is posted straight back (the postMessage round trip).
 */
import { parentPort } from 'node:worker_threads';
import { PROBE_LAYOUT, type ProbeMessage } from './clock.js';
import { epochNow } from './stats.js';
import { WAKE_LAYOUT, type WakeMessage } from './wake.js';

function isProbe(message: unknown): message is ProbeMessage {
  return typeof message === 'object' && message !== null && 'probe' in message;
}

function isWake(message: unknown): message is WakeMessage {
  return typeof message === 'object' && message !== null && 'wake' in message;
}

/** Worker side of the exchange: on each odd turn the main thread hands over, stamp and hand back. */
function answerProbe({ probe, rounds }: ProbeMessage): void {
  const turn = new Int32Array(probe, 0, 1);
  const stamp = new Float64Array(probe, PROBE_LAYOUT.stampOffset, 1);
  const deadline = performance.now() + 5_000;
  for (let i = 1; i <= rounds; i += 1) {
    while (Atomics.load(turn, 0) !== 2 * i - 1) if (performance.now() > deadline) return;
    stamp[0] = epochNow();
    Atomics.store(turn, 0, 2 * i);
  }
}

/** Stamp, then store and notify, the way the handle rings the main thread. */
function answerWake({ wake }: WakeMessage): void {
  const word = new Int32Array(wake, 0, 1);
  new Float64Array(wake, WAKE_LAYOUT.stampOffset, 1)[0] = epochNow();
  Atomics.store(word, 0, 1);
  Atomics.notify(word, 0);
}

parentPort?.on('message', (message: unknown) => {
  if (isProbe(message)) answerProbe(message);
  else if (isWake(message)) answerWake(message);
  else parentPort?.postMessage(message);
});
