// Listing executions (keyset pages, filters) and pruning finished ones (by hand and by the
// `retention` option), on both backends.
import { expect } from 'chai';
import { ErrorCode, InvalidArgumentError, Runner, type RunnerOptions } from '../src/index.js';
import { backends, dropSchema, freshSchema } from './db.js';
import { rejection, until } from './helpers.js';
import { gateWorkflow, quickWorkflow, stubbornWorkflow } from './fixtures/control-tasks.js';

for (const backend of await backends()) {
  describe(`runner.list and runner.prune (${backend.name})`, function () {
    const runners: Runner[] = [];
    let schema = '';

    function createRunner(options: RunnerOptions = {}): Runner {
      const runner = new Runner({ database: backend.knex(), schema, threads: 1, maxConcurrentTasks: 2, ...options });
      runners.push(runner);
      return runner;
    }

    async function count(table: string): Promise<number> {
      const rows: { n: string | number }[] = await backend.knex().withSchema(schema).table(table).count({ n: '*' });
      return Number(rows[0]?.n);
    }

    beforeEach(() => {
      schema = freshSchema('hist');
    });

    afterEach(async function () {
      for (const runner of runners.splice(0)) await runner.close();
      await dropSchema(backend.knex(), schema, this.currentTest?.state === 'passed');
    });

    it('lists newest first in keyset pages, with filters, every execution once', async () => {
      const runner = createRunner();
      const ids: string[] = [];
      for (let i = 0; i < 4; i += 1) ids.push(await runner.start(quickWorkflow, { n: i }));
      ids.push(...(await Promise.all([1, 2, 3].map(() => runner.start(gateWorkflow, {})))));
      for (const id of ids.slice(0, 4)) await runner.wait(id);
      const newest: { id: string }[] = await backend
        .knex()
        .withSchema(schema)
        .table('workflow_executions')
        .orderBy([
          { column: 'created_at', order: 'desc' },
          { column: 'id', order: 'desc' },
        ])
        .select('id');
      const seen: string[] = [];
      let after: string | undefined;
      for (let page = 0; page < 10; page += 1) {
        const result = await runner.list({ limit: 3, ...(after === undefined ? {} : { after }) });
        seen.push(...result.executions.map((e) => e.id));
        if (result.next === null) break;
        after = result.next;
      }
      expect(seen).to.deep.equal(newest.map((r) => r.id));
      const quick = await runner.list({ workflow: 'quick' });
      expect(quick.executions.map((e) => e.id).sort()).to.deep.equal(ids.slice(0, 4).sort());
      expect(quick.executions.every((e) => e.status === 'Completed' && e.completedAt !== null)).to.equal(true);
      const running = await runner.list({ status: 'Running', workflow: 'gate' });
      expect(running.executions).to.have.length(3);
      expect(running.next).to.equal(null);
      for (const bad of [
        { limit: 0 },
        { limit: 1001 },
        { status: 'Nope' },
        { after: 'bm90IGEgY3Vyc29y' },
        { after: 3 },
      ]) {
        await rejection(runner.list(bad as never), InvalidArgumentError, ErrorCode.InvalidArgument);
      }
      for (const id of ids.slice(4)) await runner.cancel(id);
    });

    it('prunes finished executions with their tasks and events; running ones stay', async () => {
      const runner = createRunner();
      const done = await Promise.all([1, 2, 3].map((n) => runner.execute(quickWorkflow, { n })));
      const cancelled = await runner.start(quickWorkflow, {});
      await runner.cancel(cancelled);
      const running = await runner.start(stubbornWorkflow, {});
      await until(async () => (await runner.status(running)).tasks[0]?.status === 'Running');
      expect(await runner.prune({ olderThanMs: 60_000 })).to.equal(0); // none ended a minute ago
      expect(await runner.prune({ olderThanMs: 0, status: 'Cancelled' })).to.equal(1);
      expect(await runner.prune({ olderThanMs: 0 })).to.equal(done.length);
      expect(await count('workflow_executions')).to.equal(1);
      expect((await runner.status(running)).tasks.map((t) => t.status)).to.deep.equal(['Running', 'NotStarted']);
      const tasks: { workflow_execution_id: string }[] = await backend
        .knex()
        .withSchema(schema)
        .table('task_executions')
        .select('workflow_execution_id');
      expect(new Set(tasks.map((t) => t.workflow_execution_id))).to.deep.equal(new Set([running]));
      const events: { workflow_execution_id: string }[] = await backend
        .knex()
        .withSchema(schema)
        .table('execution_events')
        .select('workflow_execution_id');
      expect(new Set(events.map((t) => t.workflow_execution_id))).to.deep.equal(new Set([running]));
      for (const bad of [
        { olderThanMs: -1 },
        { olderThanMs: 0, status: 'Running' },
        {},
        { olderThanMs: 0, status: [] },
      ]) {
        await rejection(runner.prune(bad as never), InvalidArgumentError, ErrorCode.InvalidArgument);
      }
      await runner.cancel(running);
    });

    it('the retention option prunes by itself, and refuses a bad shape', async () => {
      const runner = createRunner({ retention: { olderThanMs: 0, intervalMs: 20 } });
      await runner.execute(quickWorkflow, { n: 1 });
      await until(async () => (await count('workflow_executions')) === 0);
      expect(() => new Runner({ schema, retention: { olderThanMs: -5 } })).to.throw(
        InvalidArgumentError,
        'olderThanMs',
      );
      expect(() => new Runner({ schema, retention: { olderThanMs: 1, intervalMs: 0 } })).to.throw(
        InvalidArgumentError,
        'retention.intervalMs',
      );
    });
  });
}
