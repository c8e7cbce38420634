/**
 * The slot handshake: layout and states of the shared cell through which a task running in a
 * worker thread gives its slot back to the main thread and asks for it again.
 *
 * Each run of a task that wants a handle gets one cell: an `Int32Array` over a small
 * `SharedArrayBuffer`, passed to the worker with the task. Both threads use only `Atomics`
 * operations on it; every `Atomics` operation is sequentially consistent, so a value stored
 * before an `Atomics.notify` is seen by the thread that wakes from that notify.
 *
 * STATE word (written by both sides, one transition each):
 *
 *   ACTIVE ──worker: store RELEASED, notify──▶ RELEASED        (main: release the slot)
 *   RELEASED ──worker: store RECLAIMING, notify──▶ RECLAIMING  (main: queue a reclaim)
 *   RECLAIMING ──main: slot granted, store ACTIVE, notify──▶ ACTIVE (worker continues)
 *
 * The worker makes the first two moves and the main thread the third, so the two never race
 * to write the word: whoever may write next is decided by its current value. The worker cannot
 * leave RECLAIMING on its own, which is what lets the main thread miss no reclaim even when it
 * wakes late (it may see RELEASED → RECLAIMING collapsed into one wake-up; the slot then never
 * left the run, so the main thread keeps it and grants at once).
 *
 * CONTROL word (written by the main thread only): NONE, or CANCELLED when the run is cancelled
 * (its `signal` aborted, its `timeoutMs` passed, or `close({ timeoutMs })` ran out). The worker
 * reads it to abort `handle.signal`, and before it gives a slot back in `deferUntil`.
 *
 * WORKER word (written by the worker only, at start): the worker's `threadId`, so the main
 * thread can count slotless (deferred) tasks per worker for the load balancer.
 *
 * Waiting: the worker waits only with `Atomics.waitAsync` (never `Atomics.wait`, which would
 * freeze every other task on its thread). `waitAsync(cell, i, expected)` compares and starts
 * waiting atomically; if the value already moved on it returns `{ async: false }` at once, so
 * a notify that came before the wait cannot be lost.
 */

/** Index of the STATE word. */
export const STATE = 0;
/** Index of the CONTROL word. */
export const CONTROL = 1;
/** Index of the WORKER word. */
export const WORKER = 2;
/** Number of 32-bit words in a cell. */
export const CELL_WORDS = 3;

/** STATE: the task holds a slot. */
export const ACTIVE = 0;
/** STATE: the task gave its slot back and is polling its condition. */
export const RELEASED = 1;
/** STATE: the task wants a slot again and waits for the main thread to grant one. */
export const RECLAIMING = 2;

/** CONTROL: nothing asked of the task. */
export const NONE = 0;
/** CONTROL: the run was cancelled; `handle.signal` aborts. */
export const CANCELLED = 1;

export type Cell = Int32Array;

/** A fresh cell in state ACTIVE with no control request. */
export function createCell(): Cell {
  return new Int32Array(new SharedArrayBuffer(CELL_WORDS * Int32Array.BYTES_PER_ELEMENT));
}

/**
 * Resolves on the next notify of `cell[index]`, or at once if the word no longer holds
 * `expected`. Callers re-read the word afterwards: a wake-up may be a notify meant for the
 * other thread's waiter on the same word.
 */
export async function waitForNotify(cell: Cell, index: number, expected: number): Promise<void> {
  const result = Atomics.waitAsync(cell, index, expected);
  if (result.async) await result.value;
}
