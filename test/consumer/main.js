// Runs the tasks on an executor and the workflow on the embedded database; prints one JSON line.
import { Executor, Runner } from 'slotwise';
import { doubling, invert, waitThenDouble } from './tasks.js';

const executor = new Executor({ threads: 1, maxConcurrentTasks: 1, maxQueue: 10 });
const waited = await executor.run(waitThenDouble, { n: 21 });
const bytes = new Uint8Array([0, 15, 255]);
const inverted = await executor.run(invert, bytes, { transfer: [bytes] });
const deferrals = executor.metrics().totalDeferrals;
await executor.close();

const runner = new Runner({ threads: 1 });
const result = await runner.wait(await runner.start(doubling, { n: 5 }));
await runner.close();

console.log(
  JSON.stringify({
    waited,
    deferrals,
    detached: bytes.byteLength,
    inverted: [...inverted],
    workflow: { status: result.status, output: result.output },
  }),
);
