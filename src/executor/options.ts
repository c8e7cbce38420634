import { availableParallelism } from 'node:os';
import { type ResourceLimits, SHARE_ENV } from 'node:worker_threads';
import { InvalidArgumentError } from '../errors.js';
import { type KnownOptions, rejectUnknownOptions } from '../known-options.js';
import { type FilledLimit, type LimitsOption, checkLimits } from '../slots/needs.js';
import type { TransferItem } from '../task/transfer.js';

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
  /**
   * Named limits besides the slots: `{ [name]: max }` or `{ [name]: { max, includeDeferred } }`.
   * A run of a task that names a limit (its `limits` option) is active only while it holds a
   * unit of it as well as its slots. With `includeDeferred: true` a run in a wait keeps its unit
   * (it still gives its slots back); with `false` it gives the unit back too, and takes it again
   * before it goes on, ahead of new runs. Default: none.
   */
  readonly limits?: LimitsOption;
  /**
   * Piscina's (and `new Worker`'s) heap and stack limits of each worker thread. A thread that
   * runs past them dies: its runs, parked ones included, fail with `WorkerDiedError`, and a new
   * thread takes its place. Default: none (Node's defaults).
   */
  readonly resourceLimits?: ResourceLimits;
  /** The worker threads' `process.env`: an object of strings, or `SHARE_ENV`. Default: a copy of the main thread's. */
  readonly env?: Readonly<Record<string, string>> | typeof SHARE_ENV;
  /** Appended to the worker threads' `process.argv`. Default: none. */
  readonly argv?: readonly string[];
  /** Node options of the worker threads (e.g. `['--enable-source-maps']`). Default: the main thread's. */
  readonly execArgv?: readonly string[];
  /**
   * Added to the worker threads' nice value (lower CPU priority than the main thread, which
   * dispatches). Piscina applies it through the optional package `@napi-rs/nice`, on Linux;
   * without that package it has no effect. Default: 0.
   */
  readonly niceIncrement?: number;
}

const EXECUTOR_OPTIONS = {
  threads: true,
  maxConcurrentTasks: true,
  maxQueue: true,
  limits: true,
  resourceLimits: true,
  env: true,
  argv: true,
  execArgv: true,
  niceIncrement: true,
} as const satisfies KnownOptions<ExecutorOptions>;

const RESOURCE_LIMITS = {
  maxOldGenerationSizeMb: true,
  maxYoungGenerationSizeMb: true,
  codeRangeSizeMb: true,
  stackSizeMb: true,
} as const satisfies KnownOptions<ResourceLimits>;

const RUN_OPTIONS = {
  signal: true,
  timeoutMs: true,
  executionId: true,
  transfer: true,
  priority: true,
  concurrencyKey: true,
  beforeResume: true,
  enforceLimits: true,
} as const satisfies KnownOptions<RunOptions>;

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
  /**
   * Buffers of the input to move to the worker thread instead of copying them: `ArrayBuffer`s,
   * typed arrays (their buffer moves) or `MessagePort`s, each held by the input. They are
   * detached here when `run` is called, as `postMessage` does, even if the run waits for a
   * slot. A task moves buffers of its output back with `transfer(output, [buffers])`.
   * Default: none (everything is copied).
   */
  readonly transfer?: readonly TransferItem[];
  /**
   * Higher first: a queued run of a higher priority starts before any of a lower one (runs back
   * from a wait still go first). Within a priority, concurrency keys take turns and each key is
   * first in, first out. Strict: a steady stream of higher-priority runs holds lower ones back.
   * A safe integer. Default: 0.
   */
  readonly priority?: number;
  /**
   * The run's concurrency key, given instead of computing it with the task's `concurrencyKey`
   * (the persisted runner passes the key it stored at start). Default: computed from the input.
   */
  readonly concurrencyKey?: string | null;
  /**
   * Called each time a wait of the run is over, before it takes its slots back: the run goes on
   * only once the promise resolves (a rejection cancels the run with that error). The persisted
   * runner uses it to take the run's limits back fleet-wide. Default: none.
   */
  readonly beforeResume?: () => Promise<void>;
  /**
   * Whether this executor enforces the run's named limits and key limit. `false`: someone else
   * does (the persisted runner claims within them fleet-wide, and takes units back through
   * `beforeResume`); the run counts only against the slots. Default: true.
   */
  readonly enforceLimits?: boolean;
}

/** The options with every default filled in (the thread controls stay optional: absent, Node's own). */
export type FilledExecutorOptions = Required<Pick<ExecutorOptions, 'threads' | 'maxConcurrentTasks' | 'maxQueue'>> &
  Pick<ExecutorOptions, 'resourceLimits' | 'env' | 'argv' | 'execArgv' | 'niceIncrement'> & {
    /** The named limits, checked (empty: none). */
    readonly limits: ReadonlyMap<string, FilledLimit>;
  };

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
  const limits = checkLimits(options.limits);
  return { threads, maxConcurrentTasks, maxQueue, limits, ...threadControls(options) };
}

/** Piscina's thread controls, checked; only those given. */
function threadControls(
  options: ExecutorOptions,
): Omit<FilledExecutorOptions, 'threads' | 'maxConcurrentTasks' | 'maxQueue' | 'limits'> {
  const { resourceLimits, env, argv, execArgv, niceIncrement } = options;
  if (resourceLimits !== undefined) {
    if (typeof resourceLimits !== 'object' || resourceLimits === null) {
      throw new InvalidArgumentError('resourceLimits', 'an object of limits in MB', resourceLimits);
    }
    rejectUnknownOptions(resourceLimits, RESOURCE_LIMITS, '`resourceLimits`');
    for (const [name, value] of Object.entries(resourceLimits)) {
      if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
        throw new InvalidArgumentError(`resourceLimits.${name}`, 'a positive number of MB', value);
      }
    }
  }
  if (
    env !== undefined &&
    env !== SHARE_ENV &&
    (typeof env !== 'object' || env === null || Object.values(env).some((v) => typeof v !== 'string'))
  ) {
    throw new InvalidArgumentError('env', 'an object of strings, or SHARE_ENV', env);
  }
  for (const [name, list] of [
    ['argv', argv],
    ['execArgv', execArgv],
  ] as const) {
    if (list !== undefined && (!Array.isArray(list) || list.some((item) => typeof item !== 'string'))) {
      throw new InvalidArgumentError(name, 'an array of strings', list);
    }
  }
  if (
    niceIncrement !== undefined &&
    (!Number.isSafeInteger(niceIncrement) || niceIncrement < 0 || niceIncrement > 19)
  ) {
    throw new InvalidArgumentError('niceIncrement', 'an integer from 0 to 19', niceIncrement);
  }
  return {
    ...(resourceLimits === undefined ? {} : { resourceLimits }),
    ...(env === undefined ? {} : { env }),
    ...(argv === undefined ? {} : { argv }),
    ...(execArgv === undefined ? {} : { execArgv }),
    ...(niceIncrement === undefined ? {} : { niceIncrement }),
  };
}

export function validateRunOptions(options: RunOptions): void {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError('options', 'an object', options);
  }
  rejectUnknownOptions(options, RUN_OPTIONS, '`executor.run()`');
  const { signal, timeoutMs, executionId, priority, beforeResume, enforceLimits } = options;
  if (enforceLimits !== undefined && typeof enforceLimits !== 'boolean') {
    throw new InvalidArgumentError('enforceLimits', 'a boolean', enforceLimits);
  }
  if (beforeResume !== undefined && typeof beforeResume !== 'function') {
    throw new InvalidArgumentError('beforeResume', 'a function () => Promise<void>', beforeResume);
  }
  if (priority !== undefined && (typeof priority !== 'number' || !Number.isSafeInteger(priority))) {
    throw new InvalidArgumentError('priority', 'a safe integer', priority);
  }
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
