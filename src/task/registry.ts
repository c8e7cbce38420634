import { DuplicateTaskError } from '../errors.js';
import type { TaskDefinition } from './define-task.js';

/**
 * Tasks by module URL, then by id. Filled by `defineTask` as modules are evaluated, on the
 * main thread and in each worker thread alike.
 *
 * The map lives on `globalThis` under a registered symbol so that two copies of slotwise in
 * one thread (say, a task module resolving a different install) still share it.
 */
const REGISTRY_KEY = Symbol.for('slotwise.taskRegistry');

type Registry = Map<string, Map<string, TaskDefinition>>;

function registry(): Registry {
  const holder = globalThis as { [REGISTRY_KEY]?: Registry };
  holder[REGISTRY_KEY] ??= new Map();
  return holder[REGISTRY_KEY];
}

export function registerTask(task: TaskDefinition): void {
  let tasks = registry().get(task.moduleUrl);
  if (tasks === undefined) {
    tasks = new Map();
    registry().set(task.moduleUrl, tasks);
  }
  if (tasks.has(task.id)) throw new DuplicateTaskError(task.id, task.moduleUrl);
  tasks.set(task.id, task);
}

/** The task `taskId` defined in `moduleUrl`, if that module has been evaluated in this thread. */
export function lookupTask(moduleUrl: string, taskId: string): TaskDefinition | undefined {
  return registry().get(moduleUrl)?.get(taskId);
}

/** Ids of the tasks `moduleUrl` defines (for error messages). */
export function taskIdsOf(moduleUrl: string): string[] {
  return [...(registry().get(moduleUrl)?.keys() ?? [])];
}
