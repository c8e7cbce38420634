/** Building the request a run sends to its worker thread. */
import { queueOptionsSymbol } from 'piscina';
import { InvalidArgumentError, UncloneableValueError } from '../errors.js';
import { createCell } from '../slots/handshake.js';
import { type TaskDefinition, toModuleUrl } from '../task/define-task.js';
import { findUncloneable } from '../task/cloneable.js';
import { type Movable, checkTransferList, isTransferred } from '../task/transfer.js';
import type { TaskRequest } from '../task/wire.js';
import { newExecutionId } from './execution-id.js';

/** A task given by the module that defines it and its id, for tasks the main thread has not imported. */
export interface TaskReference {
  /** `file:` URL or absolute path of the module that defines the task. */
  readonly module: string | URL;
  readonly id: string;
}

/** A request as the main thread builds it: with the slot for the run that Piscina's balancer reads. */
type OutgoingRequest = TaskRequest & { [queueOptionsSymbol]: unknown };

/** `run` is the run's number on the main thread, written in its cell (see `slots/ask-ring.ts`). */
export function toRequest(
  task: TaskDefinition | TaskReference,
  input: unknown,
  executionId: string | undefined,
  run: number,
): TaskRequest {
  if (typeof task !== 'object' || task === null) {
    throw new InvalidArgumentError('task', 'a task from defineTask() or { module, id }', task);
  }
  if (isTransferred(input)) {
    throw new InvalidArgumentError(
      'input',
      'a value (transfer() marks a task output; list the buffers an input moves in the `transfer` run option)',
      input,
    );
  }
  if ('moduleUrl' in task && typeof task.fn === 'function') {
    const cell = task.wantsHandle ? createCell(run) : null;
    const request: OutgoingRequest = {
      moduleUrl: task.moduleUrl,
      taskId: task.id,
      executionId: executionId ?? (cell === null ? '' : newExecutionId()),
      input,
      cell,
      [queueOptionsSymbol]: null, // the run, set as it is sent (see Executor.#start)
    };
    return request;
  }
  const { module, id } = task as TaskReference;
  if (typeof id !== 'string' || id.length === 0) throw new InvalidArgumentError('task.id', 'a task id', id);
  // The main thread cannot see whether this task wants a handle: give it a cell in case.
  const request: OutgoingRequest = {
    moduleUrl: toModuleUrl(module),
    taskId: id,
    executionId: executionId ?? newExecutionId(),
    input,
    cell: createCell(run),
    [queueOptionsSymbol]: null,
  };
  return request;
}

/**
 * Moves the listed buffers of `input` out of the caller's hands at once, as `postMessage`
 * would: the returned input holds them (same memory, not copied) and the caller's are detached.
 * Done at `run`, not when the run gets its slot, so what the caller gave away is gone now, not
 * at some later moment. `list` is the platform's transfer list for the returned input.
 */
export function moveInput(input: unknown, transfer: unknown): { readonly input: unknown; readonly list: Movable[] } {
  const list = checkTransferList(transfer, input, 'transfer');
  try {
    return structuredClone({ input, list }, { transfer: list });
  } catch (error) {
    const part = findUncloneable(input, 'input', new Set(list));
    throw new UncloneableValueError('input', part?.path ?? 'input', error);
  }
}

/** True if `promise` settles within `ms`; the timer does not outlive the answer. */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<false>((resolve) => (timer = setTimeout(resolve, ms, false)));
  try {
    return await Promise.race([promise.then(() => true), expired]);
  } finally {
    clearTimeout(timer);
  }
}
