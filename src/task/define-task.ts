import { fileURLToPath, pathToFileURL } from 'node:url';
import { InvalidArgumentError } from '../errors.js';
import type { TaskHandle } from './handle.js';
import { registerTask } from './registry.js';
import { type KnownOptions, rejectUnknownOptions } from '../known-options.js';
import { type TaskNeeds, type TaskNeedsOptions, checkTaskNeeds } from '../slots/needs.js';
import { type FilledTaskWorkflowOptions, type TaskWorkflowOptions, workflowOptionsOf } from '../workflow/options.js';

/** A task's body: receives the input and, when it wants one, a {@link TaskHandle}. */
export type TaskFunction<Input = unknown, Output = unknown> = (
  input: Input,
  handle: TaskHandle,
) => Output | Promise<Output>;

/**
 * Options of a task. Besides `handle` and `module`, what a run needs (`slots`, `limits`,
 * `concurrencyKey`, `perKeyLimit`) applies wherever it runs, and the workflow options
 * (`dependencies`, `trigger`, `retry`, `timeoutMs`) when it runs in a workflow (see `defineWorkflow`).
 */
export interface TaskOptions extends TaskWorkflowOptions, TaskNeedsOptions {
  /**
   * Whether the task gets a {@link TaskHandle}. Default: decided from the function's declared
   * parameters, `fn.length >= 2`. A task without a handle costs nothing for the handshake.
   * Force it when the function's `length` says otherwise (rest or defaulted parameters).
   */
  readonly handle?: boolean;
  /**
   * The URL (or path) of the module the task is defined in, which worker threads import.
   * Default: found from the caller of `defineTask`. Set it when a bundler or loader hides
   * the real file, usually as `import.meta.url`.
   */
  readonly module?: string | URL;
}

const TASK_OPTIONS = {
  handle: true,
  module: true,
  dependencies: true,
  trigger: true,
  retry: true,
  timeoutMs: true,
  slots: true,
  limits: true,
  concurrencyKey: true,
  perKeyLimit: true,
} as const satisfies KnownOptions<TaskOptions>;

const TASK_ID = /^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,127}$/;

/** A task defined with {@link defineTask}: an id, a body and the module worker threads import. */
export interface TaskDefinition<Input = unknown, Output = unknown> {
  readonly id: string;
  /** `file:` URL of the module that defines the task. */
  readonly moduleUrl: string;
  readonly wantsHandle: boolean;
  readonly fn: TaskFunction<Input, Output>;
  /** Its place and policy in a workflow, defaults filled. */
  readonly workflow: FilledTaskWorkflowOptions;
  /** What a run needs to be active: slots, limits, its key. */
  readonly needs: TaskNeeds;
}

/**
 * Defines a task in an ES module that worker threads can import. Call it at the top level of
 * the module (not inside a function run later), and export the result or not, as you like:
 * the worker finds tasks by id in the module they were defined in.
 *
 * @example
 * export const resize = defineTask('resize', async (img: Image, handle) => {
 *   await handle.deferUntil(() => cacheIsWarm(), { pollIntervalMs: 100 });
 *   return shrink(img);
 * });
 */
export function defineTask<Input = unknown, Output = unknown>(
  id: string,
  fn: TaskFunction<Input, Output> | ((input: Input) => Output | Promise<Output>),
  options: TaskOptions = {},
): TaskDefinition<Input, Output> {
  if (typeof id !== 'string' || !TASK_ID.test(id)) {
    throw new InvalidArgumentError('id', 'a task id of 1-128 letters, digits and `_.:-`', id);
  }
  if (typeof fn !== 'function') throw new InvalidArgumentError('fn', 'a function', fn);
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options', 'an object', options);
  rejectUnknownOptions(options, TASK_OPTIONS, '`defineTask()`');
  if (options.handle !== undefined && typeof options.handle !== 'boolean') {
    throw new InvalidArgumentError('options.handle', 'a boolean', options.handle);
  }
  const workflow = workflowOptionsOf(options);
  const needs = checkTaskNeeds(options);
  const moduleUrl = options.module === undefined ? callerModuleUrl() : toModuleUrl(options.module);
  const definition: TaskDefinition<Input, Output> = Object.freeze({
    id,
    moduleUrl,
    wantsHandle: options.handle ?? fn.length >= 2,
    fn,
    workflow,
    needs,
  });
  registerTask(definition as TaskDefinition);
  return definition;
}

/** Normalises a module reference (URL, `file:` URL string or absolute path) to a `file:` URL. */
export function toModuleUrl(module: string | URL): string {
  if (module instanceof URL) return module.href;
  if (typeof module !== 'string' || module.length === 0) {
    throw new InvalidArgumentError('module', 'a URL or an absolute path', module);
  }
  if (module.startsWith('file:')) return new URL(module).href;
  if (module.startsWith('/') || /^[A-Za-z]:[\\/]/.test(module)) return pathToFileURL(module).href;
  throw new InvalidArgumentError('module', 'a file: URL or an absolute path', module);
}

/** The `file:` URL of the module that called `defineTask`, read from V8's structured stack. */
function callerModuleUrl(): string {
  // Saved only to be put back unchanged; it is never called from here.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const previous = Error.prepareStackTrace;
  let sites: NodeJS.CallSite[] | undefined;
  try {
    Error.prepareStackTrace = (_error, callSites) => callSites;
    const holder: { stack?: NodeJS.CallSite[] } = {};
    Error.captureStackTrace(holder, defineTask);
    sites = holder.stack; // formatted lazily: read it while our prepareStackTrace is installed
  } finally {
    Error.prepareStackTrace = previous;
  }
  const fileName = sites?.[0]?.getFileName();
  if (fileName === undefined || fileName === null) {
    throw new InvalidArgumentError('options.module', 'set: the calling module could not be found', undefined);
  }
  const url = toModuleUrl(fileName);
  fileURLToPath(url); // only file: modules can be imported by worker threads
  return url;
}
