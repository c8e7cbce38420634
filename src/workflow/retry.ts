/**
 * A workflow task's retry policy: its options and their validation, the delay before the next
 * attempt ({@link retryDelayMs}) and whether there is one ({@link shouldRetry}). Pure
 * functions; the runner keeps the attempt count and the clock.
 */
import { ErrorCode, InvalidArgumentError, messageOf } from '../errors.js';
import { isPlainObject } from './context.js';
import { WorkflowErrorCode } from './errors.js';

/** How the delay grows between attempts. */
export type Backoff = 'fixed' | 'linear' | 'exponential';

/** How a workflow task that failed is tried again. Every option is optional. */
export interface RetryOptions {
  /**
   * Attempts in all, the first one included: `1` means never retry. A positive integer.
   * Default: 3.
   */
  readonly maxAttempts?: number;
  /**
   * How the delay grows, with `attempt` the attempt that just failed (1-based):
   * `'fixed'`: `initialDelayMs`; `'linear'`: `initialDelayMs * attempt`;
   * `'exponential'`: `initialDelayMs * 2 ** (attempt - 1)`. Default: `'exponential'`.
   */
  readonly backoff?: Backoff;
  /** The delay after the first failed attempt, in ms. A finite number >= 0. Default: 1000. */
  readonly initialDelayMs?: number;
  /** No delay is longer than this, in ms (the cap applies before jitter). A finite number >= 0. Default: 30,000. */
  readonly maxDelayMs?: number;
  /**
   * Whether to spread the delays of tasks that failed together: the capped delay `d` becomes
   * a uniformly random value in `[d / 2, d)`, i.e. `d * (0.5 + 0.5 * random())`. Half fixed,
   * half random ("equal jitter"): a retry never comes sooner than half its delay. Default: true.
   */
  readonly jitter?: boolean;
  /**
   * Whether a failure is worth another attempt. Called with the error the run failed with
   * (for an error the task threw, the `TaskFailedError` whose `cause` is that error), only
   * while attempts remain. A `retryIf` that throws counts as "do not retry".
   * Default: everything but slotwise setup errors.
   */
  readonly retryIf?: (error: Error) => boolean;
}

/** {@link RetryOptions} with every default filled. */
export interface RetryPolicy {
  readonly maxAttempts: number;
  readonly backoff: Backoff;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly jitter: boolean;
  readonly retryIf: (error: Error) => boolean;
}

/**
 * Codes of the errors no retry can fix: the task cannot be found or imported, its input or
 * output cannot cross threads or be stored, or it was called wrongly.
 */
export const NON_RETRYABLE_CODES: ReadonlySet<string> = new Set<string>([
  ErrorCode.UnknownTask,
  ErrorCode.TaskModuleImportFailed,
  ErrorCode.UncloneableValue,
  ErrorCode.NoHandle,
  ErrorCode.InvalidArgument,
  WorkflowErrorCode.ContextNotStorable,
]);

/** How deep {@link isRetryableByDefault} follows `cause`s (which may form a cycle). */
const MAX_CAUSE_DEPTH = 8;

/**
 * The default `retryIf`: false when the error, or an error in its `cause` chain (a task's own
 * error is the `cause` of the `TaskFailedError` that reports it), has a code in
 * {@link NON_RETRYABLE_CODES}; true otherwise.
 */
export function isRetryableByDefault(error: Error): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < MAX_CAUSE_DEPTH && typeof current === 'object' && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && NON_RETRYABLE_CODES.has(code)) return false;
    current = (current as { cause?: unknown }).cause;
  }
  return true;
}

/** The policy of a task that sets no `retry` option. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  maxAttempts: 3,
  backoff: 'exponential',
  initialDelayMs: 1000,
  maxDelayMs: 30_000,
  jitter: true,
  retryIf: isRetryableByDefault,
});

const RETRY_KEYS: ReadonlySet<string> = new Set(Object.keys(DEFAULT_RETRY_POLICY));
const BACKOFFS: ReadonlySet<unknown> = new Set<Backoff>(['fixed', 'linear', 'exponential']);

/**
 * Validates `options` (the task's `retry` option, named `name` in messages) and fills its
 * defaults. `undefined` gives {@link DEFAULT_RETRY_POLICY}.
 *
 * @throws InvalidArgumentError naming the option and the value given.
 */
export function retryPolicyOf(options: unknown, name = 'retry'): RetryPolicy {
  if (options === undefined) return DEFAULT_RETRY_POLICY;
  if (!isPlainObject(options)) throw new InvalidArgumentError(name, 'an object of retry options', options);
  for (const key of Object.keys(options)) {
    if (!RETRY_KEYS.has(key)) {
      throw new InvalidArgumentError(
        name,
        `an object with only ${[...RETRY_KEYS].join(', ')} (not \`${key}\`)`,
        options,
      );
    }
  }
  const { maxAttempts, backoff, initialDelayMs, maxDelayMs, jitter, retryIf } = options;
  const defaults = DEFAULT_RETRY_POLICY;
  if (maxAttempts !== undefined && !(Number.isSafeInteger(maxAttempts) && (maxAttempts as number) > 0)) {
    throw new InvalidArgumentError(`${name}.maxAttempts`, 'a positive integer', maxAttempts);
  }
  if (backoff !== undefined && !BACKOFFS.has(backoff)) {
    throw new InvalidArgumentError(`${name}.backoff`, "one of 'fixed', 'linear', 'exponential'", backoff);
  }
  if (jitter !== undefined && typeof jitter !== 'boolean') {
    throw new InvalidArgumentError(`${name}.jitter`, 'a boolean', jitter);
  }
  if (retryIf !== undefined && typeof retryIf !== 'function') {
    throw new InvalidArgumentError(`${name}.retryIf`, 'a function', retryIf);
  }
  return Object.freeze({
    maxAttempts: (maxAttempts as number | undefined) ?? defaults.maxAttempts,
    backoff: (backoff as Backoff | undefined) ?? defaults.backoff,
    initialDelayMs: delay(`${name}.initialDelayMs`, initialDelayMs) ?? defaults.initialDelayMs,
    maxDelayMs: delay(`${name}.maxDelayMs`, maxDelayMs) ?? defaults.maxDelayMs,
    jitter: jitter ?? defaults.jitter,
    retryIf: (retryIf as RetryPolicy['retryIf'] | undefined) ?? defaults.retryIf,
  });
}

function delay(name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new InvalidArgumentError(name, 'a finite number >= 0', value);
  }
  return value;
}

/**
 * The delay in ms before the attempt after `attempt` (the attempt that just failed, 1-based):
 * the backoff of {@link RetryOptions.backoff}, capped at `maxDelayMs`, then jittered as
 * {@link RetryOptions.jitter} says with `random` (a function like `Math.random`, returning a
 * number in `[0, 1)`). Not rounded.
 *
 * @throws InvalidArgumentError when `attempt` is not a positive integer.
 */
export function retryDelayMs(
  policy: Pick<RetryPolicy, 'backoff' | 'initialDelayMs' | 'maxDelayMs' | 'jitter'>,
  attempt: number,
  random: () => number = Math.random,
): number {
  assertAttempt(attempt);
  const { initialDelayMs: initial } = policy;
  let base: number;
  if (initial === 0 || policy.backoff === 'fixed') base = initial;
  else if (policy.backoff === 'linear') base = initial * attempt;
  else base = initial * 2 ** (attempt - 1); // may reach Infinity for huge attempts: the cap bounds it
  const capped = Math.min(base, policy.maxDelayMs);
  return policy.jitter ? capped * (0.5 + 0.5 * random()) : capped;
}

/**
 * Whether a task whose attempt number `attempt` (1-based) failed with `error` gets another
 * attempt: false once `attempt >= maxAttempts`, otherwise whether `retryIf` returns `true`
 * (exactly `true`: a `retryIf` that returns a promise does not retry). A `retryIf` that
 * throws counts as false. An `error` that is not an `Error` is wrapped in one (the value
 * as its `cause`) before `retryIf` sees it.
 *
 * @throws InvalidArgumentError when `attempt` is not a positive integer.
 */
export function shouldRetry(
  policy: Pick<RetryPolicy, 'maxAttempts' | 'retryIf'>,
  error: unknown,
  attempt: number,
): boolean {
  assertAttempt(attempt);
  if (attempt >= policy.maxAttempts) return false;
  const failure = error instanceof Error ? error : new Error(messageOf(error), { cause: error });
  try {
    return policy.retryIf(failure) === true;
  } catch {
    return false;
  }
}

function assertAttempt(attempt: number): void {
  if (!Number.isSafeInteger(attempt) || attempt < 1) {
    throw new InvalidArgumentError('attempt', 'a positive integer (1 for the first attempt)', attempt);
  }
}
