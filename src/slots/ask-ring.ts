/**
 * A worker thread's ring of hints: which of its runs just asked for their slot back.
 *
 * Each run's request travels in its own cell (`handshake.ts`), and the main thread's watcher of
 * that cell wakes for it on some later turn of the event loop, often after the result of a task
 * that ended on the same thread in the meantime. Handing that task's slot to new work then would
 * make the resuming run wait a whole task more. So the worker also writes the run's number here
 * as it asks back, and the main thread reads the ring of a thread before it hands on a slot
 * freed there. A hint is only a hint: the cell stays the truth, a hint for a run that has ended
 * or was already seen changes nothing, and a full ring drops hints (the watcher still wakes).
 *
 * Layout (`Int32Array` over a `SharedArrayBuffer`, one producer, one consumer):
 *   HEAD     hints written, ever (worker only): the entry is stored first, then HEAD moves on
 *   TAIL     hints read, ever (main only)
 *   entries  RING_SIZE run numbers, hint i at ENTRIES + i % RING_SIZE
 * Sequentially consistent `Atomics` make an entry visible before the HEAD that covers it.
 */

export const HEAD = 0;
export const TAIL = 1;
export const ENTRIES = 2;
export const RING_SIZE = 256;

export type AskRing = Int32Array;

export function createAskRing(): AskRing {
  return new Int32Array(new SharedArrayBuffer((ENTRIES + RING_SIZE) * Int32Array.BYTES_PER_ELEMENT));
}

/** Worker: notes that run `run` asked for its slot back; false if the ring is full. */
export function pushHint(ring: AskRing, run: number): boolean {
  const head = Atomics.load(ring, HEAD);
  if (head - Atomics.load(ring, TAIL) >= RING_SIZE) return false;
  Atomics.store(ring, ENTRIES + (head % RING_SIZE), run);
  Atomics.store(ring, HEAD, head + 1);
  return true;
}

/** Main: calls `onHint` with each run number written since the last drain. */
export function drainHints(ring: AskRing, onHint: (run: number) => void): void {
  const head = Atomics.load(ring, HEAD);
  let tail = Atomics.load(ring, TAIL);
  if (tail === head) return;
  for (; tail !== head; tail += 1) onHint(Atomics.load(ring, ENTRIES + (tail % RING_SIZE)));
  Atomics.store(ring, TAIL, tail);
}
