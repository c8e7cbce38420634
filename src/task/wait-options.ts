/** The options of the handle's waits, their defaults, and their checks. */
import { InvalidArgumentError } from '../errors.js';
import { type KnownOptions, rejectUnknownOptions } from '../known-options.js';

/** Options of every wait: `deferUntil`, `waitFor` and `waitForSignal`. */
export interface WaitOptions {
  /** Give up after this many ms (the slot is taken again, then `DeferTimeoutError` is thrown). Default: none. */
  readonly timeoutMs?: number;
  /** Abort the wait (the slot is taken again, then `DeferAbortedError` is thrown). */
  readonly signal?: AbortSignal;
}

export interface DeferOptions extends WaitOptions {
  /** Time between two checks of the condition, in ms. Default: 100. */
  readonly pollIntervalMs?: number;
}

/** The default of {@link DeferOptions.pollIntervalMs}. */
export const DEFAULT_POLL_INTERVAL_MS = 100;

/** Longest signal name, in characters. */
export const MAX_SIGNAL_NAME_LENGTH = 200;

export interface CheckedWaitOptions {
  readonly timeoutMs: number | undefined;
  readonly signal: AbortSignal | undefined;
}

const WAIT_OPTIONS = { timeoutMs: true, signal: true } as const satisfies KnownOptions<WaitOptions>;
const DEFER_OPTIONS = { ...WAIT_OPTIONS, pollIntervalMs: true } as const satisfies KnownOptions<DeferOptions>;

/** `where` names the wait in errors, e.g. `handle.waitFor()`. */
export function checkWaitOptions(
  options: WaitOptions,
  where = '`handle.waitFor()` or `handle.waitForSignal()`',
  known: Readonly<Record<string, true>> = WAIT_OPTIONS,
): CheckedWaitOptions {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError('options', 'an object', options);
  }
  rejectUnknownOptions(options, known, where);
  const { timeoutMs, signal } = options;
  if (timeoutMs !== undefined && (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0)) {
    throw new InvalidArgumentError('timeoutMs', 'a positive finite number of ms', timeoutMs);
  }
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new InvalidArgumentError('signal', 'an AbortSignal', signal);
  }
  return { timeoutMs, signal };
}

export function checkDeferOptions(options: DeferOptions): CheckedWaitOptions & { readonly pollIntervalMs: number } {
  const checked = checkWaitOptions(options, '`handle.deferUntil()`', DEFER_OPTIONS);
  const pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
  if (typeof pollIntervalMs !== 'number' || !Number.isFinite(pollIntervalMs) || pollIntervalMs <= 0) {
    throw new InvalidArgumentError('pollIntervalMs', 'a positive finite number of ms', options.pollIntervalMs);
  }
  return { ...checked, pollIntervalMs };
}

/**
 * A signal name: a non-empty string of at most 200 characters, without U+0000 (which
 * PostgreSQL cannot store). The same rule in a task, in `executor.signal` and in `runner.signal`.
 */
export function checkSignalName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_SIGNAL_NAME_LENGTH || name.includes('\0')) {
    throw new InvalidArgumentError(
      'name',
      `a signal name (a non-empty string of at most ${String(MAX_SIGNAL_NAME_LENGTH)} characters, no U+0000)`,
      name,
    );
  }
  return name;
}
