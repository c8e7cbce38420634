// The dashboard's server and JSON API on the local PostgreSQL, without a browser: what each path
// answers (JSON, with the page's security headers), 400 for a bad filter, cursor or id, 404 for
// an unknown path or execution, 405 for anything but GET, 421 for a foreign Host, 500 without
// the password for a database error, and the refusal to serve a schema that is not migrated.
import { request } from 'node:http';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { Script } from 'node:vm';
import { expect } from 'chai';
import type { Knex } from 'knex';
import { ErrorCode, InvalidArgumentError, Runner } from '../src/index.js';
import { type Dashboard, startDashboard } from '../src/dashboard/server.js';
import { ASSETS } from '../src/dashboard/page.js';
import { MIGRATIONS } from '../src/store/migrate.js';
import { TEST_DATABASE_URL, backends, dropSchema, freshSchema } from './db.js';
import { rejection } from './helpers.js';
import { mergeWorkflow } from './fixtures/runner-tasks.js';

const postgres = (await backends()).find((b) => b.name === 'postgres');

/** The test database's URL with a password (the local server trusts it and ignores it), to see it hidden. */
function urlWithPassword(): { url: string; password: string } {
  const url = new URL(TEST_DATABASE_URL);
  if (url.password === '') url.password = 'hunter2-not-shown';
  return { url: url.href, password: decodeURIComponent(url.password) };
}

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  readonly json: { error?: { status: number; message: string } } & Record<string, unknown>;
}

function get(base: string, path: string, options: { method?: string; host?: string } = {}): Promise<Answer> {
  const target = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = request(
      target,
      { method: options.method ?? 'GET', headers: options.host === undefined ? {} : { host: options.host } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          let json: Answer['json'] = {};
          try {
            json = JSON.parse(text) as Answer['json'];
          } catch {
            // not JSON: the page and its assets
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('slotwise dashboard server and API', function () {
  this.timeout(60_000);
  let schema = '';
  let runner: Runner | null = null;
  let dashboard: Dashboard | null = null;
  let base = '';
  let failures = 0;
  const ids: string[] = [];
  const { url, password } = urlWithPassword();
  const knex = (): Knex => postgres?.knex() as Knex;

  before(async function () {
    if (postgres === undefined) {
      console.log(`dashboard server tests left out: PostgreSQL at ${TEST_DATABASE_URL} is unreachable`);
      this.skip();
    }
    schema = freshSchema('dashapi');
    runner = new Runner({ database: knex(), schema, threads: 1, maxConcurrentTasks: 2 });
    for (let i = 0; i < 2; i++) ids.push((await runner.execute(mergeWorkflow, {})).id);
    dashboard = await startDashboard({ database: url, schema, port: 0 });
    base = dashboard.url;
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') failures += 1;
  });

  after(async () => {
    await dashboard?.close();
    await runner?.close();
    if (schema !== '') await dropSchema(knex(), schema, failures === 0);
  });

  it('serves the page, its script and its style sheet with a strict Content-Security-Policy', async () => {
    const page = await get(base, '/');
    expect(page.status).to.equal(200);
    expect(page.headers['content-type']).to.equal('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).to.equal(
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    );
    expect(page.headers['x-content-type-options']).to.equal('nosniff');
    expect(page.text).to.contain('<script src="/assets/dashboard.js" defer></script>').and.not.contain('http');
    const script = await get(base, '/assets/dashboard.js');
    expect(script.headers['content-type']).to.equal('text/javascript; charset=utf-8');
    expect(script.text).to.equal(ASSETS.get('/assets/dashboard.js')?.body);
    expect(() => new Script(script.text), 'the script parses').not.to.throw();
    expect(script.text).not.to.match(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
    expect((await get(base, '/assets/dashboard.css')).headers['content-type']).to.equal('text/css; charset=utf-8');
    const head = await get(base, '/', { method: 'HEAD' });
    expect(head).to.deep.include({ status: 200, text: '' });
  });

  it('lists executions newest first with their tasks counted, a page at a time', async () => {
    const all = await get(base, '/api/executions');
    expect(all.status).to.equal(200);
    const executions = all.json.executions as { id: string; status: string; tasks: Record<string, number> }[];
    expect(executions.map((e) => e.id)).to.deep.equal([...ids].reverse());
    expect(executions[0]).to.deep.include({ status: 'Completed', tasks: { Completed: 3 } });
    expect(all.json.next).to.equal(null);
    const first = await get(base, '/api/executions?limit=1&workflow=merge&status=Completed');
    expect((first.json.executions as { id: string }[]).map((e) => e.id)).to.deep.equal([ids[1]]);
    const next = first.json.next as string;
    const second = await get(base, `/api/executions?limit=1&after=${encodeURIComponent(next)}`);
    expect((second.json.executions as { id: string }[]).map((e) => e.id)).to.deep.equal([ids[0]]);
    const none = await get(base, '/api/executions?workflow=no-such-workflow');
    expect(none.json).to.deep.equal({ executions: [], next: null });
  });

  it('answers 400 for a bad status, cursor, limit or execution id', async () => {
    for (const path of [
      '/api/executions?status=Sleeping',
      '/api/executions?after=not-a-cursor',
      '/api/executions?limit=0',
      '/api/executions?limit=many',
      '/api/executions/not-a-uuid',
      '/api/executions/%E0%A4%A',
    ]) {
      const answer = await get(base, path);
      expect(answer.status, path).to.equal(400);
      expect(answer.headers['content-type'], path).to.equal('application/json; charset=utf-8');
      expect(answer.json.error?.status, path).to.equal(400);
      expect(answer.json.error?.message, path).to.be.a('string').and.not.equal('');
    }
    expect((await get(base, '/api/executions?status=Sleeping')).json.error?.message).to.contain('`status`');
  });

  it('answers 404 for an unknown path or execution, 405 for a write, 421 for a foreign Host', async () => {
    const missing = await get(base, '/api/executions/00000000-0000-4000-8000-000000000000');
    expect(missing.status).to.equal(404);
    expect(missing.json.error?.message).to.contain('no workflow execution 00000000-0000-4000-8000-000000000000');
    for (const path of ['/api/nope', '/api/executions/x/y', '/nope', '/assets/other.js']) {
      const answer = await get(base, path);
      expect(answer.status, path).to.equal(404);
      expect(answer.json.error?.status, path).to.equal(404);
    }
    const post = await get(base, '/api/executions', { method: 'POST' });
    expect(post.status).to.equal(405);
    expect(post.headers.allow).to.equal('GET, HEAD');
    expect((await get(base, '/', { host: 'rebound.example:4280' })).status).to.equal(421);
    expect((await get(base, '/', { host: `localhost:${new URL(base).port}` })).status).to.equal(200);
  });

  it('gives one execution with its DAG, its events in the order written and a Gantt row per task', async () => {
    const answer = await get(base, `/api/executions/${ids[0] ?? ''}`);
    expect(answer.status).to.equal(200);
    const body = answer.json as unknown as {
      execution: { id: string; status: string; input: { text: string; truncated: boolean } };
      tasks: { taskId: string; dependencies: string[]; attempt: number; output: { text: string } | null }[];
      events: { id: string; type: string }[];
      dag: { layers: string[][]; edges: string[][] };
      gantt: { start: number; end: number; rows: { taskId: string; spans: { kind: string; open: boolean }[] }[] };
    };
    expect(body.execution).to.deep.include({
      id: ids[0],
      status: 'Completed',
      input: { text: '{}', truncated: false },
    });
    const join = body.tasks.find((t) => t.taskId === 'join');
    expect(join?.dependencies).to.deep.equal(['left', 'right']);
    expect(join?.attempt).to.equal(1);
    expect(JSON.parse(body.tasks.find((t) => t.taskId === 'left')?.output?.text ?? '')).to.include({ left: 1 });
    expect(body.dag.layers).to.deep.equal([['left', 'right'], ['join']]);
    expect(body.dag.edges).to.have.deep.members([
      ['left', 'join'],
      ['right', 'join'],
    ]);
    const eventIds = body.events.map((e) => Number(e.id));
    expect(eventIds.length).to.be.above(9); // 10 and more: ordered as numbers, not as text
    expect(eventIds).to.deep.equal([...eventIds].sort((a, b) => a - b));
    expect(body.gantt.rows.map((r) => r.taskId)).to.have.members(['left', 'right', 'join']);
    for (const row of body.gantt.rows) {
      expect(
        row.spans.map((s) => [s.kind, s.open]),
        row.taskId,
      ).to.deep.equal([['active', false]]);
    }
    expect(body.gantt.end).to.be.at.least(body.gantt.start);
  });

  it('shows the runner with its slots and lease, and the schedules', async () => {
    const runners = (await get(base, '/api/runners')).json.runners as Record<string, unknown>[];
    expect(runners).to.have.length(1);
    expect(runners[0]).to.deep.include({ maxSlots: 2, slotsInUse: 0, activeTasks: 0, deferredTasks: 0, live: true });
    expect(runners[0]?.leaseAgeMs).to.be.a('number').and.at.least(0);
    expect(runners[0]?.leaseLeftMs).to.be.a('number').and.above(0);
    expect((await get(base, '/api/schedules')).json).to.deep.equal({ schedules: [] });
    await runner?.schedule('nightly', { workflow: mergeWorkflow, cron: '0 3 * * *' });
    const schedules = (await get(base, '/api/schedules')).json.schedules as Record<string, unknown>[];
    expect(schedules).to.have.length(1);
    expect(schedules[0]).to.deep.include({
      name: 'nightly',
      workflowName: 'merge',
      cron: '0 3 * * *',
      timezone: 'UTC',
    });
  });

  it('answers 500 in JSON for a database error, the password hidden', async () => {
    await knex().raw('ALTER TABLE ??.runners RENAME TO runners_away', [schema]);
    try {
      const answer = await get(base, '/api/runners');
      expect(answer.status).to.equal(500);
      expect(answer.json.error?.message).to.contain('runners').and.contain('does not exist');
      expect(answer.text).not.to.contain(password);
    } finally {
      await knex().raw('ALTER TABLE ??.runners_away RENAME TO runners', [schema]);
    }
    expect((await get(base, '/api/runners')).status).to.equal(200);
  });

  it('refuses a schema that is missing or not migrated to this version, and bad options', async () => {
    const missing = await rejection(
      startDashboard({ database: knex(), schema: 'no_such_schema_here', port: 0 }),
      InvalidArgumentError,
      ErrorCode.InvalidArgument,
    );
    expect(missing.argument).to.equal('schema');
    expect(missing.message).to.contain('has no slotwise tables');
    const old = freshSchema('dashold');
    await knex().raw('CREATE SCHEMA ??', [old]);
    await knex().raw('CREATE TABLE ??.slotwise_migrations (name text)', [old]);
    await knex()
      .withSchema(old)
      .table('slotwise_migrations')
      .insert(MIGRATIONS.slice(0, -1).map((m) => ({ name: m.name })));
    try {
      const behind = await rejection(
        startDashboard({ database: knex(), schema: old, port: 0 }),
        InvalidArgumentError,
        ErrorCode.InvalidArgument,
      );
      expect(behind.message).to.contain(`pending: ${MIGRATIONS.at(-1)?.name ?? ''}`);
    } finally {
      await dropSchema(knex(), old, true);
    }
    for (const options of [{ port: -1 }, { port: 1.5 }, { host: '' }, { schema: 'Bad-Name' }, { prot: 80 }]) {
      await rejection(
        startDashboard({ database: knex(), schema, ...options }),
        InvalidArgumentError,
        ErrorCode.InvalidArgument,
      );
    }
  });

  it('rejects with EADDRINUSE when the port is taken', async () => {
    const taken = createServer();
    taken.listen(0, '127.0.0.1');
    await once(taken, 'listening');
    try {
      const port = (taken.address() as { port: number }).port;
      let code: unknown = null;
      await startDashboard({ database: knex(), schema, port }).then(
        (d) => d.close(),
        (error: unknown) => {
          code = (error as { code?: unknown }).code;
        },
      );
      expect(code).to.equal('EADDRINUSE');
    } finally {
      taken.close();
    }
  });
});
