/**
 * Errors raised when a workflow is defined (empty, duplicate task, unknown dependency, cycle)
 * and when a workflow's context holds something JSON cannot store. Each has a stable `code`
 * from {@link WorkflowErrorCode}; branch on the class or the code, never on the message.
 */
import { ErrorCode, SlotwiseError } from '../errors.js';

/** The stable codes of the workflow errors (also part of {@link ErrorCode}). */
export const WorkflowErrorCode = {
  WorkflowEmpty: ErrorCode.WorkflowEmpty,
  DuplicateTask: ErrorCode.WorkflowDuplicateTask,
  UnknownDependency: ErrorCode.WorkflowUnknownDependency,
  Cycle: ErrorCode.WorkflowCycle,
  ContextNotStorable: ErrorCode.ContextNotStorable,
} as const;

export type WorkflowErrorCode = (typeof WorkflowErrorCode)[keyof typeof WorkflowErrorCode];

/** Base class of the workflow errors: a {@link SlotwiseError} whose `code` is a {@link WorkflowErrorCode}. */
export abstract class WorkflowError extends SlotwiseError {
  constructor(code: WorkflowErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** `defineWorkflow` was given no task. */
export class EmptyWorkflowError extends WorkflowError {
  readonly workflowName: string;

  constructor(workflowName: string) {
    super(
      WorkflowErrorCode.WorkflowEmpty,
      `Workflow \`${workflowName}\` has no tasks: pass at least one task to defineWorkflow`,
    );
    this.workflowName = workflowName;
  }
}

/** Two tasks of one workflow have the same id. */
export class DuplicateWorkflowTaskError extends WorkflowError {
  readonly workflowName: string;
  readonly taskId: string;

  constructor(workflowName: string, taskId: string) {
    super(
      WorkflowErrorCode.DuplicateTask,
      `Workflow \`${workflowName}\` has two tasks with the id \`${taskId}\`: task ids must be unique in a workflow`,
    );
    this.workflowName = workflowName;
    this.taskId = taskId;
  }
}

/** A task depends on an id that is not a task of its workflow. */
export class UnknownDependencyError extends WorkflowError {
  readonly workflowName: string;
  /** The task that declares the dependency. */
  readonly taskId: string;
  /** The dependency that is not in the workflow. */
  readonly dependencyId: string;

  constructor(workflowName: string, taskId: string, dependencyId: string, knownTaskIds: readonly string[]) {
    super(
      WorkflowErrorCode.UnknownDependency,
      `Task \`${taskId}\` of workflow \`${workflowName}\` depends on \`${dependencyId}\`, which is not a task of ` +
        `this workflow (it has: ${knownTaskIds.map((id) => `\`${id}\``).join(', ')})`,
    );
    this.workflowName = workflowName;
    this.taskId = taskId;
    this.dependencyId = dependencyId;
  }
}

/** The dependencies of a workflow's tasks form a cycle (a task depending on itself included). */
export class WorkflowCycleError extends WorkflowError {
  readonly workflowName: string;
  /** The cycle, each task depending on the next, closed: `['a', 'b', 'c', 'a']`, or `['a', 'a']`. */
  readonly path: readonly string[];

  constructor(workflowName: string, path: readonly string[]) {
    super(
      WorkflowErrorCode.Cycle,
      `Workflow \`${workflowName}\` has a dependency cycle: ${path.join(' → ')} (each task depends on the next)`,
    );
    this.workflowName = workflowName;
    this.path = path;
  }
}

/** A value meant for the workflow context (input or a task's output) cannot be stored as JSON faithfully. */
export class ContextNotStorableError extends WorkflowError {
  /** Where the offending part sits, e.g. `output.report.created`. */
  readonly path: string;
  /** What is wrong with it, e.g. `is a Date (JSON would turn it into a string)`. */
  readonly reason: string;

  constructor(path: string, reason: string) {
    super(WorkflowErrorCode.ContextNotStorable, `The workflow context cannot be stored as JSON: \`${path}\` ${reason}`);
    this.path = path;
    this.reason = reason;
  }
}
