// Retry policy (backoff sequences with a fixed random, caps, the retry decision and retryIf)
// and trigger rules (each rule against dependency outcomes, and `when` conditions).
import { expect } from 'chai';
import {
  ErrorCode,
  InvalidArgumentError,
  NoHandleError,
  TaskFailedError,
  TaskModuleImportError,
  TaskTimeoutError,
  UncloneableValueError,
  UnknownTaskError,
} from '../src/index.js';
import { ContextNotStorableError } from '../src/workflow/errors.js';
import {
  type RetryPolicy,
  DEFAULT_RETRY_POLICY,
  retryDelayMs,
  retryPolicyOf,
  shouldRetry,
} from '../src/workflow/retry.js';
import { type DependencyState, type TriggerRule, evaluateTrigger } from '../src/workflow/trigger.js';
import { caught } from './helpers.js';

const fixed = (value: number) => () => value;

function delays(policy: RetryPolicy, attempts: number, random = fixed(0)): number[] {
  return Array.from({ length: attempts }, (_, index) => retryDelayMs(policy, index + 1, random));
}

describe('retryDelayMs', () => {
  const noJitter = { initialDelayMs: 1000, maxDelayMs: 30_000, jitter: false };

  it('grows by the backoff, capped at maxDelayMs', () => {
    expect(delays(retryPolicyOf({ ...noJitter, backoff: 'fixed' }), 4)).to.deep.equal([1000, 1000, 1000, 1000]);
    expect(delays(retryPolicyOf({ ...noJitter, backoff: 'linear' }), 4)).to.deep.equal([1000, 2000, 3000, 4000]);
    expect(delays(retryPolicyOf({ ...noJitter, backoff: 'exponential' }), 7)).to.deep.equal([
      1000, 2000, 4000, 8000, 16_000, 30_000, 30_000,
    ]);
    expect(delays(retryPolicyOf({ ...noJitter, backoff: 'linear', maxDelayMs: 2500 }), 4)).to.deep.equal([
      1000, 2000, 2500, 2500,
    ]);
    expect(delays(retryPolicyOf({ ...noJitter, backoff: 'fixed', maxDelayMs: 400 }), 2)).to.deep.equal([400, 400]);
  });

  it('stays finite for huge attempts and a zero initial delay', () => {
    const exponential = retryPolicyOf({ ...noJitter });
    expect(retryDelayMs(exponential, 5000)).to.equal(30_000);
    expect(retryDelayMs(retryPolicyOf({ ...noJitter, initialDelayMs: 0 }), 5000)).to.equal(0);
  });

  it('jitters the capped delay into [50%, 100%) with the given random', () => {
    const policy = retryPolicyOf({ jitter: true }); // exponential from 1000, capped at 30,000
    expect(delays(policy, 3, fixed(0))).to.deep.equal([500, 1000, 2000]);
    expect(delays(policy, 3, fixed(0.5))).to.deep.equal([750, 1500, 3000]);
    expect(retryDelayMs(policy, 10, fixed(0.5))).to.equal(22_500);
    expect(retryDelayMs(policy, 1, fixed(0.999))).to.be.closeTo(999.5, 1e-9);
    expect(DEFAULT_RETRY_POLICY.jitter).to.equal(true);
    for (let attempt = 1; attempt <= 8; attempt++) {
      const delay = retryDelayMs(DEFAULT_RETRY_POLICY, attempt);
      const capped = Math.min(1000 * 2 ** (attempt - 1), 30_000);
      expect(delay)
        .to.be.at.least(capped / 2)
        .and.below(capped);
    }
  });

  it('refuses an attempt that is not a positive integer', () => {
    for (const attempt of [0, -1, 1.5, NaN]) {
      const error = caught(
        () => retryDelayMs(DEFAULT_RETRY_POLICY, attempt),
        InvalidArgumentError,
        ErrorCode.InvalidArgument,
      );
      expect(error.argument).to.equal('attempt');
    }
  });
});

describe('shouldRetry', () => {
  const always = retryPolicyOf({ maxAttempts: 3, retryIf: () => true });

  it('retries while attempts remain', () => {
    expect(shouldRetry(always, new Error('x'), 1)).to.equal(true);
    expect(shouldRetry(always, new Error('x'), 2)).to.equal(true);
    expect(shouldRetry(always, new Error('x'), 3)).to.equal(false);
    expect(shouldRetry(always, new Error('x'), 4)).to.equal(false);
    expect(shouldRetry(retryPolicyOf({ maxAttempts: 1 }), new Error('x'), 1)).to.equal(false);
  });

  it('asks retryIf, with the error, only while attempts remain', () => {
    const seen: Error[] = [];
    const policy = retryPolicyOf({
      maxAttempts: 2,
      retryIf: (error: Error) => {
        seen.push(error);
        return error.message === 'transient';
      },
    });
    const transient = new Error('transient');
    expect(shouldRetry(policy, transient, 1)).to.equal(true);
    expect(shouldRetry(policy, new Error('permanent'), 1)).to.equal(false);
    expect(shouldRetry(policy, transient, 2)).to.equal(false);
    expect(seen.map((e) => e.message)).to.deep.equal(['transient', 'permanent']);
    expect(seen[0]).to.equal(transient);
  });

  it('does not retry when retryIf throws or returns anything but true', () => {
    const throwing = retryPolicyOf({
      retryIf: () => {
        throw new Error('retryIf broke');
      },
    });
    expect(shouldRetry(throwing, new Error('x'), 1)).to.equal(false);
    const asynchronous = { maxAttempts: 3, retryIf: (() => Promise.resolve(true)) as unknown as () => boolean };
    expect(shouldRetry(asynchronous, new Error('x'), 1)).to.equal(false);
  });

  it('wraps a thrown non-Error in an Error, the value as its cause', () => {
    let seen: Error | undefined;
    const policy = retryPolicyOf({ retryIf: (error: Error) => ((seen = error), true) });
    expect(shouldRetry(policy, 'a string', 1)).to.equal(true);
    expect(seen).to.be.instanceOf(Error);
    expect(seen?.message).to.equal('a string');
    expect(seen?.cause).to.equal('a string');
  });

  it('by default retries everything but slotwise setup errors, looking through causes', () => {
    const setupErrors: Error[] = [
      new UnknownTaskError('t', 'file:///m.js', []),
      new TaskModuleImportError('file:///m.js', new Error('syntax')),
      new UncloneableValueError('input', 'input.fn'),
      new NoHandleError('t'),
      new InvalidArgumentError('x', 'a number', 'y'),
      new ContextNotStorableError('output.at', 'is a Date'),
      new TaskFailedError('t', 'e1', new NoHandleError('t')),
      new TaskFailedError('t', 'e1', new InvalidArgumentError('x', 'a number', 'y')),
    ];
    for (const error of setupErrors) expect(shouldRetry(DEFAULT_RETRY_POLICY, error, 1), error.message).to.equal(false);

    const cyclic = new Error('cyclic cause');
    (cyclic as { cause?: unknown }).cause = cyclic;
    const retried: Error[] = [
      new Error('plain'),
      new TaskFailedError('t', 'e1', new Error('boom')),
      new TaskTimeoutError('t', 100),
      Object.assign(new Error('coded'), { code: 'ECONNRESET' }),
      cyclic,
    ];
    for (const error of retried) expect(shouldRetry(DEFAULT_RETRY_POLICY, error, 1), error.message).to.equal(true);
  });
});

describe('evaluateTrigger', () => {
  const completed = (taskId: string, output?: unknown): DependencyState => ({ taskId, status: 'Completed', output });
  const failed = (taskId: string): DependencyState => ({ taskId, status: 'Failed' });
  const skipped = (taskId: string): DependencyState => ({ taskId, status: 'Skipped' });
  const rules: TriggerRule[] = ['allCompleted', 'always', 'anyFailed', { when: { key: 'k' } }];

  it('waits while any dependency is not terminal, whatever the rule', () => {
    for (const rule of rules) {
      for (const status of ['NotStarted', 'Ready', 'Running'] as const) {
        expect(evaluateTrigger(rule, [failed('a'), { taskId: 'b', status }], { k: 1 })).to.equal('wait');
      }
    }
  });

  it("'allCompleted' runs when all Completed, and skips on any Failed or Skipped", () => {
    expect(evaluateTrigger('allCompleted', [])).to.equal('run');
    expect(evaluateTrigger('allCompleted', [completed('a'), completed('b')])).to.equal('run');
    expect(evaluateTrigger('allCompleted', [completed('a'), failed('b')])).to.equal('skip');
    expect(evaluateTrigger('allCompleted', [skipped('a'), completed('b')])).to.equal('skip');
  });

  it("'always' runs whatever the outcomes", () => {
    expect(evaluateTrigger('always', [])).to.equal('run');
    expect(evaluateTrigger('always', [failed('a'), skipped('b'), completed('c')])).to.equal('run');
  });

  it("'anyFailed' runs when at least one Failed, and skips otherwise", () => {
    expect(evaluateTrigger('anyFailed', [completed('a'), failed('b')])).to.equal('run');
    expect(evaluateTrigger('anyFailed', [skipped('a'), completed('b')])).to.equal('skip');
    expect(evaluateTrigger('anyFailed', [])).to.equal('skip');
  });

  it('`when` runs when the condition holds on the merged context, and skips otherwise', () => {
    const input = { mode: 'full', empty: null };
    const deps = [completed('a', { report: { pages: 2, tags: ['x'] } }), completed('count', 3)];
    const decide = (when: { key: string; equals?: unknown; exists?: boolean }): string =>
      evaluateTrigger({ when } as TriggerRule, deps, input);

    expect(decide({ key: 'mode' })).to.equal('run');
    expect(decide({ key: 'mode', exists: true })).to.equal('run');
    expect(decide({ key: 'missing' })).to.equal('skip');
    expect(decide({ key: 'missing', exists: false })).to.equal('run');
    expect(decide({ key: 'mode', exists: false })).to.equal('skip');
    expect(decide({ key: 'empty' })).to.equal('run');
    expect(decide({ key: 'empty', equals: null })).to.equal('run');
    expect(decide({ key: 'mode', equals: 'full' })).to.equal('run');
    expect(decide({ key: 'mode', equals: 'quick' })).to.equal('skip');
    expect(decide({ key: 'count', equals: 3 })).to.equal('run');
    expect(decide({ key: 'count', equals: '3' })).to.equal('skip');
    expect(decide({ key: 'report', equals: { tags: ['x'], pages: 2 } })).to.equal('run');
    expect(decide({ key: 'report', equals: { tags: ['x'] } })).to.equal('skip');
    expect(decide({ key: 'report', equals: { tags: ['x', 'y'], pages: 2 } })).to.equal('skip');
    expect(decide({ key: 'missing', equals: null })).to.equal('skip');
    expect(decide({ key: 'toString' })).to.equal('skip');
  });

  it('`when` sees the last declared dependency win a conflicting key', () => {
    const rule: TriggerRule = { when: { key: 'status', equals: 'second' } };
    const first = completed('first', { status: 'first' });
    const second = completed('second', { status: 'second' });
    expect(evaluateTrigger(rule, [first, second], { status: 'input' })).to.equal('run');
    expect(evaluateTrigger(rule, [second, first], { status: 'input' })).to.equal('skip');
  });

  it('`when` needs every dependency Completed, and reads the input alone without dependencies', () => {
    const rule: TriggerRule = { when: { key: 'go', equals: true } };
    expect(evaluateTrigger(rule, [completed('a', { go: true }), failed('b')])).to.equal('skip');
    expect(evaluateTrigger(rule, [skipped('a')], { go: true })).to.equal('skip');
    expect(evaluateTrigger(rule, [], { go: true })).to.equal('run');
    expect(evaluateTrigger(rule, [])).to.equal('skip');
  });
});
