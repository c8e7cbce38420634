// Several runners on one PostgreSQL: runner processes sharing workflows (one of them killed
// mid-run), a lease stolen under a running task, two processes migrating at once, and two
// schedulers finalising the same workflow.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import knexModule, { type Knex } from 'knex';
import { ClaimLostError, Runner, type RunnerEvents } from '../src/index.js';
import { type Settlement, Transitions } from '../src/runner/transitions.js';
import { MIGRATIONS, migrate, migrationStatus } from '../src/store/migrate.js';
import { Leases } from '../src/store/leases.js';
import { Store } from '../src/store/store.js';
import { TEST_DATABASE_URL, backends, dropSchema, freshSchema } from './db.js';
import { fanInWorkflow, leaseWorkflow, noopWorkflow } from './fixtures/scale-out-tasks.js';
import { ChildRunner, nth } from './support/child-runner.js';

const childScript = fileURLToPath(new URL('./fixtures/scale-out-child.js', import.meta.url));
const migrateCli = fileURLToPath(new URL('../src/store/migrate-cli.js', import.meta.url));
const postgres = (await backends()).find((b) => b.name === 'postgres');

const WORKFLOWS = 300;
const TASKS_PER_WORKFLOW = 5;
/**
 * Runner processes' lease. Heartbeats every 200 ms; the lease is longer than the 400 ms
 * default so that a process stalled by this 2-core machine's load does not lose its claims
 * (a lease that expired lets another runner run the task: at-least-once, not the overlap this
 * file looks for). Still short: the killed runner's tasks come back within 2.2 s.
 */
const LEASE_MS = 2000;

/** Resolves with the first `event` of `runner` whose payload satisfies `match`. */
function nextRunnerEvent<K extends keyof RunnerEvents>(
  runner: Runner,
  event: K,
  match: (...args: RunnerEvents[K]) => boolean = () => true,
): Promise<RunnerEvents[K][0]> {
  return new Promise((resolve) => {
    const listener = (...args: RunnerEvents[K]): void => {
      if (!match(...args)) return;
      runner.off(event, listener as never);
      resolve(args[0]);
    };
    runner.on(event, listener as never);
  });
}

async function rows<T>(knex: Knex, sql: string, bindings: readonly Knex.RawBinding[]): Promise<T[]> {
  return (await knex.raw<{ rows: T[] }>(sql, bindings)).rows;
}

/**
 * One task body's run on one runner, from the log: each 'start' paired with the next row of
 * the same task and runner if that is an 'end' (else it never ended).
 */
const RUNS = `
  WITH ordered AS (
    SELECT task_execution_id, runner, kind, at,
           lead(kind) OVER w AS next_kind, lead(at) OVER w AS next_at
    FROM ??.scale_log
    WINDOW w AS (PARTITION BY task_execution_id, runner ORDER BY at, kind DESC)
  )
  SELECT task_execution_id, runner, at AS started_at,
         CASE WHEN next_kind = 'end' THEN next_at END AS ended_at
  FROM ordered WHERE kind = 'start'`;

interface Run {
  readonly task_execution_id: string;
  readonly runner: string;
  readonly started_at: Date;
  readonly ended_at: Date | null;
}

/**
 * Three runner processes run WORKFLOWS DAG workflows (started by the first); with `killSecond`,
 * the second is killed with SIGKILL once it holds a Deferred task. Checks what both tests share.
 */
async function scaleOut(
  knex: Knex,
  schema: string,
  killSecond: boolean,
): Promise<{ runs: Run[]; killedAt: Date | null; killed: string }> {
  await knex.raw('CREATE SCHEMA IF NOT EXISTS ??', [schema]);
  await knex.raw(
    `CREATE TABLE ??.scale_log (
       task_execution_id uuid NOT NULL,
       runner text NOT NULL,
       kind text NOT NULL CHECK (kind IN ('start', 'end')),
       at timestamptz NOT NULL DEFAULT clock_timestamp()
     )`,
    [schema],
  );
  const children = [
    new ChildRunner('runner-0', childScript, [TEST_DATABASE_URL, schema, '2', String(LEASE_MS), String(WORKFLOWS)]),
    new ChildRunner('runner-1', childScript, [TEST_DATABASE_URL, schema, '1', String(LEASE_MS), '0']),
    new ChildRunner('runner-2', childScript, [TEST_DATABASE_URL, schema, '1', String(LEASE_MS), '0']),
  ];
  const [starter, second] = children as [ChildRunner, ChildRunner, ChildRunner];
  const waiter = new Runner({ database: TEST_DATABASE_URL, schema, threads: 1, pollIntervalMs: 100 });
  try {
    await Promise.all(children.map((c) => c.line((l) => l === 'ready')));
    starter.send('go');
    const ids = JSON.parse((await starter.line((l) => l.startsWith('ids '))).slice(4)) as string[];
    expect(ids).to.have.length(WORKFLOWS);
    let killedAt: Date | null = null;
    if (killSecond) {
      // Well into the run, while it holds a Deferred task (and, likely, others).
      await second.line(nth(10, (l) => l.startsWith('deferred ')));
      await second.kill();
      killedAt = (await rows<{ now: Date }>(knex, 'SELECT clock_timestamp() AS now', []))[0]?.now ?? null;
    }
    const results = await Promise.all(ids.map((id) => waiter.wait(id)));
    expect(results.filter((r) => r.status !== 'Completed')).to.deep.equal([]);

    // Every task Completed, with exactly one task_completed event.
    const tasks = await rows<{ id: string; status: string; completions: number }>(
      knex,
      `SELECT t.id, t.status,
              (SELECT count(*)::int FROM ??.execution_events e
               WHERE e.task_execution_id = t.id AND e.event_type = 'task_completed') AS completions
       FROM ??.task_executions t`,
      [schema, schema],
    );
    expect(tasks).to.have.length(WORKFLOWS * TASKS_PER_WORKFLOW);
    expect(tasks.filter((t) => t.status !== 'Completed' || t.completions !== 1)).to.deep.equal([]);
    const workflowEnds = await rows<{ n: number }>(
      knex,
      `SELECT count(*)::int AS n FROM ??.execution_events WHERE event_type = 'workflow_completed'`,
      [schema],
    );
    expect(workflowEnds[0]?.n).to.equal(WORKFLOWS);

    const runs = await rows<Run>(knex, RUNS, [schema]);
    // Every task's body ran to its end somewhere.
    expect(new Set(runs.filter((r) => r.ended_at !== null).map((r) => r.task_execution_id)).size).to.equal(
      WORKFLOWS * TASKS_PER_WORKFLOW,
    );
    // The work was shared.
    expect(new Set(runs.map((r) => r.runner)).size).to.be.at.least(2);
    // No task body ran on two runners at once: a run that never ended lasted until its runner
    // was killed, or for ever if it was not.
    const endOf = (run: Run): number =>
      run.ended_at?.getTime() ??
      (run.runner === second.name && killedAt !== null ? killedAt.getTime() : Number.POSITIVE_INFINITY);
    const byTask = new Map<string, Run[]>();
    for (const run of runs) byTask.set(run.task_execution_id, [...(byTask.get(run.task_execution_id) ?? []), run]);
    const overlaps: [Run, Run][] = [];
    for (const list of byTask.values()) {
      for (const x of list) {
        for (const y of list) {
          if (x.runner < y.runner && x.started_at.getTime() < endOf(y) && y.started_at.getTime() < endOf(x)) {
            overlaps.push([x, y]);
          }
        }
      }
    }
    expect(overlaps).to.deep.equal([]);
    return { runs, killedAt, killed: second.name };
  } finally {
    await Promise.all(children.map((c) => c.kill()));
    await waiter.close();
  }
}

if (postgres !== undefined) {
  describe('several runners on one PostgreSQL', function () {
    this.timeout(60_000);
    const knex = (): Knex => postgres.knex();
    let schema = '';

    afterEach(async function () {
      if (schema !== '') await dropSchema(knex(), schema, this.currentTest?.state === 'passed');
      schema = '';
    });

    it('three runner processes complete 300 workflows, sharing the work, never one task body on two at once', async () => {
      schema = freshSchema('scale');
      await scaleOut(knex(), schema, false);
    });

    it('with one runner killed by SIGKILL mid-run, the others complete everything and rerun what it held', async () => {
      schema = freshSchema('scale');
      const { runs, killedAt, killed } = await scaleOut(knex(), schema, true);
      expect(killedAt).to.not.equal(null);
      const orphans = runs.filter((r) => r.runner === killed && r.ended_at === null).map((r) => r.task_execution_id);
      expect(orphans, 'tasks the killed runner held').to.not.be.empty;
      for (const id of orphans) {
        const reruns = runs.filter((r) => r.task_execution_id === id && r.runner !== killed);
        expect(reruns, `reruns of ${id}`).to.not.be.empty;
        for (const rerun of reruns) expect(rerun.started_at.getTime()).to.be.greaterThan(killedAt?.getTime() ?? 0);
        expect(reruns.some((r) => r.ended_at !== null)).to.equal(true);
      }
      const recovered = await rows<{ id: string; recovery_attempts: number }>(
        knex(),
        `SELECT id, recovery_attempts FROM ??.task_executions WHERE id = ANY(?)`,
        [schema, orphans],
      );
      expect(recovered.filter((t) => t.recovery_attempts < 1)).to.deep.equal([]);
    });

    it('a runner whose lease is stolen under a running task writes nothing, aborts the task and frees its slot', async () => {
      schema = freshSchema('lease');
      const dir = mkdtempSync(joinPath(tmpdir(), 'slotwise-'));
      const flagFile = joinPath(dir, 'flag');
      const abortedFile = joinPath(dir, 'aborted');
      const runner = new Runner({
        database: TEST_DATABASE_URL,
        schema,
        threads: 1,
        maxConcurrentTasks: 1,
        heartbeatIntervalMs: 100,
        workflows: [leaseWorkflow, noopWorkflow],
      });
      try {
        const deferred = nextRunnerEvent(runner, 'taskSubStatus', (e) => e.subStatus === 'Deferred');
        const id = await runner.start(leaseWorkflow, { flagFile, abortedFile });
        const { taskExecutionId } = await deferred;
        const lost = nextRunnerEvent(runner, 'claimLost');
        const eventsOf = (): Promise<{ event_type: string }[]> =>
          rows(
            knex(),
            `SELECT event_type FROM ??.execution_events WHERE task_execution_id = ? ORDER BY created_at, event_type`,
            [schema, taskExecutionId],
          );
        const rowOf = async (): Promise<Record<string, unknown> | undefined> =>
          (
            await rows<Record<string, unknown>>(knex(), 'SELECT * FROM ??.task_executions WHERE id = ?', [
              schema,
              taskExecutionId,
            ])
          )[0];
        // The thief is a live runner: nobody's sweep takes the task back from it.
        await knex()
          .withSchema(schema)
          .table('runners')
          .insert({ id: 'thief', host: 'test', pid: 0, lease_expires_at: knex().raw(`now() + interval '1 hour'`) });
        await knex().raw(
          `UPDATE ??.task_executions SET claim_token = claim_token + 1, claimed_by = 'thief' WHERE id = ?`,
          [schema, taskExecutionId],
        );
        const stolen = await rowOf();
        const eventsBefore = await eventsOf();
        expect(stolen).to.include({ status: 'Running', sub_status: 'Deferred', claimed_by: 'thief' });
        writeFileSync(flagFile, 'now'); // the task resumes: a write the runner must not make

        const event = await lost;
        expect(event).to.include({ workflowExecutionId: id, taskExecutionId, taskId: 'hold_lease' });
        expect(event.error).to.be.instanceOf(ClaimLostError).and.include({ taskExecutionId });
        expect(existsSync(abortedFile), 'the task saw handle.signal aborted').to.equal(true);
        const second = await runner.execute(noopWorkflow, {});
        expect(second.status, 'a run on the freed slot').to.equal('Completed');
        expect(await rowOf()).to.deep.equal(stolen);
        expect(await eventsOf()).to.deep.equal(eventsBefore);
      } finally {
        await runner.close({ timeoutMs: 1000 });
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('two processes applying migrations at once both succeed, leaving nothing pending', async () => {
      schema = freshSchema('migcli');
      const migrateInChild = (): Promise<{ code: number | null; output: string }> =>
        new Promise((resolve) => {
          const child = spawn(process.execPath, [migrateCli], {
            env: { ...process.env, DATABASE_URL: TEST_DATABASE_URL, SLOTWISE_SCHEMA: schema },
            stdio: ['ignore', 'pipe', 'pipe'],
          });
          let output = '';
          child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
          child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
          child.once('exit', (code) => resolve({ code, output }));
        });
      const results = await Promise.all([migrateInChild(), migrateInChild()]);
      for (const { code, output } of results) expect(code, output).to.equal(0);
      expect(await migrationStatus(knex(), schema)).to.deep.equal({
        applied: MIGRATIONS.map((m) => m.name),
        pending: [],
      });
    });

    it('two schedulers finalising the same workflows: each dependent readied once, each workflow ended once', async () => {
      schema = freshSchema('fanin');
      await migrate(knex(), schema);
      const pools = [0, 1].map(() => knexModule.knex({ client: 'pg', connection: TEST_DATABASE_URL }));
      try {
        const stores = pools.map((pool) => new Store(pool, schema));
        const [one, two] = stores.map((store) => new Transitions(store, { maxRecoveryAttempts: 3 })) as [
          Transitions,
          Transitions,
        ];
        const [store] = stores as [Store, Store];
        // Claims are made for a runner holding a live lease.
        await new Leases(knex(), schema).register('scheduler-test', 60_000);
        const count = 20;
        const ids = await one.createExecutions(
          Array.from({ length: count }, () => ({ workflow: fanInWorkflow, input: {} })),
        );
        const done = (claim: Settlement['claim']): Settlement => ({
          claim,
          workflow: fanInWorkflow,
          outcome: { ok: true, output: { [claim.task_id]: true }, stats: null },
        });

        // a on one scheduler, b on the other, at once, for every workflow.
        const roots = await store.claimReady(2 * count, [fanInWorkflow.name], 'scheduler-test');
        expect(roots).to.have.length(2 * count);
        await Promise.all(roots.map((claim) => (claim.task_id === 'fan_a' ? one : two).applyOutcomes([done(claim)])));
        const readied = await rows<{ workflow_execution_id: string; n: number }>(
          knex(),
          `SELECT t.workflow_execution_id, count(e.*)::int AS n
           FROM ??.task_executions t LEFT JOIN ??.execution_events e
             ON e.task_execution_id = t.id AND e.event_type = 'task_ready'
           WHERE t.task_id = 'fan_c' GROUP BY t.workflow_execution_id`,
          [schema, schema],
        );
        expect(readied).to.have.length(count);
        expect(readied.filter((r) => r.n !== 1)).to.deep.equal([]);

        // c's completion from both schedulers at once.
        const joins = await store.claimReady(2 * count, [fanInWorkflow.name], 'scheduler-test');
        expect(joins.map((c) => c.task_id)).to.deep.equal(Array.from({ length: count }, () => 'fan_c'));
        const results = await Promise.all(
          joins.flatMap((claim) => [one.applyOutcomes([done(claim)]), two.applyOutcomes([done(claim)])]),
        );
        // One of the two ended each workflow; the other found it settled under the same claim (as
        // a retried write whose commit went unheard does) and reports the end it finds.
        expect(results.flat()).to.deep.equal(Array.from({ length: 2 * count }, () => 'ended'));
        const workflows = await rows<{ id: string; status: string; open_tasks: number; ends: number }>(
          knex(),
          `SELECT w.id, w.status, w.open_tasks,
                  (SELECT count(*)::int FROM ??.execution_events e
                   WHERE e.workflow_execution_id = w.id AND e.event_type IN ('workflow_completed', 'workflow_failed')) AS ends
           FROM ??.workflow_executions w ORDER BY w.id`,
          [schema, schema],
        );
        expect(workflows).to.deep.equal(
          [...ids].sort().map((id) => ({ id, status: 'Completed', open_tasks: 0, ends: 1 })),
        );
      } finally {
        await Promise.all(pools.map((pool) => pool.destroy()));
      }
    });
  });
}
