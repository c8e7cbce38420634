/** The options and results of `runner.cancel`, checked here. */
import { InvalidArgumentError } from '../errors.js';
import { type KnownOptions, rejectUnknownOptions } from '../known-options.js';
import type { WorkflowResult } from './result.js';

export interface CancelOptions {
  /** Why (up to 1,000 characters): in the stored error and the reason the tasks' signals abort with. */
  readonly reason?: string;
}

export interface CancelResult {
  /** True: this call cancelled it. False: it had ended already (`result.status` says how). */
  readonly cancelled: boolean;
  readonly result: WorkflowResult;
}

const CANCEL_OPTIONS = { reason: true } as const satisfies KnownOptions<CancelOptions>;
const MAX_REASON = 1_000;

/** The reason given, checked (null: none). */
export function checkCancelOptions(options: CancelOptions): string | null {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options', 'an object', options);
  rejectUnknownOptions(options, CANCEL_OPTIONS, '`runner.cancel()`');
  const { reason } = options;
  if (reason === undefined) return null;
  if (typeof reason !== 'string' || reason.length > MAX_REASON) {
    throw new InvalidArgumentError('reason', `a string of at most ${String(MAX_REASON)} characters`, reason);
  }
  return reason;
}
