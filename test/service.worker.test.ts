// `slotwise worker` as a child process on PostgreSQL, with the fixture package: it runs the
// package's workflows, serves /healthz and /metrics (every listed metric there, and moving as
// tasks run), stops gracefully on SIGTERM (a task that finishes in time completes, one that does
// not is handed back), exits at once on a second signal, refuses a broken package or a taken
// port before it claims anything, and shares the work with a second worker, which also takes
// over the tasks of one killed with SIGKILL.
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import type { Knex } from 'knex';
import { Runner, lineLogger } from '../src/index.js';
import { TEST_DATABASE_URL, backends, dropSchema, freshSchema } from './db.js';
import { until } from './helpers.js';
import { ChildRunner } from './support/child-runner.js';
import { ROOT, type ScratchPackage, scratchPackage } from './support/packages.js';

const run = promisify(execFile);
const MAIN = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const postgres = (await backends()).find((b) => b.name === 'postgres');

/** A log line of `--log-format json`. */
interface LogLine {
  readonly time: string;
  readonly level: string;
  readonly msg: string;
  readonly [field: string]: unknown;
}

function parseLine(line: string): LogLine | null {
  try {
    return JSON.parse(line) as LogLine;
  } catch {
    return null;
  }
}

/** The first line of `child` logging `msg`, printed already or to come. */
async function logged(child: ChildRunner, msg: string): Promise<LogLine> {
  const line = await child.line((l) => parseLine(l)?.msg === msg);
  return parseLine(line) as LogLine;
}

/** One scrape of /metrics: each series (`name{labels}`) and its value. */
async function scrape(url: string): Promise<Map<string, number>> {
  const response = await fetch(url);
  expect(response.status).to.equal(200);
  expect(response.headers.get('content-type')).to.contain('text/plain');
  const series = new Map<string, number>();
  for (const line of (await response.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    series.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return series;
}

/** What a scrape shows for `name` (a series, or the sum of a family's series with those labels). */
function value(series: Map<string, number>, name: string): number {
  const exact = series.get(name);
  if (exact !== undefined) return exact;
  expect.fail(`no series ${name} in /metrics; it has ${[...series.keys()].slice(0, 80).join(', ')}`);
}

/** The metrics the issue lists, by kind: every one must be on /metrics from the first scrape. */
const GAUGES = [
  'slotwise_slots',
  'slotwise_slots_in_use',
  'slotwise_slots_free',
  'slotwise_runs_active',
  'slotwise_runs_deferred',
  'slotwise_runs_reclaiming',
  'slotwise_runs_queued',
];
const COUNTERS = [
  'slotwise_tasks_started_total',
  'slotwise_tasks_completed_total',
  'slotwise_tasks_failed_total',
  'slotwise_tasks_retried_total',
  'slotwise_tasks_recovered_total',
  'slotwise_deferrals_total',
  'slotwise_claims_lost_total',
];
const HISTOGRAMS = [
  'slotwise_slot_wait_seconds',
  'slotwise_run_duration_seconds',
  'slotwise_deferred_seconds',
  'slotwise_resume_lag_seconds',
  'slotwise_claim_duration_seconds',
];

if (postgres !== undefined) {
  describe('slotwise worker (a child process, on PostgreSQL)', function () {
    this.timeout(60_000);
    const knex = (): Knex => postgres.knex();
    let schema = '';
    let pkg: ScratchPackage;
    let observer: Runner | null = null;
    const children: ChildRunner[] = [];

    /** A worker on this test's schema, logging JSON lines, with a metrics port the OS picks. */
    function worker(name: string, extra: readonly string[] = [], dir: string = pkg.dir): ChildRunner {
      const child = new ChildRunner(
        name,
        MAIN,
        [
          'worker',
          dir,
          ...['--database', TEST_DATABASE_URL, '--schema', schema, '--log-format', 'json'],
          ...['--metrics-port', '0', '--limits', 'cpu=2', '--heartbeat-interval', '200ms', '--lease', '2s'],
          ...extra,
        ],
        { captureStderr: true },
      );
      children.push(child);
      return child;
    }

    /** `slotwise start` of one of the fixture's workflows; resolves with the execution's id. */
    async function start(workflow: string, input: Record<string, unknown> = {}): Promise<string> {
      const { stdout } = await run(process.execPath, [
        ...[MAIN, 'start', workflow, '--package', pkg.dir],
        ...['--database', TEST_DATABASE_URL, '--schema', schema, '--input', JSON.stringify(input), '--json'],
      ]);
      return (JSON.parse(stdout) as { id: string }).id;
    }

    /** A runner of no workflows, that claims nothing: it sends signals. */
    async function signaller(): Promise<Runner> {
      observer ??= new Runner({ database: TEST_DATABASE_URL, schema, workflows: [] });
      await observer.ready();
      return observer;
    }

    async function workflowStatus(id: string): Promise<string | undefined> {
      const [row] = await knex()
        .withSchema(schema)
        .table('workflow_executions')
        .where({ id })
        .select<{ status: string }[]>('status');
      return row?.status;
    }

    async function tasksOf(id: string): Promise<
      {
        task_id: string;
        status: string;
        sub_status: string | null;
        claimed_by: string | null;
        output: Record<string, unknown> | null;
      }[]
    > {
      return knex()
        .withSchema(schema)
        .table('task_executions')
        .where({ workflow_execution_id: id })
        .select('task_id', 'status', 'sub_status', 'claimed_by', 'output');
    }

    const deferred = (id: string) => async (): Promise<boolean> =>
      (await tasksOf(id)).some((t) => t.sub_status === 'Deferred');

    beforeEach(() => {
      schema = freshSchema('worker');
      pkg = scratchPackage();
    });

    afterEach(async function () {
      await Promise.all(children.splice(0).map((c) => c.kill()));
      await observer?.close();
      observer = null;
      pkg.remove();
      await dropSchema(knex(), schema, this.currentTest?.state === 'passed');
    });

    it('runs the package workflows; /healthz answers 200 and every listed metric is on /metrics, moving', async () => {
      const child = worker('a', ['--metrics-keys']);
      const ready = await logged(child, 'worker ready');
      expect(ready).to.include({ schema, slots: 2, workflows: 'busy,failing,held,hello' });
      expect(await logged(child, 'package loaded')).to.include({ package: 'hello-workflows', version: '1.2.0' });
      const listening = await logged(child, 'metrics listening');
      const metricsUrl = String(listening.url);
      const health = await fetch(String(listening.health));
      expect([health.status, await health.text()]).to.deep.equal([200, 'ok\n']);

      const before = await scrape(metricsUrl);
      for (const name of [...GAUGES, ...COUNTERS]) value(before, name);
      for (const name of HISTOGRAMS) value(before, `${name}_count`);
      expect(value(before, 'slotwise_slots')).to.equal(2);
      expect(value(before, 'slotwise_slots_free')).to.equal(2);
      expect(before.has('process_cpu_seconds_total')).to.equal(true);

      const hello = await start('hello', { name: 'ann' });
      const failing = await start('failing');
      const held = await start('held', { tenant: 'acme' });
      await until(async () => (await workflowStatus(hello)) === 'Completed');
      await until(async () => (await workflowStatus(failing)) === 'Failed');
      await until(deferred(held));
      const shout = (await tasksOf(hello)).find((t) => t.task_id === 'shout');
      expect(shout?.output).to.deep.equal({ shouted: 'HELLO ANN' });

      const waiting = await scrape(metricsUrl);
      expect(value(waiting, 'slotwise_runs_deferred')).to.equal(1);
      expect(value(waiting, 'slotwise_slots_in_use')).to.equal(0);
      expect(value(waiting, 'slotwise_runner_key_tasks{task="waitForGo",key="acme",sub_state="Deferred"}')).to.equal(1);
      expect(value(waiting, 'slotwise_runner_key_tasks{task="waitForGo",key="acme",sub_state="Active"}')).to.equal(0);

      const spinning = await start('busy', { ms: 3000 });
      await until(async () => (await tasksOf(spinning)).some((t) => t.sub_status === 'Active'));
      // The row says Active as the claim is written, a moment before the run starts: wait for the gauges.
      await until(
        async () =>
          value(await scrape(metricsUrl), 'slotwise_runner_limit_tasks{limit="cpu",sub_state="Active"}') === 1,
      );
      expect(value(await scrape(metricsUrl), 'slotwise_slots_in_use')).to.equal(1);
      await until(async () => (await workflowStatus(spinning)) === 'Completed');

      await (await signaller()).signal(held, 'go', { at: 'now' });
      await until(async () => (await workflowStatus(held)) === 'Completed');
      const after = await scrape(metricsUrl);
      const moved = (name: string): number => value(after, name) - value(before, name);
      // hello: greet and shout; failing: two attempts of refuse; held: waitForGo; busy: spin.
      expect(moved('slotwise_tasks_started_total')).to.equal(6);
      expect(moved('slotwise_tasks_completed_total')).to.equal(4);
      expect(moved('slotwise_tasks_failed_total')).to.equal(2);
      expect(moved('slotwise_tasks_retried_total')).to.equal(1);
      expect(moved('slotwise_deferrals_total')).to.equal(1);
      expect(moved('slotwise_slot_wait_seconds_count')).to.equal(6);
      expect(moved('slotwise_run_duration_seconds_count')).to.equal(6);
      expect(moved('slotwise_deferred_seconds_count')).to.equal(1);
      expect(moved('slotwise_resume_lag_seconds_count')).to.equal(1);
      expect(moved('slotwise_claim_duration_seconds_count')).to.be.greaterThan(0);
      expect(moved('slotwise_deferred_seconds_sum')).to.be.greaterThan(0);

      const failures = child.lines.map(parseLine).filter((l) => l?.msg === 'task run failed');
      expect(failures).to.have.length(2);
      expect(failures[0]).to.deep.include({ level: 'warn', task: 'refuse' });
      expect(await logged(child, 'task retry scheduled')).to.include({ task: 'refuse', attempt: 1 });
    });

    it('slotwise start runs once per --idempotency-key, at --priority', async () => {
      const args = (key: string): string[] => [
        ...[MAIN, 'start', 'hello', '--package', pkg.dir, '--database', TEST_DATABASE_URL, '--schema', schema],
        ...['--input', '{"name":"bo"}', '--idempotency-key', key, '--priority', '7', '--json'],
      ];
      const first = JSON.parse((await run(process.execPath, args('order-1'))).stdout) as {
        id: string;
        created: boolean;
      };
      const again = JSON.parse((await run(process.execPath, args('order-1'))).stdout) as {
        id: string;
        created: boolean;
      };
      expect(first).to.include({ created: true, workflow: 'hello' });
      expect(again).to.deep.equal({ ...first, created: false });
      const text = await run(process.execPath, args('order-1').slice(0, -1));
      expect(text.stdout).to.equal(`${first.id} (started before with this idempotency key)\n`);
      const [row] = await knex()
        .withSchema(schema)
        .table('workflow_executions')
        .where({ id: first.id })
        .select<{ priority: number; status: string }[]>('priority', 'status');
      expect(row).to.deep.equal({ priority: 7, status: 'Running' });
      expect(await tasksOf(first.id)).to.have.length(2); // planned, claimed by nobody: no worker runs here
    });

    it('on SIGTERM lets a task that finishes in time complete, then exits 0', async () => {
      const child = worker('a');
      await logged(child, 'worker ready');
      const busy = await start('busy', { ms: 1500 });
      await until(async () => (await tasksOf(busy)).some((t) => t.sub_status === 'Active'));
      child.process.kill('SIGTERM');
      await child.exited;
      expect(child.exitCode).to.equal(0);
      expect(await workflowStatus(busy)).to.equal('Completed');
      expect((await logged(child, 'worker stopping')).running).to.equal(1);
      await logged(child, 'worker stopped');
    });

    it('on SIGTERM hands back a task that does not finish within --shutdown-timeout, exits 0, and another worker finishes it', async () => {
      const first = worker('a', ['--shutdown-timeout', '300ms']);
      await logged(first, 'worker ready');
      const held = await start('held');
      await until(deferred(held));
      first.process.kill('SIGTERM');
      await first.exited;
      expect(first.exitCode).to.equal(0);
      const [task] = await tasksOf(held);
      expect(task).to.deep.include({ status: 'Ready', claimed_by: null });
      expect(await workflowStatus(held)).to.equal('Running');
      expect(await logged(first, 'task handed back')).to.include({ level: 'info', task: 'waitForGo' });
      expect(first.lines.map(parseLine).some((l) => l?.msg === 'task run failed')).to.equal(false);

      const second = worker('b');
      await logged(second, 'worker ready');
      await until(deferred(held));
      await (await signaller()).signal(held, 'go', 'after the restart');
      await until(async () => (await workflowStatus(held)) === 'Completed');
      expect((await tasksOf(held))[0]?.output).to.deep.equal({ got: 'after the restart' });
    });

    it('answers 503 on /healthz while stopping, and exits at once on a second signal (128 + its number)', async () => {
      const child = worker('a'); // the default 30 s shutdown timeout: the first signal waits for the held task
      const { health } = await logged(child, 'metrics listening');
      await logged(child, 'worker ready');
      const held = await start('held');
      await until(deferred(held));
      child.process.kill('SIGTERM');
      await logged(child, 'worker stopping');
      const stopping = await fetch(String(health));
      expect([stopping.status, await stopping.text()]).to.deep.equal([503, 'stopping\n']);
      child.process.kill('SIGINT');
      await child.exited;
      expect(child.exitCode).to.equal(130);
      expect(await logged(child, 'second signal: exiting now')).to.include({ level: 'warn', signal: 'SIGINT' });
    });

    it('stops during start-up on SIGTERM: no runner is made, exit 0', async () => {
      // A workflow module that waits, as it loads, for a file the test writes once the signal is in.
      pkg.write(
        'dist/slow.js',
        "import { existsSync } from 'node:fs';\n" +
          "console.log(JSON.stringify({ msg: 'module waiting' }));\n" +
          "while (!existsSync(new URL('./go', import.meta.url))) await new Promise((r) => setTimeout(r, 10));\n" +
          "export * from './workflows.js';\n",
      );
      pkg.editPackageJson((json) => (json.slotwise = { workflows: ['./dist/slow.js'] }));
      const child = worker('slow');
      await logged(child, 'module waiting');
      child.process.kill('SIGTERM');
      await logged(child, 'signal received: stopping');
      pkg.write('dist/go', '');
      await child.exited;
      expect(child.exitCode).to.equal(0);
      const messages = child.lines.map((l) => parseLine(l)?.msg);
      expect(messages).to.include('package loaded').and.include('worker stopped');
      expect(messages).to.not.include('metrics listening').and.not.include('worker ready');
      const runners = await knex().raw<{ rows: { exists: boolean }[] }>('SELECT to_regclass(?) IS NOT NULL AS exists', [
        `${schema}.runners`,
      ]);
      expect(runners.rows[0]?.exists, 'the schema was never migrated: no runner started').to.equal(false);
    });

    it('refuses a package that fails to load: exit 1, the error, and nothing claimed', async () => {
      const held = await start('held'); // written while the package still loads
      pkg.write('dist/workflows.js', "throw new Error('missing SECRET_KEY');\n");
      const child = worker('broken');
      await child.exited;
      expect(child.exitCode).to.equal(1);
      expect(child.stderr).to.contain('slotwise worker: SLOTWISE_PACKAGE_MODULE_IMPORT_FAILED');
      expect(child.stderr).to.contain('missing SECRET_KEY');
      expect(child.lines.map(parseLine).some((l) => l?.msg === 'worker ready')).to.equal(false);
      expect(await tasksOf(held)).to.deep.equal([
        { task_id: 'waitForGo', status: 'Ready', sub_status: null, claimed_by: null, output: null },
      ]);
      expect(await knex().withSchema(schema).table('runners').count<{ count: string }[]>('* as count')).to.deep.equal([
        { count: '0' },
      ]);
    });

    it('refuses a workflow needing a limit it was not given: exit 1, naming it', async () => {
      const child = new ChildRunner(
        'no-limits',
        MAIN,
        ['worker', pkg.dir, '--database', TEST_DATABASE_URL, '--schema', schema],
        { captureStderr: true },
      );
      children.push(child);
      await child.exited;
      expect(child.exitCode).to.equal(1);
      expect(child.stderr).to.match(/slotwise worker: SLOTWISE_\w+: .*`cpu`/);
    });

    it('refuses a metrics port in use: exit 1 and a plain message', async () => {
      const taken = createServer();
      taken.listen(0, '127.0.0.1');
      await once(taken, 'listening');
      try {
        const { port } = taken.address() as AddressInfo;
        const child = worker('port', ['--metrics-port', String(port)]);
        await child.exited;
        expect(child.exitCode).to.equal(1);
        expect(child.stderr).to.contain(`slotwise worker: metrics port 127.0.0.1:${String(port)} is in use`);
      } finally {
        taken.close();
      }
    });

    it('two workers share the work', async () => {
      const a = worker('a', ['--threads', '1', '--slots', '1']);
      const b = worker('b', ['--threads', '1', '--slots', '1']);
      await Promise.all([logged(a, 'worker ready'), logged(b, 'worker ready')]);
      const ids = await Promise.all([1, 2, 3, 4].map(() => start('busy', { ms: 1500 })));
      // Each worker has one slot: both busy at once means both took a share.
      await until(async () => {
        const claimed = await knex()
          .withSchema(schema)
          .table('task_executions')
          .where({ sub_status: 'Active' })
          .countDistinct<{ count: string }[]>('claimed_by as count');
        return claimed[0]?.count === '2';
      });
      for (const id of ids) await until(async () => (await workflowStatus(id)) === 'Completed');
      const pids = new Set<unknown>();
      for (const id of ids) pids.add((await tasksOf(id))[0]?.output?.pid);
      expect(pids.size).to.equal(2);
      expect([...pids].sort()).to.deep.equal([a.process.pid, b.process.pid].sort());
    });

    it('takes over the tasks of a worker killed with SIGKILL, counted in slotwise_tasks_recovered_total', async () => {
      const doomed = worker('doomed');
      await logged(doomed, 'worker ready');
      const held = await start('held');
      await until(deferred(held));
      const survivor = worker('survivor');
      const listening = await logged(survivor, 'metrics listening');
      const survivorId = (await logged(survivor, 'worker ready')).runner;
      await doomed.kill();
      // The doomed worker's lease (2 s) runs out; the survivor's sweep hands its task back and claims it.
      await until(async () =>
        (await tasksOf(held)).some((t) => t.sub_status === 'Deferred' && t.claimed_by === survivorId),
      );
      expect(await logged(survivor, 'slotwise: took over 1 task(s) of runners that died')).to.include({
        level: 'warn',
      });
      const metrics = await scrape(String(listening.url));
      expect(value(metrics, 'slotwise_tasks_recovered_total')).to.equal(1);
      await (await signaller()).signal(held, 'go', 'recovered');
      await until(async () => (await workflowStatus(held)) === 'Completed');
    });
  });
}

describe('slotwise start, bad input (exit 2, before any database)', function () {
  this.timeout(30_000);
  let pkg: ScratchPackage;
  before(() => (pkg = scratchPackage()));
  after(() => pkg.remove());

  const cases: [string, string[], string][] = [
    ['--input that is not JSON', ['hello', '--input', '{name'], '--input is not JSON'],
    ['--input that is not an object', ['hello', '--input', '[1]'], '--input must be a JSON object, got [1]'],
    ['an unknown workflow', ['helo'], 'no workflow `helo` in'],
    [
      'an input its task cannot make a concurrency key of',
      ['held', '--input', '{"tenant":5}'],
      'concurrencyKey(input)',
    ],
    ['a priority that is not a whole number', ['hello', '--priority', '1.5'], 'expected a whole number'],
  ];
  for (const [what, args, message] of cases) {
    it(what, async () => {
      const outcome = await run(process.execPath, [
        ...[MAIN, 'start', ...args, '--package', pkg.dir, '--database', 'postgres://nobody@127.0.0.1:1/none'],
      ]).catch((error: { code: number; stderr: string }) => error);
      expect(outcome).to.include({ code: 2 });
      expect((outcome as { stderr: string }).stderr).to.contain(message);
    });
  }
  it('an unknown workflow names those the packages have', async () => {
    const outcome = await run(process.execPath, [MAIN, 'start', 'helo', '--package', pkg.dir]).catch(
      (error: { stderr: string }) => error,
    );
    expect(outcome.stderr).to.contain('(it has: busy, failing, held, hello)');
  });
});

describe('slotwise worker without a database', () => {
  it('exits 2 with a usage message', async () => {
    const env = { ...process.env };
    delete env.DATABASE_URL;
    const outcome = await run(process.execPath, [MAIN, 'worker', '.'], { env }).catch(
      (error: { code: number; stderr: string }) => error,
    );
    expect(outcome).to.include({ code: 2 });
    expect((outcome as { stderr: string }).stderr).to.contain('no database: give --database URL or set DATABASE_URL');
  });
});

describe('the worker log', () => {
  const at = new Date('2026-12-02T10:00:00.000Z');

  it('writes text lines: time, level, message, then key=value details', () => {
    const lines: string[] = [];
    const log = lineLogger(
      'text',
      (line) => lines.push(line),
      () => at,
    );
    log.info('worker ready', { slots: 4, workflows: 'a,b', note: 'two words' });
    log.warn('task run failed', { error: new Error('boom') });
    log.warn('database: Acquire connection error: Error: refused\n    at TCPConnectWrap.afterConnect');
    expect(lines).to.deep.equal([
      '2026-12-02T10:00:00.000Z info  worker ready slots=4 workflows=a,b note="two words"\n',
      '2026-12-02T10:00:00.000Z warn  task run failed error="Error: boom"\n',
      '2026-12-02T10:00:00.000Z warn  database: Acquire connection error: Error: refused\n',
    ]);
  });

  it('writes JSON lines with the same fields', () => {
    const lines: string[] = [];
    const log = lineLogger(
      'json',
      (line) => lines.push(line),
      () => at,
    );
    log.error('lease lost', { runner: 'r1' });
    expect(lines.map((l) => JSON.parse(l) as unknown)).to.deep.equal([
      { time: '2026-12-02T10:00:00.000Z', level: 'error', msg: 'lease lost', runner: 'r1' },
    ]);
  });
});
