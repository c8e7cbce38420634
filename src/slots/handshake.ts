/**
 * The slot handshake: the shared cell through which a task running in a worker thread gives
 * its slot back to the main thread while it waits, and gets one again before it goes on. Both
 * sides import this module; every write to a cell is one of the arrows below, and each arrow
 * is one function here, so the protocol reads in one place.
 *
 * Each run of a task that wants a handle gets one cell: an `Int32Array` over a small
 * `SharedArrayBuffer`, sent to the worker with the task. Both threads touch it only through
 * `Atomics`; every `Atomics` operation is sequentially consistent, so whatever a thread wrote
 * before an atomic store is visible to the thread that reads that store (with `load`, a
 * `compareExchange`, or by waking from the `notify` that follows it).
 *
 * STATE word: `(wait number << 2) | phase`. A run's waits are numbered 1, 2, ... by the worker;
 * the number rides in the word so that a late action meant for one wait can never land on the
 * next one. ACTIVE(0) is the start.
 *
 *   ACTIVE(n-1) ──worker: beginWait──▶ RELEASED(n)            main: the slot goes to other work
 *   RELEASED(n) ──worker: askBack (CAS)──▶ RECLAIMING(n)      the wait ended in the worker:
 *                                                             condition held, promise settled,
 *                                                             timeout, abort, cancellation
 *   RELEASED(n) ──main: takeForSignal (CAS)──▶ RECLAIMING(n)  main delivered a signal to it
 *   RECLAIMING(n) ──main: grant──▶ ACTIVE(n)                  a slot is the run's again
 *
 * The two RELEASED → RECLAIMING arrows are compare-and-swaps of the whole word, so exactly one
 * side ends a wait: a signal that lands as the wait times out is either delivered (the worker's
 * swap fails, and it takes the signal) or not (main's swap fails, and the signal stays buffered).
 * Only the main thread leaves RECLAIMING, after it accounted a slot to the run, which is what
 * lets it miss no request even when it wakes late: it may see RELEASED(n) → RECLAIMING(n) as
 * one change, and then the slot never left the run.
 *
 * WAIT_KIND word (worker only, written before RELEASED is stored, so main reads the kind of the
 * wait it sees released): UNTIL (`deferUntil`), PROMISE (`waitFor`), SIGNAL (`waitForSignal`).
 *
 * RUN word (main only, before the cell is sent): the run's number, which the worker writes in
 * its thread's ask ring when it asks back, so the main thread can find the run at once.
 *
 * CONTROL word (main only): NONE, or CANCELLED when the run is cancelled (its `signal`
 * aborted, its `timeoutMs` passed, `close({ timeoutMs })` ran out). The worker reads it to
 * abort `handle.signal`, and before it gives a slot back.
 *
 * Waiting: the worker waits only with `Atomics.waitAsync` (never `Atomics.wait`, which would
 * freeze every other task on its thread). `waitAsync(cell, i, expected)` compares and starts
 * waiting atomically; if the word moved on it returns at once, so a notify cannot be lost.
 */

/** Index of the STATE word. */
export const STATE = 0;
/** Index of the CONTROL word. */
export const CONTROL = 1;
/** Index of the WAIT_KIND word. */
export const WAIT_KIND = 2;
/** Index of the RUN word: the run's number on the main thread, for the ask ring (`ask-ring.ts`). */
export const RUN = 3;
/** Number of 32-bit words in a cell. */
export const CELL_WORDS = 4;

/** Phase: the run holds a slot. */
export const ACTIVE = 0;
/** Phase: the run gave its slot back and waits. */
export const RELEASED = 1;
/** Phase: the wait is over; the run waits for the main thread to grant it a slot. */
export const RECLAIMING = 2;
export type Phase = typeof ACTIVE | typeof RELEASED | typeof RECLAIMING;

/** CONTROL: nothing asked of the task. */
export const NONE = 0;
/** CONTROL: the run was cancelled; `handle.signal` aborts. */
export const CANCELLED = 1;

/** WAIT_KIND values. */
export const UNTIL = 1;
export const PROMISE = 2;
export const SIGNAL = 3;
export type WaitKindCode = typeof UNTIL | typeof PROMISE | typeof SIGNAL;

/** What a run waits for while it holds no slot: a polled condition, a promise, or a signal. */
export type WaitKind = 'until' | 'promise' | 'signal';
const KIND_NAMES: Record<number, WaitKind> = { [UNTIL]: 'until', [PROMISE]: 'promise', [SIGNAL]: 'signal' };

export type Cell = Int32Array;

/** Wait numbers wrap well before the sign bit; a run would need 2^28 waits to reuse one. */
const WAIT_NUMBER_MASK = 0x0fffffff;

/** A fresh cell for run number `run`: ACTIVE(0), no control request. */
export function createCell(run: number): Cell {
  const cell = new Int32Array(new SharedArrayBuffer(CELL_WORDS * Int32Array.BYTES_PER_ELEMENT));
  cell[RUN] = run; // before the cell is sent: the message that carries it publishes it
  return cell;
}

export function runOf(cell: Cell): number {
  return Atomics.load(cell, RUN);
}

export function word(waitNumber: number, phase: Phase): number {
  return ((waitNumber & WAIT_NUMBER_MASK) << 2) | phase;
}

export function phaseOf(stateWord: number): Phase {
  return (stateWord & 3) as Phase;
}

export function waitNumberOf(stateWord: number): number {
  return stateWord >>> 2;
}

/** The number the worker gives the wait after wait `n`. */
export function nextWaitNumber(n: number): number {
  return (n + 1) & WAIT_NUMBER_MASK;
}

export function waitKindOf(cell: Cell): WaitKind {
  return KIND_NAMES[Atomics.load(cell, WAIT_KIND)] ?? 'until';
}

// ── worker side ────────────────────────────────────────────────────────────────────────────

/** Worker: ACTIVE(n-1) → RELEASED(n). The kind is stored first, so main reads it with the phase. */
export function beginWait(cell: Cell, n: number, kind: WaitKindCode): void {
  Atomics.store(cell, WAIT_KIND, kind);
  Atomics.store(cell, STATE, word(n, RELEASED));
  Atomics.notify(cell, STATE);
}

/**
 * Worker: RELEASED(n) → RECLAIMING(n), the wait having ended on this side. False when main
 * ended it first (a signal was delivered): the worker then waits for the grant all the same.
 */
export function askBack(cell: Cell, n: number): boolean {
  const won = Atomics.compareExchange(cell, STATE, word(n, RELEASED), word(n, RECLAIMING)) === word(n, RELEASED);
  if (won) Atomics.notify(cell, STATE);
  return won;
}

/**
 * Worker: resolves once main granted wait `n` its slot (ACTIVE(n)), or with false as soon as
 * `abandoned()` is true (the task returned without awaiting the wait). A wake-up with the word
 * unchanged was a notify meant for the main thread's waiter; it waits again.
 */
export async function awaitGrant(cell: Cell, n: number, abandoned: () => boolean): Promise<boolean> {
  const granted = word(n, ACTIVE);
  for (;;) {
    const current = Atomics.load(cell, STATE);
    if (current === granted) return true;
    if (abandoned()) return false;
    await waitForNotify(cell, STATE, current);
  }
}

export function isCancelled(cell: Cell): boolean {
  return Atomics.load(cell, CONTROL) === CANCELLED;
}

// ── main side ──────────────────────────────────────────────────────────────────────────────

/** Main: RELEASED(n) → RECLAIMING(n) to deliver a signal. False when the wait already ended. */
export function takeForSignal(cell: Cell, n: number): boolean {
  const taken = Atomics.compareExchange(cell, STATE, word(n, RELEASED), word(n, RECLAIMING)) === word(n, RELEASED);
  if (taken) Atomics.notify(cell, STATE);
  return taken;
}

/**
 * Main: RECLAIMING(n) → ACTIVE(n). Called once the slot is accounted to the run: the store
 * comes after the accounting, so the worker can never use a slot main has not counted.
 */
export function grant(cell: Cell, n: number): void {
  Atomics.store(cell, STATE, word(n, ACTIVE));
  Atomics.notify(cell, STATE);
}

/** Main: asks the run to stop (CONTROL := CANCELLED) and wakes whoever watches the word. */
export function cancelRun(cell: Cell): void {
  Atomics.store(cell, CONTROL, CANCELLED);
  Atomics.notify(cell, CONTROL);
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
