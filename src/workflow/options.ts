/**
 * The workflow options of a task (set through `defineTask`): what it depends on, when it
 * runs, how it is retried and how long a run may take. Their defaults, and their validation
 * into the filled form stored on the task's definition.
 */
import { InvalidArgumentError } from '../errors.js';
import { DEFAULT_RETRY_POLICY, type RetryOptions, type RetryPolicy, retryPolicyOf } from './retry.js';
import { DEFAULT_TRIGGER, type TriggerRule, triggerRuleOf } from './trigger.js';

/** The options of a task that only matter when it runs in a workflow. Every option is optional. */
export interface TaskWorkflowOptions {
  /**
   * Ids of the tasks of the same workflow whose outputs this task needs, each at most once.
   * The order is the merge order of the task's context: of two dependencies that set the same
   * key, the later one wins (see `mergeContext`). Default: none (a root task).
   */
  readonly dependencies?: readonly string[];
  /** When the task runs or is Skipped, once its dependencies are done. Default: `'allCompleted'`. */
  readonly trigger?: TriggerRule;
  /** How a failed run is tried again. Default: 3 attempts, exponential backoff from 1 s up to 30 s, with jitter. */
  readonly retry?: RetryOptions;
  /** How long one attempt may run, in ms, a positive finite number. Default: no limit. */
  readonly timeoutMs?: number;
}

/** {@link TaskWorkflowOptions} with every default filled, as stored on a task's definition. */
export interface FilledTaskWorkflowOptions {
  readonly dependencies: readonly string[];
  readonly trigger: TriggerRule;
  readonly retry: RetryPolicy;
  /** `undefined`: no limit. */
  readonly timeoutMs: number | undefined;
}

/** The workflow options of a task that sets none. */
export const DEFAULT_TASK_WORKFLOW_OPTIONS: FilledTaskWorkflowOptions = Object.freeze({
  dependencies: Object.freeze([]),
  trigger: DEFAULT_TRIGGER,
  retry: DEFAULT_RETRY_POLICY,
  timeoutMs: undefined,
});

/** The ids `defineTask` accepts: 1-128 letters, digits and `_.:-`, not starting with `.:-`. */
const TASK_ID = /^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,127}$/;

/**
 * Reads the workflow options out of a task's `options` object (other keys, such as `handle`
 * and `module`, are ignored), validates them and fills their defaults. `undefined` gives
 * {@link DEFAULT_TASK_WORKFLOW_OPTIONS}, and so does an object setting none of them. The
 * result is frozen and shares nothing mutable with `options`.
 *
 * @throws InvalidArgumentError naming the option and the value given, e.g.
 *   ``Expected `retry.maxAttempts` to be a positive integer, got `0` (number)``.
 */
export function workflowOptionsOf(options: unknown): FilledTaskWorkflowOptions {
  if (options === undefined) return DEFAULT_TASK_WORKFLOW_OPTIONS;
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options', 'an object', options);
  const { dependencies, trigger, retry, timeoutMs } = options as Record<string, unknown>;
  if (dependencies === undefined && trigger === undefined && retry === undefined && timeoutMs === undefined) {
    return DEFAULT_TASK_WORKFLOW_OPTIONS;
  }
  return Object.freeze({
    dependencies: dependenciesOf(dependencies),
    trigger: triggerRuleOf(trigger, 'trigger'),
    retry: retryPolicyOf(retry, 'retry'),
    timeoutMs: timeoutOf(timeoutMs),
  });
}

function timeoutOf(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new InvalidArgumentError('timeoutMs', 'a positive finite number', value);
  }
  return value;
}

function dependenciesOf(value: unknown): readonly string[] {
  if (value === undefined) return DEFAULT_TASK_WORKFLOW_OPTIONS.dependencies;
  if (!Array.isArray(value)) throw new InvalidArgumentError('dependencies', 'an array of task ids', value);
  const seen = new Set<string>();
  for (let index = 0; index < value.length; index++) {
    const id: unknown = value[index];
    if (typeof id !== 'string' || !TASK_ID.test(id)) {
      throw new InvalidArgumentError(`dependencies[${index}]`, 'a task id of 1-128 letters, digits and `_.:-`', id);
    }
    if (seen.has(id)) throw new InvalidArgumentError(`dependencies[${index}]`, 'a task id not listed before', id);
    seen.add(id);
  }
  return Object.freeze([...seen]);
}
