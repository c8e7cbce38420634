/**
 * The states of workflow executions and tasks: one vocabulary for the SQL (as bindings), the
 * types, the migrations' checks and the docs (`docs/explanation/state-machine.md`, which a test
 * checks names every one of them).
 */

/** A workflow execution's states. `Running` until it ends; the other three are terminal. */
export const WorkflowStates = {
  Running: 'Running',
  Completed: 'Completed',
  Failed: 'Failed',
  Cancelled: 'Cancelled',
} as const;

export type WorkflowStatus = (typeof WorkflowStates)[keyof typeof WorkflowStates];

/**
 * A task's states. `NotStarted` until its dependencies end; `Ready` to be claimed (`Paused`
 * instead while its workflow is paused); `Running` while a runner holds it; then terminal.
 */
export const TaskStates = {
  NotStarted: 'NotStarted',
  Ready: 'Ready',
  Paused: 'Paused',
  Running: 'Running',
  Completed: 'Completed',
  Failed: 'Failed',
  Skipped: 'Skipped',
  Cancelled: 'Cancelled',
} as const;

export type TaskStatus = (typeof TaskStates)[keyof typeof TaskStates];

/** A Running task's sub-state: `Active` holds its slots, `Deferred` waits without them. */
export const TaskSubStates = { Active: 'Active', Deferred: 'Deferred' } as const;

export type TaskSubStatus = (typeof TaskSubStates)[keyof typeof TaskSubStates];

export const TERMINAL_WORKFLOW_STATES: readonly WorkflowStatus[] = [
  WorkflowStates.Completed,
  WorkflowStates.Failed,
  WorkflowStates.Cancelled,
];

export const TERMINAL_TASK_STATES: readonly TaskStatus[] = [
  TaskStates.Completed,
  TaskStates.Failed,
  TaskStates.Skipped,
  TaskStates.Cancelled,
];

export function isTerminalWorkflowStatus(status: WorkflowStatus): boolean {
  return TERMINAL_WORKFLOW_STATES.includes(status);
}

/** Every state, in the order the docs list them. */
export const STATES = {
  workflow: Object.values(WorkflowStates),
  task: Object.values(TaskStates),
  subState: Object.values(TaskSubStates),
} as const;
