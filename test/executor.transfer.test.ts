import { MessageChannel } from 'node:worker_threads';
import { expect } from 'chai';
import {
  ErrorCode,
  InvalidArgumentError,
  QueueFullError,
  TaskAbortedError,
  UncloneableValueError,
  transfer,
} from '../src/index.js';
import { holdUntilSignal } from './fixtures/tasks.js';
import {
  answerOnPort,
  badTransferOutput,
  invertAfterWait,
  invertBytes,
  lastMovedOutLength,
} from './fixtures/transfer-tasks.js';
import { createExecutor, createSignals, raise, raised, rejection } from './helpers.js';

function bytesOf(length: number, fill: number): Uint8Array {
  return new Uint8Array(length).fill(fill);
}

describe('Executor transfer (moving buffers instead of copying them)', () => {
  it('moves an input buffer to the thread and the output buffer back: detached on each sending side', async () => {
    const executor = createExecutor({ threads: 1, maxConcurrentTasks: 1 });
    const bytes = bytesOf(1 << 20, 7);
    const running = executor.run(invertBytes, { bytes, tag: 'a' }, { transfer: [bytes.buffer] });
    expect(bytes.byteLength, 'detached here as run() returns').to.equal(0);
    const output = await running;
    expect(output.tag).to.equal('a');
    expect(output.receivedLength).to.equal(1 << 20);
    expect(output.bytes.byteLength).to.equal(1 << 20);
    expect(output.bytes.every((b) => b === 248)).to.equal(true);
    expect(await executor.run(lastMovedOutLength, undefined), 'detached in the worker').to.equal(0);
  });

  it('detaches at run() even when the run waits for a slot, and moves it once it starts', async () => {
    const executor = createExecutor({ threads: 1, maxConcurrentTasks: 1 });
    const signals = createSignals();
    const holder = executor.run(holdUntilSignal, { signals, started: 0, release: 1 });
    await raised(signals, 0);
    const bytes = bytesOf(64, 1);
    const view = bytes.subarray(8, 16); // a view of the same buffer: listed too, it moves once
    const queued = executor.run(invertBytes, { bytes, tag: 'queued' }, { transfer: [bytes, view, bytes.buffer] });
    expect(executor.metrics().queuedTasks).to.equal(1);
    expect(bytes.byteLength).to.equal(0);
    raise(signals, 1);
    await holder;
    expect([...(await queued).bytes]).to.deep.equal(new Array<number>(64).fill(254));
  });

  it('keeps a moved buffer as the local state of a run that waits without its slot', async () => {
    const executor = createExecutor({ threads: 1, maxConcurrentTasks: 1 });
    const signals = createSignals();
    const bytes = bytesOf(4096, 200);
    const deferred = new Promise((resolve) => executor.once('taskDeferred', resolve));
    const running = executor.run(invertAfterWait, { bytes, signals, release: 0 }, { transfer: [bytes.buffer] });
    await deferred;
    raise(signals, 0);
    const output = await running;
    expect(output.byteLength).to.equal(4096);
    expect(output.every((b) => b === 55)).to.equal(true);
  });

  it('moves a MessagePort, which can only cross when moved', async () => {
    const executor = createExecutor({ threads: 1 });
    const { port1, port2 } = new MessageChannel();
    const answer = new Promise((resolve) => port1.once('message', resolve));
    expect(await executor.run(answerOnPort, { port: port2, text: 'hi' }, { transfer: [port2] })).to.equal('sent');
    expect(await answer).to.equal('HI');
    port1.close();
  });

  it('refuses a transfer list that is not an array of buffers or ports, naming the item, and detaches nothing', async () => {
    const executor = createExecutor({ threads: 1 });
    const bytes = bytesOf(8, 0);
    const cases: [unknown, string][] = [
      ['bytes', 'transfer'],
      [bytes.buffer, 'transfer'],
      [[bytes.buffer, 'x'], 'transfer[1]'],
      [[{ buffer: bytes.buffer }], 'transfer[0]'],
      [[new SharedArrayBuffer(8)], 'transfer[0]'],
    ];
    for (const [list, argument] of cases) {
      const error = await rejection(
        executor.run(invertBytes, { bytes, tag: 'x' }, { transfer: list as never }),
        InvalidArgumentError,
        ErrorCode.InvalidArgument,
      );
      expect(error.argument, String(list)).to.equal(argument);
      expect(bytes.byteLength).to.equal(8);
    }
    const shared = await rejection(
      executor.run(invertBytes, { bytes, tag: 'x' }, { transfer: [new SharedArrayBuffer(8)] as never }),
      InvalidArgumentError,
      ErrorCode.InvalidArgument,
    );
    expect(shared.message).to.match(/shared memory is shared, never moved/);
  });

  it('refuses a buffer the input does not hold (it would be detached and reach nobody)', async () => {
    const executor = createExecutor({ threads: 1 });
    const bytes = bytesOf(8, 0);
    const other = new ArrayBuffer(8);
    const error = await rejection(
      executor.run(invertBytes, { bytes, tag: 'x' }, { transfer: [bytes.buffer, other] }),
      InvalidArgumentError,
      ErrorCode.InvalidArgument,
    );
    expect(error.argument).to.equal('transfer[1]');
    expect(error.message).to.match(/holds/);
    expect([bytes.byteLength, other.byteLength]).to.deep.equal([8, 8]);
  });

  it('leaves the buffers whole when the run is refused (queue full, signal already aborted)', async () => {
    const executor = createExecutor({ threads: 1, maxConcurrentTasks: 1, maxQueue: 0 });
    const signals = createSignals();
    const holder = executor.run(holdUntilSignal, { signals, started: 0, release: 1 });
    await raised(signals, 0);
    const bytes = bytesOf(8, 0);
    await rejection(
      executor.run(invertBytes, { bytes, tag: 'x' }, { transfer: [bytes.buffer] }),
      QueueFullError,
      ErrorCode.QueueFull,
    );
    expect(bytes.byteLength).to.equal(8);
    raise(signals, 1);
    await holder;
    await rejection(
      executor.run(invertBytes, { bytes, tag: 'x' }, { transfer: [bytes.buffer], signal: AbortSignal.abort() }),
      TaskAbortedError,
      ErrorCode.TaskAborted,
    );
    expect(bytes.byteLength).to.equal(8);
  });

  it('names the part of an input that cannot cross even with its buffers moved, and detaches nothing', async () => {
    const executor = createExecutor({ threads: 1 });
    const bytes = bytesOf(8, 0);
    const error = await rejection(
      executor.run(invertBytes, { bytes, tag: 'x', onDone: () => 1 } as never, { transfer: [bytes.buffer] }),
      UncloneableValueError,
      ErrorCode.UncloneableValue,
    );
    expect(error.path).to.equal('input.onDone');
    expect(bytes.byteLength).to.equal(8);
  });

  it('refuses transfer() as an input: buffers of an input are listed in the run option', async () => {
    const executor = createExecutor({ threads: 1 });
    const bytes = bytesOf(8, 0);
    const error = await rejection(
      executor.run(invertBytes, transfer({ bytes, tag: 'x' }, [bytes.buffer])),
      InvalidArgumentError,
      ErrorCode.InvalidArgument,
    );
    expect(error.argument).to.equal('input');
  });

  it('fails a run whose transfer() output is wrong with a typed error, and the thread lives on', async () => {
    const executor = createExecutor({ threads: 1 });
    const misnamed: [string, string][] = [
      ['not held', 'transfer() list of the output[0]'],
      ['not a list', 'transfer() list of the output'],
      ['not movable', 'transfer() list of the output[0]'],
    ];
    for (const [mistake, argument] of misnamed) {
      const error = await rejection(
        executor.run(badTransferOutput, mistake),
        InvalidArgumentError,
        ErrorCode.InvalidArgument,
      );
      expect(error.argument, mistake).to.equal(argument);
    }
    const uncrossable: [string, string][] = [
      ['nested', 'output.inner'],
      ['uncloneable', 'output.onDone'],
    ];
    for (const [mistake, path] of uncrossable) {
      const error = await rejection(
        executor.run(badTransferOutput, mistake),
        UncloneableValueError,
        ErrorCode.UncloneableValue,
      );
      expect(error.path, mistake).to.equal(path);
    }
    expect(await executor.run(lastMovedOutLength, undefined)).to.be.a('number');
  });
});
