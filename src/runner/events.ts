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

/** A failed run whose task goes back to Ready for another attempt (its retry policy allowed one). */
export interface TaskRetryScheduledEvent {
  readonly workflowExecutionId: string;
  readonly taskExecutionId: string;
  readonly taskId: string;
  /** The attempt that failed (1 for the first). */
  readonly attempt: number;
  /** How long until it is due again, in ms. */
  readonly delayMs: number;
}

/** Tasks of dead runners (or stray claims) this runner put back to Ready. */
export interface TasksRecoveredEvent {
  readonly count: number;
}

/** One claim statement: how many tasks it claimed and how long it took. */
export interface ClaimedEvent {
  readonly count: number;
  readonly durationMs: number;
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
  /** A failed run's task was made Ready again for another attempt (the write is committed). */
  taskRetryScheduled: [TaskRetryScheduledEvent];
  /** A sweep put tasks of dead runners (or strays) back to Ready. */
  tasksRecovered: [TasksRecoveredEvent];
  /** A claim statement returned (with 0 tasks, too: the latency is the statement's). */
  claimed: [ClaimedEvent];
}

/**
 * Units of named limits and per-key limits that one runner's tasks hold now, by sub-state
 * (`runner.heldUnits()`): what this process adds to the fleet-wide counts.
 */
export interface HeldUnits {
  /** `limit`: a named limit (`name`); `key`: a task's (`name`) concurrency key (`key`) with a per-key limit. */
  readonly kind: 'limit' | 'key';
  readonly name: string;
  readonly key: string | null;
  /** Tasks active (holding their unit). */
  readonly active: number;
  /** Tasks deferred (they hold their unit only where the limit counts deferred runs). */
  readonly deferred: number;
}
