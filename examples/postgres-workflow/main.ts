// Runs the pipeline of examples/deferred-tasks with its state in PostgreSQL, where another process
// can watch it (watch.ts) and another runner on the same schema could take it over if this one died.
//   node dist/examples/postgres-workflow/main.js         waits for a temporary file, which it writes
//                                                       itself 5 s after wait_for_data has deferred
//   node dist/examples/postgres-workflow/main.js <file>  waits for <file>: you create it
// DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test), SLOTWISE_SCHEMA (default slotwise_example).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Runner } from '../../src/index.js';
import { pipeline } from '../deferred-tasks/pipeline.js';

const database = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = process.env.SLOTWISE_SCHEMA ?? 'slotwise_example';
const given = process.argv[2];
const dir = given === undefined ? mkdtempSync(join(tmpdir(), 'slotwise-example-')) : null;
const file = resolve(given ?? join(dir ?? '', 'sales.csv'));

// Tables are created in `schema` on start (migrations). `workflows` lists what this runner may run,
// and recover after a crash, besides what it starts itself.
const runner = new Runner({ database, schema, workflows: [pipeline], threads: 2 });

runner.on('taskSubStatus', (event) => {
  console.log(`${event.taskId.padEnd(14)} Running/${event.subStatus}`);
  if (dir !== null && event.taskId === 'wait_for_data' && event.subStatus === 'Deferred') {
    setTimeout(() => {
      writeFileSync(file, 'region,amount\nnorth,120\nsouth,80\neast,42\n');
      console.log(`wrote ${file}`);
    }, 5_000);
  }
});

try {
  const id = await runner.start(pipeline, { file });
  console.log(`started workflow ${id} in schema ${schema}`);
  if (dir === null)
    console.log(`wait_for_data waits for ${file}: create it, e.g. printf 'region,amount\\nnorth,7\\n' > ${file}`);
  else console.log(`wait_for_data waits for ${file}; this script writes it 5 s after the task has deferred`);
  const result = await runner.wait(id);
  console.log(`workflow ${result.status}: ${JSON.stringify(result.output ?? result.error)}`);
} finally {
  await runner.close();
  if (dir !== null) rmSync(dir, { recursive: true, force: true });
}
