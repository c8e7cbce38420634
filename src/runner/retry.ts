/**
 * The one way the runner calls the database on its execution path: through transient errors,
 * retried until `writeDeadlineMs` (`store/transient.ts`), each retry told to the logger.
 */
import type { Logger } from '../logger.js';
import { retryTransient } from '../store/transient.js';

/** Calls `call` until it succeeds, fails for good, or the deadline passes; `operation` names it in errors and logs. */
export type Retry = <T>(operation: string, call: () => Promise<T>) => Promise<T>;

export function retrying(deadlineMs: number, logger: Logger, runnerId: string): Retry {
  const onRetry = (error: unknown, operation: string): void =>
    logger.warn(`slotwise: retrying ${operation} after a database error`, {
      runnerId,
      error: error instanceof Error ? error.message : String(error),
    });
  return (operation, call) => retryTransient(call, { deadlineMs, operation, onRetry });
}
