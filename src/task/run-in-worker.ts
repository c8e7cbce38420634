import { threadId } from 'node:worker_threads';
import {
  NoHandleError,
  TaskAbortedError,
  TaskModuleImportError,
  UncloneableValueError,
  UnknownTaskError,
} from '../errors.js';
import { CANCELLED, CONTROL, WORKER } from '../slots/handshake.js';
import { findUncloneable } from './cloneable.js';
import type { TaskDefinition } from './define-task.js';
import { CellTaskHandle, type TaskHandle } from './handle.js';
import { lookupTask, taskIdsOf } from './registry.js';
import { type TaskRequest, type TaskResponse, serializeError } from './wire.js';

/** Imports in flight or done, per module URL; a failed import is forgotten so it can be retried. */
const imports = new Map<string, Promise<unknown>>();

/**
 * Runs one task request inside a worker thread and never throws: every outcome, including
 * slotwise's own failures, comes back as a {@link TaskResponse}. (An exception escaping a
 * Piscina handler is fine, but a result that cannot be posted back kills the whole thread and
 * every task parked on it, so the output is checked here first.)
 */
export async function runTaskRequest(request: TaskRequest): Promise<TaskResponse> {
  const { moduleUrl, taskId, executionId, cell } = request;
  let task = lookupTask(moduleUrl, taskId);
  if (task === undefined) {
    try {
      await importOnce(moduleUrl);
    } catch (error) {
      return setupFailure(new TaskModuleImportError(moduleUrl, error));
    }
    task = lookupTask(moduleUrl, taskId);
    if (task === undefined) return setupFailure(new UnknownTaskError(taskId, moduleUrl, taskIdsOf(moduleUrl)));
  }
  if (cell !== null) {
    Atomics.store(cell, WORKER, threadId);
    // Cancelled (aborted, timed out) before it reached this thread: do not start the body.
    if (Atomics.load(cell, CONTROL) === CANCELLED) {
      return setupFailure(new TaskAbortedError(taskId, 'the run was cancelled before it started'));
    }
  }
  if (task.wantsHandle && cell === null) return setupFailure(new NoHandleError(taskId));
  const handle = task.wantsHandle && cell !== null ? new CellTaskHandle(cell, executionId, taskId) : undefined;

  let output: unknown;
  try {
    output = await call(task, request.input, handle);
  } catch (error) {
    return { ok: false, failure: 'task', error: serializeError(error) };
  } finally {
    handle?.dispose();
  }
  if (typeof output === 'object' || typeof output === 'function' || typeof output === 'symbol') {
    const uncloneable = findUncloneable(output, 'output');
    if (uncloneable !== null) {
      return setupFailure(new UncloneableValueError('output', uncloneable.path, uncloneable.error));
    }
  }
  return { ok: true, output };
}

function call(task: TaskDefinition, input: unknown, handle: TaskHandle | undefined): unknown {
  return task.fn(input, handle as TaskHandle);
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

function setupFailure(error: Error): TaskResponse {
  return { ok: false, failure: 'setup', error: serializeError(error) };
}
