import { expect } from 'chai';
import {
  ErrorCode,
  InvalidArgumentError,
  TaskAbortedError,
  UncloneableValueError,
  WorkerDiedError,
} from '../src/index.js';
import { exitThread, threadOf } from './fixtures/tasks.js';
import {
  type WorkKind,
  abandonsSignalWait,
  collectSignals,
  holdOnThread,
  waitForSignals,
  waitForWork,
} from './fixtures/wait-tasks.js';
import { caught, createExecutor, createSignals, nextEvent, raise, raised, record, rejection } from './helpers.js';

describe('TaskHandle.waitFor', () => {
  it('gives the slot back while the promise is pending and resolves with its value once it has one again', async () => {
    const executor = createExecutor({ threads: 1, maxConcurrentTasks: 1 });
    const signals = createSignals();
    const deferred = nextEvent(executor, 'taskDeferred');
    const run = executor.run(waitForWork, { signals, settle: 0, kind: 'resolves' });
    expect((await deferred).wait).to.equal('promise');
    expect(executor.metrics()).to.include({ activeTasks: 0, deferredTasks: 1, availableSlots: 1 });
    expect(await executor.run(threadOf, undefined)).to.be.a('number'); // the slot is free for other work
    const resumed = nextEvent(executor, 'taskResumed');
    raise(signals, 0);
    expect(await run).to.deep.equal({ value: 'worked', held: true });
    expect((await resumed).wait).to.equal('promise');
  });

  it('rethrows the work’s error unchanged, with the slot taken again first', async () => {
    const executor = createExecutor();
    const signals = createSignals();
    const run = executor.run(waitForWork, { signals, settle: 0, kind: 'rejects' });
    await nextEvent(executor, 'taskDeferred');
    raise(signals, 0);
    expect(await run).to.deep.equal({
      error: { name: 'Error', code: 'E_WORK', message: 'the work failed', isWorkError: true },
      held: true,
    });
  });

  it('costs no handshake for a promise that has settled, and takes functions and their plain values', async () => {
    const executor = createExecutor();
    const signals = createSignals();
    const recording = record(executor);
    expect(await executor.run(waitForWork, { signals, settle: 0, kind: 'settled' })).to.deep.equal({
      value: 'already',
      held: true,
    });
    expect(await executor.run(waitForWork, { signals, settle: 0, kind: 'value' })).to.deep.equal({
      value: 'plain',
      held: true,
    });
    const thrown = await executor.run(waitForWork, { signals, settle: 0, kind: 'throwingFunction' });
    expect(thrown.error).to.include({ code: 'E_WORK', isWorkError: true });
    expect(recording.events.map((e) => e.name)).to.not.include('taskDeferred');
    const deferred = nextEvent(executor, 'taskDeferred');
    const run = executor.run(waitForWork, { signals, settle: 1, kind: 'function' });
    await deferred;
    raise(signals, 1);
    expect(await run).to.deep.equal({ value: 'worked', held: true });
  });

  it('refuses what is neither a promise nor a function, and bad options, with InvalidArgumentError', async () => {
    const executor = createExecutor();
    const signals = createSignals();
    const output = await executor.run(waitForWork, { signals, settle: 0, kind: 'notWork' });
    expect(output.error).to.include({ code: ErrorCode.InvalidArgument, name: 'InvalidArgumentError' });
    expect(output.error?.message).to.contain('`work`').and.contain('42');
    const bad = await executor.run(waitForWork, { signals, settle: 0, kind: 'settled', timeoutMs: -1 });
    expect(bad.error).to.include({ code: ErrorCode.InvalidArgument });
  });

  for (const [kind, stop, code] of [
    ['never', 'timeout', ErrorCode.DeferTimeout],
    ['never', 'abort', ErrorCode.DeferAborted],
  ] as const) {
    it(`work that ${stop === 'timeout' ? 'never settles times out' : 'is aborted stops'}: ${code}, slot taken again`, async () => {
      const executor = createExecutor({ threads: 1, maxConcurrentTasks: 1 });
      const signals = createSignals();
      const deferred = nextEvent(executor, 'taskDeferred');
      const run = executor.run(waitForWork, {
        signals,
        settle: 0,
        kind: kind satisfies WorkKind,
        ...(stop === 'timeout' ? { timeoutMs: 5 } : { abort: 1 }),
      });
      await deferred;
      if (stop === 'abort') raise(signals, 1);
      const output = await run;
      expect(output.error).to.include({ code });
      expect(output.held).to.equal(true);
    });
  }
});

describe('TaskHandle.waitForSignal and executor.signal', () => {
  it('delivers a signal to the waiting run at once, with its payload, and says the run is live', async () => {
    const executor = createExecutor();
    const signals = createSignals();
    const awaiting = nextEvent(executor, 'taskAwaitingSignal');
    const run = executor.run(waitForSignals, { signals, started: 0, names: ['approved'] }, { executionId: 'run-1' });
    const event = await awaiting;
    expect(event).to.include({ executionId: 'run-1', name: 'approved' });
    expect(executor.metrics()).to.include({ deferredTasks: 1, activeTasks: 0 });
    const resumed = nextEvent(executor, 'taskResumed');
    expect(executor.signal('run-1', 'approved', { by: 'ops', at: new Date(0) })).to.equal(true);
    expect((await resumed).wait).to.equal('signal');
    const output = await run;
    expect(output.got).to.deep.equal([{ by: 'ops', at: new Date(0) }]);
    expect(output.held).to.equal(true);
    expect(executor.signal('run-1', 'approved')).to.equal(false); // ended: nothing kept
    expect(executor.signal('no-such-run', 'approved')).to.equal(false);
  });

  it('keeps signals sent before the run waits, per name and in order, until a wait takes them', async () => {
    const executor = createExecutor({ threads: 1, maxConcurrentTasks: 1 });
    const signals = createSignals();
    const blocker = executor.run(holdOnThread, { signals, thread: 5, started: 6, release: 7 });
    await raised(signals, 6);
    // Queued behind the blocker: it has not started, yet it is live and takes its signals.
    const run = executor.run(
      waitForSignals,
      { signals, started: 0, names: ['a', 'b'], rounds: 2 },
      { executionId: 'r' },
    );
    expect(executor.signal('r', 'b', 'b1')).to.equal(true);
    expect(executor.signal('r', 'a', 'a1')).to.equal(true);
    expect(executor.signal('r', 'a', 'a2')).to.equal(true);
    // Kept signals are delivered without the event: the only `b` announced is round two's.
    const secondB = nextEvent(executor, 'taskAwaitingSignal', (e) => e.name === 'b');
    raise(signals, 7);
    await blocker;
    await secondB;
    expect(executor.signal('r', 'b', 'b2')).to.equal(true);
    expect((await run).got).to.deep.equal(['a1', 'b1', 'a2', 'b2']);
  });

  it('a wait that times out leaves the signal that comes later for the next wait; none is lost or doubled', async () => {
    const executor = createExecutor();
    const signals = createSignals();
    const run = executor.run(collectSignals, { signals, started: 0, count: 40 }, { executionId: 'c' });
    await raised(signals, 0);
    // Signals land before, during and just after waits that keep timing out every millisecond.
    for (let i = 0; i < 40; i += 1) {
      executor.signal('c', 'go', i);
      if (i % 4 === 0) await nextEvent(executor, 'taskAwaitingSignal');
    }
    const output = await run;
    expect(output.got).to.deep.equal(Array.from({ length: 40 }, (_, i) => i));
  });

  it('refuses a bad run id, a bad name and a payload that cannot cross threads', () => {
    const executor = createExecutor();
    for (const name of ['', 'x'.repeat(201), 'nul\u0000', 42]) {
      caught(() => executor.signal('r', name as string), InvalidArgumentError, ErrorCode.InvalidArgument);
    }
    caught(() => executor.signal('', 'go'), InvalidArgumentError, ErrorCode.InvalidArgument);
    const error = caught(
      () => executor.signal('r', 'go', { reply: () => 1 }),
      UncloneableValueError,
      ErrorCode.UncloneableValue,
    );
    expect(error).to.include({ direction: 'payload', path: 'payload.reply' });
  });

  it('a bad name inside the task, and a wait that times out, are typed errors the task can catch', async () => {
    const executor = createExecutor();
    const signals = createSignals();
    const timedOut = await executor.run(waitForSignals, { signals, started: 0, names: ['late'], timeoutMs: 5 });
    expect(timedOut).to.include({ held: true });
    expect(timedOut.timeouts).to.deep.equal([0]);
    const failed = await rejection(
      executor.run(waitForSignals, { signals, started: 1, names: [''] }),
      Error,
      ErrorCode.TaskFailed,
    );
    expect((failed.cause as { code?: string }).code).to.equal(ErrorCode.InvalidArgument);
  });

  it('a run cancelled while it waits for a signal rejects, and its slot comes back once', async () => {
    const executor = createExecutor({ threads: 1, maxConcurrentTasks: 1 });
    const signals = createSignals();
    const controller = new AbortController();
    const awaiting = nextEvent(executor, 'taskAwaitingSignal');
    const run = executor.run(waitForSignals, { signals, started: 0, names: ['never'] }, { signal: controller.signal });
    await awaiting;
    controller.abort('no longer needed');
    await rejection(run, TaskAbortedError, ErrorCode.TaskAborted);
    expect(await executor.run(threadOf, undefined)).to.be.a('number');
  });

  it('a wait the task did not await is abandoned quietly when the task returns', async () => {
    const executor = createExecutor({ threads: 1, maxConcurrentTasks: 1 });
    expect(await executor.run(abandonsSignalWait, null)).to.equal('returned');
    expect(await executor.run(threadOf, undefined)).to.be.a('number');
  });

  it('a thread that dies while runs on it wait for signals fails them all, slots exact', async () => {
    const executor = createExecutor({ threads: 1, maxConcurrentTasks: 2 });
    const signals = createSignals();
    const lastWaiting = nextEvent(executor, 'taskAwaitingSignal', (e) => e.executionId === 'w2');
    const waiters = [0, 1, 2].map((i) =>
      executor.run(waitForSignals, { signals, started: i, names: ['never'] }, { executionId: `w${String(i)}` }),
    );
    await lastWaiting; // the third starts once one of the first two has given its slot back
    const killer = executor.run(exitThread, { signals, started: 3, exit: 4, whileDeferred: false });
    await raised(signals, 3);
    const failures = Promise.all(
      [...waiters, killer].map((run) => rejection(run, WorkerDiedError, ErrorCode.WorkerDied)),
    );
    raise(signals, 4);
    await failures;
    expect(executor.metrics()).to.include({ deferredTasks: 0, reclaimingTasks: 0, availableSlots: 2 });
    expect(executor.signal('w0', 'never')).to.equal(false);
  });

  it('a signalled run goes on before new work on its own thread, and new work goes to the other thread meanwhile', async () => {
    const executor = createExecutor({ threads: 2, maxConcurrentTasks: 2 });
    const signals = createSignals();
    const recording = record(executor);
    // The waiter parks first; the balancer then sends the two holders one to each thread.
    const parked = Promise.all([nextEvent(executor, 'taskDeferred'), nextEvent(executor, 'taskAwaitingSignal')]);
    const waiter = executor.run(waitForSignals, { signals, started: 0, names: ['go'] }, { executionId: 'w' });
    await parked;
    const first = executor.run(holdOnThread, { signals, thread: 8, started: 1, release: 2 });
    const second = executor.run(holdOnThread, { signals, thread: 9, started: 3, release: 4 });
    await raised(signals, 1);
    await raised(signals, 3);
    // New work that will hold its slot too, queued behind the two holders.
    const queued = executor.run(holdOnThread, { signals, thread: 10, started: 5, release: 6 });
    executor.signal('w', 'go', 'now');
    expect(executor.metrics()).to.include({ reclaimingTasks: 1, queuedTasks: 1 });
    // The balancer sent the first holder away from the thread hosting the parked waiter, and
    // the second one, the least loaded then, to the waiter's thread.
    expect(Atomics.load(signals, 8)).to.not.equal(Atomics.load(signals, 9));
    // The first holder's slot goes to the new work, which runs on that same thread (the
    // waiter's thread is still busy), and the waiter keeps waiting for its own thread.
    raise(signals, 2);
    expect(await first).to.equal(Atomics.load(signals, 8));
    await raised(signals, 5);
    expect(Atomics.load(signals, 10)).to.equal(Atomics.load(signals, 8));
    expect(executor.metrics()).to.include({ reclaimingTasks: 1, queuedTasks: 0 });
    // The second holder, on the waiter's thread, ends: its slot is the waiter's.
    const resumed = nextEvent(executor, 'taskResumed');
    raise(signals, 4);
    expect(await second).to.equal(Atomics.load(signals, 9));
    await resumed;
    const output = await waiter;
    expect(output).to.deep.include({ got: ['now'], thread: Atomics.load(signals, 9) });
    raise(signals, 6);
    await queued;
    const names = recording.events.map((e) => e.name);
    expect(names.indexOf('taskResumed')).to.be.above(names.lastIndexOf('taskStarted'));
  });
});
