/**
 * Events an {@link Executor} emits for every run. Times are `performance.now()` milliseconds
 * (`at`), so lanes of a timeline can be drawn from them directly.
 */
import type { ExecutorLatency } from '../observe/latency.js';
import type { WaitKind } from '../slots/handshake.js';
import type { LimitUsage } from '../slots/limit-pool.js';
import type { KeyUsage } from './admission.js';

export type { WaitKind };

export interface TaskEventBase {
  readonly executionId: string;
  readonly taskId: string;
  /** When it happened, in `performance.now()` ms. */
  readonly at: number;
}

/** The run got its first slot and was sent to a worker thread. */
export interface TaskStartedEvent extends TaskEventBase {
  readonly queuedMs: number;
}

/** A wait of the run: what it waits for (`deferUntil`, `waitFor` or `waitForSignal`). */
export interface TaskWaitEvent extends TaskEventBase {
  readonly wait: WaitKind;
}

/** The run gave its slot back inside a wait. Emitted just before the slot is handed on. */
export type TaskDeferredEvent = TaskWaitEvent;

/** The run's wait is over (condition held, promise settled, signal delivered, timeout, abort) and it waits for a slot again. */
export type TaskReclaimingEvent = TaskWaitEvent;

/** The run has a slot again after a wait. */
export interface TaskResumedEvent extends TaskWaitEvent {
  /** How long this wait lasted, slot released to slot granted. */
  readonly deferredMs: number;
}

/** The run waits for a signal of this name, and none was kept for it (`executor.signal` delivers one). */
export interface TaskAwaitingSignalEvent extends TaskEventBase {
  readonly name: string;
}

/** The run finished. Emitted just before its slot is handed on (so before the next run's start). */
export interface TaskFinishedEvent extends TaskEventBase {
  /** From first slot to the end, deferred time included. */
  readonly durationMs: number;
  /** Total time spent without a slot in waits. */
  readonly deferredMs: number;
  readonly deferrals: number;
}

export interface TaskFailedEvent extends TaskFinishedEvent {
  readonly error: Error;
}

export interface ExecutorEvents {
  taskStarted: [TaskStartedEvent];
  taskDeferred: [TaskDeferredEvent];
  taskReclaiming: [TaskReclaimingEvent];
  taskResumed: [TaskResumedEvent];
  taskAwaitingSignal: [TaskAwaitingSignalEvent];
  taskCompleted: [TaskFinishedEvent];
  taskFailed: [TaskFailedEvent];
  /** A worker thread failed while it ran no task (Piscina replaces it). */
  workerError: [Error];
}

export interface ExecutorMetrics {
  /** The number of slots. */
  readonly maxConcurrentTasks: number;
  /** Runs holding their slots now (each holds its task's `slots`, 1 by default). */
  readonly activeTasks: number;
  /** Slots held now, by active runs. Never more than `maxConcurrentTasks`. */
  readonly slotsInUse: number;
  /** Runs parked in a wait (`deferUntil`, `waitFor`, `waitForSignal`) without a slot. */
  readonly deferredTasks: number;
  /** Runs back from a wait, waiting for a slot. */
  readonly reclaimingTasks: number;
  /** Slots free now. */
  readonly availableSlots: number;
  /** Runs waiting for their first slot. */
  readonly queuedTasks: number;
  /** The most runs that may wait for their first slot (`maxQueue`; `Infinity`: unbounded). */
  readonly maxQueue: number;
  /** Runs that started and have finished, with success or not. */
  readonly totalExecuted: number;
  /** Of those, the ones that failed (threw, timed out, were aborted, lost their thread). */
  readonly totalFailed: number;
  /** Waits (slot given back) over all runs. */
  readonly totalDeferrals: number;
  /** Each named limit (the `limits` option): units held, held by runs in a wait, wanted back, queued for. Computed when read. */
  readonly limits: Readonly<Record<string, LimitUsage>>;
  /** Each concurrency key with a `perKeyLimit` that a queued or running run has, with the same counts. Computed when read. */
  readonly keys: readonly KeyUsage[];
  /** Latency percentiles since the start (wait for a first slot, run, each wait), in ms; computed when read. */
  readonly latency: ExecutorLatency;
}
