/**
 * The workflow context: the JSON object a task receives as its input. It is the workflow's
 * input merged with the outputs of the task's dependencies ({@link mergeContext}). Everything
 * that enters it is stored as JSON, so `assertStorable` refuses what JSON would not
 * give back as it was given.
 */
import { InvalidArgumentError } from '../errors.js';
import { ContextNotStorableError } from './errors.js';

/** A value JSON stores faithfully. */
export type JsonValue = string | number | boolean | null | readonly JsonValue[] | JsonObject;

/** A JSON object: the shape of a workflow's input and of the context each task receives. */
export interface JsonObject {
  readonly [key: string]: JsonValue;
}

/** The output of one completed dependency, as {@link mergeContext} takes it. */
export interface TaskOutput {
  readonly taskId: string;
  readonly output: unknown;
}

/** Whether `value` is a plain object: its prototype is `Object.prototype` or `null`. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/**
 * The context a task receives: the workflow `input` (a JSON object; `undefined` counts as
 * `{}`), then each dependency's output applied in turn, in the order the task declares its
 * dependencies (pass `outputs` in that order, Completed dependencies only):
 *
 * - a plain-object output is merged key by key: a key it sets overwrites the same key set by
 *   the workflow input or by an earlier dependency. **The last declared dependency wins.**
 * - any other JSON value (number, string, boolean, null, array) is stored under the producing
 *   task's id, e.g. `{ count: 3 }` for a task `count` that returned `3`;
 * - `undefined` (the task returned nothing) adds nothing.
 *
 * Keys whose value is `undefined` are left out, as JSON would. The values are not copied:
 * the result shares them with `input` and `outputs`. They are taken to be JSON already (they
 * passed `assertStorable` or came back from storage); only `input`'s shape is checked.
 *
 * @throws InvalidArgumentError when `input` is neither `undefined` nor a plain object.
 */
export function mergeContext(input: unknown, outputs: readonly TaskOutput[]): JsonObject {
  if (input !== undefined && !isPlainObject(input)) {
    throw new InvalidArgumentError('input', 'a JSON object (or undefined)', input);
  }
  const context: Record<string, JsonValue> = {};
  if (input !== undefined) assign(context, input);
  for (const { taskId, output } of outputs) {
    if (output === undefined) continue;
    if (isPlainObject(output)) assign(context, output);
    else set(context, taskId, output as JsonValue);
  }
  return context;
}

function assign(context: Record<string, JsonValue>, source: Record<string, unknown>): void {
  for (const key of Object.keys(source)) {
    const value = source[key];
    if (value !== undefined) set(context, key, value as JsonValue);
  }
}

function set(context: Record<string, JsonValue>, key: string, value: JsonValue): void {
  // Plain assignment to `__proto__` would change the prototype instead of adding a key.
  if (key === '__proto__') {
    Object.defineProperty(context, key, { value, writable: true, enumerable: true, configurable: true });
  } else {
    context[key] = value;
  }
}

/**
 * Throws {@link ContextNotStorableError} if `value` holds anything JSON cannot store
 * faithfully, naming where it sits from `path` (e.g. `output.report.created`). Refused:
 * functions, symbols (as values or keys), bigints, `undefined` or holes inside arrays, `NaN`
 * and `±Infinity`, `Date` (JSON would turn it into a string), `Map` and `Set`, instances of
 * classes (any prototype but `Object.prototype`, `null` or an array's) and cycles. Allowed:
 * `undefined` at the top or as an object's value (JSON leaves the key out, so it reads back
 * as absent). One walk over the value; shared, non-cyclic references are fine.
 */
export function assertStorable(value: unknown, path = 'value'): void {
  const keys: (string | number)[] = [];
  const ancestors: object[] = [];
  const onPath = new Set<object>();
  const fail = (reason: string): never => {
    throw new ContextNotStorableError(formatPath(path, keys), reason);
  };

  const visit = (item: unknown, inArray: boolean): void => {
    switch (typeof item) {
      case 'string':
        if (item.includes('\u0000')) fail('contains the character U+0000, which PostgreSQL jsonb cannot store');
        return;
      case 'boolean':
        return;
      case 'number':
        if (!Number.isFinite(item)) fail(`is ${item} (JSON would turn it into null)`);
        return;
      case 'undefined':
        if (inArray) fail('is undefined inside an array (JSON would turn it into null)');
        return;
      case 'function':
        return fail(`is a function (${item.name || 'anonymous'})`);
      case 'symbol':
        return fail(`is a symbol (${item.toString()})`);
      case 'bigint':
        return fail(`is a bigint (${item}n): JSON has no bigint, store it as a string`);
      case 'object':
        if (item !== null) visitObject(item);
        return;
    }
  };

  const visitObject = (item: object): void => {
    if (onPath.has(item)) {
      const at = formatPath(path, keys.slice(0, ancestors.indexOf(item)));
      fail(`refers back to \`${at}\`: a cycle, which JSON cannot store`);
    }
    const isArray = Array.isArray(item);
    if (!isArray && !isPlainObject(item)) fail(describeNonPlain(item));
    onPath.add(item);
    ancestors.push(item);
    if (isArray) {
      for (let index = 0; index < item.length; index++) {
        keys.push(index);
        if (!(index in item)) fail('is a hole in a sparse array (JSON would turn it into null)');
        visit(item[index], true);
        keys.pop();
      }
    } else {
      for (const symbol of Object.getOwnPropertySymbols(item)) {
        if (Object.prototype.propertyIsEnumerable.call(item, symbol)) {
          fail(`has a symbol key (${symbol.toString()}), which JSON would drop`);
        }
      }
      const record = item as Record<string, unknown>;
      for (const key of Object.keys(record)) {
        keys.push(key);
        if (key.includes('\u0000')) fail('is a key with the character U+0000, which PostgreSQL jsonb cannot store');
        visit(record[key], false);
        keys.pop();
      }
    }
    ancestors.pop();
    onPath.delete(item);
  };

  visit(value, false);
}

/** Why a non-plain object cannot be stored (found only on the error path, so it may be slow). */
function describeNonPlain(item: object): string {
  switch (Object.prototype.toString.call(item)) {
    case '[object Date]':
      return 'is a Date (JSON would turn it into a string): store `date.toISOString()` instead';
    case '[object Map]':
      return 'is a Map (JSON would turn it into {}): store a plain object or an array of entries instead';
    case '[object Set]':
      return 'is a Set (JSON would turn it into {}): store an array instead';
    default: {
      const name = (item.constructor as { name?: unknown } | undefined)?.name;
      const className = typeof name === 'string' && name !== '' ? name : 'an anonymous class';
      return `is an instance of ${className}: only plain objects, arrays and primitives can be stored`;
    }
  }
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** `output` + ['report', 0, 'a b'] → `output.report[0]["a b"]`. */
function formatPath(root: string, keys: readonly (string | number)[]): string {
  let path = root;
  for (const key of keys) {
    if (typeof key === 'number') path += `[${key}]`;
    else if (IDENTIFIER.test(key)) path += `.${key}`;
    else path += `[${JSON.stringify(key)}]`;
  }
  return path;
}
