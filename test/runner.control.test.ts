// Operating workflow executions: cancel (queued, running, deferred, waiting for a signal,
// retrying, held by another process), pause and resume (here and across processes), and
// idempotent starts (two processes racing one key).
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import {
  ErrorCode,
  InvalidArgumentError,
  Runner,
  type RunnerOptions,
  WorkflowCancelledError,
  WorkflowEndedError,
  WorkflowNotFoundError,
} from '../src/index.js';
import { TEST_DATABASE_URL, backends, dropSchema, freshSchema } from './db.js';
import { rejection, until } from './helpers.js';
import { ChildRunner } from './support/child-runner.js';
import { gateWorkflow, quickWorkflow, stubbornWorkflow, waitsWorkflow } from './fixtures/control-tasks.js';

const childScript = fileURLToPath(new URL('./fixtures/control-child.js', import.meta.url));

for (const backend of await backends()) {
  describe(`runner control (${backend.name})`, function () {
    const runners: Runner[] = [];
    let schema = '';

    function createRunner(options: RunnerOptions = {}): Runner {
      const runner = new Runner({ database: backend.knex(), schema, threads: 1, maxConcurrentTasks: 3, ...options });
      runners.push(runner);
      return runner;
    }

    beforeEach(() => {
      schema = freshSchema('ctl');
    });

    afterEach(async function () {
      for (const runner of runners.splice(0)) await runner.close();
      await dropSchema(backend.knex(), schema, this.currentTest?.state === 'passed');
    });

    async function rowCount(table: string): Promise<number> {
      const rows: { n: string | number }[] = await backend.knex().withSchema(schema).table(table).count({ n: '*' });
      return Number(rows[0]?.n);
    }

    /** The task rows of an execution: status, output, error code. */
    async function taskRows(id: string): Promise<Map<string, { status: string; output: unknown; code: unknown }>> {
      const rows: { task_id: string; status: string; output: unknown; error: { code?: unknown } | null }[] =
        await backend
          .knex()
          .withSchema(schema)
          .table('task_executions')
          .where({ workflow_execution_id: id })
          .select('task_id', 'status', 'output', 'error');
      return new Map(rows.map((r) => [r.task_id, { status: r.status, output: r.output, code: r.error?.code ?? null }]));
    }

    it('cancels a running task: its run is aborted, its output never lands, `always` does not run, the slot comes back', async () => {
      const runner = createRunner();
      const id = await runner.start(stubbornWorkflow, {});
      await until(async () => (await runner.status(id)).tasks.some((t) => t.status === 'Running'));
      const waited = runner.wait(id);
      const { cancelled, result } = await runner.cancel(id, { reason: 'started by mistake' });
      expect(cancelled).to.equal(true);
      expect(result.status).to.equal('Cancelled');
      expect(result.error).to.include({ code: ErrorCode.WorkflowCancelled });
      expect(result.error?.message).to.include('started by mistake');
      expect((await waited).status).to.equal('Cancelled');
      await until(() => runner.executor.metrics().availableSlots === 3);
      const tasks = await taskRows(id);
      expect(tasks.get('stubborn')).to.deep.equal({
        status: 'Cancelled',
        output: null,
        code: ErrorCode.WorkflowCancelled,
      });
      expect(tasks.get('cleanup')?.status).to.equal('Skipped');
      // Cancelling again is a no-op that says so.
      const again = await runner.cancel(id);
      expect(again.cancelled).to.equal(false);
      expect(again.result.status).to.equal('Cancelled');
    });

    it('cancels deferred (deferUntil, waitFor), signal-waiting and retrying tasks; every slot back, nothing they return lands', async () => {
      const runner = createRunner();
      const id = await runner.start(waitsWorkflow, {});
      await until(async () => {
        const tasks = await taskRows(id);
        return (
          tasks.get('parked')?.status === 'Running' &&
          tasks.get('unsignalled')?.status === 'Running' &&
          tasks.get('promised')?.status === 'Running' &&
          runner.executor.metrics().deferredTasks === 3 &&
          // Ready after its first attempt failed (its retry a minute away), not before its first claim.
          (await runner.status(id)).tasks.some((t) => t.taskId === 'flaky' && t.status === 'Ready' && t.attempts === 1)
        );
      });
      const { result } = await runner.cancel(id);
      expect(result.status).to.equal('Cancelled');
      expect(result.error?.message).to.equal(new WorkflowCancelledError(id, null).message);
      const tasks = await taskRows(id);
      expect(tasks.get('parked')).to.include({ status: 'Cancelled', output: null });
      expect(tasks.get('unsignalled')).to.include({ status: 'Cancelled', output: null });
      expect(tasks.get('promised')).to.include({ status: 'Cancelled', output: null });
      expect(tasks.get('flaky')?.status).to.equal('Skipped');
      await until(() => {
        const m = runner.executor.metrics();
        return m.availableSlots === 3 && m.deferredTasks === 0 && m.activeTasks === 0;
      });
      expect(await rowCount('signal_waits')).to.equal(0);
    });

    it('cancels queued tasks: they are Skipped and never run', async () => {
      const runner = createRunner({ maxConcurrentTasks: 1 });
      const first = await runner.start(stubbornWorkflow, {});
      await until(async () => (await runner.status(first)).tasks.some((t) => t.status === 'Running'));
      const queued = await runner.start(quickWorkflow, { n: 1 });
      expect((await runner.cancel(queued)).result.tasks.map((t) => t.status)).to.deep.equal(['Skipped']);
      await runner.cancel(first);
      await until(() => runner.executor.metrics().availableSlots === 1);
      expect((await runner.status(queued)).tasks[0]?.attempts).to.equal(0);
    });

    it('refuses unknown ids and bad options with typed errors', async () => {
      const runner = createRunner();
      await rejection(
        runner.cancel('00000000-0000-7000-8000-000000000000'),
        WorkflowNotFoundError,
        ErrorCode.WorkflowNotFound,
      );
      await rejection(runner.cancel('not-a-uuid'), WorkflowNotFoundError, ErrorCode.WorkflowNotFound);
      await rejection(
        runner.pause('00000000-0000-7000-8000-000000000000'),
        WorkflowNotFoundError,
        ErrorCode.WorkflowNotFound,
      );
      await rejection(runner.resume(''), InvalidArgumentError, ErrorCode.InvalidArgument);
      const id = await runner.start(quickWorkflow, {});
      await rejection(
        runner.cancel(id, { reason: 42 as unknown as string }),
        InvalidArgumentError,
        ErrorCode.InvalidArgument,
      );
      await rejection(runner.cancel(id, { why: 'x' } as never), InvalidArgumentError, ErrorCode.InvalidArgument);
      await runner.wait(id);
      const ended = await rejection(runner.pause(id), WorkflowEndedError, ErrorCode.WorkflowEnded);
      expect(ended.message).to.include('Completed').and.include('cannot be paused');
      for (const key of ['', 'x'.repeat(257), 'a\0b', 7]) {
        await rejection(
          runner.start(quickWorkflow, {}, { idempotencyKey: key as string }),
          InvalidArgumentError,
          ErrorCode.InvalidArgument,
        );
      }
    });

    it('pauses: a task that would be Ready waits as Paused while running ones finish; resume goes on', async () => {
      const runner = createRunner();
      const id = await runner.start(gateWorkflow, {});
      await until(async () => (await taskRows(id)).get('gate')?.status === 'Running');
      const paused = await runner.pause(id);
      expect(paused.paused).to.equal(true);
      expect((await runner.pause(id)).paused).to.equal(true); // twice: no change
      await runner.signal(id, 'go', 'now');
      await until(async () => (await taskRows(id)).get('gate')?.status === 'Completed');
      const held = await runner.status(id);
      expect(held.status).to.equal('Running');
      expect(held.tasks.find((t) => t.taskId === 'after_gate')?.status).to.equal('Paused');
      const resumed = await runner.resume(id);
      expect(resumed.paused).to.equal(false);
      const result = await runner.wait(id);
      expect(result.status).to.equal('Completed');
      expect(result.output).to.include({ after: 'now' });
    });

    it('a start with an idempotency key runs once; the second start returns the first id', async () => {
      const runner = createRunner();
      const first = await runner.start(quickWorkflow, { n: 2 }, { idempotencyKey: 'order-17' });
      const [second, third] = await Promise.all([
        runner.start(quickWorkflow, { n: 3 }, { idempotencyKey: 'order-17' }),
        runner.start(quickWorkflow, { n: 4 }, { idempotencyKey: 'order-17' }),
      ]);
      expect([second, third]).to.deep.equal([first, first]);
      expect((await runner.wait(first)).output).to.include({ doubled: 4 });
      expect(await runner.start(quickWorkflow, {}, { idempotencyKey: 'order-17' })).to.equal(first);
      const other = await runner.start(quickWorkflow, {}, { idempotencyKey: 'order-18' });
      expect(other).to.not.equal(first);
      expect(await rowCount('workflow_executions')).to.equal(2);
    });
  });
}

const postgres = (await backends()).find((b) => b.name === 'postgres');
if (postgres !== undefined) {
  describe('runner control across processes (postgres)', function () {
    this.timeout(60_000);
    let schema = '';
    let child: ChildRunner | undefined;
    let runner: Runner | undefined;

    beforeEach(async () => {
      schema = freshSchema('ctlx');
      child = new ChildRunner('control', childScript, [TEST_DATABASE_URL, schema]);
      await child.line((l) => l === 'ready');
      // A runner that knows no workflow: it claims nothing, and operates the child's executions.
      runner = new Runner({ database: postgres.knex(), schema, threads: 1, maxConcurrentTasks: 1 });
      await runner.ready();
    });

    afterEach(async function () {
      await child?.kill();
      await runner?.close();
      await dropSchema(postgres.knex(), schema, this.currentTest?.state === 'passed');
    });

    it('cancels a task another process holds: the holder aborts it, gives its slot back, and its wait sees Cancelled', async () => {
      const c = child as ChildRunner;
      c.send('stubborn');
      const id = (await c.line((l) => l.startsWith('started '))).slice('started '.length);
      await c.line((l) => l === 'running');
      const { cancelled, result } = await (runner as Runner).cancel(id, { reason: 'from the other process' });
      expect(cancelled).to.equal(true);
      expect(result.status).to.equal('Cancelled');
      expect(await c.line((l) => l.startsWith('ended '))).to.equal('ended 2');
      expect(await c.line((l) => l.startsWith('result '))).to.equal('result Cancelled');
      const rows: { task_id: string; status: string; output: unknown }[] = await postgres
        .knex()
        .withSchema(schema)
        .table('task_executions')
        .where({ workflow_execution_id: id })
        .select('task_id', 'status', 'output');
      expect(rows.find((r) => r.task_id === 'stubborn')).to.include({ status: 'Cancelled', output: null });
    });

    it('pause here, resume from the other process: the held task runs there', async () => {
      const c = child as ChildRunner;
      const operator = runner as Runner;
      const id = await operator.start(gateWorkflow, {}); // either runner may claim it
      await until(async () => (await operator.status(id)).tasks[0]?.status === 'Running');
      await operator.pause(id);
      await operator.signal(id, 'go', 'later');
      await until(async () => (await operator.status(id)).tasks[1]?.status === 'Paused');
      c.send(`resume ${id}`);
      await c.line((l) => l === 'resumed');
      const result = await operator.wait(id);
      expect(result.status).to.equal('Completed');
      expect(result.paused).to.equal(false);
    });

    it('two processes racing 50 idempotency keys: one execution per key, both told its id', async () => {
      const c = child as ChildRunner;
      const keys = Array.from({ length: 50 }, (_, i) => `race-${String(i)}`);
      c.send('race 50');
      const here = await Promise.all(
        keys.map((key) => (runner as Runner).start(quickWorkflow, {}, { idempotencyKey: key })),
      );
      const there = JSON.parse((await c.line((l) => l.startsWith('raced '))).slice('raced '.length)) as string[];
      expect(there).to.deep.equal(here);
      const rows: { idempotency_key: string; n: string }[] = await postgres
        .knex()
        .withSchema(schema)
        .table('workflow_executions')
        .groupBy('idempotency_key')
        .select('idempotency_key')
        .count({ n: '*' });
      expect(rows).to.have.length(50);
      expect(rows.every((r) => Number(r.n) === 1)).to.equal(true);
    });
  });
}
