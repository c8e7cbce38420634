/**
 * Tasks and workflows of the persist suite. Worker threads import this module (compiled,
 * dist/benchmarks/persist-tasks.js) to find the tasks by id, so every `defineTask` runs at
 * the top level; workflows are only main-thread data and may be built later.
 */
import { type Workflow, defineTask, defineWorkflow } from '../src/index.js';
import { epochNow } from './stats.js';

/** The most tasks a wide workflow can have: one task definition each (ids are unique in a workflow). */
export const MAX_WIDE = 2_000;

/**
 * `MAX_WIDE` no-op tasks without dependencies. `module` is given so that defineTask does not
 * read the call stack 2,000 times.
 */
const wideTasks = Array.from({ length: MAX_WIDE }, (_, i) =>
  defineTask(`persist.noop.${String(i).padStart(4, '0')}`, () => undefined, { module: import.meta.url }),
);

/** A workflow of the first `width` no-op tasks, all roots: every one is Ready at once. */
export function wideWorkflow(width: number): Workflow {
  if (width < 1 || width > MAX_WIDE) throw new RangeError(`width must be 1..${String(MAX_WIDE)}`);
  return defineWorkflow(`persist.wide.${String(width)}`, ...wideTasks.slice(0, width));
}

/** A single no-op task: the workflow `single` starts many times at once. */
const single = defineTask('persist.single', () => undefined);
export const singleWorkflow = defineWorkflow('persist.single', single);

/**
 * Returns when its body began, `epochNow()` in ms (the same clock base on every thread). A
 * plain-object output is merged into the workflow's output, so it reads `result.output.startedAt`.
 */
const stampStart = defineTask('persist.stampStart', () => ({ startedAt: epochNow() }));
export const stampWorkflow = defineWorkflow('persist.stamp', stampStart);
