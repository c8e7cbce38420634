import { expect } from 'chai';
import {
  DeferConditionError,
  ErrorCode,
  ExecutorClosedError,
  TaskAbortedError,
  TaskFailedError,
  TaskTimeoutError,
  WorkerDiedError,
} from '../src/index.js';
import { waitForSignals } from './fixtures/wait-tasks.js';
import {
  busyUntilSignal,
  deferForever,
  deferOnSignal,
  deferralOutcome,
  exitThread,
  fails,
  holdUntilSignal,
  spin,
  stopsOnSignal,
  unawaitedDeferral,
} from './fixtures/tasks.js';
import { createExecutor, createSignals, nextEvent, raise, raised, record, rejection } from './helpers.js';

describe('Executor fault paths', () => {
  // Found by the property tests: the signal's listener was added after the run started, so an
  // abort from a `taskStarted` listener (synchronous, inside `run`) went unheard.
  it('cancels a run whose signal a taskStarted listener aborts', async () => {
    const executor = createExecutor({ threads: 1, maxConcurrentTasks: 1 });
    const controller = new AbortController();
    executor.once('taskStarted', () => controller.abort(new Error('on start')));
    const ended = nextEvent(executor, 'taskFailed');
    await rejection(executor.run(spin, 1, { signal: controller.signal }), TaskAbortedError, ErrorCode.TaskAborted);
    await ended;
  });

  describe('deferral outcomes inside the task', () => {
    // `twice`: the second call fails at once while the first is still parked without its slot.
    for (const [mode, code, causeName, heldAfter] of [
      ['timeout', ErrorCode.DeferTimeout, null, true],
      ['abort', ErrorCode.DeferAborted, 'Error', true],
      ['conditionThrows', ErrorCode.DeferConditionFailed, 'RangeError', true],
      ['firstCheckThrows', ErrorCode.DeferConditionFailed, 'Error', true],
      ['twice', ErrorCode.DeferInProgress, null, false],
      ['badOptions', ErrorCode.InvalidArgument, null, true],
    ] as const) {
      it(`${mode}: the task catches ${code}`, async () => {
        const executor = createExecutor({ threads: 1, maxConcurrentTasks: 1 });
        const output = await executor.run(deferralOutcome, { mode, signals: createSignals(), stop: 0 });
        expect(output).to.deep.include({ caught: code, heldAfter });
        if (causeName !== null) expect(output.causeName).to.equal(causeName);
      });
    }

    it('a condition error the task does not catch fails the run, with the typed error as cause', async () => {
      const executor = createExecutor({ threads: 1, maxConcurrentTasks: 1 });
      const outcome = { mode: 'conditionThrows', signals: createSignals(), stop: 0 } as const;
      const ref = { module: deferralOutcome.moduleUrl, id: 'deferralOutcome' };
      // deferralOutcome catches; run the same condition through a task that does not:
      expect(await executor.run(ref, outcome)).to.deep.include({ caught: ErrorCode.DeferConditionFailed });
      const signals = createSignals();
      const run = executor.run(deferForever, { signals, started: 0 }, { timeoutMs: 30 });
      await rejection(run, TaskTimeoutError, ErrorCode.TaskTimeout);
      const failed = await nextEvent(executor, 'taskFailed');
      expect(failed.error).to.be.instanceOf(TaskTimeoutError);
    });
  });

  describe('timeouts and aborts of the run', () => {
    it('a timed-out task without a handle keeps its slot until its thread is free', async () => {
      const executor = createExecutor({ threads: 1, maxConcurrentTasks: 1 });
      const signals = createSignals();
      const run = executor.run(busyUntilSignal, { signals, started: 0, release: 1 }, { timeoutMs: 20 });
      const rejected = rejection(run, TaskTimeoutError, ErrorCode.TaskTimeout);
      await raised(signals, 0);
      const error = await rejected;
      expect(error.timeoutMs).to.equal(20);
      expect(executor.metrics()).to.include({ activeTasks: 1, availableSlots: 0 });
      const finished = nextEvent(executor, 'taskFailed');
      raise(signals, 1);
      expect((await finished).error).to.equal(error);
      expect(executor.metrics()).to.include({ availableSlots: 1, totalFailed: 1 });
    });

    it('a run aborted while active aborts handle.signal and frees its slot when the task stops', async () => {
      const executor = createExecutor();
      const signals = createSignals();
      const controller = new AbortController();
      const completed = nextEvent(executor, 'taskFailed');
      const run = executor.run(stopsOnSignal, { signals, started: 0 }, { signal: controller.signal });
      await raised(signals, 0);
      controller.abort(new Error('user cancelled'));
      const error = await rejection(run, TaskAbortedError, ErrorCode.TaskAborted);
      expect((error.cause as Error).message).to.equal('user cancelled');
      await completed;
      expect(executor.metrics().availableSlots).to.equal(2);
    });

    it('a run aborted while queued never starts and takes no slot', async () => {
      const executor = createExecutor({ threads: 1, maxConcurrentTasks: 1 });
      const signals = createSignals();
      const holder = executor.run(holdUntilSignal, { signals, started: 0, release: 1 });
      await raised(signals, 0);
      const controller = new AbortController();
      const queued = executor.run(spin, 1, { signal: controller.signal });
      expect(executor.metrics().queuedTasks).to.equal(1);
      controller.abort();
      await rejection(queued, TaskAbortedError, ErrorCode.TaskAborted);
      expect(executor.metrics()).to.include({ queuedTasks: 0, totalExecuted: 0 });
      raise(signals, 1);
      await holder;
      await rejection(executor.run(spin, 1, { signal: controller.signal }), TaskAbortedError, ErrorCode.TaskAborted);
    });

    it('a run aborted while deferred rejects at once; the task sees DeferAbortedError with its slot back', async () => {
      const executor = createExecutor();
      const signals = createSignals();
      const controller = new AbortController();
      const run = executor.run(deferForever, { signals, started: 0 }, { signal: controller.signal });
      await nextEvent(executor, 'taskDeferred');
      const failed = nextEvent(executor, 'taskFailed');
      controller.abort();
      await rejection(run, TaskAbortedError, ErrorCode.TaskAborted);
      await failed;
      expect(executor.metrics()).to.include({ deferredTasks: 0, availableSlots: 2, totalDeferrals: 1 });
    });

    it('a run aborted while waiting to reclaim gets its slot back only once, and no leak', async () => {
      const executor = createExecutor({ threads: 1, maxConcurrentTasks: 1 });
      const signals = createSignals();
      const controller = new AbortController();
      const run = executor.run(deferOnSignal, { signals, release: 0 }, { signal: controller.signal });
      await nextEvent(executor, 'taskDeferred');
      const holder = executor.run(holdUntilSignal, { signals, started: 2, release: 1 });
      await raised(signals, 2);
      raise(signals, 0);
      await nextEvent(executor, 'taskReclaiming');
      controller.abort();
      await rejection(run, TaskAbortedError, ErrorCode.TaskAborted);
      expect(executor.metrics().reclaimingTasks).to.equal(1);
      raise(signals, 1);
      await holder;
      const failed = await nextEvent(executor, 'taskFailed', (e) => e.taskId === 'deferOnSignal');
      expect(failed.error).to.be.instanceOf(TaskAbortedError);
      expect(executor.metrics()).to.include({ availableSlots: 1, reclaimingTasks: 0 });
    });

    it('an uncaught DeferAbortedError after cancellation still ends the run', async () => {
      const executor = createExecutor();
      const signals = createSignals();
      const run = executor.run(deferForever, { signals, started: 0 }, { timeoutMs: 10 });
      const failed = nextEvent(executor, 'taskFailed');
      await rejection(run, TaskTimeoutError, ErrorCode.TaskTimeout);
      expect((await failed).error).to.be.instanceOf(TaskTimeoutError);
    });
  });

  describe('worker thread death', () => {
    it('fails an active task whose thread exits, and the pool replaces the thread', async () => {
      const executor = createExecutor({ threads: 1, maxConcurrentTasks: 1 });
      const signals = createSignals();
      const run = executor.run(exitThread, { signals, started: 0, exit: 1, whileDeferred: false });
      await raised(signals, 0);
      raise(signals, 1);
      const error = await rejection(run, WorkerDiedError, ErrorCode.WorkerDied);
      expect(error.message).to.contain('exited');
      expect(await executor.run(spin, 1)).to.be.a('number');
    });

    it('fails every task parked on a thread that exits mid-deferral, and returns their slots', async () => {
      const executor = createExecutor({ threads: 1, maxConcurrentTasks: 2 });
      const signals = createSignals();
      const parked = executor.run(deferOnSignal, { signals, release: 5 });
      await nextEvent(executor, 'taskDeferred');
      const dying = executor.run(exitThread, { signals, started: 0, exit: 1, whileDeferred: true });
      await nextEvent(executor, 'taskDeferred', (e) => e.taskId === 'exitThread');
      expect(executor.metrics()).to.include({ deferredTasks: 2, availableSlots: 2 });
      const rejected = Promise.all([dying, parked].map((run) => rejection(run, WorkerDiedError, ErrorCode.WorkerDied)));
      raise(signals, 1);
      await rejected;
      expect(executor.metrics()).to.include({ deferredTasks: 0, availableSlots: 2, totalFailed: 2 });
      expect(await executor.run(spin, 1)).to.be.a('number');
    });

    it('a run granted its slot back in the same tick its thread dies is not resumed after it failed', async () => {
      const executor = createExecutor({ threads: 1, maxConcurrentTasks: 2 });
      const signals = createSignals();
      const recording = record(executor);
      const killer = executor.run(exitThread, { signals, started: 0, exit: 1, whileDeferred: false });
      await raised(signals, 0);
      const reclaimer = executor.run(deferOnSignal, { signals, release: 5 });
      await nextEvent(executor, 'taskDeferred');
      const holder = executor.run(holdUntilSignal, { signals, started: 2, release: 3 });
      await raised(signals, 2);
      raise(signals, 5);
      await nextEvent(executor, 'taskReclaiming');
      const rejected = Promise.all(
        [killer, reclaimer, holder].map((run) => rejection(run, WorkerDiedError, ErrorCode.WorkerDied)),
      );
      raise(signals, 1); // the killer's death frees a slot, granted to the reclaimer, which dies too
      await rejected;
      const after = recording.events.slice(recording.events.findIndex((e) => e.name === 'taskFailed'));
      expect(after.map((e) => e.name)).to.not.include('taskResumed');
      expect(executor.metrics()).to.include({ reclaimingTasks: 0, deferredTasks: 0, availableSlots: 2 });
    });

    it('fails a task waiting to reclaim when its thread dies', async () => {
      const executor = createExecutor({ threads: 1, maxConcurrentTasks: 1 });
      const signals = createSignals();
      const reclaimer = executor.run(deferOnSignal, { signals, release: 5 });
      await nextEvent(executor, 'taskDeferred');
      const killer = executor.run(exitThread, { signals, started: 0, exit: 1, whileDeferred: false });
      await raised(signals, 0);
      raise(signals, 5);
      await nextEvent(executor, 'taskReclaiming');
      const rejected = Promise.all(
        [reclaimer, killer].map((run) => rejection(run, WorkerDiedError, ErrorCode.WorkerDied)),
      );
      raise(signals, 1);
      await rejected;
      expect(executor.metrics()).to.include({ reclaimingTasks: 0, availableSlots: 1 });
    });
  });

  describe('bugs in the calling code', () => {
    for (const readSignal of [true, false]) {
      it(`a deferral the task did not await harms no other run on its thread (signal read: ${String(readSignal)})`, async () => {
        const executor = createExecutor({ threads: 1, maxConcurrentTasks: 2 });
        const signals = createSignals();
        const neighbour = executor.run(deferOnSignal, { signals, release: 0 });
        await nextEvent(executor, 'taskDeferred');
        expect(await executor.run(unawaitedDeferral, { readSignal, signals, checks: 1 })).to.equal('returned');
        raise(signals, 0);
        expect((await neighbour).heldAfter).to.equal(true);
        expect(Atomics.load(signals, 1), 'only the first check ran: it never released').to.equal(1);
        expect(executor.metrics().totalDeferrals).to.equal(1);
      });
    }

    it('a listener that throws does not keep a slot or stall the handshake', async () => {
      const executor = createExecutor({ threads: 1, maxConcurrentTasks: 1 });
      const caught: unknown[] = [];
      const restore = catchUncaught(caught);
      try {
        const deferred = nextEvent(executor, 'taskDeferred'); // registered first: still called
        for (const event of ['taskDeferred', 'taskResumed', 'taskCompleted'] as const) {
          executor.on(event, () => {
            throw new Error(`listener of ${event}`);
          });
        }
        const signals = createSignals();
        const run = executor.run(deferOnSignal, { signals, release: 0 });
        await deferred;
        raise(signals, 0);
        expect((await run).heldAfter).to.equal(true);
        expect(await executor.run(spin, 1)).to.be.a('number'); // the slot came back
        // Listener errors are rethrown in microtasks: all have run before the next macrotask.
        await new Promise((resolve) => setImmediate(resolve));
      } finally {
        restore();
      }
      expect(caught.map((e) => (e as Error).message)).to.include('listener of taskCompleted');
    });

    it('a listener that throws on every event stalls no run, of any wait (taskReclaiming was once unguarded)', async () => {
      const executor = createExecutor({ threads: 1, maxConcurrentTasks: 1 });
      const caught: unknown[] = [];
      const restore = catchUncaught(caught);
      const events = [
        'taskStarted',
        'taskDeferred',
        'taskReclaiming',
        'taskResumed',
        'taskAwaitingSignal',
        'taskCompleted',
        'taskFailed',
      ] as const;
      try {
        const awaiting = nextEvent(executor, 'taskAwaitingSignal'); // registered first: still called
        for (const event of events) {
          executor.on(event, () => {
            throw new Error(`listener of ${event}`);
          });
        }
        const signals = createSignals();
        const polled = executor.run(deferOnSignal, { signals, release: 0 });
        raise(signals, 0);
        expect((await polled).heldAfter).to.equal(true);
        const signalled = executor.run(waitForSignals, { signals, started: 1, names: ['go'] }, { executionId: 's' });
        await awaiting;
        expect(executor.signal('s', 'go', 'on')).to.equal(true);
        expect((await signalled).got).to.deep.equal(['on']);
        await rejection(executor.run(fails, 'boom'), TaskFailedError, ErrorCode.TaskFailed);
        expect(executor.metrics()).to.include({ reclaimingTasks: 0, deferredTasks: 0, availableSlots: 1 });
        // Listener errors are rethrown in microtasks: all have run before the next macrotask.
        await new Promise((resolve) => setImmediate(resolve));
      } finally {
        restore();
      }
      const messages = new Set(caught.map((e) => (e as Error).message));
      for (const event of events)
        expect(messages, `the error of the ${event} listener`).to.include(`listener of ${event}`);
    });
  });

  describe('close', () => {
    it('rejects queued runs, lets running and deferred ones finish', async () => {
      const executor = createExecutor({ threads: 1, maxConcurrentTasks: 1 });
      const signals = createSignals();
      const deferred = executor.run(deferOnSignal, { signals, release: 0 });
      await nextEvent(executor, 'taskDeferred');
      const holder = executor.run(holdUntilSignal, { signals, started: 2, release: 1 });
      await raised(signals, 2);
      const queued = executor.run(spin, 1);
      const closing = executor.close();
      await rejection(queued, ExecutorClosedError, ErrorCode.ExecutorClosed);
      raise(signals, 0);
      raise(signals, 1);
      expect(await holder).to.equal('held');
      expect((await deferred).heldAfter).to.equal(true);
      await closing;
      expect(executor.close()).to.equal(closing);
    });

    it('with timeoutMs, cancels running tasks through their handles first', async () => {
      const executor = createExecutor({ threads: 1, maxConcurrentTasks: 1 });
      const signals = createSignals();
      const run = executor.run(stopsOnSignal, { signals, started: 0, stopped: 1 });
      await raised(signals, 0);
      const rejected = rejection(run, ExecutorClosedError, ErrorCode.ExecutorClosed);
      await executor.close({ timeoutMs: 10 });
      await rejected;
      expect(Atomics.load(signals, 1), 'the task saw handle.signal abort').to.equal(1);
    });

    it('with timeoutMs, terminates the threads under tasks that do not stop', async () => {
      const executor = createExecutor({ threads: 1, maxConcurrentTasks: 1 });
      const signals = createSignals();
      const parked = executor.run(deferForever, { signals, started: 0 });
      await nextEvent(executor, 'taskDeferred');
      const busy = executor.run(busyUntilSignal, { signals, started: 1, release: 2 });
      await raised(signals, 1);
      const rejected = [parked, busy].map((run) => rejection(run, ExecutorClosedError, ErrorCode.ExecutorClosed));
      await executor.close({ timeoutMs: 10 });
      await Promise.all(rejected);
      raise(signals, 2);
    });

    it('an error inside a condition reaches the caller as a chain of typed causes', async () => {
      const executor = createExecutor();
      const run = executor.run(deferOnSignal, { signals: 'not shared' as never, release: 0 });
      const error = await rejection(run, TaskFailedError, ErrorCode.TaskFailed);
      expect(error.cause).to.be.instanceOf(DeferConditionError);
      expect((error.cause as Error).cause).to.be.instanceOf(TypeError);
    });
  });
});

/** Collects uncaught exceptions into `caught` instead of mocha; returns what puts mocha's handlers back. */
function catchUncaught(caught: unknown[]): () => void {
  const previous = process.listeners('uncaughtException');
  process.removeAllListeners('uncaughtException');
  process.on('uncaughtException', (error) => caught.push(error));
  return () => {
    process.removeAllListeners('uncaughtException');
    for (const listener of previous) process.on('uncaughtException', listener);
  };
}
