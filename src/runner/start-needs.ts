/**
 * What a workflow start writes about each task's needs (weights, limits, keys, priority), and
 * the checks that refuse a start the runner could never run: a weight over its slots, a limit it
 * does not know, a bad key.
 */
import { InvalidArgumentError, UnknownLimitError } from '../errors.js';
import { type KnownOptions, rejectUnknownOptions } from '../known-options.js';
import { type FilledLimit, keyOf } from '../slots/needs.js';
import type { TaskNeedsColumns } from '../store/rows.js';
import type { TaskDefinition } from '../task/define-task.js';
import type { Workflow } from '../workflow/define-workflow.js';

/** Options of `runner.start` and `runner.execute`. */
export interface StartOptions {
  /**
   * The priority of every task of the execution, higher first (an integer; default 0): a runner
   * claims a Ready task of a higher priority before any of a lower one. Strict: a steady stream
   * of higher-priority work holds lower priorities back.
   */
  readonly priority?: number;
  /**
   * Starts the execution at most once per key and workflow name (1 to 256 characters, no NUL):
   * a start with a key that an execution of the workflow has already returns that execution's
   * id and starts nothing, even when processes race (a unique index decides). A key is kept as
   * long as its execution's row: until `prune` deletes it.
   */
  readonly idempotencyKey?: string;
}

const START_OPTIONS = { priority: true, idempotencyKey: true } as const satisfies KnownOptions<StartOptions>;

/** The start options, checked and filled. */
export interface FilledStartOptions {
  readonly priority: number;
  readonly idempotencyKey: string | null;
}

const MAX_IDEMPOTENCY_KEY = 256;

/** The start options, checked. */
export function checkStartOptions(options: StartOptions): FilledStartOptions {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options', 'an object', options);
  rejectUnknownOptions(options, START_OPTIONS, '`runner.start()`');
  const { priority = 0, idempotencyKey = null } = options;
  if (typeof priority !== 'number' || !Number.isSafeInteger(priority) || Math.abs(priority) > 2 ** 31 - 1) {
    throw new InvalidArgumentError('priority', 'a 32-bit integer', priority);
  }
  if (
    idempotencyKey !== null &&
    (typeof idempotencyKey !== 'string' ||
      idempotencyKey.length === 0 ||
      idempotencyKey.length > MAX_IDEMPOTENCY_KEY ||
      idempotencyKey.includes('\0'))
  ) {
    throw new InvalidArgumentError(
      'idempotencyKey',
      `a string of 1 to ${String(MAX_IDEMPOTENCY_KEY)} characters without NUL`,
      idempotencyKey,
    );
  }
  return { priority, idempotencyKey };
}

/** Throws if some task of `workflow` could not run on this runner with `input`. */
export function checkWorkflowNeeds(
  workflow: Workflow,
  input: Record<string, unknown>,
  limits: ReadonlyMap<string, FilledLimit>,
  maxSlots: number,
): void {
  checkRunnable(workflow, limits, maxSlots);
  for (const task of workflow.tasks) keyOf(task.needs, input);
}

/**
 * What a runner can check of a workflow before any input: that no task needs more slots than
 * `maxSlots` or a limit not among `limits` (either would leave it Ready and never claimed).
 */
export function checkRunnable(workflow: Workflow, limits: ReadonlyMap<string, FilledLimit>, maxSlots: number): void {
  for (const task of workflow.tasks) {
    const { needs } = task;
    if (needs.slots > maxSlots) {
      throw new InvalidArgumentError(
        `slots (of task \`${task.id}\`)`,
        `at most the runner's maxConcurrentTasks (${String(maxSlots)})`,
        needs.slots,
      );
    }
    const unknown = needs.limits.find((name) => !limits.has(name));
    if (unknown !== undefined) throw new UnknownLimitError(task.id, unknown, [...limits.keys()]);
  }
}

/** The needs columns of a new row of `task` (a task's key comes from the workflow's input). */
export function needsColumns(task: TaskDefinition, input: Record<string, unknown>, priority: number): TaskNeedsColumns {
  const { needs } = task;
  return {
    slots: needs.slots,
    limits: needs.limits,
    concurrency_key: keyOf(needs, input),
    per_key_limit: needs.perKeyLimit?.max ?? null,
    per_key_include_deferred: needs.perKeyLimit?.includeDeferred ?? false,
    priority,
    fair_tag: null,
  };
}

/** Whether any task of these workflows needs more than one slot and nothing else. */
export function anyNeeds(workflows: Iterable<Workflow>): boolean {
  for (const workflow of workflows) {
    for (const task of workflow.tasks) {
      const { needs } = task;
      if (needs.slots !== 1 || needs.limits.length > 0 || needs.perKeyLimit !== null) return true;
    }
  }
  return false;
}
