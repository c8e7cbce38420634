/**
 * Random programs for the executor, and the invariants every program must keep, shared by the
 * property test (`executor.properties.test.ts`) and the soak (`soak.ts`).
 *
 * A program is a list of runs started together on one executor: each run has a behaviour (see
 * `program-tasks.ts`) and perhaps a cancellation, aborted at a chosen point of its life (before
 * it starts, once active, once deferred, once reclaiming) or a run timeout. The expected
 * outcome of each run follows from those two; a run sharing a thread with one that kills the
 * thread may instead fail with `WorkerDiedError`. After the program: every run settled with its
 * expected outcome, at most one end event per run, active runs never above the limit (counted
 * from the event stream and read from the metrics at every event), every slot back, nothing
 * parked, and the metrics' totals moved by exactly what the events say.
 *
 * Runs also draw a variant of the task with needs (`variants` in `program-tasks.ts`): a weight
 * of 2 slots, the limits `a` (max 1) and `b` (max 2, kept through waits), a concurrency key
 * with or without a per-key limit, and a priority. Counted from the events at every event: the
 * slots in use, each limit's and each key's units, never over their size; after each program
 * every unit is back. A run heavier than the executor's slots is refused with a typed error.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import {
  type Executor,
  InvalidArgumentError,
  TaskAbortedError,
  TaskFailedError,
  TaskTimeoutError,
  WorkerDiedError,
} from '../../src/index.js';
import { type Behaviour, PROGRAM_LIMITS, type Variant, variants } from '../fixtures/program-tasks.js';

/** Where a run is cancelled: never, by its `signal` at some point of its life, or by `timeoutMs`. */
export type Cancel =
  | { readonly kind: 'none' }
  | { readonly kind: 'abort'; readonly at: 'queued' | 'active' | 'deferred' | 'reclaiming' }
  | { readonly kind: 'timeout'; readonly ms: number };

export interface ProgramRun {
  readonly behaviour: Behaviour;
  readonly cancel: Cancel;
  readonly variant: Variant;
  readonly key: string | null;
  readonly priority: number;
}

export interface ExecutorConfig {
  readonly threads: number;
  readonly maxConcurrentTasks: number;
  readonly limits: typeof PROGRAM_LIMITS;
}

export interface Program {
  readonly config: ExecutorConfig;
  readonly runs: readonly ProgramRun[];
}

/** What the programs exercised, for the soak's report. */
export type Coverage = Map<string, number>;

/** Whether the run parks (its condition is false at the first check, which costs no handshake). */
function defers(b: Behaviour): boolean {
  switch (b.kind) {
    case 'defer':
      return b.polls > 0;
    case 'conditionThrows':
      return b.polls > 1;
    case 'deferForever':
    case 'deferTimeout':
    case 'signal':
    case 'signalTimeout':
    case 'signalForever':
      return true;
    case 'waitFor':
      return b.ticks > 0;
    default:
      return false;
  }
}

const behaviour: fc.Arbitrary<Behaviour> = fc.oneof(
  ...[
    fc.record({ kind: fc.constant('return' as const), value: fc.integer({ min: 0, max: 1000 }) }),
    fc.record({ kind: fc.constant('throw' as const), message: fc.string({ maxLength: 8 }) }),
    fc.record({
      kind: fc.constant('spin' as const),
      ms: fc.integer({ min: 0, max: 2 }),
      value: fc.integer({ min: 0, max: 1000 }),
    }),
    fc.record({
      kind: fc.constant('defer' as const),
      polls: fc.integer({ min: 0, max: 4 }),
      value: fc.integer({ min: 0, max: 1000 }),
    }),
    fc.record({ kind: fc.constant('deferForever' as const) }),
    fc.record({ kind: fc.constant('deferTimeout' as const), timeoutMs: fc.integer({ min: 1, max: 10 }) }),
    fc.record({ kind: fc.constant('conditionThrows' as const), polls: fc.integer({ min: 1, max: 3 }) }),
    fc.record({
      kind: fc.constant('waitFor' as const),
      ticks: fc.integer({ min: 0, max: 3 }),
      value: fc.integer({ min: 0, max: 1000 }),
      rejects: fc.boolean(),
    }),
    fc.record({
      kind: fc.constant('signal' as const),
      when: fc.constantFrom('before' as const, 'waiting' as const),
      value: fc.integer({ min: 0, max: 1000 }),
    }),
    fc.record({ kind: fc.constant('signalTimeout' as const), timeoutMs: fc.integer({ min: 1, max: 10 }) }),
    fc.record({ kind: fc.constant('signalForever' as const) }),
  ].map((arbitrary) => ({ arbitrary: arbitrary as fc.Arbitrary<Behaviour>, weight: 4 })),
  // Rarer: a new thread takes tens of ms to start.
  { arbitrary: fc.record({ kind: fc.constant('exit' as const) }), weight: 1 },
);

/** A run: any behaviour, with a cancellation that can happen to it (and ends it if it never would). */
const run: fc.Arbitrary<ProgramRun> = behaviour.chain((b) => {
  const points: ('queued' | 'active' | 'deferred' | 'reclaiming')[] = ['queued', 'active'];
  if (defers(b)) points.push('deferred');
  if ((b.kind === 'defer' && b.polls > 0) || (b.kind === 'waitFor' && b.ticks > 0) || b.kind === 'signal') {
    points.push('reclaiming');
  }
  const abort = fc.constantFrom(...points).map((at) => ({ kind: 'abort' as const, at }));
  const timeout = fc.integer({ min: 1, max: 15 }).map((ms) => ({ kind: 'timeout' as const, ms }));
  // A deferral that never ends must be cancelled; a thread's exit is not cancelled (it races).
  const cancel: fc.Arbitrary<Cancel> =
    b.kind === 'deferForever' || b.kind === 'signalForever'
      ? fc.oneof(abort, timeout)
      : b.kind === 'exit'
        ? fc.constant({ kind: 'none' as const })
        : fc.oneof({ arbitrary: fc.constant({ kind: 'none' as const }), weight: 3 }, abort);
  return fc
    .record({
      cancel,
      variant: fc.constantFrom(...(Object.keys(variants) as Variant[])),
      key: fc.constantFrom('k0', 'k1', null),
      priority: fc.integer({ min: -1, max: 1 }),
    })
    .map(({ cancel: c, variant, key, priority }) => ({ behaviour: b, cancel: c, variant, key, priority }));
});

/** What each variant needs, as the checks count it (kept in step with `variants`). */
const NEEDS: Record<Variant, { slots: number; limits: readonly ('a' | 'b')[]; perKey: null | 'drop' | 'keep' }> = {
  plain: { slots: 1, limits: [], perKey: null },
  heavy: { slots: 2, limits: [], perKey: null },
  limitA: { slots: 1, limits: ['a'], perKey: null },
  limitB: { slots: 1, limits: ['b'], perKey: null },
  turns: { slots: 1, limits: [], perKey: null },
  keyed: { slots: 1, limits: [], perKey: 'drop' },
  everything: { slots: 2, limits: ['a', 'b'], perKey: 'keep' },
};

export const CONFIGS: readonly ExecutorConfig[] = [1, 2].flatMap((threads) =>
  [1, 2, 3].map((maxConcurrentTasks) => ({ threads, maxConcurrentTasks, limits: PROGRAM_LIMITS })),
);

export const program: fc.Arbitrary<Program> = fc.record({
  config: fc.constantFrom(...CONFIGS),
  runs: fc.array(run, { minLength: 1, maxLength: 6 }),
});

type Outcome = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: unknown };

/** The outcome a run must have, as a check; `threadDied`: some run of the program killed its thread. */
function expectOutcome(planned: ProgramRun, outcome: Outcome, threadDied: boolean, slots: number): string {
  const { behaviour: b, cancel } = planned;
  if (NEEDS[planned.variant].slots > slots) {
    expectError(outcome, InvalidArgumentError);
    return 'heavier than the slots, refused';
  }
  if (!outcome.ok && threadDied && outcome.error instanceof WorkerDiedError) return 'died with a killed thread';
  if (cancel.kind === 'abort') {
    expectError(outcome, TaskAbortedError);
    return `aborted ${cancel.at}`;
  }
  if (cancel.kind === 'timeout' && (b.kind === 'deferForever' || b.kind === 'signalForever')) {
    expectError(outcome, TaskTimeoutError);
    return 'timed out';
  }
  switch (b.kind) {
    case 'return':
    case 'spin':
    case 'defer':
      expect(outcome, `run ${JSON.stringify(planned)}`).to.deep.equal({ ok: true, value: b.value });
      return b.kind === 'defer' && b.polls > 0 ? 'deferred, resumed, returned' : `${b.kind}, returned`;
    case 'throw':
    case 'deferTimeout':
    case 'conditionThrows':
      expectError(outcome, TaskFailedError);
      return `${b.kind}, failed`;
    case 'exit':
      expectError(outcome, WorkerDiedError);
      return 'killed its thread';
    case 'waitFor':
      if (b.rejects) {
        expectError(outcome, TaskFailedError);
        return `waitFor (${String(b.ticks)} ticks), rejected`;
      }
      expect(outcome, `run ${JSON.stringify(planned)}`).to.deep.equal({ ok: true, value: b.value });
      return `waitFor (${String(b.ticks)} ticks), returned`;
    case 'signal':
      expect(outcome, `run ${JSON.stringify(planned)}`).to.deep.equal({ ok: true, value: b.value });
      return `signalled ${b.when}, returned`;
    case 'signalTimeout':
      expectError(outcome, TaskFailedError);
      return 'signal wait timed out, failed';
    case 'deferForever':
    case 'signalForever':
      throw new Error('a run that waits for ever is always cancelled');
  }
}

function expectError(outcome: Outcome, type: new (...args: never[]) => Error): void {
  expect(outcome.ok, `expected a ${type.name}`).to.equal(false);
  if (!outcome.ok) expect(outcome.error).to.be.instanceOf(type);
}

/**
 * Runs `program` on `executor` (configured as `program.config`, idle) and checks every
 * invariant; throws on the first one broken. Adds what it exercised to `coverage`.
 */
export async function runProgram(executor: Executor, program: Program, coverage: Coverage): Promise<void> {
  const before = executor.metrics();
  const limit = before.maxConcurrentTasks;
  const ids = program.runs.map((_, i) => `p${String(i)}-${Math.random().toString(36).slice(2)}`);
  const index = new Map(ids.map((id, i) => [id, i]));
  const controllers = program.runs.map(() => new AbortController());
  const abortAt = (id: string, point: string): void => {
    const i = index.get(id);
    const cancel = i === undefined ? undefined : program.runs[i]?.cancel;
    if (i !== undefined && cancel?.kind === 'abort' && cancel.at === point) controllers[i]?.abort(new Error(point));
  };

  // The event stream: active runs counted from it, and from the metrics, at every event.
  const active = new Set<string>();
  const parked = new Set<string>();
  const started = new Set<string>();
  const ends = new Map<string, number>();
  let deferrals = 0;
  let failures = 0;
  let peak = 0;
  const check = (): void => {
    peak = Math.max(peak, active.size);
    let slots = 0;
    const units = new Map<string, number>();
    const hold = (unit: string): void => void units.set(unit, (units.get(unit) ?? 0) + 1);
    for (const id of [...active, ...parked]) {
      const planned = program.runs[index.get(id) ?? -1];
      if (planned === undefined) continue;
      const needs = NEEDS[planned.variant];
      const isActive = active.has(id);
      if (isActive) slots += needs.slots;
      for (const name of needs.limits) if (isActive || name === 'b') hold(name); // b: includeDeferred
      if (needs.perKey !== null && planned.key !== null && (isActive || needs.perKey === 'keep')) {
        hold(`${planned.variant}/${planned.key}`);
      }
    }
    expect(slots, 'slots in use, from events').to.be.at.most(limit);
    expect(executor.metrics().slotsInUse, 'slots in use, from metrics').to.be.at.most(limit);
    for (const [unit, held] of units) {
      const max = unit === 'a' ? 1 : unit === 'b' ? PROGRAM_LIMITS.b.max : 1;
      expect(held, `units of ${unit} held, from events`).to.be.at.most(max);
    }
  };
  const mine = (id: string): boolean => index.has(id);
  const listeners = {
    taskStarted: (e: { executionId: string }) => {
      if (!mine(e.executionId)) return;
      started.add(e.executionId);
      active.add(e.executionId);
      check();
      abortAt(e.executionId, 'active');
    },
    taskDeferred: (e: { executionId: string }) => {
      if (!mine(e.executionId)) return;
      deferrals += 1;
      active.delete(e.executionId);
      parked.add(e.executionId);
      check();
      abortAt(e.executionId, 'deferred');
    },
    taskReclaiming: (e: { executionId: string }) => {
      if (mine(e.executionId)) abortAt(e.executionId, 'reclaiming');
    },
    taskAwaitingSignal: (e: { executionId: string }) => {
      const i = index.get(e.executionId);
      const b = i === undefined ? undefined : program.runs[i]?.behaviour;
      if (b?.kind === 'signal' && b.when === 'waiting') executor.signal(e.executionId, 'go', b.value);
    },
    taskResumed: (e: { executionId: string }) => {
      if (!mine(e.executionId)) return;
      parked.delete(e.executionId);
      active.add(e.executionId);
      check();
    },
    taskCompleted: (e: { executionId: string }) => {
      if (!mine(e.executionId)) return;
      active.delete(e.executionId);
      parked.delete(e.executionId);
      ends.set(e.executionId, (ends.get(e.executionId) ?? 0) + 1);
      check();
    },
    taskFailed: (e: { executionId: string }) => {
      if (!mine(e.executionId)) return;
      failures += 1;
      active.delete(e.executionId);
      parked.delete(e.executionId);
      ends.set(e.executionId, (ends.get(e.executionId) ?? 0) + 1);
      check();
    },
  };
  for (const [event, listener] of Object.entries(listeners)) executor.on(event as 'taskStarted', listener);
  try {
    const settled = program.runs.map((planned, i) => {
      const options = {
        executionId: ids[i] ?? '',
        signal: controllers[i]?.signal ?? new AbortController().signal,
        priority: planned.priority,
        ...(planned.cancel.kind === 'timeout' ? { timeoutMs: planned.cancel.ms } : {}),
      };
      const promise = executor.run(variants[planned.variant], { ...planned.behaviour, key: planned.key }, options);
      const b = planned.behaviour;
      const refused = NEEDS[planned.variant].slots > limit;
      if (b.kind === 'signal' && b.when === 'before' && !refused)
        expect(executor.signal(options.executionId, 'go', b.value)).to.equal(true);
      if (planned.cancel.kind === 'abort' && planned.cancel.at === 'queued') controllers[i]?.abort(new Error('queued'));
      return promise.then(
        (value): Outcome => ({ ok: true, value }),
        (error: unknown): Outcome => ({ ok: false, error }),
      );
    });
    const outcomes = await Promise.all(settled);
    // A run's promise can settle (cancelled) before its thread lets go of its slot: the end
    // event says when it has. Every run that started ends exactly once.
    await allEnded(executor, started, ends);

    const threadDied = program.runs.some((r) => r.behaviour.kind === 'exit');
    program.runs.forEach((planned, i) => {
      const what = expectOutcome(planned, outcomes[i] as Outcome, threadDied, limit);
      coverage.set(what, (coverage.get(what) ?? 0) + 1);
    });
    for (const id of started) expect(ends.get(id), `end events of ${id}`).to.equal(1);
    for (const [id, count] of ends) expect(started.has(id) && count === 1, `end events of ${id}`).to.equal(true);

    const after = executor.metrics();
    expect(after.availableSlots, 'slots leaked').to.equal(limit);
    expect([after.activeTasks, after.deferredTasks, after.reclaimingTasks, after.queuedTasks]).to.deep.equal([
      0, 0, 0, 0,
    ]);
    for (const [name, usage] of Object.entries(after.limits)) {
      expect([usage.held, usage.deferredHolders, usage.reclaiming, usage.queued], `limit ${name}`).to.deep.equal([
        0, 0, 0, 0,
      ]);
    }
    expect(after.keys, 'keys still counted').to.deep.equal([]);
    expect(after.totalExecuted - before.totalExecuted, 'totalExecuted').to.equal(started.size);
    expect(after.totalFailed - before.totalFailed, 'totalFailed').to.equal(failures);
    expect(after.totalDeferrals - before.totalDeferrals, 'totalDeferrals').to.equal(deferrals);
    coverage.set(
      `peak ${String(peak)} of ${String(limit)} slots`,
      (coverage.get(`peak ${String(peak)} of ${String(limit)} slots`) ?? 0) + 1,
    );
  } finally {
    for (const [event, listener] of Object.entries(listeners)) executor.off(event as 'taskStarted', listener);
  }
}

/** Resolves once every started run has its end event (events, not time: no sleeping). */
function allEnded(executor: Executor, started: ReadonlySet<string>, ends: ReadonlyMap<string, number>): Promise<void> {
  const done = (): boolean => [...started].every((id) => ends.has(id));
  if (done()) return Promise.resolve();
  return new Promise((resolve) => {
    const onEnd = (): void => {
      // Listeners registered before this one have counted the end already.
      if (!done()) return;
      executor.off('taskCompleted', onEnd);
      executor.off('taskFailed', onEnd);
      resolve();
    };
    executor.on('taskCompleted', onEnd);
    executor.on('taskFailed', onEnd);
  });
}
