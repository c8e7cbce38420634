// Runs the pipeline on the embedded database (PGlite in memory: nothing to configure) and prints
// the task states as the runner writes them. wait_for_data waits for a file nobody has written
// yet; a second after it has given its slot back, this script writes the file itself, standing in
// for whatever would produce it in real life (an upload, an export, another service).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Runner } from '../../src/index.js';
import { pipeline } from './pipeline.js';

const dir = mkdtempSync(join(tmpdir(), 'slotwise-example-'));
const file = join(dir, 'sales.csv');
const startedAt = Date.now();
const log = (text: string): void => console.log(`${((Date.now() - startedAt) / 1000).toFixed(2)}s  ${text}`);

const runner = new Runner({ threads: 2 }); // no `database`: the embedded one, in memory

// Fires once a Running task's sub-state is in the database: Deferred (parked in deferUntil, no
// slot) or Active (it took a slot again).
runner.on('taskSubStatus', (event) => {
  const note = event.subStatus === 'Deferred' ? 'gave its slot back' : 'took a slot again';
  log(`${event.taskId.padEnd(14)} Running/${event.subStatus} (${note})`);
  if (event.taskId === 'wait_for_data' && event.subStatus === 'Deferred') {
    setTimeout(() => {
      writeFileSync(file, 'region,amount\nnorth,120\nsouth,80\neast,42\n');
      log(`wrote ${file}`);
    }, 1_000);
  }
});

try {
  await runner.ready(); // migrations applied (the first start of PGlite takes a few seconds)
  log('runner ready');
  const id = await runner.start(pipeline, { file });
  log(`started workflow ${id}; wait_for_data waits for ${file}`);
  const result = await runner.wait(id);
  log(`workflow ${result.status}`);
  console.log(`\noutput (the input merged with every task's output):\n  ${JSON.stringify(result.output)}`);
  console.log('\ntasks:');
  for (const task of result.tasks) {
    const deferred = `deferred ${task.deferrals} time(s), ${Math.round(task.deferredMs)} ms without a slot`;
    console.log(`  ${task.taskId.padEnd(14)} ${task.status.padEnd(10)} attempts ${task.attempts}, ${deferred}`);
  }
} finally {
  await runner.close();
  rmSync(dir, { recursive: true, force: true });
}
