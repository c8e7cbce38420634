/** The events of a {@link Runner} and the options of its `close`. */
import type { ClaimLostError, DatabaseUnavailableError } from '../errors.js';

export interface SubStatusEvent {
  readonly workflowExecutionId: string;
  readonly taskExecutionId: string;
  readonly taskId: string;
  readonly subStatus: 'Active' | 'Deferred';
}

export interface ClaimLostEvent {
  readonly workflowExecutionId: string;
  readonly taskExecutionId: string;
  readonly taskId: string;
  /** Why: the error the run was aborted with (its task sees `handle.signal` abort). */
  readonly error: ClaimLostError;
}

export interface RunnerCloseOptions {
  /**
   * How long running tasks may go on finishing, in ms. Past it, their `handle.signal` aborts
   * and their claims go back to Ready for another runner. Default: no limit.
   */
  readonly timeoutMs?: number;
}

export interface RunnerEvents {
  /** A task's Running sub-state was written (it is in the database when this fires). */
  taskSubStatus: [SubStatusEvent];
  /**
   * This runner lost a task's claim (its lease expired and another runner took the task, or the
   * fencing token moved): the run was aborted, its result discarded, and its slot is free.
   */
  claimLost: [ClaimLostEvent];
  /** A state write failed for good (the database stayed away past `writeDeadlineMs`). */
  writeFailed: [DatabaseUnavailableError];
}
