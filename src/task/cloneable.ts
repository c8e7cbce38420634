/**
 * Finds the part of a value that cannot be copied between threads.
 *
 * Plain data (primitives, arrays, plain objects, Map, Set, Date, RegExp, binary data, errors)
 * is walked directly, which is far cheaper than cloning it; anything else (class instances,
 * exotic objects) is tried with `structuredClone`, which is exact. Used by the worker on every
 * task output that is an object, and by the main thread only after an input failed to cross,
 * to name the offending key. `moved`: ports and buffers listed to move with the value (a port
 * crosses only when moved).
 */
import { isTransferred } from './transfer.js';

export interface UncloneablePart {
  /** The path from the root, e.g. `output.items[3].onDone`. */
  readonly path: string;
  readonly error: unknown;
}

export function findUncloneable(
  value: unknown,
  rootPath: string,
  moved: ReadonlySet<object> = NO_MOVED,
): UncloneablePart | null {
  return walk(value, rootPath, new Set(), moved);
}

const NO_MOVED: ReadonlySet<object> = new Set();

const PLAIN_LEAVES: readonly (abstract new (...args: never[]) => unknown)[] = [
  Date,
  RegExp,
  ArrayBuffer,
  Boolean,
  Number,
  String,
  Error,
];

function walk(value: unknown, path: string, seen: Set<object>, moved: ReadonlySet<object>): UncloneablePart | null {
  switch (typeof value) {
    case 'undefined':
    case 'boolean':
    case 'number':
    case 'bigint':
    case 'string':
      return null;
    case 'symbol':
    case 'function':
      return { path, error: new TypeError(`${typeof value} values cannot be cloned`) };
  }
  if (value === null) return null;
  const object = value as object;
  if (seen.has(object)) return null;
  seen.add(object);
  if (moved.has(object)) return null;
  if (isTransferred(object)) {
    return { path, error: new TypeError('transfer() marks a whole task output, not a part of a value') };
  }
  if (ArrayBuffer.isView(object) || PLAIN_LEAVES.some((type) => object instanceof type)) return null;
  if (Array.isArray(object)) {
    for (let i = 0; i < object.length; i++) {
      const found = walk(object[i], `${path}[${i}]`, seen, moved);
      if (found !== null) return found;
    }
    return null;
  }
  if (object instanceof Map) {
    for (const [key, entry] of object) {
      const found =
        walk(key, `${path}.<key ${String(key)}>`, seen, moved) ??
        walk(entry, `${path}.get(${String(key)})`, seen, moved);
      if (found !== null) return found;
    }
    return null;
  }
  if (object instanceof Set) {
    let i = 0;
    for (const entry of object) {
      const found = walk(entry, `${path}.<entry ${i++}>`, seen, moved);
      if (found !== null) return found;
    }
    return null;
  }
  const prototype: unknown = Object.getPrototypeOf(object);
  if (prototype === Object.prototype || prototype === null) {
    for (const key of Object.keys(object)) {
      const found = walk((object as Record<string, unknown>)[key], `${path}.${key}`, seen, moved);
      if (found !== null) return found;
    }
    return null;
  }
  try {
    structuredClone(object);
    return null;
  } catch (error) {
    return { path, error };
  }
}
