// Watches a workflow execution from another process: reads the runner's tables with plain SQL
// every 100 ms, prints each task's state when it changes, and exits when the workflow ends.
//   node dist/examples/postgres-workflow/watch.js [workflow execution id]
// Without an id it watches the newest execution that has not ended, or waits for one to start.
// DATABASE_URL and SLOTWISE_SCHEMA as for main.js.
import { setTimeout as sleep } from 'node:timers/promises';
import knexModule from 'knex';

const database = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = process.env.SLOTWISE_SCHEMA ?? 'slotwise_example';
const knex = knexModule.knex({ client: 'pg', connection: database, pool: { min: 0, max: 1 } });
const startedAt = Date.now();
const log = (text: string): void => console.log(`+${((Date.now() - startedAt) / 1000).toFixed(1)}s  ${text}`);

interface TaskRow {
  task_id: string;
  status: string; // NotStarted, Ready, Running, Completed, Failed, Skipped
  sub_status: string | null; // while Running: Active (holds a slot) or Deferred (no slot)
}

/** The newest execution that has not ended, if any (none either before the runner made its tables). */
async function unfinished(): Promise<string | undefined> {
  try {
    const row = await knex
      .withSchema(schema)
      .from('workflow_executions')
      .whereIn('status', ['Pending', 'Running'])
      .orderBy('created_at', 'desc')
      .first<{ id: string } | undefined>('id');
    return row?.id;
  } catch (error) {
    if ((error as { code?: string }).code === '42P01') return undefined; // undefined_table
    throw error;
  }
}

try {
  let id = process.argv[2];
  if (id === undefined) log(`waiting for a workflow execution in schema ${schema}`);
  while (id === undefined) {
    id = await unfinished();
    if (id === undefined) await sleep(100);
  }
  log(`watching workflow ${id}`);
  const seen = new Map<string, string>(); // task id → the state printed last
  for (;;) {
    // The workflow first, then its tasks: a workflow's end is written with its tasks' last states.
    const workflow = await knex
      .withSchema(schema)
      .from('workflow_executions')
      .where({ id })
      .first<{ status: string } | undefined>('status');
    if (workflow === undefined) throw new Error(`no workflow execution ${id} in schema ${schema}`);
    const tasks = await knex
      .withSchema(schema)
      .from('task_executions')
      .where({ workflow_execution_id: id })
      .orderBy('id')
      .select<TaskRow[]>('task_id', 'status', 'sub_status');
    for (const task of tasks) {
      const state = task.sub_status === null ? task.status : `${task.status}/${task.sub_status}`;
      if (seen.get(task.task_id) !== state) log(`${task.task_id.padEnd(14)} ${state}`);
      seen.set(task.task_id, state);
    }
    if (workflow.status === 'Completed' || workflow.status === 'Failed') {
      log(`workflow ${workflow.status}`);
      break;
    }
    await sleep(100);
  }
} finally {
  await knex.destroy();
}
