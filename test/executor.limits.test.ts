import { expect } from 'chai';
import { ErrorCode, type Executor, InvalidArgumentError, UnknownLimitError, defineTask } from '../src/index.js';
import {
  type LimitInput,
  api,
  apiKeeps,
  badKey,
  heavy,
  perKey,
  plain,
  throwingKey,
  turns,
  unknownLimit,
} from './fixtures/limit-tasks.js';
import { caught, createExecutor, createSignals, nextEvent, raise, rejection } from './helpers.js';

const LIMITS = { api: 1, apiKeeps: { max: 1, includeDeferred: true } } as const;

/** The order runs started in, by their ids (the tags the tests give them). */
function startOrder(executor: Executor): string[] {
  const order: string[] = [];
  executor.on('taskStarted', (e) => order.push(e.executionId));
  return order;
}

/** A run that holds its slot, and its thread, until the test lets it go. */
function blocker(executor: Executor, tag = 'blocker'): { run: Promise<unknown>; release: () => void } {
  const signals = createSignals(1);
  const run = executor.run(plain, { tag, spin: { signals, index: 0 } }, { executionId: tag });
  return { run, release: () => raise(signals, 0) };
}

function start(executor: Executor, task: typeof plain, input: LimitInput, priority = 0): Promise<unknown> {
  return executor.run(task, input, { executionId: input.tag, priority });
}

describe('executor limits: weights, named limits, keys, priorities', () => {
  it('admits keys in turn: 5 runs of a small key finish before half of a big key’s 500 queued ahead of them', async function () {
    this.timeout(60_000);
    const executor = createExecutor({ threads: 1, maxConcurrentTasks: 1 });
    const finished: string[] = [];
    executor.on('taskCompleted', (e) => finished.push(e.executionId));
    const block = blocker(executor);
    const runs: Promise<unknown>[] = [];
    for (let i = 0; i < 500; i += 1) runs.push(start(executor, turns, { tag: `big-${String(i)}`, key: 'big' }));
    for (let i = 0; i < 5; i += 1) runs.push(start(executor, turns, { tag: `small-${String(i)}`, key: 'small' }));
    expect(executor.metrics().queuedTasks).to.equal(505);
    block.release();
    await Promise.all([block.run, ...runs]);
    const lastSmall = Math.max(...[0, 1, 2, 3, 4].map((i) => finished.indexOf(`small-${String(i)}`)));
    const bigBefore = finished.slice(0, lastSmall).filter((id) => id.startsWith('big-')).length;
    expect(bigBefore, 'big runs finished before the last small one').to.be.below(250);
    // Within a key, first in, first out.
    const big = finished.filter((id) => id.startsWith('big-'));
    expect(big).to.deep.equal(big.map((_, i) => `big-${String(i)}`));
  });

  it('runs at most perKeyLimit runs of a key at once, while other keys go past', async () => {
    const executor = createExecutor({ threads: 2, maxConcurrentTasks: 2 });
    const signals = createSignals(1);
    const first = executor.run(perKey, { tag: 'k-1', key: 'k', spin: { signals, index: 0 } }, { executionId: 'k-1' });
    const second = start(executor, perKey, { tag: 'k-2', key: 'k' });
    expect(executor.metrics().keys).to.deep.equal([
      {
        taskId: 'limits.perKey',
        key: 'k',
        max: 1,
        includeDeferred: false,
        held: 1,
        deferredHolders: 0,
        reclaiming: 0,
        queued: 1,
      },
    ]);
    expect(await start(executor, perKey, { tag: 'j-1', key: 'j' })).to.equal('j-1'); // the free slot, another key
    expect(executor.metrics()).to.include({ queuedTasks: 1, availableSlots: 1 });
    raise(signals, 0);
    expect(await Promise.all([first, second])).to.deep.equal(['k-1', 'k-2']);
    expect(executor.metrics().keys).to.deep.equal([]); // a key's counts go with its last run
  });

  it('a run in a wait gives its unit of a limit back, and takes it again ahead of new runs', async () => {
    const executor = createExecutor({ threads: 2, maxConcurrentTasks: 2, limits: LIMITS });
    const order = startOrder(executor);
    const resumed: string[] = [];
    executor.on('taskResumed', (e) => resumed.push(e.executionId));
    const deferred = nextEvent(executor, 'taskDeferred');
    const waiting = start(executor, api, { tag: 'waiting', hold: true });
    await deferred;
    expect(executor.metrics().limits.api).to.include({ held: 0, queued: 0 });
    expect(await start(executor, api, { tag: 'meanwhile' })).to.equal('meanwhile'); // the unit it gave back
    const signals = createSignals(1);
    const holding = executor.run(api, { tag: 'holding', spin: { signals, index: 0 } }, { executionId: 'holding' });
    const reclaiming = nextEvent(executor, 'taskReclaiming');
    expect(executor.signal('waiting', 'go')).to.equal(true);
    await reclaiming;
    const later = start(executor, api, { tag: 'later' });
    // A slot is free, but the unit is held, and the run back from its wait wants it first.
    expect(executor.metrics().limits.api).to.include({ held: 1, reclaiming: 1, queued: 1 });
    raise(signals, 0);
    expect(await Promise.all([waiting, holding, later])).to.deep.equal(['waiting', 'holding', 'later']);
    expect(order.indexOf('later')).to.be.above(order.indexOf('holding'));
    expect(resumed).to.deep.equal(['waiting']);
    expect(order.at(-1)).to.equal('later'); // after `waiting` took its unit back
  });

  it('with includeDeferred a run in a wait keeps its unit (not its slot), so others of the limit wait', async () => {
    const executor = createExecutor({ threads: 2, maxConcurrentTasks: 2, limits: LIMITS });
    const deferred = nextEvent(executor, 'taskDeferred');
    const waiting = start(executor, apiKeeps, { tag: 'waiting', hold: true });
    await deferred;
    const next = start(executor, apiKeeps, { tag: 'next' });
    expect(executor.metrics()).to.include({ availableSlots: 2, queuedTasks: 1 });
    expect(executor.metrics().limits.apiKeeps).to.deep.equal({
      max: 1,
      includeDeferred: true,
      held: 1,
      deferredHolders: 1,
      reclaiming: 0,
      queued: 1,
    });
    expect(await start(executor, api, { tag: 'other limit' })).to.equal('other limit');
    executor.signal('waiting', 'go');
    expect(await Promise.all([waiting, next])).to.deep.equal(['waiting', 'next']);
  });

  it('starts higher priorities first, and each priority first in, first out', async () => {
    const executor = createExecutor({ threads: 1, maxConcurrentTasks: 1 });
    const order = startOrder(executor);
    const block = blocker(executor);
    const runs = [
      start(executor, plain, { tag: 'a' }, 0),
      start(executor, plain, { tag: 'b' }, -1),
      start(executor, plain, { tag: 'c' }, 1),
      start(executor, plain, { tag: 'd' }, 0),
      start(executor, plain, { tag: 'e' }, 1),
    ];
    block.release();
    await Promise.all([block.run, ...runs]);
    expect(order).to.deep.equal(['blocker', 'c', 'e', 'a', 'd', 'b']);
  });

  it('a heavy run at the head is not passed by lighter ones, and gets its slots when the runs before it give them back', async () => {
    const executor = createExecutor({ threads: 2, maxConcurrentTasks: 2 });
    const order = startOrder(executor);
    const block = blocker(executor);
    const big = start(executor, heavy, { tag: 'heavy' });
    const light = start(executor, plain, { tag: 'light' });
    expect(executor.metrics()).to.include({ availableSlots: 1, queuedTasks: 2, slotsInUse: 1 });
    block.release();
    await Promise.all([block.run, big, light]);
    expect(order).to.deep.equal(['blocker', 'heavy', 'light']);
  });

  it('a heavy run back from a wait keeps the slots that free up until it has all it needs', async () => {
    const executor = createExecutor({ threads: 2, maxConcurrentTasks: 2 });
    const order = startOrder(executor);
    const deferred = nextEvent(executor, 'taskDeferred');
    const big = start(executor, heavy, { tag: 'heavy', hold: true });
    await deferred;
    const block = blocker(executor);
    const reclaiming = nextEvent(executor, 'taskReclaiming');
    executor.signal('heavy', 'go');
    await reclaiming;
    const light = start(executor, plain, { tag: 'light' });
    expect(executor.metrics()).to.include({ availableSlots: 1, queuedTasks: 1, reclaimingTasks: 1 });
    const resumed = nextEvent(executor, 'taskResumed');
    block.release();
    await resumed;
    await Promise.all([block.run, big, light]);
    expect(order).to.deep.equal(['heavy', 'blocker', 'light']);
  });

  it('refuses bad needs with typed errors that name them', async () => {
    const fn = (): number => 1;
    const bad: [Record<string, unknown>, string][] = [
      [{ slots: 0 }, 'options.slots'],
      [{ slots: 1.5 }, 'options.slots'],
      [{ limits: 'api' }, 'options.limits'],
      [{ limits: [''] }, 'options.limits[0]'],
      [{ limits: ['api', 'api'] }, 'options.limits'],
      [{ concurrencyKey: 'tenant' }, 'options.concurrencyKey'],
      [{ perKeyLimit: 1 }, 'options.perKeyLimit'],
      [{ concurrencyKey: fn, perKeyLimit: 0 }, 'options.perKeyLimit'],
      [{ concurrencyKey: fn, perKeyLimit: { max: 0 } }, 'options.perKeyLimit.max'],
      [{ concurrencyKey: fn, perKeyLimit: { max: 1, includeDeferred: 'yes' } }, 'options.perKeyLimit.includeDeferred'],
      [{ concurrencyKey: fn, perKeyLimit: { max: 1, includeDefered: true } }, 'includeDefered'],
    ];
    for (const [options, argument] of bad) {
      const error = caught(
        () => defineTask('limits.bad', fn, options),
        InvalidArgumentError,
        ErrorCode.InvalidArgument,
      );
      expect(error.argument, JSON.stringify(options)).to.equal(argument);
    }
    const badLimits: [unknown, string][] = [
      [5, 'limits'],
      [{ api: 0 }, 'limits.api'],
      [{ api: { max: -1 } }, 'limits.api.max'],
      [{ 'bad name': 1 }, 'limits.bad name'],
    ];
    for (const [limits, argument] of badLimits) {
      const error = caught(() => createExecutor({ limits } as never), InvalidArgumentError, ErrorCode.InvalidArgument);
      expect(error.argument).to.equal(argument);
    }
    const executor = createExecutor({ threads: 1, maxConcurrentTasks: 1, limits: LIMITS });
    for (const priority of [1.5, 'high', Number.MAX_VALUE]) {
      const error = await rejection(
        executor.run(plain, { tag: 'x' }, { priority } as never),
        InvalidArgumentError,
        ErrorCode.InvalidArgument,
      );
      expect(error.argument).to.equal('priority');
    }
    for (const key of [5, '', 'x'.repeat(257)]) {
      const error = await rejection(
        executor.run(badKey, { key } as never),
        InvalidArgumentError,
        ErrorCode.InvalidArgument,
      );
      expect(error.argument).to.equal('concurrencyKey(input)');
    }
    const threw = await rejection(
      executor.run(throwingKey, { tag: 'x' }),
      InvalidArgumentError,
      ErrorCode.InvalidArgument,
    );
    expect(threw.message).to.contain('no tenant');
    const tooHeavy = await rejection(
      executor.run(heavy, { tag: 'x' }),
      InvalidArgumentError,
      ErrorCode.InvalidArgument,
    );
    expect(tooHeavy.message).to.contain('maxConcurrentTasks (1)');
    const unknown = await rejection(
      executor.run(unknownLimit, { tag: 'x' }),
      UnknownLimitError,
      ErrorCode.UnknownLimit,
    );
    expect(unknown).to.include({ taskId: 'limits.unknown', limit: 'nowhere' });
    expect(unknown.known).to.deep.equal(['api', 'apiKeeps']);
    expect(executor.metrics()).to.include({ queuedTasks: 0, availableSlots: 1 }); // nothing was admitted
  });
});
