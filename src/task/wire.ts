/**
 * The messages that cross between the main thread and a worker thread for one task run, and
 * how errors are carried across (structured clone keeps only an error's message and stack, so
 * the class and `code` are sent explicitly and restored on the other side).
 */
import * as errors from '../errors.js';
import type { Cell } from '../slots/handshake.js';

/** Main → worker: run one task. */
export interface TaskRequest {
  readonly moduleUrl: string;
  readonly taskId: string;
  /** The run's id; sent only with a cell (a task without a handle never sees it), else ''. */
  readonly executionId: string;
  readonly input: unknown;
  /** The handshake cell, or null when the task runs without a handle. */
  readonly cell: Cell | null;
}

/**
 * Worker → main, when the run did not produce an output. A successful run sends its output
 * as it is (nothing wraps it, so success costs what raw Piscina costs); a failure is *thrown*
 * in the worker as this plain object, which Piscina posts back as the run's error.
 * `task` failures are errors the task body threw; `setup` failures are slotwise's own errors
 * that kept the body from running or its output from coming back.
 */
export interface TaskFailure {
  readonly slotwiseFailure: 'task' | 'setup';
  readonly error: SerializedError;
}

export function isTaskFailure(value: unknown): value is TaskFailure {
  return typeof value === 'object' && value !== null && 'slotwiseFailure' in value && 'error' in value;
}

export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly stack: string | undefined;
  readonly code: unknown;
  /** Own enumerable properties that are primitives or arrays of them (e.g. `timeoutMs`, `errno`). */
  readonly props: Record<string, SerializedProp>;
  readonly cause: SerializedError | undefined;
}

type Primitive = string | number | boolean | null;
type SerializedProp = Primitive | readonly Primitive[];

function isPrimitive(value: unknown): value is Primitive {
  return value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
}

export function serializeError(error: unknown, depth = 0): SerializedError {
  if (!(error instanceof Error)) {
    return { name: 'Error', message: String(error), stack: undefined, code: undefined, props: {}, cause: undefined };
  }
  const props: Record<string, SerializedProp> = {};
  for (const [key, value] of Object.entries(error)) {
    if (isPrimitive(value) || (Array.isArray(value) && value.every(isPrimitive))) props[key] = value;
  }
  const code: unknown = (error as { code?: unknown }).code;
  return {
    name: error.name,
    message: error.message,
    stack: error.stack,
    code: typeof code === 'string' || typeof code === 'number' ? code : undefined,
    props,
    cause: error.cause !== undefined && depth < 8 ? serializeError(error.cause, depth + 1) : undefined,
  };
}

const SLOTWISE_CLASSES = new Map<unknown, { prototype: errors.SlotwiseError }>([
  [errors.ErrorCode.InvalidArgument, errors.InvalidArgumentError],
  [errors.ErrorCode.DuplicateTask, errors.DuplicateTaskError],
  [errors.ErrorCode.UnknownTask, errors.UnknownTaskError],
  [errors.ErrorCode.TaskModuleImportFailed, errors.TaskModuleImportError],
  [errors.ErrorCode.UncloneableValue, errors.UncloneableValueError],
  [errors.ErrorCode.DeferTimeout, errors.DeferTimeoutError],
  [errors.ErrorCode.DeferAborted, errors.DeferAbortedError],
  [errors.ErrorCode.DeferConditionFailed, errors.DeferConditionError],
  [errors.ErrorCode.DeferInProgress, errors.DeferInProgressError],
  [errors.ErrorCode.NoHandle, errors.NoHandleError],
  [errors.ErrorCode.TaskAborted, errors.TaskAbortedError],
  [errors.ErrorCode.TaskTimeout, errors.TaskTimeoutError],
]);

const BUILTIN_CLASSES = new Map<string, { prototype: Error }>([
  ['TypeError', TypeError],
  ['RangeError', RangeError],
  ['SyntaxError', SyntaxError],
  ['ReferenceError', ReferenceError],
  ['EvalError', EvalError],
  ['URIError', URIError],
]);

/**
 * Rebuilds an error sent by {@link serializeError}: the same class for slotwise errors and
 * built-in error types (so `instanceof` and `code` work), otherwise an `Error` with the
 * original `name`, message, stack, code and primitive properties.
 */
export function reviveError(serialized: SerializedError): Error {
  const prototype =
    SLOTWISE_CLASSES.get(serialized.code)?.prototype ??
    BUILTIN_CLASSES.get(serialized.name)?.prototype ??
    Error.prototype;
  const error = Object.create(prototype) as Error;
  const hidden = (key: string, value: unknown): void => {
    Object.defineProperty(error, key, { value, writable: true, configurable: true, enumerable: false });
  };
  hidden('message', serialized.message);
  hidden('stack', serialized.stack);
  if (serialized.cause !== undefined) hidden('cause', reviveError(serialized.cause));
  if (error.name !== serialized.name) hidden('name', serialized.name);
  Object.assign(error, serialized.props);
  if (serialized.code !== undefined) Object.defineProperty(error, 'code', { value: serialized.code, enumerable: true });
  return error;
}
