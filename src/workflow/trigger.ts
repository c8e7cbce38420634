/**
 * Trigger rules: when a workflow task whose dependencies are all terminal (Completed, Failed
 * or Skipped) runs, and when it is Skipped instead. {@link evaluateTrigger} decides from the
 * dependencies' states; the runner applies the decision.
 */
import type { TaskStatus } from '../store/states.js';
import { InvalidArgumentError } from '../errors.js';
import { type JsonObject, type JsonValue, assertStorable, isPlainObject, mergeContext } from './context.js';
import { ContextNotStorableError } from './errors.js';

/**
 * When a task runs, once every dependency is terminal (Completed, Failed or Skipped):
 *
 * - `'allCompleted'` (the default): runs if every dependency Completed; Skipped if any
 *   Failed or was Skipped. So a failure skips everything downstream of it.
 * - `'always'`: runs, whatever the dependencies' outcomes (cleanup, notification).
 * - `'anyFailed'`: runs if at least one dependency Failed; Skipped otherwise (a dependency
 *   that was Skipped does not count as Failed). A task with no dependency is always Skipped.
 * - `{ when: condition }`: like `'allCompleted'`, and then runs only if the
 *   {@link ContextCondition} holds on the context the task would receive (the workflow input
 *   merged with its dependencies' outputs); Skipped if it does not.
 *
 * A task with no dependency has them all terminal at once: it is decided when the workflow starts.
 */
export type TriggerRule = 'allCompleted' | 'always' | 'anyFailed' | { readonly when: ContextCondition };

/**
 * A condition on one top-level key of the context (no dotted paths: `'a.b'` is the key
 * `a.b`). A key is present when it is set to anything, `null` included.
 *
 * - `{ key }` or `{ key, exists: true }`: the key is present;
 * - `{ key, exists: false }`: the key is absent;
 * - `{ key, equals }`: the key is present and its value deeply equals `equals` (JSON
 *   equality: same type, same array items in order, same object keys in any order).
 */
export interface ContextCondition {
  readonly key: string;
  readonly equals?: JsonValue;
  readonly exists?: boolean;
}

/**
 * A task's state, as the runner stores it. Completed, Failed and Skipped are terminal here; a
 * Cancelled one counts as Failed (no rule is decided after a cancel: the cancel skips them all).
 */
export type DependencyStatus = TaskStatus;

/** One dependency of the task being decided. */
export interface DependencyState {
  readonly taskId: string;
  readonly status: DependencyStatus;
  /** Its output, when Completed (read by `when` conditions only). */
  readonly output?: unknown;
}

/** What to do with the task now: wait for a dependency, run it, or mark it Skipped. */
export type TriggerDecision = 'wait' | 'run' | 'skip';

/** The trigger rule of a task that sets none. */
export const DEFAULT_TRIGGER: TriggerRule = 'allCompleted';

const NAMED_RULES: ReadonlySet<unknown> = new Set(['allCompleted', 'always', 'anyFailed']);
const CONDITION_KEYS: ReadonlySet<string> = new Set(['key', 'equals', 'exists']);
const EXPECTED_RULE = "'allCompleted', 'always', 'anyFailed' or `{ when: { key, equals?, exists? } }`";

/**
 * Validates a `trigger` option (named `name` in messages) and returns it, a condition copied
 * and frozen. `undefined` gives {@link DEFAULT_TRIGGER}.
 *
 * @throws InvalidArgumentError naming the option and the value given.
 */
export function triggerRuleOf(value: unknown, name = 'trigger'): TriggerRule {
  if (value === undefined) return DEFAULT_TRIGGER;
  if (NAMED_RULES.has(value)) return value as TriggerRule;
  if (!isPlainObject(value) || Object.keys(value).some((key) => key !== 'when') || !('when' in value)) {
    throw new InvalidArgumentError(name, EXPECTED_RULE, value);
  }
  return Object.freeze({ when: conditionOf(value.when, `${name}.when`) });
}

function conditionOf(value: unknown, name: string): ContextCondition {
  if (!isPlainObject(value)) throw new InvalidArgumentError(name, 'an object `{ key, equals?, exists? }`', value);
  for (const key of Object.keys(value)) {
    if (!CONDITION_KEYS.has(key)) {
      throw new InvalidArgumentError(name, `an object with only key, equals, exists (not \`${key}\`)`, value);
    }
  }
  const { key, equals, exists } = value;
  if (typeof key !== 'string' || key === '') throw new InvalidArgumentError(`${name}.key`, 'a non-empty string', key);
  if (exists !== undefined && typeof exists !== 'boolean') {
    throw new InvalidArgumentError(`${name}.exists`, 'a boolean', exists);
  }
  if (equals === undefined) return Object.freeze({ key, ...(exists === undefined ? {} : { exists }) });
  try {
    assertStorable(equals, `${name}.equals`);
  } catch (error) {
    if (!(error instanceof ContextNotStorableError)) throw error;
    throw new InvalidArgumentError(`${name}.equals`, `a JSON value (\`${error.path}\` ${error.reason})`, equals);
  }
  if (exists === false) {
    throw new InvalidArgumentError(`${name}.exists`, 'true or unset when `equals` is set (it can never hold)', exists);
  }
  const copy = JSON.parse(JSON.stringify(equals)) as JsonValue;
  return Object.freeze({ key, equals: copy, ...(exists === undefined ? {} : { exists }) });
}

/**
 * Decides a task from its dependencies, given in the order the task declares them (that
 * order is the merge order of a `when` condition's context; see `mergeContext`). `'wait'`
 * while any dependency is not terminal; then `'run'` or `'skip'` as {@link TriggerRule} says.
 * `workflowInput` is read by `when` conditions only.
 */
export function evaluateTrigger(
  rule: TriggerRule,
  dependencies: readonly DependencyState[],
  workflowInput?: unknown,
): TriggerDecision {
  let completed = 0;
  let failed = 0;
  for (const { status } of dependencies) {
    if (status === 'Completed') completed++;
    else if (status === 'Failed' || status === 'Cancelled') failed++;
    else if (status !== 'Skipped') return 'wait';
  }
  const allCompleted = completed === dependencies.length;
  switch (rule) {
    case 'allCompleted':
      return allCompleted ? 'run' : 'skip';
    case 'always':
      return 'run';
    case 'anyFailed':
      return failed > 0 ? 'run' : 'skip';
    default: {
      if (!allCompleted) return 'skip';
      const context = mergeContext(
        workflowInput,
        dependencies.map(({ taskId, output }) => ({ taskId, output })),
      );
      return conditionHolds(rule.when, context) ? 'run' : 'skip';
    }
  }
}

/** Whether `condition` holds on `context` (see {@link ContextCondition}). */
export function conditionHolds(condition: ContextCondition, context: JsonObject): boolean {
  const present = Object.hasOwn(context, condition.key) && context[condition.key] !== undefined;
  if (condition.equals !== undefined) return present && jsonEqual(context[condition.key], condition.equals);
  return present === (condition.exists ?? true);
}

/** Deep equality of JSON values: arrays item by item in order, objects by keys in any order. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, index) => jsonEqual(item, b[index]));
  }
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  const keys = Object.keys(left);
  if (keys.length !== Object.keys(right).length) return false;
  return keys.every((key) => Object.hasOwn(right, key) && jsonEqual(left[key], right[key]));
}
