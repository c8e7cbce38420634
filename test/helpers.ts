// Shared test helpers: executors that are closed and checked after every test, signals
// (SharedArrayBuffer words) to steer tasks, and a recorder that samples metrics on every event.
import { expect } from 'chai';
import { Executor, type ExecutorEvents, type ExecutorOptions, type ExecutorMetrics } from '../src/index.js';
import type { Signals } from './fixtures/tasks.js';

const open = new Set<Executor>();

/** An executor that is closed after the test, and checked: every slot back, nothing parked. */
export function createExecutor(options: ExecutorOptions = {}): Executor {
  const executor = new Executor({ threads: 2, maxConcurrentTasks: 2, ...options });
  open.add(executor);
  return executor;
}

afterEach(async function () {
  const executors = [...open];
  open.clear();
  for (const executor of executors) {
    // Bounded: a failed test may leave a run parked for ever; cancel it rather than hang.
    await executor.close({ timeoutMs: 5_000 });
    const metrics = executor.metrics();
    expect(metrics.availableSlots, 'slots leaked').to.equal(metrics.maxConcurrentTasks);
    expect(metrics.activeTasks).to.equal(0);
    expect(metrics.deferredTasks).to.equal(0);
    expect(metrics.reclaimingTasks).to.equal(0);
    expect(metrics.queuedTasks).to.equal(0);
  }
});

export function createSignals(count = 16): Signals {
  return new Int32Array(new SharedArrayBuffer(count * Int32Array.BYTES_PER_ELEMENT));
}

export function raise(signals: Signals, index: number): void {
  Atomics.store(signals, index, 1);
  Atomics.notify(signals, index);
}

/**
 * Resolves once a task raised `signals[index]`. A pending `Atomics.waitAsync` does not keep
 * the process alive by itself; the pool running the task does.
 */
export async function raised(signals: Signals, index: number): Promise<void> {
  while (Atomics.load(signals, index) === 0) {
    const wait = Atomics.waitAsync(signals, index, 0);
    if (wait.async) await wait.value;
  }
}

/** Resolves with the first `event` whose payload satisfies `match`. */
export function nextEvent<K extends keyof ExecutorEvents>(
  executor: Executor,
  event: K,
  match: (...args: ExecutorEvents[K]) => boolean = () => true,
): Promise<ExecutorEvents[K][0]> {
  return new Promise((resolve) => {
    const listener = (...args: ExecutorEvents[K]): void => {
      if (!match(...args)) return;
      executor.off(event, listener as never);
      resolve(args[0]);
    };
    executor.on(event, listener as never);
  });
}

export interface Recording {
  readonly events: { name: keyof ExecutorEvents; executionId: string; taskId: string }[];
  readonly samples: ExecutorMetrics[];
  maxActive(): number;
}

/** Records every task event and samples `metrics()` at each one. */
export function record(executor: Executor): Recording {
  const events: Recording['events'] = [];
  const samples: ExecutorMetrics[] = [];
  const names = [
    'taskStarted',
    'taskDeferred',
    'taskReclaiming',
    'taskResumed',
    'taskCompleted',
    'taskFailed',
  ] as const;
  for (const name of names) {
    executor.on(name, (event: { executionId: string; taskId: string }) => {
      events.push({ name, executionId: event.executionId, taskId: event.taskId });
      samples.push(executor.metrics());
    });
  }
  return { events, samples, maxActive: () => Math.max(0, ...samples.map((s) => s.activeTasks)) };
}

type ErrorClass<E extends Error> = abstract new (...args: never[]) => E;

/** Asserts that `call` throws an instance of `type` carrying `code`; returns the error. */
export function caught<E extends Error>(call: () => unknown, type: ErrorClass<E>, code: string): E {
  try {
    call();
  } catch (error) {
    return typed(error, type, code);
  }
  expect.fail('expected a throw');
}

/** Asserts that `promise` rejects with an instance of `type` carrying `code`; returns the error. */
export async function rejection<E extends Error>(
  promise: Promise<unknown>,
  type: ErrorClass<E>,
  code: string,
): Promise<E> {
  try {
    await promise;
  } catch (error) {
    return typed(error, type, code);
  }
  expect.fail('expected a rejection');
}

function typed<E extends Error>(error: unknown, type: ErrorClass<E>, code: string): E {
  expect(error).to.be.instanceOf(type);
  expect((error as { code?: unknown }).code).to.equal(code);
  return error as E;
}

/**
 * Polls `condition` every 10 ms until it holds; fails after 10 s. For states that only the
 * database shows (no event tells): the deadline bounds a wait that must end, it times nothing.
 */
export async function until(condition: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not reached within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
