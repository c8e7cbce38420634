import { expect } from 'chai';
import { ErrorCode, Executor, InvalidArgumentError, QueueFullError } from '../src/index.js';
import { deferOnSignal, holdUntilSignal, threadOf } from './fixtures/tasks.js';
import { caught, createExecutor, createSignals, nextEvent, raise, raised, rejection } from './helpers.js';

describe('Executor maxQueue (backpressure)', () => {
  it('refuses a run at once past maxQueue, admitting and losing nothing, and takes runs again once there is room', async () => {
    const executor = createExecutor({ threads: 1, maxConcurrentTasks: 1, maxQueue: 2 });
    const signals = createSignals();
    const holder = executor.run(holdUntilSignal, { signals, started: 0, release: 1 });
    await raised(signals, 0);
    const queued = [executor.run(threadOf, undefined), executor.run(threadOf, undefined)];
    expect(executor.metrics()).to.include({ queuedTasks: 2, maxQueue: 2, activeTasks: 1 });
    const error = await rejection(executor.run(threadOf, undefined), QueueFullError, ErrorCode.QueueFull);
    expect(error).to.include({ limit: 2, queued: 2 });
    expect(executor.metrics()).to.include({ queuedTasks: 2, totalExecuted: 0 });
    raise(signals, 1);
    await holder;
    expect(await Promise.all(queued)).to.have.length(2);
    expect(await executor.run(threadOf, undefined)).to.be.a('number');
    expect(executor.metrics()).to.include({ totalExecuted: 4, queuedTasks: 0 });
  });

  it('maxQueue 0 runs only what finds a free slot; a run back from a wait never counts against it', async () => {
    const executor = createExecutor({ threads: 1, maxConcurrentTasks: 1, maxQueue: 0 });
    const signals = createSignals();
    const deferred = nextEvent(executor, 'taskDeferred');
    const waiter = executor.run(deferOnSignal, { signals, release: 2 });
    await deferred; // its slot is free again
    const holder = executor.run(holdUntilSignal, { signals, started: 0, release: 1 });
    await raised(signals, 0);
    await rejection(executor.run(threadOf, undefined), QueueFullError, ErrorCode.QueueFull);
    const reclaiming = nextEvent(executor, 'taskReclaiming');
    raise(signals, 2); // the waiter's wait is over: it waits for the holder's slot, queue or not
    await reclaiming;
    raise(signals, 1);
    await holder;
    expect((await waiter).heldAfter).to.equal(true);
    expect(executor.metrics().maxQueue).to.equal(0);
    expect(createExecutor().metrics().maxQueue).to.equal(Infinity);
  });

  it('refuses a maxQueue that is not an integer >= 0 (or Infinity), naming it', () => {
    for (const bad of [-1, 1.5, Number.NaN, '3', -Infinity]) {
      const error = caught(
        () => new Executor({ maxQueue: bad as number }),
        InvalidArgumentError,
        ErrorCode.InvalidArgument,
      );
      expect(error.argument).to.equal('maxQueue');
    }
  });
});
