import type { MessagePort } from 'node:worker_threads';
import type { Cell, WaitKind } from '../slots/handshake.js';
import type { FairEntry } from '../slots/fair-queue.js';
import type { LimitPool } from '../slots/limit-pool.js';
import type { Movable } from '../task/transfer.js';
import type { TaskRequest } from '../task/wire.js';
import { newExecutionId } from './execution-id.js';

/**
 * One run of a task, as the main thread tracks it.
 *
 * States, and the only edges `Executor.#moveTo` takes (it checks them):
 *
 *   queued ──slot granted──▶ active ──RELEASED(n) seen──▶ deferred ──wait over──▶ reclaiming
 *                              ▲                                                     │
 *                              └────────────── slot granted, ACTIVE(n) stored ────────┘
 *   any ──response, worker death, cancel while queued, close──▶ finished
 *
 * A run holds its slots (`weight` of them) exactly while it is `active`: entering `active`
 * takes them, leaving it gives them back; `admission.ts` has what it holds of its limits. "Wait over" is the worker asking back (RECLAIMING(n) seen) or the main
 * thread taking the wait for a signal. A wait seen only once it was over (RELEASED(n) and
 * RECLAIMING(n) as one change) never gave its slot away: the run stays `active` through it.
 *
 * `settled` (the caller's promise is resolved or rejected) is separate from `finished` (the
 * run no longer holds or waits for a slot): a run cancelled while it is running rejects at
 * once but finishes, and gives its slot back, only when its worker is done with it.
 */
export type ExecutionState = 'queued' | 'active' | 'deferred' | 'reclaiming' | 'finished';

export const EDGES: Readonly<Record<ExecutionState, readonly ExecutionState[]>> = {
  queued: ['active', 'finished'],
  active: ['deferred', 'finished'],
  deferred: ['reclaiming', 'finished'],
  reclaiming: ['active', 'finished'],
  finished: [],
};

/** A wait of the run for a signal, as its worker announced it. */
export interface SignalWait {
  readonly name: string;
  /** The wait's number (see `slots/handshake.ts`). */
  readonly n: number;
  /** The control port of the run's thread, to post the payload on. */
  readonly port: MessagePort;
}

const NO_POOLS: readonly LimitPool[] = Object.freeze([]);

export class Execution implements FairEntry {
  state: ExecutionState = 'queued';
  settled = false;
  /** Slots it takes while active (its task's `slots`). */
  weight = 1;
  /** The limits it takes a unit of: named ones, then its key's. */
  pools: readonly LimitPool[] = NO_POOLS;
  priority = 0;
  /** Its lane in the queue (see `FairQueue`): its task and key, or its limits' names. */
  lane = '';
  keyed = false;
  tag = 0;
  seq = 0;
  queued = false;
  /** The `beforeResume` run option; null: none. */
  beforeResume: (() => Promise<void>) | null = null;
  /** False while `beforeResume` of the current wait has not resolved. */
  unitsReady = true;
  /** The `timeoutMs` run option, started with its first slot. */
  timeoutMs: number | undefined = undefined;
  timer: NodeJS.Timeout | undefined = undefined;
  /** Detaches the listener on the caller's `signal`. */
  removeAbortListener: (() => void) | null = null;
  /** `threadId` of the worker the balancer sent the run to; -1 before that. */
  thread = -1;
  /** The last STATE word of the cell the main thread acted on (`ACTIVE(0)` at first). */
  handledWord = 0;
  /** The current wait's kind, once released (its number is in `handledWord`). */
  waitKind: WaitKind = 'until';
  /** Set while the run's worker says it waits for a signal that has not been delivered. */
  signalWait: SignalWait | null = null;
  /** Signals sent to the run that no wait has taken yet, per name, oldest first. */
  buffered: Map<string, unknown[]> | null = null;
  /** Buffers and ports the request moves to its thread (the `transfer` run option); null for none. */
  transferList: Movable[] | null = null;
  /** When the run joined the reclaimers (for their patience). */
  reclaimQueuedAt = 0;

  readonly queuedAt: number;
  startedAt = 0;
  deferredAt = 0;
  deferredMs = 0;
  deferrals = 0;
  failure: Error | null = null;
  #executionId: string | undefined;

  constructor(
    readonly request: TaskRequest,
    readonly resolve: (output: unknown) => void,
    readonly reject: (error: Error) => void,
    now: number,
  ) {
    this.queuedAt = now;
  }

  get taskId(): string {
    return this.request.taskId;
  }

  /** Made on first use: a run without a handle whose events nobody listens to never needs one. */
  get executionId(): string {
    this.#executionId ??= this.request.executionId || newExecutionId();
    return this.#executionId;
  }

  get cell(): Cell | null {
    return this.request.cell;
  }

  get finished(): boolean {
    return this.state === 'finished';
  }

  /** Keeps a signal no wait has taken, for the run's next wait of that name. */
  buffer(name: string, payload: unknown): void {
    this.buffered ??= new Map();
    const list = this.buffered.get(name);
    if (list === undefined) this.buffered.set(name, [payload]);
    else list.push(payload);
  }

  /** The oldest buffered signal of `name`, removed; `undefined` in `found` when there is none. */
  takeBuffered(name: string): { readonly found: boolean; readonly payload: unknown } {
    const list = this.buffered?.get(name);
    if (list === undefined || list.length === 0) return { found: false, payload: undefined };
    const payload = list.shift();
    if (list.length === 0) this.buffered?.delete(name);
    return { found: true, payload };
  }

  /** Puts a signal back at the head of its queue (its delivery lost to the wait's own end). */
  unshiftBuffered(name: string, payload: unknown): void {
    this.buffered ??= new Map();
    this.buffered.set(name, [payload, ...(this.buffered.get(name) ?? [])]);
  }

  /** Tells the caller, once. Later outcomes (a task finishing after its timeout) are dropped. */
  settle(error: Error | null, output?: unknown): void {
    if (this.settled) return;
    this.settled = true;
    if (error === null) {
      this.resolve(output);
    } else {
      this.failure = error;
      this.reject(error);
    }
  }
}
