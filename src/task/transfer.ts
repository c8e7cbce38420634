/**
 * Moving buffers between threads instead of copying them.
 *
 * Structured clone copies every `ArrayBuffer` a message holds; an 8 MiB image costs a copy
 * each way. The platform can *move* a buffer instead (its memory changes owner, the sender's
 * object is detached, length 0). A run's input names what to move with the `transfer` run
 * option; a task returns `transfer(output, [buffers])` to move buffers of its output back.
 *
 * Both sides check the list the same way (`checkTransferList`): only buffers and ports the
 * value actually holds may be listed, since a listed buffer the value does not hold would be
 * detached on the sender's side and reach nobody.
 */
import { MessagePort } from 'node:worker_threads';
import { InvalidArgumentError } from '../errors.js';

/**
 * What may be listed to move: an `ArrayBuffer`, a view of one (its buffer moves), or a
 * `MessagePort`. Typed with `ArrayBufferLike` so that `bytes.buffer` fits as TypeScript types
 * it; a `SharedArrayBuffer` is refused when the list is checked (shared memory is never moved).
 */
export type TransferItem = ArrayBufferLike | ArrayBufferView | MessagePort;

/** What the platform's transfer list holds, once views are resolved to their buffers. */
export type Movable = ArrayBuffer | MessagePort;

/**
 * The brand of an output made by {@link transfer}. `Symbol.for`, not a class: a task module may
 * load its own copy of slotwise, and the worker must still recognise the output.
 */
const TRANSFER = Symbol.for('slotwise.transfer');

export interface TransferredOutput {
  readonly [TRANSFER]: true;
  readonly value: unknown;
  readonly list: readonly unknown[];
}

/**
 * Marks a task's output so that the listed buffers move back to the main thread instead of
 * being copied: `return transfer(pixels, [pixels.buffer])`. The buffers are detached in the
 * worker once the output is sent. Return (or resolve with) the marked value itself; the run's
 * promise resolves with `value`.
 *
 * Typed as `value`'s own type so that the task's output type is unchanged; only the task's
 * return goes through it (anywhere else it is an `UncloneableValueError`).
 */
export function transfer<T>(value: T, buffers: readonly TransferItem[]): T {
  const marked: TransferredOutput = { [TRANSFER]: true, value, list: buffers };
  return marked as unknown as T;
}

/** True for a value made by {@link transfer}. */
export function isTransferred(value: unknown): value is TransferredOutput {
  return typeof value === 'object' && value !== null && (value as Partial<TransferredOutput>)[TRANSFER] === true;
}

/**
 * Checks a list of things to move against the value they belong to, and returns it as the
 * platform wants it: views resolved to their buffers, each buffer once.
 * `name` is how errors call the list (`transfer`, or `transfer() of the output`).
 */
export function checkTransferList(list: unknown, value: unknown, name: string): Movable[] {
  if (!Array.isArray(list)) {
    throw new InvalidArgumentError(name, 'an array of ArrayBuffers, typed arrays or MessagePorts', list);
  }
  const movables = new Set<Movable>();
  for (const [index, item] of (list as unknown[]).entries()) {
    movables.add(movableOf(item, `${name}[${index}]`));
  }
  const held = heldMovables(value);
  let index = 0;
  for (const movable of movables) {
    if (!held.has(movable)) {
      throw new InvalidArgumentError(
        `${name}[${index}]`,
        `a buffer or port that the value being sent holds (listed, it would be detached here and reach nobody)`,
        movable,
      );
    }
    index += 1;
  }
  return [...movables];
}

function movableOf(item: unknown, name: string): Movable {
  if (item instanceof MessagePort) return item;
  const buffer = ArrayBuffer.isView(item) ? item.buffer : item;
  if (buffer instanceof ArrayBuffer) return buffer;
  if (typeof SharedArrayBuffer === 'function' && buffer instanceof SharedArrayBuffer) {
    throw new InvalidArgumentError(name, 'an ArrayBuffer to move (shared memory is shared, never moved)', item);
  }
  throw new InvalidArgumentError(name, 'an ArrayBuffer, a typed array or a MessagePort', item);
}

/** Every ArrayBuffer and MessagePort reachable in plain data (arrays, objects, Map, Set, views). */
function heldMovables(value: unknown): Set<Movable> {
  const held = new Set<Movable>();
  const seen = new Set<object>();
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const next = stack.pop();
    if (typeof next !== 'object' || next === null || seen.has(next)) continue;
    seen.add(next);
    if (next instanceof ArrayBuffer || next instanceof MessagePort) held.add(next);
    else if (ArrayBuffer.isView(next)) stack.push(next.buffer);
    else if (next instanceof Map) for (const [key, entry] of next) stack.push(key, entry);
    else if (next instanceof Set) for (const entry of next) stack.push(entry);
    else for (const entry of Array.isArray(next) ? (next as unknown[]) : Object.values(next)) stack.push(entry);
  }
  return held;
}
