// The `slotwise` command, run as a child process: usage and exit codes, migrate and status on
// the local PostgreSQL (left out when it is unreachable), and an unreachable database.
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { Runner } from '../src/index.js';
import { backends, dropSchema, freshSchema, TEST_DATABASE_URL, type Backend } from './db.js';
import { mergeWorkflow } from './fixtures/runner-tasks.js';
import { gateWorkflow, quickWorkflow } from './fixtures/control-tasks.js';
import { until } from './helpers.js';
import { comparisonLines } from '../src/cli/compare.js';

const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

interface Outcome {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `slotwise ...args`; resolves whatever its exit code. */
function slotwise(...args: string[]): Promise<Outcome> {
  const env = { ...process.env };
  delete env.DATABASE_URL;
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { env, timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('bench --compare, the table', () => {
  it('shows each figure beside the earlier one, with the change in per cent', () => {
    const earlier = { suite: 'overhead', metrics: { noop_ratio: 1, noop_executor_per_s: 20_000 } };
    const lines = comparisonLines('overhead', { noop_ratio: 1.1, noop_executor_per_s: 19_000, fresh: 3 }, earlier);
    expect(lines[0]).to.equal('compared with the earlier overhead run:');
    expect(lines.find((l) => l.startsWith('noop_ratio'))).to.match(/1\s+1\.100\s+\+10\.0%$/);
    expect(lines.find((l) => l.startsWith('noop_executor_per_s'))).to.match(/20000\s+19000\s+-5\.0%$/);
    expect(lines.find((l) => l.startsWith('fresh'))).to.match(/-\s+3\s+new$/);
    expect(comparisonLines('defer', {}, undefined)).to.deep.equal(['(no earlier defer result to compare with)']);
  });
});

describe('slotwise command', function () {
  this.timeout(60_000);

  describe('usage', () => {
    for (const command of ['migrate', 'status', 'bench', 'demo', 'worker', 'start', 'pack', 'dashboard']) {
      it(`${command} --help shows its usage and exits 0`, async () => {
        const { code, stdout } = await slotwise(command, '--help');
        expect(code).to.equal(0);
        expect(stdout).to.contain(`Usage: slotwise ${command}`);
      });
    }

    it('--help lists every command', async () => {
      const { code, stdout } = await slotwise('--help');
      expect(code).to.equal(0);
      const commands = ['migrate', 'status', 'list', 'cancel', 'pause', 'resume', 'prune', 'schedules'];
      commands.push('worker', 'start', 'pack', 'dashboard', 'bench', 'demo');
      for (const command of commands) expect(stdout).to.contain(command);
    });

    it('--version prints the package version', async () => {
      const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
        version: string;
      };
      expect(await slotwise('--version')).to.deep.equal({ code: 0, stdout: `${version}\n`, stderr: '' });
    });

    it('a bad flag exits 2 with the usage on stderr', async () => {
      const { code, stdout, stderr } = await slotwise('status', '--bogus');
      expect(code).to.equal(2);
      expect(stderr).to.contain("unknown option '--bogus'").and.to.contain('Usage: slotwise status');
      expect(stdout).to.equal('');
    });

    it('an unknown suite exits 2 and names the suites', async () => {
      const { code, stderr } = await slotwise('bench', 'nope');
      expect(code).to.equal(2);
      expect(stderr).to.contain("'nope'").and.to.contain('overhead').and.to.contain('Usage: slotwise bench');
    });

    it('bench --compare with a path that holds no result exits 2 before running anything', async () => {
      const { code, stderr } = await slotwise('bench', 'overhead', '--compare', '/nonexistent/earlier.json');
      expect(code).to.equal(2);
      expect(stderr).to.contain('--compare: no such file or folder: /nonexistent/earlier.json');
    });

    it('an unknown command exits 2', async () => {
      const { code, stderr } = await slotwise('frobnicate');
      expect(code).to.equal(2);
      expect(stderr).to.contain("unknown command 'frobnicate'");
    });

    it('migrate without --database or DATABASE_URL exits 2 and says what is missing', async () => {
      const { code, stderr } = await slotwise('migrate');
      expect(code).to.equal(2);
      expect(stderr).to.contain('no database').and.to.contain('Usage: slotwise migrate');
    });

    it('a bad schema name exits 2', async () => {
      const { code } = await slotwise('status', '--database', TEST_DATABASE_URL, '--schema', 'Bad-Name');
      expect(code).to.equal(2);
    });
  });

  it('an unreachable database exits 1, says so, and never shows the password', async () => {
    for (const command of ['migrate', 'status']) {
      const { code, stdout, stderr } = await slotwise(command, '--database', 'postgres://u:hunter2@127.0.0.1:1/x');
      expect(code).to.equal(1);
      expect(stderr).to.contain('unreachable').and.to.contain('postgres://u:***@127.0.0.1:1/x');
      expect(stdout + stderr).not.to.contain('hunter2');
    }
  });

  describe('on PostgreSQL', function () {
    let postgres: Backend | undefined;
    let schema = '';

    before(async function () {
      postgres = (await backends()).find((b) => b.name === 'postgres');
      if (postgres === undefined) this.skip();
    });

    beforeEach(() => {
      schema = freshSchema('cli');
    });

    afterEach(async function () {
      if (postgres !== undefined) await dropSchema(postgres.knex(), schema, this.currentTest?.state === 'passed');
    });

    it('cancel, pause, resume, list and prune operate executions, with --json and exit codes', async () => {
      const db = ['--database', TEST_DATABASE_URL, '--schema', schema];
      const runner = new Runner({ database: TEST_DATABASE_URL, schema, threads: 1, maxConcurrentTasks: 1 });
      try {
        const done = await runner.execute(quickWorkflow, { n: 1 });
        const gated = await runner.start(gateWorkflow, {});
        await until(async () => (await runner.status(gated)).tasks[0]?.status === 'Running');
        const paused = await slotwise('pause', gated, ...db);
        expect(paused.code, paused.stderr).to.equal(0);
        expect(paused.stdout).to.equal(`${gated} paused\n`);
        expect((await runner.status(gated)).paused).to.equal(true);
        const listed = await slotwise('list', '--status', 'Running', '--json', ...db);
        expect(listed.code, listed.stderr).to.equal(0);
        const page = JSON.parse(listed.stdout) as {
          executions: { id: string; paused: boolean }[];
          next: string | null;
        };
        expect(page.executions.map((e) => [e.id, e.paused])).to.deep.equal([[gated, true]]);
        const text = await slotwise('list', '--limit', '1', ...db);
        expect(text.stdout)
          .to.contain(gated)
          .and.to.contain('Running (paused)')
          .and.to.match(/more: slotwise list --after \S+/);
        const resumed = await slotwise('resume', gated, '--json', ...db);
        expect(JSON.parse(resumed.stdout)).to.deep.equal({ id: gated, resumed: true });
        const cancelled = await slotwise('cancel', gated, '--reason', 'from the command line', ...db);
        expect(cancelled.code, cancelled.stderr).to.equal(0);
        expect((await runner.wait(gated)).error?.message).to.contain('from the command line');
        const again = await slotwise('cancel', done.id, ...db);
        expect(again.code).to.equal(0);
        expect(again.stdout).to.contain('had ended already (Completed)');
        const pauseEnded = await slotwise('pause', done.id, ...db);
        expect(pauseEnded.code).to.equal(1);
        expect(pauseEnded.stderr).to.contain('has ended (Completed)');
        const unknown = await slotwise('cancel', '00000000-0000-7000-8000-000000000000', ...db);
        expect(unknown.code).to.equal(1);
        expect(unknown.stderr).to.contain('no workflow execution');
        const badStatus = await slotwise('list', '--status', 'Nope', ...db);
        expect(badStatus.code).to.equal(2);
        expect(badStatus.stderr).to.contain('status');
        const badAge = await slotwise('prune', '--older-than', 'a week', ...db);
        expect(badAge.code).to.equal(2);
        expect(badAge.stderr).to.contain('duration');
        const kept = await slotwise('prune', '--older-than', '7d', '--json', ...db);
        expect(JSON.parse(kept.stdout)).to.deep.equal({ pruned: 0 });
        const pruned = await slotwise('prune', '--older-than', '0s', '--status', 'Completed', ...db);
        expect(pruned.stdout).to.equal('pruned 1 workflow execution(s)\n');
        expect((await runner.list()).executions.map((e) => e.id)).to.deep.equal([gated]);
        await runner.schedule('nightly', { workflow: quickWorkflow, cron: '0 3 * * *', timezone: 'Europe/Paris' });
        const schedules = await slotwise('schedules', ...db);
        expect(schedules.code, schedules.stderr).to.equal(0);
        expect(schedules.stdout).to.match(/^nightly\s+quick\s+0 3 \* \* \* \(Europe\/Paris\)\s+next 20/);
        const json = JSON.parse((await slotwise('schedules', '--json', ...db)).stdout) as {
          schedules: { name: string }[];
        };
        expect(json.schedules.map((s) => s.name)).to.deep.equal(['nightly']);
      } finally {
        await runner.close();
      }
    });

    it('migrate applies every migration; migrate --status then reports nothing pending', async () => {
      const migrated = await slotwise('migrate', '--database', TEST_DATABASE_URL, '--schema', schema);
      expect(migrated.code, migrated.stderr).to.equal(0);
      expect(migrated.stdout).to.contain(`schema ${schema}`).and.to.contain(', 0 pending');
      const status = await slotwise('migrate', '--status', '--database', TEST_DATABASE_URL, '--schema', schema);
      expect(status.code, status.stderr).to.equal(0);
      expect(status.stdout).to.match(/applied {2}001_create_tables/);
      expect(status.stdout).not.to.match(/pending {2}/);
      expect(status.stdout).to.contain(', 0 pending');
    });

    it('status --watch redraws until Ctrl-C, then exits 0', async () => {
      expect((await slotwise('migrate', '--database', TEST_DATABASE_URL, '--schema', schema)).code).to.equal(0);
      const child = spawn(process.execPath, [
        MAIN,
        'status',
        '--watch',
        '--database',
        TEST_DATABASE_URL,
        '--schema',
        schema,
      ]);
      let stdout = '';
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
      });
      const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
      // Two redraws seen on stdout: wait on its data events, not on time.
      const reports = (): number => stdout.split('0 workflow execution(s)').length - 1;
      while (reports() < 2) await once(child.stdout, 'data');
      child.kill('SIGINT');
      expect(await exited).to.equal(0);
    });

    it('status --json shows a workflow that ran and its tasks; status shows them as text', async () => {
      const runner = new Runner({ database: postgres?.knex(), schema, threads: 1, maxConcurrentTasks: 1 });
      let id: string;
      try {
        const result = await runner.execute(mergeWorkflow);
        expect(result.status).to.equal('Completed');
        id = result.id;
      } finally {
        await runner.close();
      }
      const json = await slotwise('status', '--json', '--database', TEST_DATABASE_URL, '--schema', schema);
      expect(json.code, json.stderr).to.equal(0);
      const document = JSON.parse(json.stdout) as {
        schema: string;
        workflows: { id: string; name: string; status: string; tasks: Record<string, unknown>[] }[];
      };
      expect(document.schema).to.equal(schema);
      expect(document.workflows).to.have.length(1);
      const [workflow] = document.workflows;
      expect(workflow).to.include({ id, name: 'merge', status: 'Completed' });
      expect(workflow?.tasks.map((t) => t.taskId).sort()).to.deep.equal(['join', 'left', 'right']);
      for (const task of workflow?.tasks ?? []) {
        expect(task).to.include({ status: 'Completed', subStatus: null, attempt: 1, deferrals: 0, claimedBy: null });
        expect(task.deferredMs).to.be.a('number');
      }

      const text = await slotwise('status', '--workflow', id, '--database', TEST_DATABASE_URL, '--schema', schema);
      expect(text.code, text.stderr).to.equal(0);
      expect(text.stdout)
        .to.contain(id)
        .and.to.contain('sub-state')
        .and.to.match(/join\s+Completed/);

      const unknown = '00000000-0000-0000-0000-000000000000';
      const missing = await slotwise(
        'status',
        '--workflow',
        unknown,
        '--database',
        TEST_DATABASE_URL,
        '--schema',
        schema,
      );
      expect(missing.code).to.equal(1);
      expect(missing.stderr).to.contain(`no workflow execution ${unknown}`);
    });

    it('status shows each limit and key in use: active, deferred, reclaiming and queued tasks', async () => {
      expect((await slotwise('migrate', '--database', TEST_DATABASE_URL, '--schema', schema)).code).to.equal(0);
      const knex = postgres?.knex();
      if (knex === undefined) throw new Error('no PostgreSQL');
      const workflow = '01a00000-0000-7000-8000-000000000001';
      await knex.withSchema(schema).table('workflow_executions').insert({
        id: workflow,
        workflow_name: 'w',
        status: 'Running',
        input: '{}',
        open_tasks: 3,
      });
      const task = (n: number, status: string, subStatus: string | null, wants = false): Record<string, unknown> => ({
        id: `01a00000-0000-7000-8000-00000000001${String(n)}`,
        workflow_execution_id: workflow,
        workflow_name: 'w',
        task_id: `t${String(n)}`,
        status,
        sub_status: subStatus,
        max_attempts: 1,
        limits: knex.raw("'{api}'::text[]"),
        concurrency_key: 'acme',
        per_key_limit: 1,
        wants_units: wants,
      });
      await knex
        .withSchema(schema)
        .table('task_executions')
        .insert([task(1, 'Running', 'Active'), task(2, 'Running', 'Deferred', true), task(3, 'Ready', null)]);
      const json = await slotwise('status', '--json', '--database', TEST_DATABASE_URL, '--schema', schema);
      expect(json.code, json.stderr).to.equal(0);
      const { limits } = JSON.parse(json.stdout) as { limits: Record<string, unknown>[] };
      const counts = { active: 1, deferred: 0, reclaiming: 1, queued: 1 };
      expect(limits).to.deep.include({ kind: 'limit', name: 'api', key: null, max: null, ...counts });
      expect(limits.filter((u) => u.kind === 'key').map((u) => u.name)).to.have.members(['t1', 't2', 't3']);
      const text = await slotwise('status', '--database', TEST_DATABASE_URL, '--schema', schema);
      expect(text.stdout)
        .to.contain('limits and keys in use')
        .and.to.match(/api\s+1\s+0\s+1\s+1/);
    });
  });
});
