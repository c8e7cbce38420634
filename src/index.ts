/**
 * slotwise: run CPU-heavy tasks on a worker-thread pool behind a semaphore of slots, and let
 * tasks that wait for something outside give their slot back while they wait.
 *
 * Glossary
 * - slot: permission to be *active* (using a thread's CPU). There are `maxConcurrentTasks`.
 * - task: a function defined with `defineTask` in a module that worker threads import.
 * - run (execution): one call of a task, with its own id, on some worker thread.
 * - handle: the task's `TaskHandle`, its second argument, through which it can defer.
 * - wait (deferral): `handle.deferUntil`, `handle.waitFor` or `handle.waitForSignal`, during
 *   which the run holds no slot and takes one again, ahead of new work, before it goes on.
 * - transfer: moving buffers to or from a worker thread instead of copying them (the
 *   `transfer` run option for an input, `transfer(output, buffers)` for a task's output).
 * - signal: a named message, with a payload, that ends a `waitForSignal` (sent with
 *   `executor.signal` to a run, or `runner.signal` to a workflow execution).
 * - executor: the pool of threads plus the semaphore that admits runs to them.
 * - workflow: a DAG of tasks (`defineWorkflow`); each task gets the input merged with its
 *   dependencies' outputs (its context).
 * - workflow execution: one run of a workflow, kept in the database by a runner.
 * - runner: claims ready tasks of workflow executions from the database and runs them on an
 *   executor, writing every state change back.
 */
export { Executor, type CloseOptions, type TaskReference } from './executor/executor.js';
export type { ExecutorOptions, FilledExecutorOptions, RunOptions } from './executor/options.js';
export type {
  ExecutorEvents,
  ExecutorMetrics,
  TaskEventBase,
  TaskStartedEvent,
  TaskDeferredEvent,
  TaskReclaimingEvent,
  TaskResumedEvent,
  TaskWaitEvent,
  TaskAwaitingSignalEvent,
  WaitKind,
  TaskFinishedEvent,
  TaskFailedEvent,
} from './executor/events.js';
export {
  TimelineRecorder,
  type Timeline,
  type TimelineLane,
  type TimelineActiveSpan,
  type TimelineParkedSpan,
} from './observe/timeline.js';
export { renderTimelineSvg, type TimelineSvgOptions } from './observe/timeline-svg.js';
export { registerMetrics, type MetricsOptions, type RegisteredMetrics } from './observe/prometheus.js';
export type { ExecutorLatency, LatencySummary } from './observe/latency.js';
export type { LimitUsage } from './slots/limit-pool.js';
export type { KeyUsage } from './executor/admission.js';
export type { FilledLimit, LimitsOption, LimitSpec, TaskNeeds, TaskNeedsOptions } from './slots/needs.js';
export type { StartOptions, FilledStartOptions } from './runner/start-needs.js';
export { Semaphore } from './slots/semaphore.js';
export { SlotToken } from './slots/slot-token.js';
export { defineTask, type TaskDefinition, type TaskFunction, type TaskOptions } from './task/define-task.js';
export type { TaskHandle, WaitWork } from './task/handle.js';
export { transfer, type TransferItem } from './task/transfer.js';
export type { DeferCondition } from './task/poll.js';
export {
  DEFAULT_POLL_INTERVAL_MS,
  MAX_SIGNAL_NAME_LENGTH,
  type DeferOptions,
  type WaitOptions,
} from './task/wait-options.js';
export { Runner } from './runner/runner.js';
export type {
  RunnerEvents,
  SubStatusEvent,
  ClaimLostEvent,
  TaskRetryScheduledEvent,
  TasksRecoveredEvent,
  ClaimedEvent,
  HeldUnits,
  RunnerCloseOptions,
} from './runner/events.js';
export type { RunnerOptions, FilledRunnerOptions, RetentionOption, FilledRetention } from './runner/options.js';
export type { WorkflowResult, TaskResult } from './runner/result.js';
export type { DatabaseOption } from './store/database.js';
export type { Logger } from './logger.js';
export type { TaskStatus, TaskSubStatus, WorkflowStatus, StoredError } from './store/rows.js';
export {
  STATES,
  TaskStates,
  TaskSubStates,
  WorkflowStates,
  TERMINAL_TASK_STATES,
  TERMINAL_WORKFLOW_STATES,
} from './store/states.js';
export type { CancelOptions, CancelResult } from './runner/control-options.js';
export type { ExecutionPage, ListOptions, PruneOptions } from './runner/history-options.js';
export type { ExecutionSummary } from './store/history.js';
export type { ScheduleInfo, ScheduleOptions } from './runner/schedule-options.js';
export { defineWorkflow, isWorkflow, type Workflow } from './workflow/define-workflow.js';
export { MANIFEST_VERSIONS, readManifest, type PackageManifest } from './package/manifest.js';
export { findPackage, loadPackages, type LoadedPackage } from './package/loader.js';
export {
  PackageNotFoundError,
  ManifestInvalidError,
  ManifestVersionUnsupportedError,
  PackageModuleNotFoundError,
  PackageModuleImportError,
  PackageModuleEmptyError,
  DuplicateWorkflowNameError,
} from './package/errors.js';
export { Worker, type WorkerOptions } from './service/worker.js';
export { startDashboard, DASHBOARD_DEFAULTS, type Dashboard, type DashboardOptions } from './dashboard/server.js';
export { lineLogger, LOG_FORMATS, type LogFormat, type LineLogger } from './service/log-lines.js';
export { mergeContext, type JsonValue, type JsonObject, type TaskOutput } from './workflow/context.js';
export type { TaskWorkflowOptions, FilledTaskWorkflowOptions } from './workflow/options.js';
export type { RetryOptions, RetryPolicy, Backoff } from './workflow/retry.js';
export type { TriggerRule, ContextCondition } from './workflow/trigger.js';
export {
  WorkflowErrorCode,
  WorkflowError,
  EmptyWorkflowError,
  DuplicateWorkflowTaskError,
  UnknownDependencyError,
  WorkflowCycleError,
  ContextNotStorableError,
} from './workflow/errors.js';
export {
  ErrorCode,
  SlotwiseError,
  InvalidArgumentError,
  ExecutorClosedError,
  QueueFullError,
  UnknownLimitError,
  DuplicateTaskError,
  UnknownTaskError,
  TaskModuleImportError,
  UncloneableValueError,
  TaskFailedError,
  TaskTimeoutError,
  TaskAbortedError,
  WorkerDiedError,
  DeferTimeoutError,
  DeferAbortedError,
  DeferConditionError,
  DeferInProgressError,
  NoHandleError,
  SchemaTooNewError,
  DatabaseUnavailableError,
  WorkflowNotFoundError,
  WorkflowEndedError,
  WorkflowCancelledError,
  WorkflowFailedError,
  TaskAbandonedError,
  RunnerClosedError,
  ClaimLostError,
  OutcomeRefusedError,
  EmbeddedDatabaseInUseError,
} from './errors.js';
