/**
 * The runner process of the resume suite's cross-process figure: on `start` (stdin) it starts
 * one execution of a workflow whose task waits for the signal `go`, prints `waiting <id>` once
 * the task is Deferred in the database, and `done <id> <resumedAt>` when it ends (`resumedAt`:
 * `epochNow()` on the task's line after the wait).
 */
import { createInterface } from 'node:readline';
import { Runner, defineWorkflow } from '../src/index.js';
import { awaitGo } from './resume-tasks.js';

const [database, schema] = process.argv.slice(2);
if (database === undefined || schema === undefined) throw new Error('usage: signal-runner-child <database> <schema>');
const workflow = defineWorkflow('bench-await-go', awaitGo);
const runner = new Runner({ database, schema, threads: 2, workflows: [workflow] });
runner.on('taskSubStatus', (e) => {
  if (e.subStatus === 'Deferred') process.stdout.write(`waiting ${e.workflowExecutionId}\n`);
});
await runner.ready();
process.stdout.write('ready\n');
const input = createInterface({ input: process.stdin });
input.on('line', (line) => {
  if (line !== 'start') return;
  void runner.execute(workflow, {}).then((result) => {
    const { resumedAt } = result.output as { resumedAt: number };
    process.stdout.write(`done ${result.id} ${String(resumedAt)}\n`);
  });
});
process.once('SIGTERM', () => {
  input.close();
  void runner.close().then(() => process.exit(0));
});
