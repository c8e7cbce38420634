/* eslint-disable @typescript-eslint/only-throw-error --
   Failures are thrown as plain TaskFailure objects on purpose: Piscina posts a thrown value back
   as the run's error, and a plain object crosses threads whole, where an Error loses its class. */
import {
  NoHandleError,
  TaskAbortedError,
  TaskModuleImportError,
  UncloneableValueError,
  UnknownTaskError,
} from '../errors.js';
import { isCancelled } from '../slots/handshake.js';
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { findUncloneable } from './cloneable.js';
import type { TaskDefinition } from './define-task.js';
import { CellTaskHandle, type TaskHandle } from './handle.js';
import { runDuePolls } from './poll-schedule.js';
import { lookupTask, taskIdsOf } from './registry.js';
import { type Movable, type TransferredOutput, checkTransferList, isTransferred } from './transfer.js';
import { type TaskFailure, type TaskRequest, serializeError } from './wire.js';

/** Imports in flight or done, per module URL; a failed import is forgotten so it can be retried. */
const imports = new Map<string, Promise<unknown>>();

/**
 * Runs one task request inside a worker thread. Returns the output (or a promise of it) on
 * success and throws a {@link TaskFailure} otherwise.
 *
 * The hot path (task module already imported, synchronous task) runs without a single promise,
 * so a no-op task costs what a bare Piscina handler costs. A result that cannot be posted back
 * would kill the whole thread and every task parked on it, so outputs are checked here first.
 */
export function runTaskRequest(request: TaskRequest): unknown {
  const task = lookupTask(request.moduleUrl, request.taskId);
  return task === undefined ? importThenRun(request) : runTask(task, request);
}

async function importThenRun(request: TaskRequest): Promise<unknown> {
  const { moduleUrl, taskId } = request;
  try {
    await importOnce(moduleUrl);
  } catch (error) {
    throw setupFailure(new TaskModuleImportError(moduleUrl, error));
  }
  const task = lookupTask(moduleUrl, taskId);
  if (task === undefined) throw setupFailure(new UnknownTaskError(taskId, moduleUrl, taskIdsOf(moduleUrl)));
  return runTask(task, request);
}

function runTask(task: TaskDefinition, request: TaskRequest): unknown {
  const { cell, taskId } = request;
  let handle: CellTaskHandle | undefined;
  if (cell !== null) {
    // Cancelled (aborted, timed out) before it reached this thread: do not start the body.
    if (isCancelled(cell)) {
      throw setupFailure(new TaskAbortedError(taskId, 'the run was cancelled before it started'));
    }
    if (task.wantsHandle) handle = new CellTaskHandle(cell, request.executionId, taskId);
  } else if (task.wantsHandle) {
    throw setupFailure(new NoHandleError(taskId));
  }

  let result: unknown;
  try {
    result = task.fn(request.input, handle as TaskHandle);
  } catch (error) {
    ended(handle);
    throw taskFailure(error);
  }
  if (!isThenable(result)) {
    ended(handle);
    return checkedOutput(result);
  }
  return Promise.resolve(result).then(
    (output) => {
      ended(handle);
      return checkedOutput(output);
    },
    (error: unknown) => {
      ended(handle);
      throw taskFailure(error);
    },
  );
}

/**
 * A task body is over: its handle goes, and the thread's due polls run before the result is
 * sent, so a parked run whose condition turned true meanwhile asks for its slot first (see
 * `poll-schedule.ts`).
 */
function ended(handle: CellTaskHandle | undefined): void {
  handle?.dispose();
  runDuePolls();
}

function checkedOutput(output: unknown): unknown {
  if (isTransferred(output)) return movedOutput(output);
  if (typeof output === 'object' || typeof output === 'function' || typeof output === 'symbol') {
    const uncloneable = findUncloneable(output, 'output');
    if (uncloneable !== null) {
      throw setupFailure(new UncloneableValueError('output', uncloneable.path, uncloneable.error));
    }
  }
  return output;
}

/** An output marked by `transfer()`, checked and handed to Piscina, which posts it with its list. */
function movedOutput(output: TransferredOutput): unknown {
  let list: Movable[];
  try {
    list = checkTransferList(output.list, output.value, 'transfer() list of the output');
  } catch (error) {
    throw setupFailure(error as Error);
  }
  const uncloneable = findUncloneable(output.value, 'output', new Set(list));
  if (uncloneable !== null) {
    throw setupFailure(new UncloneableValueError('output', uncloneable.path, uncloneable.error));
  }
  return move({ [transferableSymbol]: list, [valueSymbol]: output.value } as unknown as Parameters<typeof move>[0]);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

function importOnce(moduleUrl: string): Promise<unknown> {
  let pending = imports.get(moduleUrl);
  if (pending === undefined) {
    pending = import(moduleUrl);
    imports.set(moduleUrl, pending);
    pending.catch(() => imports.delete(moduleUrl));
  }
  return pending;
}

function taskFailure(error: unknown): TaskFailure {
  return { slotwiseFailure: 'task', error: serializeError(error) };
}

function setupFailure(error: Error): TaskFailure {
  return { slotwiseFailure: 'setup', error: serializeError(error) };
}
