/**
 * Tasks and workflows of the scale suite. Worker threads of the runner children import this
 * module (compiled, dist/benchmarks/scale-tasks.js) to find the tasks by id, so every
 * `defineTask` runs at the top level.
 */
import { existsSync } from 'node:fs';
import { type TaskHandle, defineTask, defineWorkflow } from '../src/index.js';

/** One no-op task: the unit of throughput, the same work as graphile-worker's no-op job. */
const noop = defineTask('scale.noop', () => undefined);
export const noopWorkflow = defineWorkflow('scale.noop', noop);

/** The input of a hold workflow: its task defers until this file exists. */
export interface HoldInput {
  readonly flagFile: string;
}

/**
 * Defers (its slot given back, its row Running/Deferred) until `flagFile` exists: the work a
 * runner holds when it is killed in the recovery measurement.
 */
const hold = defineTask('scale.hold', async (input: HoldInput, handle: TaskHandle) => {
  await handle.deferUntil(() => existsSync(input.flagFile), { pollIntervalMs: 100 });
});
export const holdWorkflow = defineWorkflow('scale.hold', hold);
