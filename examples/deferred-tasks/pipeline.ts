// The tasks of the example and the workflow that chains them. Worker threads import this module
// to find the tasks by id, so it only defines things: main.ts is the process entry.
import { existsSync, readFileSync } from 'node:fs';
import { defineTask, defineWorkflow, type TaskHandle } from '../../src/index.js';

/** Waits until `file` exists, holding no slot meanwhile, then reads it. */
export const waitForData = defineTask('wait_for_data', async (input: { file: string }, handle: TaskHandle) => {
  // Checks once at once, then gives the slot back and checks every 100 ms; takes a slot again
  // before it returns. Gives up (DeferTimeoutError) after 10 minutes.
  await handle.deferUntil(() => existsSync(input.file), { pollIntervalMs: 100, timeoutMs: 10 * 60_000 });
  return { data: readFileSync(input.file, 'utf8') };
});

/** Sums the `amount` column of the CSV; `data` comes from wait_for_data's output. */
export const processData = defineTask(
  'process_data',
  (context: { data: string }) => {
    const rows = context.data.trim().split('\n').slice(1); // without the header line
    const total = rows.reduce((sum, row) => sum + Number(row.split(',')[1]), 0);
    return { rows: rows.length, total };
  },
  { dependencies: ['wait_for_data'] },
);

export const pipeline = defineWorkflow('pipeline', waitForData, processData);
