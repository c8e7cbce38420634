import { availableParallelism } from 'node:os';
import { InvalidArgumentError } from '../errors.js';
import { type KnownOptions, rejectUnknownOptions } from '../known-options.js';

export interface ExecutorOptions {
  /**
   * Worker threads in the pool. Default: `os.availableParallelism()`.
   */
  readonly threads?: number;
  /**
   * Slots: how many tasks may be *active* (running, not deferred) at once. Deferred tasks hold
   * no slot, so any number of them may be parked besides. Default: `threads`.
   */
  readonly maxConcurrentTasks?: number;
  /**
   * Backpressure: how many runs may wait for their first slot. Past it, `run` rejects at once
   * with `QueueFullError` and nothing is admitted. Runs back from a wait never count against it
   * (they already hold their place). Default: `Infinity` (unbounded).
   */
  readonly maxQueue?: number;
}

const EXECUTOR_OPTIONS = {
  threads: true,
  maxConcurrentTasks: true,
  maxQueue: true,
} as const satisfies KnownOptions<ExecutorOptions>;

const RUN_OPTIONS = { signal: true, timeoutMs: true, executionId: true } as const satisfies KnownOptions<RunOptions>;

export interface RunOptions {
  /** Cancels the run: queued, it never starts; running, `handle.signal` aborts. */
  readonly signal?: AbortSignal;
  /**
   * Rejects the run with `TaskTimeoutError` after this many ms from when it got its first
   * slot, time spent deferred included; `handle.signal` aborts then. Default: none.
   */
  readonly timeoutMs?: number;
  /**
   * The run's id, as events and `handle.taskExecutionId` show it. Default: a fresh UUIDv7.
   * The persisted runner passes its task execution row id, to tie events to rows.
   */
  readonly executionId?: string;
}

/** The options with every default filled in. */
export type FilledExecutorOptions = Required<ExecutorOptions>;

export function fillExecutorOptions(options: ExecutorOptions): FilledExecutorOptions {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError('options', 'an object', options);
  }
  rejectUnknownOptions(options, EXECUTOR_OPTIONS, '`new Executor()`');
  const threads = options.threads ?? availableParallelism();
  positiveInteger('threads', threads);
  const maxConcurrentTasks = options.maxConcurrentTasks ?? threads;
  positiveInteger('maxConcurrentTasks', maxConcurrentTasks);
  const maxQueue = options.maxQueue ?? Infinity;
  if (typeof maxQueue !== 'number' || !(maxQueue === Infinity || (Number.isSafeInteger(maxQueue) && maxQueue >= 0))) {
    throw new InvalidArgumentError('maxQueue', 'an integer >= 0, or Infinity', options.maxQueue);
  }
  return { threads, maxConcurrentTasks, maxQueue };
}

export function validateRunOptions(options: RunOptions): void {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError('options', 'an object', options);
  }
  rejectUnknownOptions(options, RUN_OPTIONS, '`executor.run()`');
  const { signal, timeoutMs, executionId } = options;
  if (
    executionId !== undefined &&
    (typeof executionId !== 'string' || executionId.length === 0 || executionId.length > 128)
  ) {
    throw new InvalidArgumentError('executionId', 'a string of 1-128 characters', executionId);
  }
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new InvalidArgumentError('signal', 'an AbortSignal', signal);
  }
  if (timeoutMs !== undefined && (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0)) {
    throw new InvalidArgumentError('timeoutMs', 'a positive finite number of ms', timeoutMs);
  }
}

const CLOSE_OPTIONS = { timeoutMs: true } as const satisfies KnownOptions<{ timeoutMs?: number }>;

/** The options of `executor.close()` and `runner.close()`: `{ timeoutMs? }`, a number of ms >= 0. */
export function checkCloseOptions(options: { readonly timeoutMs?: number }, where: string): void {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options', 'an object', options);
  rejectUnknownOptions(options, CLOSE_OPTIONS, where);
  const { timeoutMs } = options;
  if (timeoutMs !== undefined && (typeof timeoutMs !== 'number' || Number.isNaN(timeoutMs) || timeoutMs < 0)) {
    throw new InvalidArgumentError('timeoutMs', 'a number of ms >= 0', timeoutMs);
  }
}

function positiveInteger(name: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new InvalidArgumentError(name, 'a positive integer', value);
  }
}
