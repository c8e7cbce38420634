/**
 * What a run needs besides a thread: its weight in slots, the named limits it takes a unit of,
 * and its concurrency key with that key's limit. Declared on the task (`defineTask` options),
 * checked once there; the key is computed from each run's input.
 */
import { InvalidArgumentError, messageOf } from '../errors.js';
import { type KnownOptions, rejectUnknownOptions } from '../known-options.js';

/** A limit's size, and whether a run in a wait keeps its unit. */
export type LimitSpec = number | { readonly max: number; readonly includeDeferred?: boolean };

/** The `limits` option of an executor or runner: each limit's name and size. */
export type LimitsOption = Readonly<Record<string, LimitSpec>>;

/** A limit spec with its defaults filled. */
export interface FilledLimit {
  readonly max: number;
  readonly includeDeferred: boolean;
}

/** The options of `defineTask` that say what a run needs. */
export interface TaskNeedsOptions {
  /**
   * How many slots a run of the task takes while active (a 4-thread image resize: 4). It gives
   * them all back in a wait and takes them all again before it goes on. At most the executor's
   * `maxConcurrentTasks`, checked at `run`. Default: 1.
   */
  readonly slots?: number;
  /**
   * Names of limits (the executor's or runner's `limits` option) the run takes a unit of while
   * active. A name the executor does not know is an `UnknownLimitError` at `run`. Default: none.
   */
  readonly limits?: readonly string[];
  /**
   * The run's concurrency key, from its input (a tenant id, say), or null for none. Runs of
   * different keys are admitted in turn, so a key with many queued runs does not hold up a key
   * with few. In a workflow it is called with the workflow's input. Keys are 1-256 characters.
   * Default: none.
   */
  readonly concurrencyKey?: (input: never) => string | null;
  /**
   * At most this many runs of one key (of this task) active at once: a positive integer, or
   * `{ max, includeDeferred }` (whether a run in a wait keeps its unit; default false). Needs
   * `concurrencyKey`. Default: no limit per key (keys only take turns).
   */
  readonly perKeyLimit?: LimitSpec;
}

/** A task's needs, checked. */
export interface TaskNeeds {
  readonly slots: number;
  readonly limits: readonly string[];
  readonly concurrencyKey: ((input: unknown) => string | null) | null;
  readonly perKeyLimit: FilledLimit | null;
}

export const NO_NEEDS: TaskNeeds = Object.freeze({
  slots: 1,
  limits: Object.freeze([]),
  concurrencyKey: null,
  perKeyLimit: null,
});

export const MAX_KEY_LENGTH = 256;
const LIMIT_OPTIONS = { max: true, includeDeferred: true } as const satisfies KnownOptions<FilledLimit>;
const LIMIT_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,127}$/;

/** Checks the needs among `defineTask`'s options. */
export function checkTaskNeeds(options: TaskNeedsOptions): TaskNeeds {
  const { slots = 1, limits = [], concurrencyKey, perKeyLimit } = options;
  if (typeof slots !== 'number' || !Number.isSafeInteger(slots) || slots < 1) {
    throw new InvalidArgumentError('options.slots', 'a positive integer', slots);
  }
  if (!Array.isArray(limits)) throw new InvalidArgumentError('options.limits', 'an array of limit names', limits);
  limits.forEach((name: unknown, i) => checkLimitName(name, `options.limits[${i}]`));
  if (new Set(limits).size !== limits.length) {
    throw new InvalidArgumentError('options.limits', 'an array of distinct limit names', limits);
  }
  if (concurrencyKey !== undefined && typeof concurrencyKey !== 'function') {
    throw new InvalidArgumentError('options.concurrencyKey', 'a function (input) => string | null', concurrencyKey);
  }
  if (perKeyLimit !== undefined && concurrencyKey === undefined) {
    throw new InvalidArgumentError('options.perKeyLimit', 'given with `concurrencyKey`', perKeyLimit);
  }
  if (slots === 1 && limits.length === 0 && concurrencyKey === undefined) return NO_NEEDS;
  return Object.freeze({
    slots,
    limits: Object.freeze([...(limits as readonly string[])].sort()),
    concurrencyKey: (concurrencyKey as ((input: unknown) => string | null) | undefined) ?? null,
    perKeyLimit: perKeyLimit === undefined ? null : fillLimit(perKeyLimit, 'options.perKeyLimit'),
  });
}

/** The needs with their weight only: no limits, no key. */
export function weightOnly(needs: TaskNeeds): TaskNeeds {
  return needs.slots === 1 ? NO_NEEDS : { ...NO_NEEDS, slots: needs.slots };
}

/** Checks an executor's or runner's `limits` option. */
export function checkLimits(option: unknown): ReadonlyMap<string, FilledLimit> {
  const limits = new Map<string, FilledLimit>();
  if (option === undefined) return limits;
  if (typeof option !== 'object' || option === null || Array.isArray(option)) {
    throw new InvalidArgumentError('limits', 'an object of limit names to sizes', option);
  }
  for (const [name, spec] of Object.entries(option as Record<string, unknown>)) {
    checkLimitName(name, `limits.${name}`);
    limits.set(name, fillLimit(spec, `limits.${name}`));
  }
  return limits;
}

/** The run's concurrency key from its input: checked, or null for none. */
export function keyOf(needs: TaskNeeds, input: unknown): string | null {
  if (needs.concurrencyKey === null) return null;
  let key: unknown;
  try {
    key = needs.concurrencyKey(input);
  } catch (error) {
    throw new InvalidArgumentError(
      'concurrencyKey(input)',
      `a key, but the function threw (${messageOf(error)})`,
      error,
      {
        cause: error,
      },
    );
  }
  return checkKey(key, 'concurrencyKey(input)');
}

/** A key as given: 1-256 characters without NUL (PostgreSQL text holds none), or null. */
export function checkKey(key: unknown, where = 'concurrencyKey'): string | null {
  if (key === null) return null;
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH || key.includes('\u0000')) {
    throw new InvalidArgumentError(where, `a string of 1-${MAX_KEY_LENGTH} characters without NUL, or null`, key);
  }
  return key;
}

function checkLimitName(name: unknown, where: string): void {
  if (typeof name !== 'string' || !LIMIT_NAME.test(name)) {
    throw new InvalidArgumentError(where, 'a limit name of 1-128 letters, digits and `_.:-`', name);
  }
}

function fillLimit(spec: unknown, where: string): FilledLimit {
  if (typeof spec === 'number') {
    positive(spec, where);
    return { max: spec, includeDeferred: false };
  }
  if (typeof spec !== 'object' || spec === null) {
    throw new InvalidArgumentError(where, 'a positive integer or `{ max, includeDeferred? }`', spec);
  }
  rejectUnknownOptions(spec, LIMIT_OPTIONS, `\`${where}\``);
  const { max, includeDeferred = false } = spec as { max?: unknown; includeDeferred?: unknown };
  positive(max, `${where}.max`);
  if (typeof includeDeferred !== 'boolean') {
    throw new InvalidArgumentError(`${where}.includeDeferred`, 'a boolean', includeDeferred);
  }
  return { max: max as number, includeDeferred };
}

function positive(value: unknown, where: string): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new InvalidArgumentError(where, 'a positive integer', value);
  }
}
