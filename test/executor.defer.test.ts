import { expect } from 'chai';
import { collapsedDeferral, deferOnSignal, holdUntilSignal, parkOnThread, spin, threadOf } from './fixtures/tasks.js';
import { createExecutor, createSignals, nextEvent, raise, raised, record } from './helpers.js';

describe('TaskHandle.deferUntil', () => {
  it('releases its slot while deferred and reclaims it when the condition holds', async () => {
    const executor = createExecutor({ threads: 1, maxConcurrentTasks: 1 });
    const signals = createSignals();
    const recording = record(executor);
    const deferred = nextEvent(executor, 'taskDeferred');
    const run = executor.run(deferOnSignal, { signals, release: 0, pollIntervalMs: 1 });
    await deferred;
    expect(executor.metrics()).to.include({ activeTasks: 0, deferredTasks: 1, availableSlots: 1 });
    raise(signals, 0);
    const output = await run;
    expect(output.checks).to.be.at.least(2); // the first check, then at least one poll
    expect(output.local.heldBefore).to.equal(true);
    expect(output.heldAfter).to.equal(true);
    expect(recording.events.map((e) => e.name)).to.deep.equal([
      'taskStarted',
      'taskDeferred',
      'taskReclaiming',
      'taskResumed',
      'taskCompleted',
    ]);
    expect(executor.metrics()).to.include({ totalDeferrals: 1, totalExecuted: 1 });
  });

  it('returns at once, without a handshake, when the condition already holds', async () => {
    const executor = createExecutor();
    const signals = createSignals();
    raise(signals, 0);
    const recording = record(executor);
    const output = await executor.run(deferOnSignal, { signals, release: 0 });
    expect(output.checks).to.equal(1);
    expect(recording.events.map((e) => e.name)).to.deep.equal(['taskStarted', 'taskCompleted']);
    expect(executor.metrics().totalDeferrals).to.equal(0);
  });

  it('with one slot, lets a second task run to completion while the first is deferred', async () => {
    const executor = createExecutor({ threads: 1, maxConcurrentTasks: 1 });
    const signals = createSignals();
    const first = executor.run(deferOnSignal, { signals, release: 0 });
    await nextEvent(executor, 'taskDeferred');
    expect(await executor.run(spin, 1)).to.be.a('number');
    expect(executor.metrics().deferredTasks).to.equal(1);
    raise(signals, 0);
    expect((await first).heldAfter).to.equal(true);
  });

  it('routes CPU work to a thread without parked runs when one is as free, so their polls are not held up', async () => {
    const executor = createExecutor({ threads: 2, maxConcurrentTasks: 1 });
    const signals = createSignals();
    const deferred = nextEvent(executor, 'taskDeferred');
    const parked = executor.run(parkOnThread, { signals, thread: 0, release: 1 });
    await deferred;
    const parkedThread = Atomics.load(signals, 0);
    // Both threads now count as free (the parked run holds no slot): each CPU run must go to
    // the thread that hosts no parked run.
    const threads: number[] = [];
    for (let i = 0; i < 6; i += 1) threads.push(await executor.run(threadOf, undefined));
    raise(signals, 1);
    await parked;
    expect(threads.filter((t) => t === parkedThread)).to.deep.equal([]);
  });

  it('serves a reclaiming task before queued new work', async () => {
    const executor = createExecutor({ threads: 2, maxConcurrentTasks: 1 });
    const signals = createSignals();
    const recording = record(executor);
    const deferring = executor.run(deferOnSignal, { signals, release: 0 });
    await nextEvent(executor, 'taskDeferred');
    const blocker = executor.run(holdUntilSignal, { signals, started: 2, release: 1 }); // takes the slot
    await raised(signals, 2);
    const queued = [executor.run(spin, 1), executor.run(spin, 1)];
    expect(executor.metrics().queuedTasks).to.equal(2);
    raise(signals, 0); // the first task wants its slot back, behind nobody
    await nextEvent(executor, 'taskReclaiming');
    raise(signals, 1); // the blocker ends; its slot goes to the reclaimer first
    await Promise.all([deferring, blocker, ...queued]);
    const firstId = recording.events[0]?.executionId;
    const resumedAt = recording.events.findIndex((e) => e.name === 'taskResumed' && e.executionId === firstId);
    const spinStarts = recording.events.flatMap((e, i) => (e.name === 'taskStarted' && e.taskId === 'spin' ? [i] : []));
    expect(resumedAt).to.be.greaterThan(-1);
    expect(spinStarts.every((i) => i > resumedAt)).to.equal(true);
    expect(recording.maxActive()).to.equal(1);
  });

  it('full pipeline: 2 slots, 4 deferred tasks, 12 CPU tasks run while they are parked', async () => {
    const executor = createExecutor({ threads: 2, maxConcurrentTasks: 2 });
    const signals = createSignals();
    const recording = record(executor);
    let deferred = 0;
    const allParked = new Promise<void>((resolve) =>
      executor.on('taskDeferred', () => {
        deferred += 1;
        if (deferred === 4) resolve();
      }),
    );
    const parked = [0, 1, 2, 3].map(() => executor.run(deferOnSignal, { signals, release: 0, pollIntervalMs: 5 }));
    // Wait for all four to park: a thread still starting up (slow on a loaded machine) would
    // otherwise hold a deferring run, and its slot, until after the CPU runs.
    await allParked;
    const cpu = Array.from({ length: 12 }, () => executor.run(spin, 5));
    await Promise.all(cpu);
    // Every CPU task finished while no deferred task had resumed.
    expect(recording.events.filter((e) => e.name === 'taskResumed')).to.have.length(0);
    expect(executor.metrics()).to.include({ deferredTasks: 4, activeTasks: 0 });
    raise(signals, 0);
    const outputs = await Promise.all(parked);
    expect(new Set(outputs.map((o) => o.local.token)).size).to.equal(4);
    for (const output of outputs) {
      expect(output.local.token.startsWith(output.executionId)).to.equal(true); // local state intact
      expect(output.heldAfter).to.equal(true);
    }
    expect(recording.maxActive()).to.be.at.most(2);
    expect(executor.metrics()).to.include({ availableSlots: 2, totalExecuted: 16, totalDeferrals: 4 });
  });

  it('keeps the slot of a task that released and reclaimed before the main thread noticed', async () => {
    const executor = createExecutor({ threads: 1, maxConcurrentTasks: 1 });
    const signals = createSignals();
    const recording = record(executor);
    const collapsed = executor.run(collapsedDeferral, { signals, started: 0, reclaimed: 1 });
    await raised(signals, 0);
    const queued = executor.run(spin, 1);
    // Block the main thread until the task has released and asked back (bounded, so a broken
    // task fails the test instead of hanging it).
    expect(Atomics.wait(signals, 1, 0, 10_000)).to.not.equal('timed-out');
    expect(await collapsed).to.equal(2);
    await queued;
    const names = recording.events.map((e) => `${e.name}:${e.taskId}`);
    expect(names.indexOf('taskResumed:collapsedDeferral')).to.be.lessThan(names.indexOf('taskStarted:spin'));
    expect(executor.metrics().totalDeferrals).to.equal(1);
  });
});
