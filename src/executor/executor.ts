import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { type MessagePort, type ResourceLimits, SHARE_ENV } from 'node:worker_threads';
import { Piscina, queueOptionsSymbol } from 'piscina';
import {
  ExecutorClosedError,
  InvalidArgumentError,
  QueueFullError,
  TaskAbortedError,
  TaskFailedError,
  TaskTimeoutError,
  UncloneableValueError,
  WorkerDiedError,
} from '../errors.js';
import {
  type Cell,
  ACTIVE,
  RECLAIMING,
  RELEASED,
  STATE,
  cancelRun,
  grant,
  phaseOf,
  runOf,
  takeForSignal,
  waitForNotify,
  waitKindOf,
  waitNumberOf,
  word,
} from '../slots/handshake.js';
import { type AskRing, drainHints } from '../slots/ask-ring.js';
import { type ExecutorLatency, LatencyHistograms } from '../observe/latency.js';
import type { LimitPool } from '../slots/limit-pool.js';
import { NO_NEEDS, weightOnly } from '../slots/needs.js';
import { findUncloneable } from '../task/cloneable.js';
import { type AwaitSignalMessage, type SignalDeliveryMessage, isControlPortHello } from '../task/control-messages.js';
import type { TaskDefinition } from '../task/define-task.js';
import { type Movable, checkTransferList } from '../task/transfer.js';
import { checkSignalName } from '../task/wait-options.js';
import { type TaskRequest, isTaskFailure, reviveError } from '../task/wire.js';
import { Admission, type RunNeeds } from './admission.js';
import { threadAwareBalancer } from './balancer.js';
import type { ExecutorEvents, ExecutorMetrics } from './events.js';
import { EDGES, Execution, type ExecutionState, type SignalWait } from './execution.js';
import {
  type ExecutorOptions,
  type FilledExecutorOptions,
  type RunOptions,
  checkCloseOptions,
  fillExecutorOptions,
  validateRunOptions,
} from './options.js';
import { type TaskReference, moveInput, settlesWithin, toRequest } from './request.js';
import { Threads } from './threads.js';

export type { TaskReference };

/** Piscina's thread controls among the options, those given (its options take no `undefined`). */
function threadControls(options: FilledExecutorOptions): {
  resourceLimits?: ResourceLimits;
  env?: Record<string, string> | typeof SHARE_ENV;
  argv?: string[];
  execArgv?: string[];
  niceIncrement?: number;
} {
  const { resourceLimits, env, argv, execArgv, niceIncrement } = options;
  return {
    ...(resourceLimits === undefined ? {} : { resourceLimits }),
    ...(env === undefined ? {} : { env: env === SHARE_ENV ? SHARE_ENV : { ...env } }),
    ...(argv === undefined ? {} : { argv: [...argv] }),
    ...(execArgv === undefined ? {} : { execArgv: [...execArgv] }),
    ...(niceIncrement === undefined ? {} : { niceIncrement }),
  };
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
/** How long a run back from a wait waits for its own thread before it takes any free slot. */
const RECLAIM_PATIENCE_MS = 100;

/**
 * Runs tasks on a pool of worker threads, never more than `maxConcurrentTasks` slots in use at once.
 *
 * Admission is the main thread's: a run takes its slots (and a unit of each limit it needs,
 * `admission.ts`) before it is sent to a thread and gives them back when it ends. A task that
 * waits gives its slots back while it waits, through the handshake in `slots/handshake.ts`,
 * and takes them again before it continues, ahead of new work (`#dispatch` and `threads.ts`
 * have the rules). See `Execution` (`execution.ts`) for the states of one run; `#moveTo` is the
 * only place they change.
 */
export class Executor extends EventEmitter<ExecutorEvents> implements AsyncDisposable {
  readonly options: FilledExecutorOptions;
  readonly #admission: Admission;
  readonly #threads: Threads;
  readonly #pool: Piscina<TaskRequest, unknown>;
  readonly #queued = new Set<Execution>();
  readonly #running = new Set<Execution>();
  /** Live runs with a handle, by id: the ones `signal` can reach. */
  readonly #reachable = new Map<string, Execution>();
  /** The same runs by their number (the RUN word of their cell, the ask ring's entries). */
  readonly #byRun = new Map<number, Execution>();
  #lastRun = 0;
  readonly #latency = new LatencyHistograms();
  #active = 0;
  #deferred = 0;
  #reclaiming = 0;
  #dispatching = false;
  #dispatchAgain = false;
  #totalExecuted = 0;
  #totalFailed = 0;
  #totalDeferrals = 0;
  #closing: Promise<void> | null = null;
  #terminating = false;
  #idle: (() => void) | null = null;

  constructor(options: ExecutorOptions = {}) {
    super();
    this.options = fillExecutorOptions(options);
    this.#admission = new Admission(this.options.maxConcurrentTasks, this.options.limits);
    this.#threads = new Threads({
      slots: this.options.maxConcurrentTasks,
      threads: this.options.threads,
      patienceMs: RECLAIM_PATIENCE_MS,
      now: () => performance.now(),
    });
    this.#pool = new Piscina<TaskRequest, unknown>({
      filename: WORKER_URL.href,
      minThreads: this.options.threads,
      maxThreads: this.options.threads,
      // Parked (waiting) runs are pending promises inside their worker: Piscina must not cap
      // them. Admission, not Piscina, decides how many runs are active.
      concurrentTasksPerWorker: MAX_TASKS_PER_THREAD,
      idleTimeout: Infinity,
      // Workers wait for messages in their event loop rather than in Atomics.wait: a worker
      // with a parked wait lives there anyway, and the no-op overhead benchmark measured
      // ~30.5k vs ~26k runs/s (2 threads) against Piscina's default 'sync' mode.
      atomics: 'disabled',
      loadBalancer: threadAwareBalancer(this.#threads),
      ...threadControls(this.options),
    });
    // Piscina emits 'error' for a thread that fails while it runs no task. Unhandled, an
    // 'error' event would throw; pass it on under a name that does not.
    this.#pool.on('error', (error: Error) => this.emit('workerError', error));
    this.#pool.on('message', (message: unknown) => {
      if (isControlPortHello(message)) this.#attachControlPort(message.threadId, message.port, message.ring);
    });
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
    let needs: RunNeeds;
    try {
      validateRunOptions(options);
      this.#lastRun = this.#lastRun >= 0x7fffffff ? 1 : this.#lastRun + 1;
      request = toRequest(task, input, options.executionId, this.#lastRun);
      const declared = 'needs' in task ? task.needs : NO_NEEDS;
      // Limits enforced elsewhere: only the weight counts here.
      const taskNeeds = options.enforceLimits === false ? weightOnly(declared) : declared;
      needs = this.#admission.needsOf(request.taskId, taskNeeds, input, options.priority ?? 0, options.concurrencyKey);
    } catch (error) {
      return Promise.reject(error as Error); // eslint-disable-line @typescript-eslint/no-unnecessary-type-assertion
    }
    const { signal, timeoutMs } = options;
    if (signal?.aborted) return Promise.reject(new TaskAbortedError(request.taskId, signal.reason));
    // It would queue (no slot or unit free, or others wait first), and the queue is full: refuse it whole.
    const wouldQueue = this.#admission.queue.size > 0 || this.#threads.size > 0 || !this.#admission.fitsNow(needs);
    if (wouldQueue && this.#queued.size >= this.options.maxQueue) {
      return Promise.reject(new QueueFullError(this.options.maxQueue, this.#queued.size));
    }
    // Checked last, once nothing can refuse the run: a refused run leaves the caller's buffers whole.
    let transferList: Movable[] | null = null;
    if (options.transfer !== undefined) {
      try {
        if (wouldQueue) {
          // It waits for a slot: move the buffers out of the caller's hands now (see moveInput).
          const moved = moveInput(input, options.transfer);
          (request as { input: unknown }).input = moved.input;
          transferList = moved.list;
        } else {
          // It is sent below, in this same step: postMessage itself detaches them.
          transferList = checkTransferList(options.transfer, input, 'transfer');
        }
      } catch (error) {
        return Promise.reject(error as Error); // eslint-disable-line @typescript-eslint/no-unnecessary-type-assertion
      }
    }

    return new Promise((resolve, reject) => {
      const execution = new Execution(request, resolve, reject, performance.now());
      this.#admission.attach(execution, needs);
      execution.transferList = transferList;
      execution.timeoutMs = timeoutMs;
      execution.beforeResume = options.beforeResume ?? null;
      if (request.cell !== null) {
        this.#reachable.set(execution.executionId, execution);
        this.#byRun.set(this.#lastRun, execution);
      }
      // Listen before starting: a `taskStarted` listener may abort the signal synchronously.
      if (signal !== undefined) {
        const onAbort = (): void => this.#cancel(execution, new TaskAbortedError(request.taskId, signal.reason));
        signal.addEventListener('abort', onAbort, { once: true });
        execution.removeAbortListener = () => signal.removeEventListener('abort', onAbort);
      }
      if (wouldQueue) {
        this.#queued.add(execution);
        this.#admission.queue.push(execution);
        this.#dispatch(-1);
      } else {
        this.#start(execution);
      }
    });
  }

  /**
   * Sends the signal `name`, with `payload`, to the live run `taskExecutionId` (its
   * `handle.taskExecutionId`). A run waiting in `handle.waitForSignal(name)` gets it at once:
   * no poll, and the run goes on as soon as its thread can take it. Otherwise the signal is
   * kept for the run's next wait of that name, until the run ends. Returns whether a live run
   * of that id exists (false: it never existed, or it has ended; nothing is kept).
   *
   * Throws `InvalidArgumentError` for a bad name and `UncloneableValueError` for a payload that
   * cannot be sent to a thread.
   */
  signal(taskExecutionId: string, name: string, payload?: unknown): boolean {
    if (typeof taskExecutionId !== 'string' || taskExecutionId.length === 0) {
      throw new InvalidArgumentError('taskExecutionId', 'a run id (a non-empty string)', taskExecutionId);
    }
    checkSignalName(name);
    const uncloneable = findUncloneable(payload, 'payload');
    if (uncloneable !== null) throw new UncloneableValueError('payload', uncloneable.path, uncloneable.error);
    const execution = this.#reachable.get(taskExecutionId);
    if (execution === undefined) return false;
    const wait = execution.signalWait;
    if (wait?.name !== name || !this.#deliver(execution, wait, payload)) execution.buffer(name, payload);
    return true;
  }

  /**
   * Latency percentiles since the executor was created (p50/p90/p99/max, in ms): the wait for a
   * first slot, the run from first slot to end, and each wait without a slot.
   */
  latency(): ExecutorLatency {
    return this.#latency.snapshot();
  }

  /** True when a slot is free now. */
  hasCapacity(): boolean {
    return this.#admission.free > 0;
  }

  /**
   * The executor's counts now, and its latency percentiles (`latency`, read when accessed: the
   * counts alone cost nothing to take).
   */
  metrics(): ExecutorMetrics {
    const histograms = this.#latency;
    const admission = this.#admission;
    return {
      maxConcurrentTasks: admission.slots,
      activeTasks: this.#active,
      slotsInUse: admission.slots - admission.free,
      deferredTasks: this.#deferred,
      reclaimingTasks: this.#reclaiming,
      availableSlots: admission.free,
      queuedTasks: this.#queued.size,
      maxQueue: this.options.maxQueue,
      totalExecuted: this.#totalExecuted,
      totalFailed: this.#totalFailed,
      totalDeferrals: this.#totalDeferrals,
      get latency() {
        return histograms.snapshot();
      },
      get limits() {
        return admission.limits();
      },
      get keys() {
        return admission.keys();
      },
    };
  }

  /**
   * Stops taking runs: queued runs reject with `ExecutorClosedError`, running ones (deferred
   * included) finish, then the threads stop. See {@link CloseOptions.timeoutMs} for a bound.
   * Calling it again returns the same promise.
   */
  close(options: CloseOptions = {}): Promise<void> {
    if (this.#closing === null) {
      try {
        checkCloseOptions(options, '`executor.close()`');
      } catch (error) {
        return Promise.reject(error as Error); // eslint-disable-line @typescript-eslint/no-unnecessary-type-assertion
      }
      const { timeoutMs } = options;
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

  /**
   * The one place a run changes state: checks the edge against `EDGES` (execution.ts) and
   * keeps every count that depends on the state (slots and limits in `Admission.account`).
   * Handing freed slots on is the caller's next step (`#dispatch`), after it has emitted its
   * event, so listeners see a release before the start it makes room for.
   */
  #moveTo(execution: Execution, next: ExecutionState): void {
    const previous = execution.state;
    if (!EDGES[previous].includes(next)) {
      throw new Error(`slotwise internal error: a run may not go from ${previous} to ${next}`);
    }
    execution.state = next;
    this.#admission.account(execution, previous, next);
    const load = execution.thread >= 0 ? this.#threads.load(execution.thread) : null;
    if (previous === 'active' && load !== null) load.active -= 1;
    if (next === 'active' && load !== null) load.active += 1;
    if (previous === 'active') this.#active -= 1;
    if (next === 'active') this.#active += 1;
    if (previous === 'deferred') this.#deferred -= 1;
    if (next === 'deferred') this.#deferred += 1;
    if (previous === 'reclaiming') this.#reclaiming -= 1;
    if (next === 'reclaiming') this.#reclaiming += 1;
    const wasParked = previous === 'deferred' || previous === 'reclaiming';
    const isParked = next === 'deferred' || next === 'reclaiming';
    if (load !== null && wasParked !== isParked) load.parked += isParked ? 1 : -1;
  }

  #start(execution: Execution): void {
    this.#queued.delete(execution);
    this.#moveTo(execution, 'active');
    const { timeoutMs } = execution;
    execution.startedAt = performance.now();
    this.#latency.waitedForSlot(execution.startedAt - execution.queuedAt);
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
    // The balancer finds the run under Piscina's queue-options symbol (it is not sent; the
    // request was made with the key, so this changes no object shape).
    (execution.request as { [queueOptionsSymbol]?: Execution | null })[queueOptionsSymbol] = execution;
    const { transferList } = execution;
    const sent =
      transferList === null ? this.#pool.run(execution.request) : this.#pool.run(execution.request, { transferList });
    sent.then(
      (output) => this.#onOutput(execution, output),
      (error: unknown) => this.#onPoolError(execution, error),
    );
    if (execution.cell !== null) void this.#watchHandshake(execution, execution.cell);
  }

  /** Follows the run's handshake cell until the run finishes; `#onStateWord` acts on each change. */
  async #watchHandshake(execution: Execution, cell: Cell): Promise<void> {
    let seen = word(0, ACTIVE);
    for (;;) {
      // Checked in the same synchronous step as the wait below: #finish notifies STATE to wake
      // this loop, and a notify before the wait began would otherwise leave it waiting forever.
      if (execution.finished) return;
      await waitForNotify(cell, STATE, seen);
      if (execution.finished) return;
      const current = Atomics.load(cell, STATE);
      if (current === seen) continue; // a notify meant for the worker's waiter
      seen = current;
      this.#onStateWord(execution, cell, current);
    }
  }

  /**
   * Acts on a STATE word of the run's cell, once per word: the watcher's wake-ups and the main
   * thread's own moves (a signal taken, a grant) may both report the same word.
   */
  #onStateWord(execution: Execution, cell: Cell, stateWord: number): void {
    if (stateWord === execution.handledWord || execution.finished) return;
    execution.handledWord = stateWord;
    const phase = phaseOf(stateWord);
    if (phase === RELEASED) {
      this.#beginWait(execution, cell);
      this.#deferOut(execution);
    } else if (phase === RECLAIMING) {
      const n = waitNumberOf(stateWord);
      if (execution.signalWait?.n === n) execution.signalWait = null;
      if (execution.state === 'active') {
        // Collapsed: the worker released and the wait ended before this thread saw the
        // release. The slot never left this run, so nobody else used it: keep it and grant at
        // once (releasing it first would hand it to queued new work, ahead of this half-done run).
        this.#beginWait(execution, cell);
        this.#emitWait('taskDeferred', execution, execution.deferredAt);
        this.#emitWait('taskReclaiming', execution, execution.deferredAt);
        this.#emitResumed(execution);
        grant(cell, n);
      } else if (execution.state === 'deferred') {
        this.#askForSlot(execution);
      }
    }
  }

  #beginWait(execution: Execution, cell: Cell): void {
    execution.waitKind = waitKindOf(cell);
    execution.deferredAt = performance.now();
    execution.deferrals += 1;
    this.#totalDeferrals += 1;
  }

  /** The run gave its slots back: it waits, and the slots go on. */
  #deferOut(execution: Execution): void {
    this.#moveTo(execution, 'deferred');
    this.#emitWait('taskDeferred', execution, execution.deferredAt);
    this.#dispatch(execution.thread);
  }

  /** The run's wait is over: it joins the reclaimers, and gets its slots now if it can. */
  #askForSlot(execution: Execution): void {
    this.#moveTo(execution, 'reclaiming');
    this.#emitWait('taskReclaiming', execution, performance.now());
    if (execution.finished) return; // a listener's doing (it closed the executor, say)
    this.#threads.queueReclaimer(execution);
    const { beforeResume } = execution;
    if (beforeResume !== null) {
      execution.unitsReady = false;
      const ready = (): void => {
        execution.unitsReady = true;
        if (execution.state === 'reclaiming') this.#dispatch(-1);
      };
      beforeResume().then(ready, (error: unknown) => {
        this.#cancel(execution, error instanceof Error ? error : new Error(String(error)));
        ready();
      });
    }
    this.#dispatch(-1);
  }

  /** Accounts a slot to a reclaimer, then lets its worker go on (the order the handshake needs). */
  #grantTo(execution: Execution): void {
    this.#threads.dropReclaimer(execution);
    this.#moveTo(execution, 'active');
    this.#emitResumed(execution);
    const cell = execution.cell;
    if (cell === null) return;
    // A reclaimer's last word is RECLAIMING(n): grant that same wait.
    const n = waitNumberOf(execution.handledWord);
    execution.handledWord = word(n, ACTIVE);
    grant(cell, n);
  }

  /**
   * Hands out free slots after a change (a run ended or deferred on thread `freedOn`, or one
   * queued or asked back; -1: no thread freed anything), until nothing more can start:
   *
   *   1. runs back from a wait go first (`Threads.nextReclaimer` picks which); one whose slots
   *      are not all free yet keeps the free ones: nothing new passes it;
   *   2. then the queue's first run (`FairQueue`), if its slots and units are free; a first run
   *      whose slots are not free likewise keeps them, so a heavy run waits only for the runs
   *      active before it to give slots back, and never for lighter runs behind it;
   *   3. then a reclaimer on a busy thread, when no new run could use the slot.
   *
   * Not re-entrant: a start's or resume's listeners may queue runs or end them; the loop looks again.
   */
  #dispatch(freedOn: number): void {
    if (this.#dispatching) {
      this.#dispatchAgain = true;
      return;
    }
    this.#dispatching = true;
    try {
      // Runs on that thread that asked back just now, their watchers not woken yet, come first.
      const ring = freedOn >= 0 ? this.#threads.load(freedOn).ring : null;
      if (ring !== null) this.#readHints(ring);
      const { queue } = this.#admission;
      for (;;) {
        this.#dispatchAgain = false;
        this.#admission.unparkFreed();
        const first = this.#grantReclaimer(freedOn, queue.hasTurns);
        if (first === 'granted') continue;
        if (first === 'kept') break;
        if (queue.admitOne(this.#tryStart)) continue;
        if (queue.size > 0 && this.#grantReclaimer(freedOn, false) === 'granted') continue;
        if (!this.#dispatchAgain) break;
      }
    } finally {
      this.#dispatching = false;
    }
  }

  /** Offered the queue's first run: starts it if its units and slots are free, else says what holds it. */
  readonly #tryStart = (execution: Execution): 'started' | 'noSlots' | LimitPool => {
    const verdict = this.#admission.verdict(execution);
    if (verdict !== 'ok') return verdict;
    this.#start(execution);
    return 'started';
  };

  readonly #unitsFree = (execution: Execution): boolean => execution.unitsReady && this.#admission.unitsFree(execution);

  /** Grants the reclaimer the rules pick, if its slots are free ('kept': they are not, and it keeps them). */
  #grantReclaimer(freedOn: number, newWorkWaits: boolean): 'granted' | 'kept' | 'none' {
    if (this.#threads.size === 0) return 'none';
    const reclaimer = this.#threads.nextReclaimer(freedOn, newWorkWaits, this.#unitsFree);
    if (reclaimer === null) return 'none';
    if (!this.#admission.slotsFree(reclaimer)) return 'kept';
    this.#grantTo(reclaimer);
    return 'granted';
  }

  /** Acts on each run its thread says asked back, as its watcher would (`#onStateWord` acts once). */
  #readHints(ring: AskRing): void {
    drainHints(ring, (run) => {
      const execution = this.#byRun.get(run);
      const cell = execution?.cell;
      if (execution !== undefined && cell != null) this.#onStateWord(execution, cell, Atomics.load(cell, STATE));
    });
  }

  #attachControlPort(threadId: number, port: MessagePort, ring: AskRing): void {
    const load = this.#threads.load(threadId);
    load.port = port;
    load.ring = ring;
    port.on('message', (message: AwaitSignalMessage) => this.#onAwaitSignal(port, message));
    port.unref(); // signals in flight do not keep the process alive; running tasks do
  }

  /** A run's worker says it waits for a signal: deliver a kept one, or announce the wait. */
  #onAwaitSignal(port: MessagePort, message: AwaitSignalMessage): void {
    const execution = this.#reachable.get(message.executionId);
    const cell = execution?.cell;
    if (execution === undefined || cell == null || execution.finished) return;
    // The wait may be over already (timed out, aborted) if the message was slow to come.
    if (Atomics.load(cell, STATE) !== word(message.n, RELEASED)) return;
    const wait: SignalWait = { name: message.name, n: message.n, port };
    execution.signalWait = wait;
    const kept = execution.takeBuffered(message.name);
    if (kept.found) {
      if (this.#deliver(execution, wait, kept.payload)) return;
      execution.unshiftBuffered(message.name, kept.payload);
      return;
    }
    this.#emitGuarded('taskAwaitingSignal', {
      executionId: execution.executionId,
      taskId: execution.taskId,
      at: performance.now(),
      name: message.name,
    });
  }

  /**
   * Ends the run's signal wait with `payload`, if the wait is still on (the compare-and-swap in
   * `takeForSignal` decides against the wait's own timeout or abort). The payload is posted
   * before the grant can be stored, so the worker finds it when it sees the grant.
   */
  #deliver(execution: Execution, wait: SignalWait, payload: unknown): boolean {
    const cell = execution.cell;
    if (cell === null || !takeForSignal(cell, wait.n)) return false;
    execution.signalWait = null;
    const delivery: SignalDeliveryMessage = {
      type: 'signalDelivery',
      executionId: execution.executionId,
      n: wait.n,
      payload,
    };
    wait.port.postMessage(delivery);
    this.#onStateWord(execution, cell, word(wait.n, RECLAIMING));
    return true;
  }

  #emitWait(event: 'taskDeferred' | 'taskReclaiming', execution: Execution, at: number): void {
    if (this.listenerCount(event) === 0) return;
    this.#emitGuarded(event, {
      executionId: execution.executionId,
      taskId: execution.taskId,
      at,
      wait: execution.waitKind,
    });
  }

  #emitResumed(execution: Execution): void {
    const at = performance.now();
    const deferredMs = at - execution.deferredAt;
    execution.deferredMs += deferredMs;
    this.#latency.deferred(deferredMs);
    if (this.listenerCount('taskResumed') === 0) return;
    this.#emitGuarded('taskResumed', {
      executionId: execution.executionId,
      taskId: execution.taskId,
      at,
      deferredMs,
      wait: execution.waitKind,
    });
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
      const part = findUncloneable(execution.request.input, 'input', new Set(execution.transferList ?? []));
      execution.settle(new UncloneableValueError('input', part?.path ?? 'input', error));
    } else {
      // Its thread is gone: every run on it fails next, and none of them may get a slot first.
      if (execution.thread >= 0) this.#threads.retire(execution.thread);
      execution.settle(new WorkerDiedError(execution.taskId, error));
    }
    this.#finish(execution);
  }

  /** Rejects the run now. A queued run is dropped; a running one is asked to stop via its handle. */
  #cancel(execution: Execution, error: Error): void {
    if (execution.settled) return;
    execution.settle(error);
    if (execution.state === 'queued') {
      this.#queued.delete(execution);
      this.#finish(execution);
    } else if (execution.cell !== null) {
      cancelRun(execution.cell);
    }
  }

  /** The run holds and waits for no slot any more: account for it exactly once. */
  #finish(execution: Execution): void {
    if (execution.finished) return;
    const previous = execution.state;
    this.#threads.dropReclaimer(execution);
    this.#moveTo(execution, 'finished');
    clearTimeout(execution.timer);
    execution.removeAbortListener?.();
    execution.signalWait = null;
    execution.buffered = null;
    if (execution.cell !== null) {
      this.#reachable.delete(execution.executionId);
      this.#byRun.delete(runOf(execution.cell));
    }
    if (previous !== 'queued') {
      this.#running.delete(execution);
      this.#latency.ran(performance.now() - execution.startedAt);
      this.#totalExecuted += 1;
      if (execution.failure !== null) this.#totalFailed += 1;
      // Emitted before the slot is handed on, so listeners see this end before the next start.
      const event = execution.failure === null ? 'taskCompleted' : 'taskFailed';
      if (this.listenerCount(event) > 0) this.#emitFinished(execution, previous);
      if (previous === 'active') this.#dispatch(execution.thread);
      if (execution.cell !== null) Atomics.notify(execution.cell, STATE); // wake #watchHandshake
    }
    // A run gone from the queue or from a wait may have held others back (a first run waiting
    // for slots, a unit wanted back): look again.
    if (previous !== 'active' && (this.#admission.queue.size > 0 || this.#threads.size > 0)) this.#dispatch(-1);
    this.#checkIdle();
  }

  #emitFinished(execution: Execution, previous: ExecutionState): void {
    const at = performance.now();
    if (previous === 'deferred' || previous === 'reclaiming') execution.deferredMs += at - execution.deferredAt;
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

  #checkIdle(): void {
    if (this.#idle !== null && this.#running.size === 0 && this.#queued.size === 0) this.#idle();
  }
}
