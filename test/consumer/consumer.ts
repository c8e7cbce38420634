// A TypeScript user of the installed package: checked with `tsc --noEmit`, strict. The
// `@ts-expect-error` lines fail the check if the package's types were missing (any).
import { Executor, QueueFullError, type RunOptions, type TaskHandle, defineTask, transfer } from 'slotwise';

export const double = defineTask('double', async (input: { n: number }, handle: TaskHandle) => {
  await handle.deferUntil(() => true, { pollIntervalMs: 5 });
  return input.n * 2;
});

export const echoBytes = defineTask('echoBytes', (bytes: Uint8Array) => transfer(bytes, [bytes.buffer]));

export async function main(): Promise<number> {
  const executor = new Executor({ threads: 1, maxQueue: 100 });
  const options: RunOptions = { timeoutMs: 1_000, transfer: [] };
  const doubled: number = await executor.run(double, { n: 2 }, options);
  const bytes: Uint8Array = await executor.run(echoBytes, new Uint8Array(4), { transfer: [] });
  // @ts-expect-error: the input type is the task's
  await executor.run(double, { n: 'two' });
  // @ts-expect-error: threads is a number
  new Executor({ threads: 'two' });
  const full: boolean = new QueueFullError(1, 1).limit === 1;
  await executor.close();
  return doubled + bytes.length + (full ? 1 : 0);
}
