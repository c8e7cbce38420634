import type { Cell } from '../slots/handshake.js';
import type { SlotWaiter } from '../slots/semaphore.js';
import type { SlotToken } from '../slots/slot-token.js';
import type { TaskRequest } from '../task/wire.js';
import { newExecutionId } from './execution-id.js';

/**
 * One run of a task, as the main thread tracks it.
 *
 * States:
 *
 *   queued ──slot granted──▶ active ──RELEASED seen──▶ deferred ──RECLAIMING seen──▶ reclaiming
 *                              ▲                                                       │
 *                              └──────────────── slot granted, ACTIVE stored ──────────┘
 *   any ──response, worker death, cancel while queued, close──▶ finished
 *
 * `settled` (the caller's promise is resolved or rejected) is separate from `finished` (the
 * run no longer holds or waits for a slot): a run cancelled while it is running rejects at
 * once but finishes, and gives its slot back, only when its worker is done with it.
 */
export class Execution {
  state: 'queued' | 'active' | 'deferred' | 'reclaiming' | 'finished' = 'queued';
  settled = false;
  token: SlotToken | null = null;
  /** The queue entry while `queued`. */
  waiter: SlotWaiter | null = null;
  /** Cancels a pending reclaim when the run finishes while `reclaiming`. */
  reclaimAbort: AbortController | null = null;
  timer: NodeJS.Timeout | undefined = undefined;
  /** Detaches the listener on the caller's `signal`. */
  removeAbortListener: (() => void) | null = null;
  /** `threadId` of the worker, known once the run has deferred. */
  workerId = -1;

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
