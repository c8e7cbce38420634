/**
 * Retrying database writes through transient failures (a dropped connection, a failover, a
 * serialisation conflict), so that no state change on the execution path is dropped silently:
 * it either lands, or fails with a typed error once the deadline passes.
 */
import { DatabaseUnavailableError } from '../errors.js';

/** PostgreSQL SQLSTATE codes worth trying again. */
const TRANSIENT_SQLSTATES = new Set([
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '53300', // too_many_connections
  '55P03', // lock_not_available
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
]);
const TRANSIENT_ERRNOS = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTCONN']);

export function isTransient(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (
    typeof code === 'string' &&
    (TRANSIENT_SQLSTATES.has(code) || code.startsWith('08') || TRANSIENT_ERRNOS.has(code))
  ) {
    return true;
  }
  return (
    error.name === 'KnexTimeoutError' ||
    /Connection terminated|connection is closed|Client has encountered a connection error|Query read timeout|timeout exceeded when trying to connect/i.test(
      error.message,
    )
  );
}

export interface RetryTransientOptions {
  /** Give up after this long. */
  readonly deadlineMs: number;
  /** Said in the error when giving up, e.g. `completing task \`b\``. */
  readonly operation: string;
  /** Told of each transient failure that will be retried. */
  readonly onRetry?: (error: unknown, operation: string) => void;
}

export async function retryTransient<T>(work: () => Promise<T>, options: RetryTransientOptions): Promise<T> {
  const deadline = Date.now() + options.deadlineMs;
  for (let delay = 25; ; delay = Math.min(delay * 2, 2_000)) {
    try {
      return await work();
    } catch (error) {
      if (!isTransient(error)) throw error;
      if (Date.now() + delay > deadline) throw new DatabaseUnavailableError(options.operation, error);
      options.onRetry?.(error, options.operation);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
