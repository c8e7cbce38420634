import { expect } from 'chai';
import {
  DuplicateTaskError,
  ErrorCode,
  ExecutorClosedError,
  Executor,
  InvalidArgumentError,
  NoHandleError,
  TaskFailedError,
  TaskModuleImportError,
  UncloneableValueError,
  UnknownTaskError,
  defineTask,
} from '../src/index.js';
import {
  type CustomError,
  deferOnSignal,
  echo,
  fails,
  forcedHandle,
  noop,
  refusedHandle,
  rejectsTypeError,
  returnsFunction,
  spin,
} from './fixtures/tasks.js';
import { createExecutor, createSignals, nextEvent, raise, rejection } from './helpers.js';

const fixtures = new URL('./fixtures/tasks.js', import.meta.url);

describe('Executor.run', () => {
  it('runs a task from its definition and returns its output', async () => {
    const executor = createExecutor();
    const input = { n: 1, when: new Date(0), tags: new Set(['a']), bytes: new Uint8Array([1, 2]) };
    expect(await executor.run(echo, input)).to.deep.equal(input);
    expect(await executor.run(noop, undefined)).to.equal(undefined);
  });

  it('runs a task by module URL or path plus id', async () => {
    const executor = createExecutor();
    expect(await executor.run({ module: fixtures, id: 'echo' }, 'by-url')).to.equal('by-url');
    expect(await executor.run({ module: fixtures.href, id: 'echo' }, 'by-href')).to.equal('by-href');
    expect(await executor.run({ module: fixtures.pathname, id: 'echo' }, 'by-path')).to.equal('by-path');
  });

  it('records the module a task was defined in', () => {
    expect(echo.moduleUrl).to.equal(fixtures.href);
    expect(echo.wantsHandle).to.equal(false);
  });

  it('gives a handle by declared parameters, or as forced', async () => {
    const executor = createExecutor();
    expect(forcedHandle.wantsHandle).to.equal(true);
    expect(await executor.run(forcedHandle, null)).to.equal('function');
    expect(refusedHandle.wantsHandle).to.equal(false);
    expect(await executor.run(refusedHandle, null)).to.equal('undefined');
  });

  it('emits taskStarted and taskCompleted with the execution id and timings', async () => {
    const executor = createExecutor();
    const started = nextEvent(executor, 'taskStarted');
    const completed = nextEvent(executor, 'taskCompleted');
    await executor.run(noop, undefined);
    const [start, end] = await Promise.all([started, completed]);
    expect(start.executionId).to.match(/^[0-9a-f-]{36}$/);
    expect(end.executionId).to.equal(start.executionId);
    expect(end.durationMs).to.be.at.least(0);
    expect(end.deferrals).to.equal(0);
    expect(executor.metrics()).to.include({ totalExecuted: 1, totalFailed: 0, totalDeferrals: 0 });
  });

  it('wraps a thrown error in TaskFailedError, keeping its class, code and fields as the cause', async () => {
    const executor = createExecutor();
    const failed = nextEvent(executor, 'taskFailed');
    const error = await rejection(executor.run(fails, 'boom'), TaskFailedError, ErrorCode.TaskFailed);
    expect(error.message).to.equal('Task `fails` failed: boom');
    expect(error.taskId).to.equal('fails');
    const cause = error.cause as CustomError;
    expect(cause.message).to.equal('boom');
    expect(cause.code).to.equal('E_CUSTOM');
    expect(cause.attempt).to.equal(3);
    expect(cause.stack).to.contain('tasks.js');
    expect((await failed).error).to.equal(error);
    const typed = await rejection(executor.run(rejectsTypeError, null), TaskFailedError, ErrorCode.TaskFailed);
    expect(typed.cause).to.be.instanceOf(TypeError);
    expect(executor.metrics()).to.include({ totalExecuted: 2, totalFailed: 2 });
  });

  it('keeps latency percentiles of the wait for a slot, the run and each wait, read from metrics()', async () => {
    const executor = createExecutor({ threads: 1, maxConcurrentTasks: 1 });
    expect(executor.metrics().latency.runMs).to.deep.equal({ count: 0, p50: 0, p90: 0, p99: 0, max: 0 });
    const signals = createSignals();
    const deferred = nextEvent(executor, 'taskDeferred');
    const waiting = executor.run(deferOnSignal, { signals, release: 0, pollIntervalMs: 1 });
    await deferred;
    await Promise.all([executor.run(spin, 2), executor.run(spin, 2)]);
    raise(signals, 0);
    await waiting;
    const { latency } = executor.metrics();
    expect(latency.waitForSlotMs.count).to.equal(3);
    expect(latency.runMs.count).to.equal(3);
    expect(latency.deferredMs.count).to.equal(1);
    expect(latency.runMs.max).to.be.at.least(latency.runMs.p50).and.at.least(2); // two runs spun 2 ms
    expect(latency.deferredMs.p50).to.be.above(0);
    expect(latency.runMs.p50).to.be.at.most(latency.runMs.p90).and.at.most(latency.runMs.p99);
  });

  describe('bad input', () => {
    it('names an invalid executor option and the value given', () => {
      expect(() => new Executor({ maxConcurrentTasks: 0 })).to.throw(
        InvalidArgumentError,
        'Expected `maxConcurrentTasks` to be a positive integer, got `0` (number)',
      );
      expect(() => new Executor({ threads: 1.5 })).to.throw(InvalidArgumentError, '`threads`');
    });

    it('rejects invalid run options and task references with InvalidArgumentError', async () => {
      const executor = createExecutor();
      await rejection(
        executor.run(noop, undefined, { timeoutMs: -5 }),
        InvalidArgumentError,
        ErrorCode.InvalidArgument,
      );
      const bad = { signal: 'no' } as unknown as { signal: AbortSignal };
      await rejection(executor.run(noop, undefined, bad), InvalidArgumentError, ErrorCode.InvalidArgument);
      await rejection(executor.run(null as never), InvalidArgumentError, ErrorCode.InvalidArgument);
      await rejection(
        executor.run({ module: 'relative/path.js', id: 'x' }),
        InvalidArgumentError,
        ErrorCode.InvalidArgument,
      );
      await rejection(executor.run({ module: fixtures, id: '' }), InvalidArgumentError, ErrorCode.InvalidArgument);
    });

    it('rejects an unknown task id, listing the ids the module defines', async () => {
      const executor = createExecutor();
      const error = await rejection(
        executor.run({ module: fixtures, id: 'nope' }),
        UnknownTaskError,
        ErrorCode.UnknownTask,
      );
      expect(error.knownTaskIds).to.include.members(['echo', 'noop']);
      expect(error.message).to.contain('No task `nope`');
    });

    it('rejects a task module that fails to import', async () => {
      const executor = createExecutor();
      const module = new URL('./fixtures/broken-module.js', import.meta.url);
      const error = await rejection(
        executor.run({ module, id: 'never' }),
        TaskModuleImportError,
        ErrorCode.TaskModuleImportFailed,
      );
      expect(error.message).to.contain('fails while it is imported');
      const missing = new URL('./fixtures/missing-module.js', import.meta.url);
      await rejection(
        executor.run({ module: missing, id: 'x' }),
        TaskModuleImportError,
        ErrorCode.TaskModuleImportFailed,
      );
    });

    it('names the key of an input that cannot cross threads', async () => {
      const executor = createExecutor();
      const input = { user: { name: 'a', onSave: () => undefined } };
      const error = await rejection(executor.run(echo, input), UncloneableValueError, ErrorCode.UncloneableValue);
      expect(error.direction).to.equal('input');
      expect(error.path).to.equal('input.user.onSave');
    });

    it('names the key of an output that cannot cross threads, and the thread survives', async () => {
      const executor = createExecutor({ threads: 1, maxConcurrentTasks: 1 });
      const error = await rejection(
        executor.run(returnsFunction, null),
        UncloneableValueError,
        ErrorCode.UncloneableValue,
      );
      expect(error.direction).to.equal('output');
      expect(error.path).to.equal('output.nested.callback');
      expect(await executor.run(echo, 'still alive')).to.equal('still alive');
    });

    it('rejects a task id defined twice in one module, and bad definitions', () => {
      defineTask('once-only', () => 1);
      expect(() => defineTask('once-only', () => 2))
        .to.throw(DuplicateTaskError)
        .with.property('code', ErrorCode.DuplicateTask);
      expect(() => defineTask('has space', () => 1)).to.throw(InvalidArgumentError, '`id`');
      expect(() => defineTask('no-fn', 5 as never)).to.throw(InvalidArgumentError, '`fn`');
      expect(() => defineTask('bad-handle', () => 1, { handle: 'yes' as never })).to.throw(
        InvalidArgumentError,
        '`options.handle`',
      );
    });

    it('rejects a definition that denies a handle to a task that wants one', async () => {
      const executor = createExecutor();
      const lying = { ...forcedHandle, wantsHandle: false };
      await rejection(executor.run(lying, null), NoHandleError, ErrorCode.NoHandle);
    });

    it('rejects run after close with ExecutorClosedError', async () => {
      const executor = createExecutor();
      await executor.close();
      await rejection(executor.run(noop, undefined), ExecutorClosedError, ErrorCode.ExecutorClosed);
      await rejection(
        executor.close({ timeoutMs: -1 }).then(() => executor.run(noop, undefined)),
        ExecutorClosedError,
        ErrorCode.ExecutorClosed,
      );
    });
  });
});
