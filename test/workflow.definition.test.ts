// Defining workflows: the per-task workflow options (validation, defaults), and defineWorkflow's
// checks (name, empty, duplicate, unknown dependency, cycle) and stable topological order.
import { expect } from 'chai';
import { ErrorCode, InvalidArgumentError, SlotwiseError, defineTask } from '../src/index.js';
import { defineWorkflow } from '../src/workflow/define-workflow.js';
import {
  DuplicateWorkflowTaskError,
  EmptyWorkflowError,
  UnknownDependencyError,
  WorkflowCycleError,
  WorkflowErrorCode,
} from '../src/workflow/errors.js';
import { DEFAULT_TASK_WORKFLOW_OPTIONS, workflowOptionsOf } from '../src/workflow/options.js';
import { DEFAULT_RETRY_POLICY, isRetryableByDefault } from '../src/workflow/retry.js';
import { task } from './fixtures/workflow-tasks.js';
import { caught } from './helpers.js';

const ids = (tasks: readonly { id: string }[]): string[] => tasks.map((t) => t.id);

function invalid(options: unknown, argument: string, message: string): void {
  const error = caught(() => workflowOptionsOf(options), InvalidArgumentError, ErrorCode.InvalidArgument);
  expect(error.argument).to.equal(argument);
  expect(error.message).to.equal(message);
}

describe('workflow options', () => {
  it('fills every default', () => {
    for (const options of [undefined, {}, { handle: true, module: 'file:///x.js' }]) {
      const filled = workflowOptionsOf(options);
      expect(filled).to.equal(DEFAULT_TASK_WORKFLOW_OPTIONS);
    }
    expect(DEFAULT_TASK_WORKFLOW_OPTIONS).to.deep.equal({
      dependencies: [],
      trigger: 'allCompleted',
      retry: DEFAULT_RETRY_POLICY,
      timeoutMs: undefined,
    });
    expect(DEFAULT_RETRY_POLICY).to.deep.equal({
      maxAttempts: 3,
      backoff: 'exponential',
      initialDelayMs: 1000,
      maxDelayMs: 30_000,
      jitter: true,
      retryIf: isRetryableByDefault,
    });
    expect(Object.isFrozen(DEFAULT_TASK_WORKFLOW_OPTIONS)).to.equal(true);
    expect(Object.isFrozen(DEFAULT_RETRY_POLICY)).to.equal(true);
  });

  it('keeps what is set, fills the rest, and shares nothing mutable with the options', () => {
    const dependencies = ['fetch', 'parse'];
    const retryIf = (): boolean => false;
    const equals = { mode: ['fast'] };
    const filled = workflowOptionsOf({
      dependencies,
      trigger: { when: { key: 'mode', equals } },
      retry: { maxAttempts: 5, backoff: 'linear', jitter: false, retryIf },
      timeoutMs: 2500,
    });
    expect(filled).to.deep.equal({
      dependencies: ['fetch', 'parse'],
      trigger: { when: { key: 'mode', equals: { mode: ['fast'] } } },
      retry: { maxAttempts: 5, backoff: 'linear', initialDelayMs: 1000, maxDelayMs: 30_000, jitter: false, retryIf },
      timeoutMs: 2500,
    });
    dependencies.push('late');
    equals.mode.push('late');
    expect(filled.dependencies).to.deep.equal(['fetch', 'parse']);
    expect(filled.trigger).to.deep.equal({ when: { key: 'mode', equals: { mode: ['fast'] } } });
    expect(Object.isFrozen(filled)).to.equal(true);
    expect(Object.isFrozen(filled.dependencies)).to.equal(true);
    expect(Object.isFrozen(filled.retry)).to.equal(true);
  });

  it('accepts each named trigger rule and a zero delay', () => {
    for (const trigger of ['allCompleted', 'always', 'anyFailed'] as const) {
      expect(workflowOptionsOf({ trigger }).trigger).to.equal(trigger);
    }
    expect(workflowOptionsOf({ trigger: { when: { key: 'k', exists: false } } }).trigger).to.deep.equal({
      when: { key: 'k', exists: false },
    });
    expect(workflowOptionsOf({ retry: { initialDelayMs: 0, maxDelayMs: 0 } }).retry).to.include({
      initialDelayMs: 0,
      maxDelayMs: 0,
    });
  });

  it('names the option and the value given when one is wrong', () => {
    invalid(5, 'options', 'Expected `options` to be an object, got `5` (number)');
    invalid(
      { dependencies: 'a' },
      'dependencies',
      'Expected `dependencies` to be an array of task ids, got `"a"` (string)',
    );
    invalid(
      { dependencies: ['a', 'b c'] },
      'dependencies[1]',
      'Expected `dependencies[1]` to be a task id of 1-128 letters, digits and `_.:-`, got `"b c"` (string)',
    );
    invalid(
      { dependencies: ['a', 'b', 'a'] },
      'dependencies[2]',
      'Expected `dependencies[2]` to be a task id not listed before, got `"a"` (string)',
    );
    invalid({ timeoutMs: 0 }, 'timeoutMs', 'Expected `timeoutMs` to be a positive finite number, got `0` (number)');
    invalid(
      { timeoutMs: Infinity },
      'timeoutMs',
      'Expected `timeoutMs` to be a positive finite number, got `Infinity` (number)',
    );
    invalid({ timeoutMs: '5' }, 'timeoutMs', 'Expected `timeoutMs` to be a positive finite number, got `"5"` (string)');
  });

  it('names the retry option and the value given when one is wrong', () => {
    invalid({ retry: 3 }, 'retry', 'Expected `retry` to be an object of retry options, got `3` (number)');
    invalid(
      { retry: { maxAttempt: 3 } },
      'retry',
      'Expected `retry` to be an object with only maxAttempts, backoff, initialDelayMs, maxDelayMs, jitter, retryIf ' +
        '(not `maxAttempt`), got an object (Object)',
    );
    invalid(
      { retry: { maxAttempts: 0 } },
      'retry.maxAttempts',
      'Expected `retry.maxAttempts` to be a positive integer, got `0` (number)',
    );
    invalid(
      { retry: { maxAttempts: 1.5 } },
      'retry.maxAttempts',
      'Expected `retry.maxAttempts` to be a positive integer, got `1.5` (number)',
    );
    invalid(
      { retry: { backoff: 'quadratic' } },
      'retry.backoff',
      "Expected `retry.backoff` to be one of 'fixed', 'linear', 'exponential', got `\"quadratic\"` (string)",
    );
    invalid(
      { retry: { initialDelayMs: -1 } },
      'retry.initialDelayMs',
      'Expected `retry.initialDelayMs` to be a finite number >= 0, got `-1` (number)',
    );
    invalid(
      { retry: { maxDelayMs: NaN } },
      'retry.maxDelayMs',
      'Expected `retry.maxDelayMs` to be a finite number >= 0, got `NaN` (number)',
    );
    invalid(
      { retry: { jitter: 'yes' } },
      'retry.jitter',
      'Expected `retry.jitter` to be a boolean, got `"yes"` (string)',
    );
    invalid(
      { retry: { retryIf: true } },
      'retry.retryIf',
      'Expected `retry.retryIf` to be a function, got `true` (boolean)',
    );
  });

  it('names the trigger option and the value given when one is wrong', () => {
    const rule = "'allCompleted', 'always', 'anyFailed' or `{ when: { key, equals?, exists? } }`";
    invalid({ trigger: 'sometimes' }, 'trigger', `Expected \`trigger\` to be ${rule}, got \`"sometimes"\` (string)`);
    invalid({ trigger: {} }, 'trigger', `Expected \`trigger\` to be ${rule}, got an object (Object)`);
    invalid(
      { trigger: { when: { key: 'k' }, also: 1 } },
      'trigger',
      `Expected \`trigger\` to be ${rule}, got an object (Object)`,
    );
    invalid(
      { trigger: { when: 'k' } },
      'trigger.when',
      'Expected `trigger.when` to be an object `{ key, equals?, exists? }`, got `"k"` (string)',
    );
    invalid(
      { trigger: { when: { key: 'k', equal: 1 } } },
      'trigger.when',
      'Expected `trigger.when` to be an object with only key, equals, exists (not `equal`), got an object (Object)',
    );
    invalid(
      { trigger: { when: { key: '' } } },
      'trigger.when.key',
      'Expected `trigger.when.key` to be a non-empty string, got `""` (string)',
    );
    invalid(
      { trigger: { when: { key: 'k', exists: 1 } } },
      'trigger.when.exists',
      'Expected `trigger.when.exists` to be a boolean, got `1` (number)',
    );
    invalid(
      { trigger: { when: { key: 'k', equals: { at: new Date(0) } } } },
      'trigger.when.equals',
      'Expected `trigger.when.equals` to be a JSON value (`trigger.when.equals.at` is a Date (JSON would turn it into a ' +
        'string): store `date.toISOString()` instead), got an object (Object)',
    );
    invalid(
      { trigger: { when: { key: 'k', equals: 1, exists: false } } },
      'trigger.when.exists',
      'Expected `trigger.when.exists` to be true or unset when `equals` is set (it can never hold), got `false` (boolean)',
    );
  });

  it('are stored, filled, on the task definition by defineTask', () => {
    const render = task('render', { dependencies: ['fetch'], retry: { maxAttempts: 1 }, timeoutMs: 100 });
    expect(render.workflow.dependencies).to.deep.equal(['fetch']);
    expect(render.workflow.retry.maxAttempts).to.equal(1);
    expect(render.workflow.retry.backoff).to.equal('exponential');
    expect(render.workflow.timeoutMs).to.equal(100);
    expect(task('plain').workflow).to.equal(DEFAULT_TASK_WORKFLOW_OPTIONS);
    const error = caught(
      () => defineTask('bad', () => 1, { module: 'file:///virtual/bad.js', retry: { maxAttempts: 0 } }),
      InvalidArgumentError,
      ErrorCode.InvalidArgument,
    );
    expect(error.message).to.contain('`retry.maxAttempts`');
  });
});

describe('defineWorkflow', () => {
  it('returns a frozen workflow with its tasks, dependencies, dependents and roots', () => {
    const fetch = task('fetch');
    const config = task('config');
    const render = task('render', { dependencies: ['fetch', 'config'] });
    const publish = task('publish', { dependencies: ['render'] });
    const notify = task('notify', { dependencies: ['render', 'fetch'] });
    const workflow = defineWorkflow('report:v1.2_x-y', fetch, config, render, publish, notify);

    expect(workflow.name).to.equal('report:v1.2_x-y');
    expect(ids(workflow.tasks)).to.deep.equal(['fetch', 'config', 'render', 'publish', 'notify']);
    expect(workflow.roots).to.deep.equal(['fetch', 'config']);
    expect(workflow.task('render')).to.equal(render);
    expect(workflow.task('nope')).to.equal(undefined);
    expect(workflow.dependenciesOf('render')).to.deep.equal(['fetch', 'config']);
    expect(workflow.dependenciesOf('notify')).to.deep.equal(['render', 'fetch']);
    expect(workflow.dependenciesOf('fetch')).to.deep.equal([]);
    expect(workflow.dependentsOf('fetch')).to.deep.equal(['render', 'notify']);
    expect(workflow.dependentsOf('render')).to.deep.equal(['publish', 'notify']);
    expect(workflow.dependentsOf('publish')).to.deep.equal([]);

    expect(Object.isFrozen(workflow)).to.equal(true);
    expect(Object.isFrozen(workflow.tasks)).to.equal(true);
    expect(Object.isFrozen(workflow.roots)).to.equal(true);
    expect(Object.isFrozen(workflow.dependenciesOf('render'))).to.equal(true);
    expect(Object.isFrozen(workflow.dependentsOf('fetch'))).to.equal(true);
  });

  it('takes tasks whatever input and output types they declare', () => {
    const double = defineTask('double', (input: { n: number }) => input.n * 2, { module: 'file:///virtual/typed.js' });
    expect(defineWorkflow('typed', double).task('double')).to.equal(double);
  });

  it('orders tasks after their dependencies, ties in declaration order', () => {
    // Declared out of order: each task comes as soon as its dependencies are placed, and of
    // the tasks ready at once, the one declared first comes first.
    const e = task('e', { dependencies: ['c'] });
    const c = task('c', { dependencies: ['a'] });
    const d = task('d', { dependencies: ['b'] });
    const b = task('b');
    const a = task('a');
    expect(ids(defineWorkflow('w', e, c, d, b, a).tasks)).to.deep.equal(['b', 'd', 'a', 'c', 'e']);
    expect(defineWorkflow('w', e, c, d, b, a).roots).to.deep.equal(['b', 'a']);

    const x = task('x');
    const y = task('y');
    const z = task('z');
    expect(ids(defineWorkflow('w', z, x, y).tasks)).to.deep.equal(['z', 'x', 'y']);

    const report = task('report', { dependencies: ['fetchA', 'fetchB'] });
    const fetchB = task('fetchB');
    const fetchA = task('fetchA');
    expect(ids(defineWorkflow('w', report, fetchB, fetchA).tasks)).to.deep.equal(['fetchB', 'fetchA', 'report']);
  });

  it('refuses an invalid name', () => {
    const a = task('a');
    for (const name of ['', 'has space', 'x'.repeat(129), 'é', 42]) {
      const error = caught(() => defineWorkflow(name as string, a), InvalidArgumentError, ErrorCode.InvalidArgument);
      expect(error.argument).to.equal('name');
      expect(error.message).to.match(
        /^Expected `name` to be a workflow name of 1-128 letters, digits and `_.:-`, got /,
      );
    }
    expect(defineWorkflow('x'.repeat(128), a).name).to.have.length(128);
    expect(defineWorkflow('.:-', a).name).to.equal('.:-');
  });

  it('refuses an empty workflow', () => {
    const error = caught(() => defineWorkflow('nothing'), EmptyWorkflowError, WorkflowErrorCode.WorkflowEmpty);
    expect(error).to.be.instanceOf(SlotwiseError);
    expect(error.name).to.equal('EmptyWorkflowError');
    expect(error.workflowName).to.equal('nothing');
    expect(error.message).to.equal('Workflow `nothing` has no tasks: pass at least one task to defineWorkflow');
  });

  it('refuses something that is not a task', () => {
    const notTask = { id: 'a' } as unknown as ReturnType<typeof task>;
    const error = caught(
      () => defineWorkflow('w', task('a'), notTask),
      InvalidArgumentError,
      ErrorCode.InvalidArgument,
    );
    expect(error.message).to.equal('Expected `tasks[1]` to be a task from defineTask(), got an object (Object)');
  });

  it('refuses two tasks with one id', () => {
    const error = caught(
      () => defineWorkflow('w', task('a'), task('b'), task('a')),
      DuplicateWorkflowTaskError,
      WorkflowErrorCode.DuplicateTask,
    );
    expect(error).to.include({ workflowName: 'w', taskId: 'a' });
    expect(error.message).to.equal('Workflow `w` has two tasks with the id `a`: task ids must be unique in a workflow');
  });

  it('refuses a dependency that is not a task of the workflow', () => {
    const error = caught(
      () => defineWorkflow('w', task('a'), task('b', { dependencies: ['a', 'missing'] })),
      UnknownDependencyError,
      WorkflowErrorCode.UnknownDependency,
    );
    expect(error).to.include({ workflowName: 'w', taskId: 'b', dependencyId: 'missing' });
    expect(error.message).to.equal(
      'Task `b` of workflow `w` depends on `missing`, which is not a task of this workflow (it has: `a`, `b`)',
    );
  });

  it('refuses a cycle, naming its path', () => {
    const error = caught(
      () =>
        defineWorkflow(
          'w',
          task('root'),
          task('d', { dependencies: ['a'] }),
          task('a', { dependencies: ['root', 'b'] }),
          task('b', { dependencies: ['c'] }),
          task('c', { dependencies: ['a'] }),
        ),
      WorkflowCycleError,
      WorkflowErrorCode.Cycle,
    );
    expect(error.path).to.deep.equal(['a', 'b', 'c', 'a']);
    expect(error.message).to.equal(
      'Workflow `w` has a dependency cycle: a → b → c → a (each task depends on the next)',
    );
  });

  it('refuses a task that depends on itself', () => {
    const error = caught(
      () => defineWorkflow('w', task('a'), task('self', { dependencies: ['a', 'self'] })),
      WorkflowCycleError,
      WorkflowErrorCode.Cycle,
    );
    expect(error.path).to.deep.equal(['self', 'self']);
    expect(error.message).to.contain('self → self');
  });

  it('refuses an unknown id in dependenciesOf and dependentsOf', () => {
    const workflow = defineWorkflow('w', task('a'), task('b'));
    for (const query of [() => workflow.dependenciesOf('z'), () => workflow.dependentsOf('z')]) {
      const error = caught(query, InvalidArgumentError, ErrorCode.InvalidArgument);
      expect(error.message).to.equal('Expected `id` to be the id of a task of workflow `w` (a, b), got `"z"` (string)');
    }
  });
});
