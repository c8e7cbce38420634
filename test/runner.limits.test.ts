// Limits across runners: named limits (one kept through waits, one given back), per-key limits
// and priorities, held by three runner processes on one PostgreSQL (one of them killed mid-run),
// checked from a log the tasks write; fairness between keys across two runners; and the checks
// `start` makes.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import type { Knex } from 'knex';
import { ErrorCode, InvalidArgumentError, Runner, UnknownLimitError, defineWorkflow } from '../src/index.js';
import { limitUsage } from '../src/store/limit-usage.js';
import { TEST_DATABASE_URL, backends, dropSchema, freshSchema } from './db.js';
import { rejection, until } from './helpers.js';
import { RUNNER_LIMITS, apiWorkflow, fairWorkflow, holdWorkflow } from './fixtures/limit-runner-tasks.js';
import { heavy, unknownLimit } from './fixtures/limit-tasks.js';
import { ChildRunner, nth } from './support/child-runner.js';

const childScript = fileURLToPath(new URL('./fixtures/limit-runner-child.js', import.meta.url));
const postgres = (await backends()).find((b) => b.name === 'postgres');
const LEASE_MS = 2000;
const API_WORKFLOWS = 24;
const TENANT_WORKFLOWS = 24;

interface LogRow {
  readonly task_execution_id: string;
  readonly task: 'api' | 'tenant';
  readonly tenant: string | null;
  readonly runner: string;
  readonly kind: 'start' | 'pause' | 'resume' | 'end';
  readonly at: Date;
}

/** A stretch of time a run held a unit of `unit`, from the log; `to` null: it never let go. */
interface Holding {
  readonly unit: string;
  readonly runner: string;
  readonly from: number;
  readonly to: number | null;
}

/**
 * Each run's holdings, from its log rows (per task execution and runner, in time order): an api
 * run holds `api` from start to end (its wait included: `includeDeferred`); a tenant run holds
 * `burst` and its tenant's key from start to pause and from resume to end.
 */
function holdings(log: readonly LogRow[]): Holding[] {
  const runs = new Map<string, LogRow[]>();
  for (const row of log) {
    const id = `${row.task_execution_id}/${row.runner}`;
    runs.set(id, [...(runs.get(id) ?? []), row]);
  }
  const held: Holding[] = [];
  for (const rows of runs.values()) {
    rows.sort((a, b) => a.at.getTime() - b.at.getTime());
    const first = rows[0] as LogRow;
    const at = (kind: LogRow['kind']): number | null => rows.find((r) => r.kind === kind)?.at.getTime() ?? null;
    const start = at('start') ?? 0;
    if (first.task === 'api') {
      held.push({ unit: 'api', runner: first.runner, from: start, to: at('end') });
      continue;
    }
    const spans: [number, number | null][] = [[start, at('pause')]];
    const resumed = at('resume');
    if (resumed !== null) spans.push([resumed, at('end')]);
    else if (at('pause') !== null) spans.length = 1;
    for (const [from, to] of spans) {
      held.push({ unit: 'burst', runner: first.runner, from, to });
      held.push({ unit: `tenant ${first.tenant ?? ''}`, runner: first.runner, from, to });
    }
  }
  return held;
}

/** The most holders any unit had at once, by unit; an open holding ends at `endOf(runner)`. */
function peaks(held: readonly Holding[], endOf: (runner: string) => number): Map<string, number> {
  const edges = new Map<string, [number, number][]>();
  for (const h of held) {
    const list = edges.get(h.unit) ?? [];
    list.push([h.from, 1], [h.to ?? endOf(h.runner), -1]);
    edges.set(h.unit, list);
  }
  const result = new Map<string, number>();
  for (const [unit, list] of edges) {
    // At one instant, let-go comes before take (a unit is given back before another takes it).
    list.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    let now = 0;
    let peak = 0;
    for (const [, delta] of list) peak = Math.max(peak, (now += delta));
    result.set(unit, peak);
  }
  return result;
}

async function rows<T>(knex: Knex, sql: string, bindings: readonly Knex.RawBinding[]): Promise<T[]> {
  return (await knex.raw<{ rows: T[] }>(sql, bindings)).rows;
}

if (postgres !== undefined) {
  const knex = (): Knex => postgres.knex();

  describe('limits across runners (postgres)', function () {
    this.timeout(120_000);
    let schema = '';

    afterEach(async function () {
      await dropSchema(knex(), schema, this.currentTest?.state === 'passed');
    });

    it('three runners, one killed mid-run: a limit of 2 kept through waits, one of 3 given back, one run per tenant (of 6), never exceeded fleet-wide; nothing lost', async () => {
      schema = freshSchema('limits');
      await knex().raw('CREATE SCHEMA IF NOT EXISTS ??', [schema]);
      await knex().raw(
        `CREATE TABLE ??.limit_log (
           task_execution_id uuid NOT NULL, task text NOT NULL, tenant text, runner text NOT NULL,
           kind text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())`,
        [schema],
      );
      const args = (starts: [number, number]): string[] => [
        TEST_DATABASE_URL,
        schema,
        String(LEASE_MS),
        ...starts.map(String),
      ];
      const children = [
        new ChildRunner('runner-0', childScript, args([API_WORKFLOWS, TENANT_WORKFLOWS])),
        new ChildRunner('runner-1', childScript, args([0, 0])),
        new ChildRunner('runner-2', childScript, args([0, 0])),
      ];
      const [starter, ...others] = children as [ChildRunner, ChildRunner, ChildRunner];
      try {
        await Promise.all(children.map((c) => c.line((l) => l === 'ready')));
        starter.send('go');
        const ids = JSON.parse((await starter.line((l) => l.startsWith('ids '))).slice(4)) as string[];
        expect(ids).to.have.length(API_WORKFLOWS + TENANT_WORKFLOWS);
        // Mid-run, kill whichever of the other two first holds a second deferred task. (The
        // starter may get little work: units freed by the others' runs wake the others first.)
        const killed = await Promise.race(
          others.map((c) => c.line(nth(2, (l) => l.startsWith('deferred '))).then(() => c)),
        );
        await killed.kill();
        const killedAt = (await rows<{ now: Date }>(knex(), 'SELECT clock_timestamp() AS now', []))[0]?.now as Date;

        // Everything ends Completed (the killed runner's tasks recovered and run elsewhere).
        await until(async () => {
          const open = await rows<{ n: number }>(
            knex(),
            `SELECT count(*)::int AS n FROM ??.workflow_executions WHERE status <> 'Completed'`,
            [schema],
          );
          return open[0]?.n === 0;
        });
        const tasks = await rows<{ status: string }>(knex(), 'SELECT status FROM ??.task_executions', [schema]);
        expect(tasks.map((t) => t.status)).to.deep.equal(tasks.map(() => 'Completed'));
        expect(tasks).to.have.length(API_WORKFLOWS + TENANT_WORKFLOWS);
        // Its units came back: nothing holds or waits for one now.
        const usage = await limitUsage(knex(), schema);
        expect(usage.filter((u) => u.active + u.deferred + u.reclaiming + u.queued > 0)).to.deep.equal([]);

        const log = await rows<LogRow>(knex(), 'SELECT * FROM ??.limit_log', [schema]);
        const held = holdings(log);
        const endOf = (runner: string): number =>
          runner === killed.name ? killedAt.getTime() : Number.POSITIVE_INFINITY;
        const peak = peaks(held, endOf);
        expect(peak.get('api'), 'api holders at once').to.be.at.most(RUNNER_LIMITS.api.max);
        expect(peak.get('burst'), 'burst holders at once').to.be.at.most(RUNNER_LIMITS.burst);
        for (let i = 0; i < 6; i += 1) expect(peak.get(`tenant t${String(i)}`), `tenant t${String(i)}`).to.equal(1);
        // The limit was the bound, not a lack of work: it was reached (12 slots wanted the api).
        expect(peak.get('api')).to.equal(RUNNER_LIMITS.api.max);
        // The work was shared, and the killed runner had run some of it.
        expect(new Set(log.map((r) => r.runner)).size).to.be.at.least(2);
        expect(log.some((r) => r.runner === killed.name)).to.equal(true);
      } finally {
        await Promise.all(children.map((c) => c.kill()));
      }
    });

    it('keys take turns across runners: 5 runs of a small key finish before half of a big key’s 500', async () => {
      schema = freshSchema('limits');
      const options = { database: TEST_DATABASE_URL, schema, threads: 1, maxConcurrentTasks: 2, pollIntervalMs: 50 };
      const first = new Runner({ ...options, workflows: [fairWorkflow] });
      await first.ready();
      const big = await Promise.all(Array.from({ length: 500 }, () => first.start(fairWorkflow, { tenant: 'big' })));
      const small = await Promise.all(Array.from({ length: 5 }, () => first.start(fairWorkflow, { tenant: 'small' })));
      const second = new Runner({ ...options, workflows: [fairWorkflow] });
      try {
        await Promise.all([...big, ...small].map((id) => first.wait(id)));
        const order = await rows<{ tenant: string }>(
          knex(),
          `SELECT w.input->>'tenant' AS tenant FROM ??.task_executions t JOIN ??.workflow_executions w
             ON w.id = t.workflow_execution_id ORDER BY t.completed_at, t.id`,
          [schema, schema],
        );
        const lastSmall = order.map((r) => r.tenant).lastIndexOf('small');
        expect(lastSmall, 'runs finished by the last small one').to.be.below(250 + 5);
        const threads = await rows<{ n: number }>(
          knex(),
          `SELECT count(DISTINCT output->>'thread')::int AS n FROM ??.task_executions`,
          [schema],
        );
        expect(threads[0]?.n, 'threads that did the work (one per runner)').to.equal(2);
      } finally {
        await Promise.all([first.close(), second.close()]);
      }
    });
  });
}

for (const backend of await backends()) {
  describe(`runner limits (${backend.name})`, () => {
    let schema = '';
    let runner: Runner | null = null;

    afterEach(async function () {
      await runner?.close();
      runner = null;
      await dropSchema(backend.knex(), schema, this.currentTest?.state === 'passed');
    });

    it('start refuses what no runner of these options could run, before writing anything', async () => {
      schema = freshSchema('limits');
      runner = new Runner({ database: backend.knex(), schema, threads: 1, maxConcurrentTasks: 1, limits: { api: 1 } });
      await runner.ready();
      const tooHeavy = await rejection(
        runner.start(defineWorkflow('limits-heavy', heavy), {}),
        InvalidArgumentError,
        ErrorCode.InvalidArgument,
      );
      expect(tooHeavy.message).to.contain("runner's maxConcurrentTasks (1)");
      const unknown = await rejection(
        runner.start(defineWorkflow('limits-unknown', unknownLimit), {}),
        UnknownLimitError,
        ErrorCode.UnknownLimit,
      );
      expect(unknown.known).to.deep.equal(['api']);
      const badKey = await rejection(
        runner.start(fairWorkflow, { tenant: 'x'.repeat(300) }),
        InvalidArgumentError,
        ErrorCode.InvalidArgument,
      );
      expect(badKey.argument).to.equal('concurrencyKey(input)');
      for (const priority of [0.5, '1', 2 ** 40]) {
        const error = await rejection(
          runner.start(apiWorkflow, {}, { priority } as never),
          InvalidArgumentError,
          ErrorCode.InvalidArgument,
        );
        expect(error.argument).to.equal('priority');
      }
      const written = await backend
        .knex()
        .raw<{ rows: { n: number }[] }>('SELECT count(*)::int AS n FROM ??.workflow_executions', [schema]);
      expect(written.rows[0]?.n).to.equal(0);
    });

    it('claims higher priorities first, each priority in start order', async () => {
      schema = freshSchema('limits');
      runner = new Runner({ database: backend.knex(), schema, threads: 2, maxConcurrentTasks: 1 });
      await runner.ready();
      const dir = mkdtempSync(joinPath(tmpdir(), 'slotwise-priority-'));
      const release = joinPath(dir, 'release');
      try {
        const blocker = await runner.start(holdWorkflow, { file: release }); // holds the one slot
        await until(async () => (await runner?.status(blocker))?.tasks[0]?.status === 'Running');
        const ids: string[] = [];
        for (const [tenant, priority] of [
          ['low', -1],
          ['first normal', 0],
          ['high', 5],
          ['second normal', 0],
        ] as const) {
          ids.push(await runner.start(fairWorkflow, { tenant }, { priority }));
        }
        writeFileSync(release, '');
        const started = runner;
        await Promise.all([blocker, ...ids].map((id) => started.wait(id)));
        const order = await backend.knex().raw<{ rows: { tenant: string }[] }>(
          `SELECT w.input->>'tenant' AS tenant FROM ??.task_executions t
             JOIN ??.workflow_executions w ON w.id = t.workflow_execution_id
             WHERE t.task_id = 'limit_fair' ORDER BY t.started_at`,
          [schema, schema],
        );
        expect(order.rows.map((r) => r.tenant)).to.deep.equal(['high', 'first normal', 'second normal', 'low']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}
