import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { Piscina } from 'piscina';
import {
  ExecutorClosedError,
  InvalidArgumentError,
  TaskAbortedError,
  TaskFailedError,
  TaskTimeoutError,
  UncloneableValueError,
  WorkerDiedError,
} from '../errors.js';
import {
  type Cell,
  ACTIVE,
  CANCELLED,
  CONTROL,
  RECLAIMING,
  RELEASED,
  STATE,
  WORKER,
  createCell,
  waitForNotify,
} from '../slots/handshake.js';
import { Semaphore } from '../slots/semaphore.js';
import { SlotToken } from '../slots/slot-token.js';
import { findUncloneable } from '../task/cloneable.js';
import { type TaskDefinition, toModuleUrl } from '../task/define-task.js';
import { type TaskRequest, isTaskFailure, reviveError } from '../task/wire.js';
import { leastActiveBalancer } from './balancer.js';
import type { ExecutorEvents, ExecutorMetrics } from './events.js';
import { Execution } from './execution.js';
import { newExecutionId } from './execution-id.js';
import {
  type ExecutorOptions,
  type FilledExecutorOptions,
  type RunOptions,
  fillExecutorOptions,
  validateRunOptions,
} from './options.js';

/** A task given by the module that defines it and its id, for tasks the main thread has not imported. */
export interface TaskReference {
  /** `file:` URL or absolute path of the module that defines the task. */
  readonly module: string | URL;
  readonly id: string;
}

export interface CloseOptions {
  /**
   * How long to wait for running tasks (deferred ones included). When it runs out, they are
   * cancelled through their handles (`handle.signal` aborts, their runs reject with
   * `ExecutorClosedError`), and threads still busy `timeoutMs` later are terminated.
   * Default: wait for as long as they take.
   */
  readonly timeoutMs?: number;
}

const WORKER_URL = new URL('../../workers/task-worker.js', import.meta.url);
/** Piscina's per-thread task cap, made effectively unlimited (it must be a finite number). */
const MAX_TASKS_PER_THREAD = 2 ** 30;

/**
 * Runs tasks on a pool of worker threads, never more than `maxConcurrentTasks` active at once.
 *
 * Admission is a main-thread {@link Semaphore} of slots: a run takes a slot before it is sent
 * to a thread and gives it back when it ends. A task that defers gives its slot back while it
 * waits, through the handshake in `slots/handshake.ts`, and takes one again (ahead of new
 * runs) before it continues. See `Execution` (src/executor/execution.ts) for the states of one run.
 */
export class Executor extends EventEmitter<ExecutorEvents> implements AsyncDisposable {
  readonly options: FilledExecutorOptions;
  readonly #semaphore: Semaphore;
  readonly #pool: Piscina<TaskRequest, unknown>;
  /** Per worker threadId: its runs that hold no slot (for the balancer). */
  readonly #slotless = new Map<number, number>();
  readonly #queued = new Set<Execution>();
  readonly #running = new Set<Execution>();
  #deferred = 0;
  #reclaiming = 0;
  #totalExecuted = 0;
  #totalFailed = 0;
  #totalDeferrals = 0;
  #closing: Promise<void> | null = null;
  #terminating = false;
  #idle: (() => void) | null = null;

  constructor(options: ExecutorOptions = {}) {
    super();
    this.options = fillExecutorOptions(options);
    this.#semaphore = new Semaphore(this.options.maxConcurrentTasks);
    this.#pool = new Piscina<TaskRequest, unknown>({
      filename: WORKER_URL.href,
      minThreads: this.options.threads,
      maxThreads: this.options.threads,
      // Parked (deferred) runs are pending promises inside their worker: Piscina must not cap
      // them. The semaphore, not Piscina, decides how many runs are active.
      concurrentTasksPerWorker: MAX_TASKS_PER_THREAD,
      idleTimeout: Infinity,
      // Workers wait for messages in their event loop rather than in Atomics.wait: a worker
      // with a parked deferral lives there anyway, and the no-op overhead benchmark measured
      // ~30.5k vs ~26k runs/s (2 threads) against Piscina's default 'sync' mode.
      atomics: 'disabled',
      loadBalancer: leastActiveBalancer(this.#slotless),
    });
    // Piscina emits 'error' for a thread that fails while it runs no task. Unhandled, an
    // 'error' event would throw; pass it on under a name that does not.
    this.#pool.on('error', (error: Error) => this.emit('workerError', error));
  }

  /**
   * Runs `task` with `input` and resolves with its output.
   *
   * Rejects with `TaskFailedError` (the task threw; its error is the `cause`), `TaskTimeoutError`,
   * `TaskAbortedError`, `WorkerDiedError`, `UncloneableValueError`, `UnknownTaskError`,
   * `TaskModuleImportError`, `ExecutorClosedError` or `InvalidArgumentError`.
   */
  run<Input, Output>(task: TaskDefinition<Input, Output>, input: Input, options?: RunOptions): Promise<Output>;
  run(task: TaskReference, input?: unknown, options?: RunOptions): Promise<unknown>;
  run(task: TaskDefinition | TaskReference, input?: unknown, options: RunOptions = {}): Promise<unknown> {
    if (this.#closing !== null) return Promise.reject(new ExecutorClosedError());
    let request: TaskRequest;
    try {
      validateRunOptions(options);
      request = toRequest(task, input, options.executionId);
    } catch (error) {
      return Promise.reject(error as Error); // eslint-disable-line @typescript-eslint/no-unnecessary-type-assertion
    }
    const { signal, timeoutMs } = options;
    if (signal?.aborted) return Promise.reject(new TaskAbortedError(request.taskId, signal.reason));

    return new Promise((resolve, reject) => {
      const execution = new Execution(request, resolve, reject, performance.now());
      // Listen before starting: a `taskStarted` listener may abort the signal synchronously.
      if (signal !== undefined) {
        const onAbort = (): void => this.#cancel(execution, new TaskAbortedError(request.taskId, signal.reason));
        signal.addEventListener('abort', onAbort, { once: true });
        execution.removeAbortListener = () => signal.removeEventListener('abort', onAbort);
      }
      if (this.#semaphore.tryTake()) {
        this.#start(execution, timeoutMs);
      } else {
        this.#queued.add(execution);
        execution.waiter = this.#semaphore.enqueue(() => {
          this.#queued.delete(execution);
          this.#start(execution, timeoutMs);
        }, false);
      }
    });
  }

  /** True when a slot is free now. */
  hasCapacity(): boolean {
    return this.#semaphore.available > 0;
  }

  metrics(): ExecutorMetrics {
    return {
      maxConcurrentTasks: this.#semaphore.size,
      activeTasks: this.#semaphore.size - this.#semaphore.available,
      deferredTasks: this.#deferred,
      reclaimingTasks: this.#reclaiming,
      availableSlots: this.#semaphore.available,
      queuedTasks: this.#queued.size,
      totalExecuted: this.#totalExecuted,
      totalFailed: this.#totalFailed,
      totalDeferrals: this.#totalDeferrals,
    };
  }

  /**
   * Stops taking runs: queued runs reject with `ExecutorClosedError`, running ones (deferred
   * included) finish, then the threads stop. See {@link CloseOptions.timeoutMs} for a bound.
   * Calling it again returns the same promise.
   */
  close(options: CloseOptions = {}): Promise<void> {
    if (this.#closing === null) {
      const { timeoutMs } = options;
      if (timeoutMs !== undefined && (typeof timeoutMs !== 'number' || Number.isNaN(timeoutMs) || timeoutMs < 0)) {
        return Promise.reject(new InvalidArgumentError('timeoutMs', 'a number of ms >= 0', timeoutMs));
      }
      this.#closing = this.#shutDown(timeoutMs);
    }
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #shutDown(timeoutMs: number | undefined): Promise<void> {
    for (const execution of [...this.#queued]) {
      this.#cancel(execution, new ExecutorClosedError('The executor closed before the task started'));
    }
    const drained = new Promise<void>((resolve) => {
      this.#idle = resolve;
      this.#checkIdle();
    });
    if (timeoutMs !== undefined && !(await settlesWithin(drained, timeoutMs))) {
      // Ask every run to stop through its handle, give them as long again, then terminate
      // the threads under whatever still runs.
      for (const execution of this.#running) {
        this.#cancel(execution, new ExecutorClosedError('The executor closed before the task finished'));
      }
      if (!(await settlesWithin(drained, timeoutMs))) {
        this.#terminating = true;
        await this.#pool.destroy();
      }
    }
    await drained;
    if (!this.#terminating) await this.#pool.close();
  }

  #start(execution: Execution, timeoutMs: number | undefined): void {
    execution.state = 'active';
    execution.token = new SlotToken(this.#semaphore, true);
    execution.waiter = null;
    execution.startedAt = performance.now();
    this.#running.add(execution);
    if (timeoutMs !== undefined) {
      execution.timer = setTimeout(() => {
        this.#cancel(execution, new TaskTimeoutError(execution.taskId, timeoutMs));
      }, timeoutMs);
    }
    if (this.listenerCount('taskStarted') > 0) {
      this.#emitGuarded('taskStarted', {
        executionId: execution.executionId,
        taskId: execution.taskId,
        at: execution.startedAt,
        queuedMs: execution.startedAt - execution.queuedAt,
      });
    }
    this.#pool.run(execution.request).then(
      (output) => this.#onOutput(execution, output),
      (error: unknown) => this.#onPoolError(execution, error),
    );
    if (execution.cell !== null) void this.#watchHandshake(execution, execution.cell);
  }

  /**
   * Follows the run's handshake cell: releases the slot when the worker parks the task, and
   * grants a slot back when the worker asks to reclaim. Ends when the run finishes.
   */
  async #watchHandshake(execution: Execution, cell: Cell): Promise<void> {
    let expected = ACTIVE;
    for (;;) {
      // Checked in the same synchronous step as the wait below: #finish notifies STATE to wake
      // this loop, and a notify before the wait began would otherwise leave it waiting forever.
      if (execution.finished) return;
      await waitForNotify(cell, STATE, expected);
      if (execution.finished) return;
      const state = Atomics.load(cell, STATE);
      if (state === expected) continue; // a notify meant for the worker's waiter
      expected = state;
      if (state === RELEASED) {
        this.#onDeferred(execution, cell, true);
      } else if (state === RECLAIMING) {
        if (execution.state === 'active') {
          // Collapsed: the worker released and asked back before this thread saw the release.
          // The slot never left this run, so nobody else used it: keep it and grant at once
          // (releasing it first would hand it to queued new work, ahead of this half-done task).
          this.#onDeferred(execution, cell, false);
          this.#onReclaiming(execution);
        } else if (!(await this.#reclaim(execution))) {
          return;
        }
        this.#onResumed(execution);
        // The slot is accounted to this run before the worker may use it: store, then notify.
        Atomics.store(cell, STATE, ACTIVE);
        Atomics.notify(cell, STATE);
        expected = ACTIVE;
      }
    }
  }

  /** Waits for a slot for a run back from a deferral; false if the run finished meanwhile. */
  async #reclaim(execution: Execution): Promise<boolean> {
    this.#onReclaiming(execution);
    const abort = new AbortController();
    execution.reclaimAbort = abort;
    try {
      await execution.token?.reclaim({ signal: abort.signal });
    } catch {
      return false; // #finish aborted the wait and did the accounting
    } finally {
      execution.reclaimAbort = null;
    }
    // The grant is synchronous but this continuation is not: the run may have finished (its
    // thread died, say) in between. #finish then released the granted slot already.
    return !execution.finished;
  }

  #onDeferred(execution: Execution, cell: Cell, releaseSlot: boolean): void {
    const at = performance.now();
    execution.state = 'deferred';
    execution.deferredAt = at;
    execution.deferrals += 1;
    execution.workerId = Atomics.load(cell, WORKER);
    this.#slotless.set(execution.workerId, (this.#slotless.get(execution.workerId) ?? 0) + 1);
    this.#deferred += 1;
    this.#totalDeferrals += 1;
    // Emitted before the slot is handed on, so listeners see the release before the next start.
    this.#emitGuarded('taskDeferred', { executionId: execution.executionId, taskId: execution.taskId, at });
    if (releaseSlot) execution.token?.release();
  }

  #onReclaiming(execution: Execution): void {
    execution.state = 'reclaiming';
    this.#deferred -= 1;
    this.#reclaiming += 1;
    this.emit('taskReclaiming', {
      executionId: execution.executionId,
      taskId: execution.taskId,
      at: performance.now(),
    });
  }

  #onResumed(execution: Execution): void {
    const at = performance.now();
    const deferredMs = at - execution.deferredAt;
    execution.state = 'active';
    execution.deferredMs += deferredMs;
    this.#reclaiming -= 1;
    this.#unpark(execution.workerId);
    this.#emitGuarded('taskResumed', { executionId: execution.executionId, taskId: execution.taskId, at, deferredMs });
  }

  #onOutput(execution: Execution, output: unknown): void {
    execution.settle(null, output);
    this.#finish(execution);
  }

  #onPoolError(execution: Execution, error: unknown): void {
    if (isTaskFailure(error)) {
      const cause = reviveError(error.error);
      execution.settle(
        error.slotwiseFailure === 'setup' ? cause : new TaskFailedError(execution.taskId, execution.executionId, cause),
      );
    } else if (this.#terminating) {
      execution.settle(new ExecutorClosedError('The executor closed before the task finished'));
    } else if (error instanceof Error && error.name === 'DataCloneError') {
      const part = findUncloneable(execution.request.input, 'input');
      execution.settle(new UncloneableValueError('input', part?.path ?? 'input', error));
    } else {
      execution.settle(new WorkerDiedError(execution.taskId, error));
    }
    this.#finish(execution);
  }

  /** Rejects the run now. A queued run is dropped; a running one is asked to stop via its handle. */
  #cancel(execution: Execution, error: Error): void {
    if (execution.settled) return;
    execution.settle(error);
    if (execution.state === 'queued') {
      if (execution.waiter !== null) this.#semaphore.cancel(execution.waiter);
      this.#queued.delete(execution);
      this.#finish(execution);
    } else if (execution.cell !== null) {
      Atomics.store(execution.cell, CONTROL, CANCELLED);
      Atomics.notify(execution.cell, CONTROL);
    }
  }

  /** The run holds and waits for no slot any more: account for it exactly once. */
  #finish(execution: Execution): void {
    if (execution.finished) return;
    const previous = execution.state;
    execution.state = 'finished';
    clearTimeout(execution.timer);
    execution.removeAbortListener?.();
    if (previous !== 'queued') {
      this.#running.delete(execution);
      if (previous === 'deferred') this.#deferred -= 1;
      if (previous === 'reclaiming') this.#reclaiming -= 1;
      if (previous === 'deferred' || previous === 'reclaiming') this.#unpark(execution.workerId);
      execution.reclaimAbort?.abort();
      this.#totalExecuted += 1;
      if (execution.failure !== null) this.#totalFailed += 1;
      // Emitted before the slot is handed on, so listeners see this end before the next start.
      const event = execution.failure === null ? 'taskCompleted' : 'taskFailed';
      if (this.listenerCount(event) > 0) this.#emitFinished(execution, previous);
      execution.token?.release();
      if (execution.cell !== null) Atomics.notify(execution.cell, STATE); // wake #watchHandshake
    }
    this.#checkIdle();
  }

  #emitFinished(execution: Execution, previous: Execution['state']): void {
    const at = performance.now();
    if (previous === 'deferred') execution.deferredMs += at - execution.deferredAt;
    const timing = {
      executionId: execution.executionId,
      taskId: execution.taskId,
      at,
      durationMs: at - execution.startedAt,
      deferredMs: execution.deferredMs,
      deferrals: execution.deferrals,
    };
    if (execution.failure === null) this.#emitGuarded('taskCompleted', timing);
    else this.#emitGuarded('taskFailed', { ...timing, error: execution.failure });
  }

  /**
   * Emits an event from inside the slot accounting. A listener that throws is a bug in the
   * caller's code; it must not leave a slot taken or a handshake unanswered, so its error is
   * rethrown on a later tick (as an uncaught exception, like any throwing listener's would be).
   */
  #emitGuarded<K extends keyof ExecutorEvents>(event: K, ...args: ExecutorEvents[K]): void {
    try {
      this.emit(event, ...(args as never));
    } catch (error) {
      queueMicrotask(() => {
        throw error;
      });
    }
  }

  #unpark(workerId: number): void {
    const count = (this.#slotless.get(workerId) ?? 1) - 1;
    if (count === 0) this.#slotless.delete(workerId);
    else this.#slotless.set(workerId, count);
  }

  #checkIdle(): void {
    if (this.#idle !== null && this.#running.size === 0 && this.#queued.size === 0) this.#idle();
  }
}

function toRequest(task: TaskDefinition | TaskReference, input: unknown, executionId: string | undefined): TaskRequest {
  if (typeof task !== 'object' || task === null) {
    throw new InvalidArgumentError('task', 'a task from defineTask() or { module, id }', task);
  }
  if ('moduleUrl' in task && typeof task.fn === 'function') {
    const cell = task.wantsHandle ? createCell() : null;
    return {
      moduleUrl: task.moduleUrl,
      taskId: task.id,
      executionId: executionId ?? (cell === null ? '' : newExecutionId()),
      input,
      cell,
    };
  }
  const { module, id } = task as TaskReference;
  if (typeof id !== 'string' || id.length === 0) throw new InvalidArgumentError('task.id', 'a task id', id);
  // The main thread cannot see whether this task wants a handle: give it a cell in case.
  return {
    moduleUrl: toModuleUrl(module),
    taskId: id,
    executionId: executionId ?? newExecutionId(),
    input,
    cell: createCell(),
  };
}

/** True if `promise` settles within `ms`; the timer does not outlive the answer. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<false>((resolve) => (timer = setTimeout(resolve, ms, false)));
  try {
    return await Promise.race([promise.then(() => true), expired]);
  } finally {
    clearTimeout(timer);
  }
}
