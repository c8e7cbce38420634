/**
 * Where slotwise says what a user may want to see: a database it is retrying, tasks it took over
 * from a dead runner, claims it lost, writes that failed for good. The library writes nothing to
 * the console by itself; give it a logger (`console`, pino, winston: anything with `warn` and
 * `error`) to see these.
 */
import { InvalidArgumentError } from './errors.js';

export interface Logger {
  warn(message: string, details?: Record<string, unknown>): void;
  error(message: string, details?: Record<string, unknown>): void;
}

/** Says nothing: the default. */
export const SILENT: Logger = Object.freeze({ warn: () => undefined, error: () => undefined });

export function checkLogger(logger: unknown): Logger {
  if (logger === undefined) return SILENT;
  if (
    typeof logger !== 'object' ||
    logger === null ||
    typeof (logger as Partial<Logger>).warn !== 'function' ||
    typeof (logger as Partial<Logger>).error !== 'function'
  ) {
    throw new InvalidArgumentError('logger', 'an object with `warn` and `error` methods (console, pino, ...)', logger);
  }
  return logger as Logger;
}

/**
 * knex's `log` option, sending its messages to `logger` (knex otherwise prints them, an
 * "Acquire connection error" stack among them, with `console.log`). Its debug output is dropped.
 */
export function knexLog(logger: Logger): {
  warn(message: unknown): void;
  error(message: unknown): void;
  deprecate(method: string, alternative: string): void;
  debug(): void;
} {
  const text = (message: unknown): string => (message instanceof Error ? message.message : String(message));
  return {
    warn: (message) => logger.warn(`database: ${text(message)}`),
    error: (message) => logger.error(`database: ${text(message)}`),
    deprecate: (method, alternative) => logger.warn(`database: ${method} is deprecated, use ${alternative}`),
    debug: () => undefined,
  };
}
