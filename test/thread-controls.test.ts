import { expect } from 'chai';
import { ErrorCode, Executor, InvalidArgumentError, Runner, WorkerDiedError } from '../src/index.js';
import { deferOnSignal, exhaustsHeap, threadEnvironment, threadOf } from './fixtures/tasks.js';
import { threadSetupWorkflow } from './fixtures/runner-tasks.js';
import { caught, createExecutor, createSignals, nextEvent, rejection } from './helpers.js';

describe("Executor: Piscina's thread controls", () => {
  it('passes env, argv and execArgv to the worker threads', async () => {
    const executor = createExecutor({
      threads: 1,
      env: { SLOTWISE_TEST_VALUE: 'from the executor' },
      argv: ['--flag-for-tasks'],
      execArgv: ['--no-warnings'],
    });
    expect(await executor.run(threadEnvironment, 'SLOTWISE_TEST_VALUE')).to.deep.equal({
      value: 'from the executor',
      argv: ['--flag-for-tasks'],
      execArgv: ['--no-warnings'],
    });
  });

  it('a thread that runs past resourceLimits fails its runs, parked ones too, with WorkerDiedError, slots exact', async () => {
    const executor = createExecutor({
      threads: 1,
      maxConcurrentTasks: 1,
      resourceLimits: { maxOldGenerationSizeMb: 32 },
    });
    const signals = createSignals();
    const deferred = nextEvent(executor, 'taskDeferred');
    const parked = executor.run(deferOnSignal, { signals, release: 0 });
    await deferred;
    const [hog, waiter] = await Promise.all([
      rejection(executor.run(exhaustsHeap, undefined), WorkerDiedError, ErrorCode.WorkerDied),
      rejection(parked, WorkerDiedError, ErrorCode.WorkerDied),
    ]);
    expect(String((hog.cause as Error | undefined)?.message)).to.match(/memory|heap|exited/i);
    expect(waiter).to.be.instanceOf(WorkerDiedError);
    expect(executor.metrics()).to.include({ availableSlots: 1, deferredTasks: 0, activeTasks: 0 });
    expect(await executor.run(threadOf, undefined)).to.be.a('number'); // a new thread took its place
  });

  it('refuses thread controls of the wrong type, naming them', () => {
    const bad: [Record<string, unknown>, string][] = [
      [{ resourceLimits: 'small' }, 'resourceLimits'],
      [{ resourceLimits: { maxOldGenerationSizeMb: -1 } }, 'resourceLimits.maxOldGenerationSizeMb'],
      [{ resourceLimits: { maxOldGenMb: 64 } }, 'maxOldGenMb'],
      [{ env: { PORT: 8080 } }, 'env'],
      [{ argv: '--x' }, 'argv'],
      [{ execArgv: [1] }, 'execArgv'],
      [{ niceIncrement: 40 }, 'niceIncrement'],
    ];
    for (const [options, argument] of bad) {
      const error = caught(() => new Executor(options), InvalidArgumentError, ErrorCode.InvalidArgument);
      expect(error.argument).to.equal(argument);
    }
  });
});

describe('Runner thread controls', () => {
  it("passes Piscina's thread controls to its executor's threads", async () => {
    const runner = new Runner({ threads: 1, env: { SLOTWISE_RUNNER_MARK: 'from the runner' }, argv: ['--mark'] });
    try {
      const result = await runner.execute(threadSetupWorkflow, { variable: 'SLOTWISE_RUNNER_MARK' });
      expect(result.output).to.deep.include({ variable: 'from the runner', argv: ['--mark'] });
    } finally {
      await runner.close();
    }
  });

  it('refuses bad thread controls and maxQueue (a runner never queues) by name', () => {
    for (const [options, argument] of [
      [{ execArgv: '--inspect' }, 'execArgv'],
      [{ niceIncrement: 40 }, 'niceIncrement'],
      [{ maxQueue: 10 }, 'maxQueue'],
    ] as const) {
      const error = caught(() => new Runner(options as never), InvalidArgumentError, ErrorCode.InvalidArgument);
      expect(error.argument).to.equal(argument);
    }
  });
});
