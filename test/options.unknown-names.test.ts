import { expect } from 'chai';
import { ErrorCode, Executor, InvalidArgumentError, Runner, defineTask } from '../src/index.js';
import { deferralOutcome, threadOf } from './fixtures/tasks.js';
import { caught, createExecutor, createSignals, rejection } from './helpers.js';

describe('options: names nobody reads are refused', () => {
  it('new Executor() names the misspelt option and the one it meant', () => {
    const error = caught(
      () => new Executor({ maxConcurentTasks: 2 } as never),
      InvalidArgumentError,
      ErrorCode.InvalidArgument,
    );
    expect(error.argument).to.equal('maxConcurentTasks');
    expect(error.message).to.contain('did you mean `maxConcurrentTasks`?').and.contain('`new Executor()`');
    expect(error.value).to.equal(2);
  });

  it('a name far from every known one lists them all', () => {
    const error = caught(
      () => new Executor({ colour: 'red' } as never),
      InvalidArgumentError,
      ErrorCode.InvalidArgument,
    );
    expect(error.message).to.contain('`threads`, `maxConcurrentTasks`, `maxQueue`');
  });

  it('executor.run(), executor.close() and new Runner() refuse unknown names too', async () => {
    const executor = createExecutor();
    const run = await rejection(
      executor.run(threadOf, undefined, { timeout: 5 } as never),
      InvalidArgumentError,
      ErrorCode.InvalidArgument,
    );
    expect(run.message).to.contain('did you mean `timeoutMs`?');
    const close = await rejection(
      executor.close({ timeOutMs: 5 } as never),
      InvalidArgumentError,
      ErrorCode.InvalidArgument,
    );
    expect(close.message).to.contain('`executor.close()`');
    const runner = caught(
      () => new Runner({ pollInterval: 10 } as never),
      InvalidArgumentError,
      ErrorCode.InvalidArgument,
    );
    expect(runner.message).to.contain('did you mean `pollIntervalMs`?');
  });

  it('defineTask() refuses unknown names', () => {
    const error = caught(
      () => defineTask('typo', () => 1, { dependsOn: ['a'] } as never),
      InvalidArgumentError,
      ErrorCode.InvalidArgument,
    );
    expect(error.argument).to.equal('dependsOn');
    expect(error.message).to.contain('`defineTask()`');
  });

  it('a wait refuses unknown names inside the task, as a typed error the task sees', async () => {
    const executor = createExecutor();
    const output = await executor.run(deferralOutcome, { mode: 'unknownOption', signals: createSignals(), stop: 0 });
    expect(output).to.include({ caught: ErrorCode.InvalidArgument, heldAfter: true });
    expect(output.message).to.contain('did you mean `pollIntervalMs`?').and.contain('`handle.deferUntil()`');
  });
});
