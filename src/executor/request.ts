/** Building the request a run sends to its worker thread. */
import { queueOptionsSymbol } from 'piscina';
import { InvalidArgumentError } from '../errors.js';
import { createCell } from '../slots/handshake.js';
import { type TaskDefinition, toModuleUrl } from '../task/define-task.js';
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
