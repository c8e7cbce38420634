import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { expect } from 'chai';
import { ErrorCode, Runner, RunnerClosedError, WorkflowNotFoundError, type RunnerOptions } from '../src/index.js';
import { rejection } from './helpers.js';
import { backends, dropSchema, freshSchema } from './db.js';
import {
  deferredPipeline,
  fiveDeferrals,
  flakyWorkflow,
  mergeWorkflow,
  notStorableWorkflow,
  permanentWorkflow,
  refusedOutputWorkflow,
  timeoutWorkflow,
} from './fixtures/runner-tasks.js';

for (const backend of await backends()) {
  describe(`Runner workflows (${backend.name})`, function () {
    let runner: Runner | null = null;
    let schema = '';
    let dir = '';

    function createRunner(options: RunnerOptions = {}): Runner {
      schema = freshSchema('wf');
      runner = new Runner({ database: backend.knex(), schema, threads: 2, maxConcurrentTasks: 2, ...options });
      return runner;
    }

    function files(): { flagFile: string; counterFile: string } {
      return { flagFile: joinPath(dir, 'flag'), counterFile: joinPath(dir, 'counter') };
    }

    beforeEach(() => {
      dir = mkdtempSync(joinPath(tmpdir(), 'slotwise-'));
    });

    afterEach(async function () {
      await runner?.close();
      runner = null;
      rmSync(dir, { recursive: true, force: true });
      await dropSchema(backend.knex(), schema, this.currentTest?.state === 'passed');
    });

    it('runs a deferred task, then its dependent, both Completed, observed Deferred while it waits', async () => {
      const r = createRunner();
      const deferred = new Promise<string>((resolve) =>
        r.on('taskSubStatus', (e) => e.subStatus === 'Deferred' && resolve(e.workflowExecutionId)),
      );
      const id = await r.start(deferredPipeline, files());
      expect(await deferred).to.equal(id);
      const waiting = await r.status(id);
      expect(waiting.status).to.equal('Running');
      expect(waiting.tasks.find((t) => t.taskId === 'wait_for_data')).to.include({
        status: 'Running',
        subStatus: 'Deferred',
      });
      expect(waiting.tasks.find((t) => t.taskId === 'process_data')).to.include({ status: 'NotStarted' });
      writeFileSync(files().flagFile, 'payload');
      const result = await r.wait(id);
      expect(result.status).to.equal('Completed');
      expect(result.tasks.map((t) => [t.taskId, t.status, t.subStatus])).to.deep.equal([
        ['wait_for_data', 'Completed', null],
        ['process_data', 'Completed', null],
      ]);
      expect(result.output).to.deep.include({ data: 'payload', processed: 'PAYLOAD' });
      expect(result.tasks[0]?.deferrals).to.equal(1);
      // Every transition left an event row, in order.
      const { rows: events } = await backend.knex().raw<{ rows: { event_type: string; task_id: string | null }[] }>(
        `SELECT e.event_type, t.task_id FROM ??.execution_events e
         LEFT JOIN ??.task_executions t ON t.id = e.task_execution_id
         WHERE e.workflow_execution_id = ? ORDER BY e.id`,
        [schema, schema, id],
      );
      const of = (taskId: string | null): string[] =>
        events.filter((e) => e.task_id === taskId).map((e) => e.event_type);
      expect(of('wait_for_data')).to.deep.equal([
        'task_ready',
        'task_started',
        'task_deferred',
        'task_resumed',
        'task_completed',
      ]);
      expect(of('process_data')).to.deep.equal(['task_ready', 'task_started', 'task_completed']);
      expect(of(null)).to.deep.equal(['workflow_started', 'workflow_completed']);
    });

    it('records five deferrals: Running/Deferred while waiting, Completed with the sub-state cleared', async () => {
      const r = createRunner();
      let deferredSeen = 0;
      r.on('taskSubStatus', (e) => {
        if (e.subStatus === 'Deferred') deferredSeen += 1;
      });
      const id = await r.start(fiveDeferrals, {});
      await new Promise<void>((resolve) => r.on('taskSubStatus', (e) => e.subStatus === 'Deferred' && resolve()));
      expect((await r.status(id)).tasks[0]).to.include({ status: 'Running', subStatus: 'Deferred' });
      const result = await r.wait(id);
      expect(result.tasks[0]).to.include({ status: 'Completed', subStatus: null, deferrals: 5 });
      expect(result.tasks[0]?.deferredMs).to.be.greaterThan(0);
      expect(deferredSeen).to.equal(5);
    });

    it('retries a transient error twice, then succeeds: exactly three attempts on one row', async () => {
      const r = createRunner();
      const result = await r.execute(flakyWorkflow, files());
      expect(result.status).to.equal('Completed');
      expect(result.tasks).to.have.length(1);
      expect(result.tasks[0]).to.include({ status: 'Completed', attempts: 3 });
      expect(readFileSync(files().counterFile, 'utf8')).to.equal('xxx');
      expect(result.output).to.deep.include({ attempts: 3 });
    });

    it('does not retry an error its predicate refuses; dependents are Skipped, an `always` task runs', async () => {
      const r = createRunner();
      const result = await r.execute(permanentWorkflow, files());
      expect(result.status).to.equal('Failed');
      expect(result.error).to.include({ code: ErrorCode.WorkflowFailed, name: 'WorkflowFailedError' });
      const byId = Object.fromEntries(result.tasks.map((t) => [t.taskId, t]));
      expect(byId.permanent).to.include({ status: 'Failed', attempts: 1 });
      expect(byId.permanent?.error?.message).to.contain('the input is wrong');
      expect(byId.after_permanent?.status).to.equal('Skipped');
      expect(byId.after_after?.status).to.equal('Skipped');
      expect(byId.cleanup?.status).to.equal('Completed');
      expect(readFileSync(files().counterFile, 'utf8')).to.equal('x');
    });

    it('fails a task past its timeout, and its workflow', async () => {
      const r = createRunner();
      const result = await r.execute(timeoutWorkflow, {});
      expect(result.status).to.equal('Failed');
      expect(result.tasks[0]).to.include({ status: 'Failed', attempts: 1 });
      expect(result.tasks[0]?.error?.code).to.equal('SLOTWISE_TASK_TIMEOUT');
    });

    it('merges context: input, then dependencies in declaration order, the last one winning a shared key', async () => {
      const r = createRunner();
      const result = await r.execute(mergeWorkflow, { shared: 'from input', input: true });
      const joined = result.tasks.find((t) => t.taskId === 'join');
      expect(joined?.status).to.equal('Completed');
      expect(result.output?.seen).to.deep.equal({ shared: 'from right', input: true, left: 1, right: 2 });
    });

    it('fails, without retrying, a task whose output JSON cannot store, naming the key', async () => {
      const r = createRunner();
      const result = await r.execute(notStorableWorkflow, {});
      expect(result.status).to.equal('Failed');
      expect(result.tasks[0]).to.include({ status: 'Failed', attempts: 1 });
      expect(result.tasks[0]?.error?.code).to.equal(ErrorCode.ContextNotStorable);
      expect(result.tasks[0]?.error?.message).to.contain('output.when');
    });

    it('records as a failure an output the database refuses, without sinking its batch', async () => {
      const r = createRunner();
      const result = await r.execute(refusedOutputWorkflow, {});
      expect(result.status).to.equal('Failed');
      const [refused, fine] = result.tasks;
      expect(refused).to.include({ taskId: 'lone_surrogate', status: 'Failed', attempts: 1 });
      expect(refused?.error?.code).to.equal(ErrorCode.OutcomeRefused);
      expect(refused?.error?.message).to.match(
        /^The database refused to store the outcome of task `lone_surrogate`: .*surrogate/i,
      );
      expect(fine).to.include({ taskId: 'fine', status: 'Completed' });
    });

    it('reports an unknown execution id and refuses new work once closed', async () => {
      const r = createRunner();
      await rejection(
        r.status('01a209e0-0000-7000-8000-000000000000'),
        WorkflowNotFoundError,
        ErrorCode.WorkflowNotFound,
      );
      await r.close();
      await rejection(r.start(mergeWorkflow, {}), RunnerClosedError, ErrorCode.RunnerClosed);
    });
  });
}

describe('Runner on its default embedded database', () => {
  it('runs a workflow with no database configured (PGlite in memory)', async () => {
    const runner = new Runner({ threads: 1 });
    try {
      const result = await runner.execute(mergeWorkflow, { input: true });
      expect(result.status).to.equal('Completed');
      expect(result.output).to.deep.include({ shared: 'from right', left: 1, right: 2 });
    } finally {
      await runner.close();
    }
  });
});
