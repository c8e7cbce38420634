// Database faults, on PostgreSQL: the runner talks to it through a TCP proxy (test/support/
// fault-proxy.ts) that cuts every connection at a chosen moment (a claim, a sub-state write, a
// completion write), or keeps the database away past the runner's write deadline. The workflow
// must complete with nothing lost and nothing run twice at once; a deadline that passes must
// fail `execute` with a typed error, and leave no task stuck in Running once the database is back.
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { expect } from 'chai';
import type { Knex } from 'knex';
import { DatabaseUnavailableError, ErrorCode, Runner, type RunnerOptions, type SubStatusEvent } from '../src/index.js';
import { TEST_DATABASE_URL, backends, dropSchema, freshSchema } from './db.js';
import { rejection, until } from './helpers.js';
import { type FaultInput, contextPair, faultDiamond } from './fixtures/fault-tasks.js';
import { FaultProxy } from './support/fault-proxy.js';

const postgres = (await backends()).find((b) => b.name === 'postgres');
const TASKS = ['fault_a', 'fault_b', 'fault_c', 'fault_d'];

/** The moments a cut is aimed at, by a fragment of the statement's text. */
const MOMENTS = [
  // The claim's own `FOR UPDATE ... SKIP LOCKED` (the sweep's has no `OF t`).
  { moment: 'a claim', fragment: 'FOR UPDATE OF t SKIP LOCKED' },
  { moment: 'a sub-state write', fragment: 'SET sub_status' },
  { moment: 'a completion write', fragment: "SET status = 'Completed'" },
];

(postgres === undefined ? describe.skip : describe)('Runner through database faults (postgres)', function () {
  const knex = (): Knex => {
    if (postgres === undefined) throw new Error('no PostgreSQL');
    return postgres.knex();
  };
  const target = new URL(TEST_DATABASE_URL);
  let proxy: FaultProxy | null = null;
  let runner: Runner | null = null;
  let schema = '';
  let dir = '';

  /** The test database's URL, through the proxy. */
  function proxied(password?: string): string {
    if (proxy === null) throw new Error('no proxy');
    const url = new URL(TEST_DATABASE_URL);
    url.host = `127.0.0.1:${String(proxy.port)}`;
    if (password !== undefined) url.password = password;
    return url.href;
  }

  function faults(): FaultProxy {
    if (proxy === null) throw new Error('no proxy');
    return proxy;
  }

  function createRunner(options: RunnerOptions = {}): Runner {
    runner = new Runner({ database: proxied(), schema, threads: 2, maxConcurrentTasks: 2, ...options });
    return runner;
  }

  function input(): FaultInput {
    return { logFile: joinPath(dir, 'log'), flagFile: joinPath(dir, 'flag') };
  }

  beforeEach(async () => {
    schema = freshSchema('fault');
    dir = mkdtempSync(joinPath(tmpdir(), 'slotwise-'));
    writeFileSync(input().logFile, '');
    proxy = await FaultProxy.start({ target: { host: target.hostname, port: Number(target.port || 5432) } });
  });

  afterEach(async function () {
    proxy?.resume();
    await runner?.close({ timeoutMs: 2_000 });
    runner = null;
    await proxy?.close();
    proxy = null;
    rmSync(dir, { recursive: true, force: true });
    await dropSchema(knex(), schema, this.currentTest?.state === 'passed');
  });

  for (const { moment, fragment } of MOMENTS) {
    it(`cut during ${moment}: reconnects, retries, and completes every task once, none run twice at once`, async () => {
      const r = createRunner({ heartbeatIntervalMs: 100, leaseMs: 2_000, writeDeadlineMs: 10_000 });
      await r.ready();
      const files = input();
      writeFileSync(files.flagFile, 'go'); // `fault_b` defers a few polls only
      const cut = faults().cutOn(fragment);
      const result = await r.execute(faultDiamond, files);
      await cut; // it fired: the workflow could not complete without the statement it cut
      expect(faults().cuts).to.equal(1);
      expect(result.status).to.equal('Completed');
      expect(result.tasks.find((t) => t.taskId === 'fault_b')?.deferrals).to.be.at.least(1);
      await expectEachTaskCompletedOnce(result.id, files);
    });
  }

  it("cut during a task's context read: the read is retried, not taken for the task's failure", async () => {
    const r = createRunner({ heartbeatIntervalMs: 100, leaseMs: 2_000, writeDeadlineMs: 10_000 });
    await r.ready();
    const files = input();
    // The statement reads dependencies' rows: first in `ctx_a`'s completion (making `ctx_b`
    // Ready), then as `ctx_b`'s context, just before it runs.
    const cut = faults().cutOn("CASE WHEN status = 'Completed' THEN output END", { occurrence: 2 });
    const result = await r.execute(contextPair, files);
    await cut;
    expect(result.tasks.map((t) => [t.taskId, t.status, t.attempts, t.error?.message])).to.deep.equal([
      ['ctx_a', 'Completed', 1, undefined],
      ['ctx_b', 'Completed', 1, undefined],
    ]);
    expect(result.output).to.deep.include({ saw_a: true });
  });

  it('the answer to a completion commit lost: the retry finds it written, and no claim is reported lost', async () => {
    const r = createRunner({ heartbeatIntervalMs: 100, leaseMs: 2_000, writeDeadlineMs: 10_000 });
    await r.ready();
    const files = input();
    writeFileSync(files.flagFile, 'go');
    const lost: string[] = [];
    r.on('claimLost', (e) => lost.push(e.taskId));
    // After the start, the first transaction to commit is the first outcome's (`fault_a`'s).
    const cut = faults().cutOn('COMMIT', { when: 'answered' });
    const result = await r.execute(faultDiamond, files);
    await cut;
    expect(result.status).to.equal('Completed');
    await expectEachTaskCompletedOnce(result.id, files);
    // `claimLost` says a run was aborted and its result discarded: neither happened here.
    expect(lost).to.deep.equal([]);
  });

  it("the answer to a workflow start's insert lost: the retry starts no second execution", async () => {
    const r = createRunner({ heartbeatIntervalMs: 100, leaseMs: 2_000, writeDeadlineMs: 10_000 });
    await r.ready();
    const files = input();
    writeFileSync(files.flagFile, 'go');
    // The one statement that inserts executions, their tasks and events.
    const cut = faults().cutOn(
      'workflow_executions (id, workflow_name, status, input, open_tasks, priority, idempotency_key)',
      {
        when: 'answered',
      },
    );
    const result = await r.execute(faultDiamond, files);
    await cut;
    expect(result.status).to.equal('Completed');
    const ids: string[] = await knex().withSchema(schema).table('workflow_executions').pluck('id');
    expect(ids, 'workflow executions').to.deep.equal([result.id]);
    await expectEachTaskCompletedOnce(result.id, files);
  });

  /**
   * How the database stays away: `down` drops every connection and refuses new ones (connecting
   * fails at once); `silent` stops answering (statements and connections hang, nothing fails).
   */
  for (const away of ['down', 'silent'] as const) {
    it(`the database ${away} past writeDeadlineMs: execute fails with DatabaseUnavailableError; once back, no task is left Running`, async () => {
      const r = createRunner({
        // Not needed (trust authentication): it must not show in any message.
        database: proxied('secret'),
        heartbeatIntervalMs: 100,
        leaseMs: 1_000,
        writeDeadlineMs: 300,
      });
      await r.ready();
      const files = input();
      const deferred = new Promise<SubStatusEvent>((resolve) =>
        r.on('taskSubStatus', (e) => e.taskId === 'fault_b' && e.subStatus === 'Deferred' && resolve(e)),
      );
      const failed = rejection(r.execute(faultDiamond, files), DatabaseUnavailableError, ErrorCode.DatabaseUnavailable);
      const { workflowExecutionId: id } = await deferred;
      if (away === 'down') {
        faults().hold({ newConnections: 'reset' });
        faults().cut();
      } else {
        faults().hold({ newConnections: 'hang' });
      }
      writeFileSync(files.flagFile, 'go'); // `fault_b` ends now: its outcome cannot be written
      // Far past the 300 ms deadline (and its last retry's back-off), on a loaded machine too.
      const error = await Promise.race([failed, failAfter(5_000, 'execute did not fail while the database was away')]);
      expect(error.message).not.to.contain('secret');
      expect(String((error.cause as Error | undefined)?.message)).not.to.contain('secret');

      faults().resume();
      // The heartbeat finds the claims left Running with no run behind them, and recovers them.
      await until(async () => (await running()).length === 0 && (await workflowStatus(id)) === 'Completed');
      // Claims whose outcome never landed were recovered (not necessarily any: an outcome may
      // land on the retry of a write that began late in the outage).
      const recovered = (await taskEvents(id)).filter((e) => e.endsWith(' task_recovered'));
      // Each task ran once, and once more for each recovery; never twice at once.
      await expectEachTaskCompletedOnce(
        id,
        files,
        (task) => 1 + recovered.filter((e) => e === `${task} task_recovered`).length,
      );
    });
  }

  /**
   * Every task of the execution Completed, with one `task_completed` event; the tasks' log shows
   * each ran `runs(task)` times (default once: one `task_started` event, one attempt), never
   * twice at once, and every run ended; no task of the schema is left Running.
   */
  async function expectEachTaskCompletedOnce(
    id: string,
    files: FaultInput,
    runs?: (task: string) => number,
  ): Promise<void> {
    const { rows: tasks } = await knex().raw<{ rows: { task_id: string; status: string }[] }>(
      'SELECT task_id, status FROM ??.task_executions WHERE workflow_execution_id = ? ORDER BY task_id',
      [schema, id],
    );
    expect(tasks.map((t) => [t.task_id, t.status])).to.deep.equal(TASKS.map((t) => [t, 'Completed']));
    const events = await taskEvents(id);
    for (const task of TASKS) {
      expect(
        events.filter((e) => e === `${task} task_completed`),
        task,
      ).to.have.length(1);
      if (runs === undefined)
        expect(
          events.filter((e) => e === `${task} task_started`),
          task,
        ).to.have.length(1);
    }
    const expected = Object.fromEntries(TASKS.map((task) => [task, runs?.(task) ?? 1]));
    expect(runsOf(readFileSync(files.logFile, 'utf8'))).to.deep.equal(expected);
    expect(await running()).to.deep.equal([]);
  }

  /** `<task> <event>` of a workflow's task events, in order (read directly, not through the proxy). */
  async function taskEvents(workflowExecutionId: string): Promise<string[]> {
    const { rows } = await knex().raw<{ rows: { task_id: string; event_type: string }[] }>(
      `SELECT t.task_id, e.event_type FROM ??.execution_events e
       JOIN ??.task_executions t ON t.id = e.task_execution_id
       WHERE e.workflow_execution_id = ? ORDER BY e.id`,
      [schema, schema, workflowExecutionId],
    );
    return rows.map((r) => `${r.task_id} ${r.event_type}`);
  }

  /** Ids of the schema's tasks in Running. */
  async function running(): Promise<string[]> {
    return knex().withSchema(schema).table('task_executions').where({ status: 'Running' }).pluck('task_id');
  }

  async function workflowStatus(id: string): Promise<string | undefined> {
    const { rows } = await knex().raw<{ rows: { status: string }[] }>(
      'SELECT status FROM ??.workflow_executions WHERE id = ?',
      [schema, id],
    );
    return rows[0]?.status;
  }
});

/**
 * Reads the tasks' log: asserts that no task started while a run of it was going on, and that
 * every run ended. Returns how many runs each task had.
 */
function runsOf(log: string): Record<string, number> {
  const going = new Map<string, string>();
  const runs: Record<string, number> = {};
  for (const line of log.split('\n').filter((l) => l !== '')) {
    const [kind, task = '', run = ''] = line.split(' ');
    if (kind === 'start') {
      expect(going.get(task), `${task} started while a run of it was going on`).to.equal(undefined);
      going.set(task, run);
      runs[task] = (runs[task] ?? 0) + 1;
    } else {
      expect(going.get(task), `${task} ended a run it had not started`).to.equal(run);
      going.delete(task);
    }
  }
  expect([...going.keys()], 'runs that never ended').to.deep.equal([]);
  return runs;
}

/** Rejects after `ms` with `message` (a bound on a wait that must end, not a timing assertion). */
function failAfter(ms: number, message: string): Promise<never> {
  return new Promise((_resolve, reject) => setTimeout(() => reject(new Error(message)), ms).unref());
}
