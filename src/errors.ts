/**
 * Every error slotwise raises is a {@link SlotwiseError} with a stable string `code`.
 * Branch on the class or on `code`, never on the message text: messages may be reworded,
 * codes never change. The table of codes lives in `docs/reference/errors.md`.
 */

/** The stable codes of every error slotwise raises. */
export const ErrorCode = {
  InvalidArgument: 'SLOTWISE_INVALID_ARGUMENT',
  ExecutorClosed: 'SLOTWISE_EXECUTOR_CLOSED',
  QueueFull: 'SLOTWISE_QUEUE_FULL',
  UnknownLimit: 'SLOTWISE_UNKNOWN_LIMIT',
  DuplicateTask: 'SLOTWISE_DUPLICATE_TASK',
  UnknownTask: 'SLOTWISE_UNKNOWN_TASK',
  TaskModuleImportFailed: 'SLOTWISE_TASK_MODULE_IMPORT_FAILED',
  UncloneableValue: 'SLOTWISE_UNCLONEABLE_VALUE',
  TaskFailed: 'SLOTWISE_TASK_FAILED',
  TaskTimeout: 'SLOTWISE_TASK_TIMEOUT',
  TaskAborted: 'SLOTWISE_TASK_ABORTED',
  WorkerDied: 'SLOTWISE_WORKER_DIED',
  DeferTimeout: 'SLOTWISE_DEFER_TIMEOUT',
  DeferAborted: 'SLOTWISE_DEFER_ABORTED',
  DeferConditionFailed: 'SLOTWISE_DEFER_CONDITION_FAILED',
  DeferInProgress: 'SLOTWISE_DEFER_IN_PROGRESS',
  NoHandle: 'SLOTWISE_NO_HANDLE',
  SchemaTooNew: 'SLOTWISE_SCHEMA_TOO_NEW',
  DatabaseUnavailable: 'SLOTWISE_DATABASE_UNAVAILABLE',
  WorkflowNotFound: 'SLOTWISE_WORKFLOW_NOT_FOUND',
  WorkflowEnded: 'SLOTWISE_WORKFLOW_ENDED',
  RunnerClosed: 'SLOTWISE_RUNNER_CLOSED',
  ClaimLost: 'SLOTWISE_CLAIM_LOST',
  OutcomeRefused: 'SLOTWISE_OUTCOME_REFUSED',
  EmbeddedDatabaseInUse: 'SLOTWISE_EMBEDDED_DATABASE_IN_USE',
  WorkflowEmpty: 'SLOTWISE_WORKFLOW_EMPTY',
  WorkflowDuplicateTask: 'SLOTWISE_WORKFLOW_DUPLICATE_TASK',
  WorkflowUnknownDependency: 'SLOTWISE_WORKFLOW_UNKNOWN_DEPENDENCY',
  WorkflowCycle: 'SLOTWISE_WORKFLOW_CYCLE',
  ContextNotStorable: 'SLOTWISE_CONTEXT_NOT_STORABLE',
  WorkflowCancelled: 'SLOTWISE_WORKFLOW_CANCELLED',
  WorkflowFailed: 'SLOTWISE_WORKFLOW_FAILED',
  TaskAbandoned: 'SLOTWISE_TASK_ABANDONED',
  PackageNotFound: 'SLOTWISE_PACKAGE_NOT_FOUND',
  ManifestInvalid: 'SLOTWISE_MANIFEST_INVALID',
  ManifestVersionUnsupported: 'SLOTWISE_MANIFEST_VERSION_UNSUPPORTED',
  PackageModuleNotFound: 'SLOTWISE_PACKAGE_MODULE_NOT_FOUND',
  PackageModuleImportFailed: 'SLOTWISE_PACKAGE_MODULE_IMPORT_FAILED',
  PackageModuleEmpty: 'SLOTWISE_PACKAGE_MODULE_EMPTY',
  DuplicateWorkflowName: 'SLOTWISE_DUPLICATE_WORKFLOW_NAME',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Base class of every slotwise error. */
export class SlotwiseError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }

  override get name(): string {
    return this.constructor.name;
  }
}

/** An option or argument had the wrong type or value. */
export class InvalidArgumentError extends SlotwiseError {
  readonly argument: string;
  readonly value: unknown;

  constructor(argument: string, expected: string, value: unknown, options?: { cause?: unknown }) {
    super(
      ErrorCode.InvalidArgument,
      `Expected \`${argument}\` to be ${expected}, got ${describeValue(value)}`,
      options,
    );
    this.argument = argument;
    this.value = value;
  }
}

/** `run` was called after `close`, or the run was still queued when the executor closed. */
export class ExecutorClosedError extends SlotwiseError {
  constructor(message = 'The executor is closed: no new task can run on it') {
    super(ErrorCode.ExecutorClosed, message);
  }
}

/** Backpressure: `run` found `maxQueue` runs already waiting for a slot. Nothing was admitted. */
export class QueueFullError extends SlotwiseError {
  /** The executor's `maxQueue`. */
  readonly limit: number;
  /** Runs waiting for their first slot when this one was refused. */
  readonly queued: number;

  constructor(limit: number, queued: number) {
    super(
      ErrorCode.QueueFull,
      `The executor's queue is full: ${String(queued)} run(s) wait for a slot (maxQueue ${String(limit)}); try again later`,
    );
    this.limit = limit;
    this.queued = queued;
  }
}

/** A task names a limit (its `limits` option) that the executor or runner was not given. */
export class UnknownLimitError extends SlotwiseError {
  readonly taskId: string;
  readonly limit: string;
  /** The limits the executor or runner knows. */
  readonly known: readonly string[];

  constructor(taskId: string, limit: string, known: readonly string[]) {
    super(
      ErrorCode.UnknownLimit,
      `Task \`${taskId}\` needs the limit \`${limit}\`, which is not among the \`limits\` option's (` +
        (known.length === 0 ? 'none given' : known.map((k) => `\`${k}\``).join(', ')) +
        ')',
    );
    this.taskId = taskId;
    this.limit = limit;
    this.known = known;
  }
}

/** Two tasks with one id were defined in the same module. */
export class DuplicateTaskError extends SlotwiseError {
  readonly taskId: string;
  readonly moduleUrl: string;

  constructor(taskId: string, moduleUrl: string) {
    super(ErrorCode.DuplicateTask, `Task \`${taskId}\` is defined twice in ${moduleUrl}`);
    this.taskId = taskId;
    this.moduleUrl = moduleUrl;
  }
}

/** The task module was imported but defines no task with the requested id. */
export class UnknownTaskError extends SlotwiseError {
  readonly taskId: string;
  readonly moduleUrl: string;
  readonly knownTaskIds: readonly string[];

  constructor(taskId: string, moduleUrl: string, knownTaskIds: readonly string[]) {
    const known = knownTaskIds.length > 0 ? knownTaskIds.map((id) => `\`${id}\``).join(', ') : 'none';
    super(ErrorCode.UnknownTask, `No task \`${taskId}\` is defined in ${moduleUrl} (it defines: ${known})`);
    this.taskId = taskId;
    this.moduleUrl = moduleUrl;
    this.knownTaskIds = knownTaskIds;
  }
}

/** A worker thread could not import the task's module. */
export class TaskModuleImportError extends SlotwiseError {
  readonly moduleUrl: string;

  constructor(moduleUrl: string, cause: unknown) {
    super(ErrorCode.TaskModuleImportFailed, `Could not import task module ${moduleUrl}: ${messageOf(cause)}`, {
      cause,
    });
    this.moduleUrl = moduleUrl;
  }
}

/** A task's input or output cannot be copied between threads (structured clone). */
export class UncloneableValueError extends SlotwiseError {
  /** Which value could not cross: the task's `input`, its `output`, or a signal's `payload`. */
  readonly direction: 'input' | 'output' | 'payload';
  /** Where in the value the offending part sits, e.g. `input.user.onSave`. */
  readonly path: string;

  constructor(direction: 'input' | 'output' | 'payload', path: string, cause?: unknown) {
    super(
      ErrorCode.UncloneableValue,
      `${direction === 'payload' ? "The signal's payload" : `The task's ${direction}`} cannot be copied between threads: \`${path}\` is not structured-cloneable` +
        (cause === undefined ? '' : ` (${messageOf(cause)})`),
      { cause },
    );
    this.direction = direction;
    this.path = path;
  }
}

/** The task body threw (or rejected). The task's own error is the `cause`. */
export class TaskFailedError extends SlotwiseError {
  readonly taskId: string;
  readonly executionId: string;

  constructor(taskId: string, executionId: string, cause: unknown) {
    super(ErrorCode.TaskFailed, `Task \`${taskId}\` failed: ${messageOf(cause)}`, { cause });
    this.taskId = taskId;
    this.executionId = executionId;
  }
}

/** The run took longer than its `timeoutMs`. */
export class TaskTimeoutError extends SlotwiseError {
  readonly taskId: string;
  readonly timeoutMs: number;

  constructor(taskId: string, timeoutMs: number) {
    super(ErrorCode.TaskTimeout, `Task \`${taskId}\` did not finish within ${timeoutMs} ms`);
    this.taskId = taskId;
    this.timeoutMs = timeoutMs;
  }
}

/** The run's `signal` was aborted. The abort reason is the `cause`. */
export class TaskAbortedError extends SlotwiseError {
  readonly taskId: string;

  constructor(taskId: string, reason: unknown) {
    super(ErrorCode.TaskAborted, `Task \`${taskId}\` was aborted: ${messageOf(reason)}`, { cause: reason });
    this.taskId = taskId;
  }
}

/** The worker thread running the task died (it exited, or crashed). */
export class WorkerDiedError extends SlotwiseError {
  readonly taskId: string;

  constructor(taskId: string, cause: unknown) {
    super(ErrorCode.WorkerDied, `The worker thread running task \`${taskId}\` died: ${messageOf(cause)}`, { cause });
    this.taskId = taskId;
  }
}

/** `deferUntil` gave up after its `timeoutMs`. The task holds its slot again. */
export class DeferTimeoutError extends SlotwiseError {
  readonly timeoutMs: number;

  constructor(timeoutMs: number) {
    super(ErrorCode.DeferTimeout, `The deferred condition did not hold within ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
  }
}

/** `deferUntil` was aborted (its own signal, or the run was cancelled). The task holds its slot again. */
export class DeferAbortedError extends SlotwiseError {
  constructor(reason: unknown) {
    super(ErrorCode.DeferAborted, `The deferral was aborted: ${messageOf(reason)}`, { cause: reason });
  }
}

/** The deferred condition threw. The task holds its slot again; the condition's error is the `cause`. */
export class DeferConditionError extends SlotwiseError {
  constructor(cause: unknown) {
    super(ErrorCode.DeferConditionFailed, `The deferred condition threw: ${messageOf(cause)}`, { cause });
  }
}

/** `deferUntil` was called while another `deferUntil` of the same task was still running. */
export class DeferInProgressError extends SlotwiseError {
  constructor() {
    super(ErrorCode.DeferInProgress, 'A deferral of this task is already in progress; await it before deferring again');
  }
}

/** The task was run without a handle but tried to use one. */
export class NoHandleError extends SlotwiseError {
  constructor(taskId: string) {
    super(
      ErrorCode.NoHandle,
      `Task \`${taskId}\` was not given a handle: declare a second parameter or pass \`{ handle: true }\` to defineTask`,
    );
  }
}

/** The database schema holds migrations newer than this version of slotwise. */
export class SchemaTooNewError extends SlotwiseError {
  readonly schema: string;
  readonly unknownMigrations: readonly string[];

  constructor(schema: string, unknownMigrations: readonly string[]) {
    super(
      ErrorCode.SchemaTooNew,
      `Schema \`${schema}\` has migrations this version of slotwise does not know (${unknownMigrations.join(', ')}): upgrade slotwise`,
    );
    this.schema = schema;
    this.unknownMigrations = unknownMigrations;
  }
}

/** The database could not be reached, or kept failing, for longer than the runner waits. */
export class DatabaseUnavailableError extends SlotwiseError {
  /** What the runner was doing, e.g. `completing task \`b\``. */
  readonly operation: string;

  constructor(operation: string, cause: unknown) {
    super(ErrorCode.DatabaseUnavailable, `The database failed while ${operation}: ${messageOf(cause)}`, { cause });
    this.operation = operation;
  }
}

/** No workflow execution has this id in the runner's schema. */
export class WorkflowNotFoundError extends SlotwiseError {
  readonly workflowExecutionId: string;

  constructor(workflowExecutionId: string) {
    super(ErrorCode.WorkflowNotFound, `No workflow execution \`${workflowExecutionId}\` in this schema`);
    this.workflowExecutionId = workflowExecutionId;
  }
}

/** A signal was sent to a workflow execution that has ended: no task of it can wait any more. */
export class WorkflowEndedError extends SlotwiseError {
  readonly workflowExecutionId: string;
  /** How it ended, e.g. `Completed`. */
  readonly status: string;

  /** @param what What it cannot do now. */
  constructor(workflowExecutionId: string, status: string, what = 'it takes no signal any more') {
    super(ErrorCode.WorkflowEnded, `Workflow execution \`${workflowExecutionId}\` has ended (${status}): ${what}`);
    this.workflowExecutionId = workflowExecutionId;
    this.status = status;
  }
}

/**
 * The workflow execution was cancelled (`runner.cancel`): its error, as stored and reported by
 * `status`/`wait`, and the reason its running tasks see `handle.signal` abort with (in the
 * process that holds them).
 */
export class WorkflowCancelledError extends SlotwiseError {
  readonly workflowExecutionId: string;
  /** The `reason` given to `cancel`, if any. */
  readonly reason: string | null;

  constructor(workflowExecutionId: string, reason: string | null) {
    super(
      ErrorCode.WorkflowCancelled,
      `Workflow execution \`${workflowExecutionId}\` was cancelled${reason === null ? '' : `: ${reason}`}`,
    );
    this.workflowExecutionId = workflowExecutionId;
    this.reason = reason;
  }
}

/** Stored as a workflow execution's error when it ended Failed: one of its tasks failed. */
export class WorkflowFailedError extends SlotwiseError {
  constructor() {
    super(ErrorCode.WorkflowFailed, 'a task failed');
  }
}

/**
 * Stored as a task's error when it failed "abandoned": every runner that held it died, more
 * often than `maxRecoveryAttempts` allows.
 */
export class TaskAbandonedError extends SlotwiseError {
  constructor() {
    super(ErrorCode.TaskAbandoned, 'abandoned');
  }
}

/** The runner is closed (or closing) and takes no new workflow. */
export class RunnerClosedError extends SlotwiseError {
  constructor() {
    super(ErrorCode.RunnerClosed, 'The runner is closed: no new workflow can start on it');
  }
}

/**
 * The reason a run's `handle.signal` aborts when its runner lost the task's claim: the runner's
 * lease expired and another runner took the task over (or someone moved its fencing token).
 * Whatever the run produces is discarded; the task runs, or ran, elsewhere.
 */
export class ClaimLostError extends SlotwiseError {
  readonly taskExecutionId: string;

  constructor(taskExecutionId: string) {
    super(
      ErrorCode.ClaimLost,
      `This runner no longer holds the claim on task execution ${taskExecutionId}: another runner took it over, so this run's result is discarded`,
    );
    this.taskExecutionId = taskExecutionId;
  }
}

/**
 * The database refused, for good, to store a task's outcome (a value its jsonb cannot hold,
 * such as a string with a lone UTF-16 surrogate). Recorded as the task's error, so the task
 * fails (or retries) instead of coming back forever. `sqlState` is PostgreSQL's error code.
 */
export class OutcomeRefusedError extends SlotwiseError {
  readonly taskId: string;
  readonly sqlState: string | null;

  constructor(taskId: string, cause: unknown) {
    const { code, detail } = (cause ?? {}) as { code?: unknown; detail?: unknown };
    // knex puts the statement before the database's own message: keep the message only.
    const reason = cause instanceof Error ? (cause.message.split(' - ').at(-1) ?? '') : String(cause);
    const details = typeof detail === 'string' ? ` (${detail})` : '';
    super(
      ErrorCode.OutcomeRefused,
      `The database refused to store the outcome of task \`${taskId}\`: ${reason}${details}`,
      {
        cause,
      },
    );
    this.taskId = taskId;
    this.sqlState = typeof code === 'string' ? code : null;
  }
}

/**
 * A second runner tried to use an embedded (PGlite) database that a live runner already uses.
 * PGlite is one process with one connection: several runners need PostgreSQL.
 */
export class EmbeddedDatabaseInUseError extends SlotwiseError {
  readonly holder: { readonly runnerId: string; readonly host: string; readonly pid: number };

  /** @param what Which database: its schema, or its data directory. */
  constructor(what: string, holder: { runnerId: string; host: string; pid: number }) {
    super(
      ErrorCode.EmbeddedDatabaseInUse,
      `The embedded database (${what}) is in use by runner ${holder.runnerId} (pid ${String(holder.pid)} on ${holder.host}). ` +
        'The embedded PGlite database serves one runner in one process; to run several runners, give them a PostgreSQL `database`.',
    );
    this.holder = holder;
  }
}

/** Builds `` `0` (number) ``-style descriptions for error messages. */
export function describeValue(value: unknown): string {
  switch (typeof value) {
    case 'undefined':
      return '`undefined`';
    case 'function':
      return `a function (${value.name || 'anonymous'})`;
    case 'string':
      return `\`${JSON.stringify(value)}\` (string)`;
    case 'object':
      return value === null
        ? '`null`'
        : `an object (${(value.constructor as { name?: string } | undefined)?.name ?? 'Object'})`;
    case 'symbol':
      return `\`${value.toString()}\` (symbol)`;
    default:
      return `\`${String(value)}\` (${typeof value})`;
  }
}

export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
