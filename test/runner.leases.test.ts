import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { expect } from 'chai';
import knexModule, { type Knex } from 'knex';
import {
  EmbeddedDatabaseInUseError,
  ErrorCode,
  InvalidArgumentError,
  Runner,
  type RunnerOptions,
  type SubStatusEvent,
} from '../src/index.js';
import { Transitions } from '../src/runner/transitions.js';
import { Store } from '../src/store/store.js';
import { TEST_DATABASE_URL, backends, dropSchema, freshSchema } from './db.js';
import { caught, rejection, until } from './helpers.js';
import { deferredPipeline } from './fixtures/runner-tasks.js';
import { leaseWorkflow } from './fixtures/scale-out-tasks.js';

const all = await backends();

for (const backend of all) {
  describe(`Runner leases and shutdown (${backend.name})`, function () {
    const runners: Runner[] = [];
    let schema = '';
    let dir = '';

    function createRunner(options: RunnerOptions = {}): Runner {
      const runner = new Runner({ database: backend.knex(), schema, threads: 1, maxConcurrentTasks: 1, ...options });
      runners.push(runner);
      return runner;
    }

    beforeEach(() => {
      schema = freshSchema('lease');
      dir = mkdtempSync(joinPath(tmpdir(), 'slotwise-'));
    });

    afterEach(async function () {
      await Promise.all(runners.splice(0).map((r) => r.close()));
      rmSync(dir, { recursive: true, force: true });
      await dropSchema(backend.knex(), schema, this.currentTest?.state === 'passed');
    });

    it('close({ timeoutMs }) aborts a run past the deadline and gives its claim back to Ready', async () => {
      const runner = createRunner();
      const files = { flagFile: joinPath(dir, 'flag'), counterFile: joinPath(dir, 'counter') };
      const deferred = once(runner, 'taskSubStatus') as Promise<[SubStatusEvent]>;
      const id = await runner.start(deferredPipeline, files);
      const [event] = await deferred;
      await runner.close({ timeoutMs: 0 });

      const knex = backend.knex();
      const [row] = (await knex.withSchema(schema).table('task_executions').where({ id: event.taskExecutionId })) as {
        status: string;
        sub_status: string | null;
        claimed_by: string | null;
        attempt: number;
      }[];
      expect(row).to.include({ status: 'Ready', sub_status: null, claimed_by: null, attempt: 0 });
      const events: string[] = await knex
        .withSchema(schema)
        .table('execution_events')
        .where({ task_execution_id: event.taskExecutionId })
        .orderBy('id')
        .pluck('event_type');
      // An aborted deferral takes a slot back before it throws: whether its Active write lands
      // before the release depends on the thread's timing; after it, the write changes nothing.
      expect(events.filter((e) => e !== 'task_resumed')).to.deep.equal([
        'task_ready',
        'task_started',
        'task_deferred',
        'task_released',
      ]);
      expect(await knex.withSchema(schema).table('runners').pluck('id')).to.deep.equal([]);

      // The released task runs again, from the start, on the next runner.
      writeFileSync(files.flagFile, 'later');
      const next = createRunner({ workflows: [deferredPipeline] });
      const result = await next.wait(id);
      expect(result.status).to.equal('Completed');
      expect(result.tasks[0]).to.include({ taskId: 'wait_for_data', attempts: 1, recoveryAttempts: 0 });
    });

    it('recovers a claim the database says it holds but it runs nothing for (an end never written)', async () => {
      const runner = createRunner({ heartbeatIntervalMs: 50 });
      await runner.ready();
      const files = { flagFile: joinPath(dir, 'flag'), counterFile: joinPath(dir, 'counter') };
      writeFileSync(files.flagFile, 'ready');
      // A claim of this runner's whose run is gone: what a write that failed for good leaves.
      const transitions = new Transitions(new Store(backend.knex(), schema), { maxRecoveryAttempts: 3 });
      const [stray] = await transitions.createExecutions([{ workflow: deferredPipeline, input: files }]);
      if (stray === undefined) throw new Error('no execution created');
      await backend
        .knex()
        .withSchema(schema)
        .table('task_executions')
        .where({ workflow_execution_id: stray, status: 'Ready' })
        .update({ status: 'Running', sub_status: 'Active', claimed_by: runner.runnerId, claim_token: 7, attempt: 1 });
      // Starting a workflow registers it: the runner may run its tasks, the released one included.
      const other = await runner.start(deferredPipeline, files);
      expect((await runner.wait(other)).status).to.equal('Completed');
      const result = await runner.wait(stray);
      expect(result.status).to.equal('Completed');
      const events: string[] = await backend
        .knex()
        .withSchema(schema)
        .table('execution_events')
        .where({ workflow_execution_id: stray })
        .orderBy('id')
        .pluck('event_type');
      expect(events).to.include('task_recovered');
      expect(result.tasks[0]).to.include({ taskId: 'wait_for_data', recoveryAttempts: 1 });
    });

    it('rejects a lease no longer than the heartbeat interval, naming both', () => {
      const error = caught(
        () => new Runner({ heartbeatIntervalMs: 1000, leaseMs: 1000 }),
        InvalidArgumentError,
        ErrorCode.InvalidArgument,
      );
      expect(error.message).to.contain('`leaseMs`').and.contain('`heartbeatIntervalMs` (1000)');
    });

    if (backend.name === 'pglite') {
      it('refuses a second runner on the same embedded database and schema, with a typed error', async () => {
        const first = createRunner();
        await first.ready();
        const second = createRunner();
        const error = await rejection(second.ready(), EmbeddedDatabaseInUseError, ErrorCode.EmbeddedDatabaseInUse);
        expect(error.holder).to.deep.equal({ runnerId: first.runnerId, host: hostname(), pid: process.pid });
        expect(error.message).to.contain('PostgreSQL');
        await first.close();
        await createRunner().ready(); // the first one left: the database is free again
      });

      it('takes over an embedded database from a process that died without closing', async () => {
        const first = createRunner();
        await first.ready();
        await first.close();
        const dead = spawnSync(process.execPath, ['-e', '']).pid; // a pid that has exited
        await backend
          .knex()
          .withSchema(schema)
          .table('runners')
          .insert({
            id: 'crashed',
            host: hostname(),
            pid: dead,
            lease_expires_at: backend.knex().raw("now() + interval '1 hour'"),
          });
        await createRunner().ready();
      });
    }

    if (backend.name === 'postgres') {
      it('stops its runs when its heartbeat hangs past the lease margin, and gives the claims back after', async () => {
        const runner = createRunner({ workflows: [leaseWorkflow], heartbeatIntervalMs: 100, leaseMs: 400 });
        const files = { flagFile: joinPath(dir, 'flag'), abortedFile: joinPath(dir, 'aborted') };
        const deferred = once(runner, 'taskSubStatus') as Promise<[SubStatusEvent]>;
        await runner.start(leaseWorkflow, files);
        const [event] = await deferred;
        // Hold the runner's row lock: its heartbeats hang (as on a dead network), they do not fail.
        const blocker = knexModule.knex({ client: 'pg', connection: TEST_DATABASE_URL, pool: { min: 0, max: 1 } });
        const tx = await blocker.transaction();
        try {
          await tx.raw('SELECT 1 FROM ??.runners WHERE id = ? FOR UPDATE', [schema, runner.runnerId]);
          await until(() => Promise.resolve(existsSync(files.abortedFile)));
        } finally {
          await tx.rollback();
          await blocker.destroy();
        }
        const knex = backend.knex();
        await until(async () => {
          const events: string[] = await knex
            .withSchema(schema)
            .table('execution_events')
            .where({ task_execution_id: event.taskExecutionId })
            .pluck('event_type');
          return events.includes('task_released');
        });
        await runner.close({ timeoutMs: 0 });
      });

      it('an idle runner makes about two queries per heartbeat: the beat and one look for work', async () => {
        const knex = backend.knex();
        // A 20 ms poll would mean five looks per beat: while LISTEN works, it waits for the beat.
        const runner = createRunner({ workflows: [deferredPipeline], heartbeatIntervalMs: 100, pollIntervalMs: 20 });
        await runner.ready();
        await until(() => listening(knex, schema));
        const queries: string[] = [];
        const onQuery = (query: { sql: string }): void => void queries.push(query.sql);
        knex.on('query', onQuery);
        try {
          const beats = (): number =>
            queries.filter((sql) => sql.includes(`"${schema}".runners SET heartbeat_at`)).length;
          await until(() => Promise.resolve(beats() >= 10));
          expect(queries.length / beats()).to.be.at.most(2.5);
        } finally {
          knex.off('query', onQuery);
        }
      });

      it('an idle runner is woken by NOTIFY when another process makes its tasks Ready', async () => {
        // Neither the poll nor the heartbeat would look for work within the test's time.
        const runner = createRunner({
          workflows: [deferredPipeline],
          pollIntervalMs: 600_000,
          heartbeatIntervalMs: 600_000,
        });
        await runner.ready();
        const files = { flagFile: joinPath(dir, 'flag'), counterFile: joinPath(dir, 'counter') };
        writeFileSync(files.flagFile, 'ready');
        // Another process's scheduler: its own pool, inserting through the same transitions.
        const producer = knexModule.knex({ client: 'pg', connection: TEST_DATABASE_URL, pool: { min: 0, max: 1 } });
        try {
          // Wait for the runner's LISTEN (on connecting, it looks for work once: that must be over).
          await until(() => listening(producer, schema));
          const transitions = new Transitions(new Store(producer, schema), {
            maxRecoveryAttempts: 3,
            notifier: 'test',
          });
          const [id] = await transitions.createExecutions([{ workflow: deferredPipeline, input: files }]);
          if (id === undefined) throw new Error('no execution created');
          expect((await runner.wait(id)).status).to.equal('Completed');
        } finally {
          await producer.destroy();
        }
      });
    }
  });
}

/** Whether a runner's connection is LISTENing on the schema's channels (its last statement, now idle). */
async function listening(knex: Knex, schema: string): Promise<boolean> {
  const rows = await knex.raw<{ rows: unknown[] }>(
    `SELECT 1 FROM pg_stat_activity WHERE query = ? AND state = 'idle'`,
    [`LISTEN "slotwise_control_${schema}"`], // the last of its channels
  );
  return rows.rows.length > 0;
}

describe('embedded data directory lock', () => {
  let dir = '';

  beforeEach(() => {
    dir = mkdtempSync(joinPath(tmpdir(), 'slotwise-data-'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(`${dir}.slotwise-lock`, { force: true });
  });

  it('refuses a second runner on a data directory a live process holds, before opening it', async () => {
    const first = new Runner({ database: { embedded: true, dataDir: dir }, threads: 1 });
    try {
      await first.ready();
      const error = caught(
        () => new Runner({ database: { embedded: true, dataDir: dir }, threads: 1 }),
        EmbeddedDatabaseInUseError,
        ErrorCode.EmbeddedDatabaseInUse,
      );
      expect(error.holder).to.deep.equal({ runnerId: first.runnerId, host: hostname(), pid: process.pid });
      expect(error.message).to.contain(`data directory \`${dir}\``);
    } finally {
      await first.close();
    }
    // Closed: the lock is gone, and the next runner opens the same data.
    const next = new Runner({ database: { embedded: true, dataDir: dir }, threads: 1 });
    await next.ready();
    await next.close();
  });

  it('takes over the lock of a process that died holding it', async () => {
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    writeFileSync(`${dir}.slotwise-lock`, JSON.stringify({ runnerId: 'crashed', host: hostname(), pid: dead }));
    const runner = new Runner({ database: { embedded: true, dataDir: dir }, threads: 1 });
    await runner.ready();
    await runner.close();
  });
});
