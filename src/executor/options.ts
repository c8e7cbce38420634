import { availableParallelism } from 'node:os';
import { InvalidArgumentError } from '../errors.js';

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
}

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
  const threads = options.threads ?? availableParallelism();
  positiveInteger('threads', threads);
  const maxConcurrentTasks = options.maxConcurrentTasks ?? threads;
  positiveInteger('maxConcurrentTasks', maxConcurrentTasks);
  return { threads, maxConcurrentTasks };
}

export function validateRunOptions(options: RunOptions): void {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError('options', 'an object', options);
  }
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

function positiveInteger(name: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new InvalidArgumentError(name, 'a positive integer', value);
  }
}
