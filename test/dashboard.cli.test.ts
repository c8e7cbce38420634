// `slotwise dashboard` as a child process: it prints its URL and serves, SIGTERM and SIGINT
// close it with exit 0; a port in use, a missing schema and no database at all exit with one
// plain line. Waits on the child's output and exit, never on a sleep.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { type AddressInfo, createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import type { Knex } from 'knex';
import { Runner } from '../src/index.js';
import { TEST_DATABASE_URL, backends, dropSchema, freshSchema } from './db.js';

const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const postgres = (await backends()).find((b) => b.name === 'postgres');

interface Child {
  readonly process: ChildProcess;
  stdout: string;
  stderr: string;
  /** Resolves with the exit code (null: killed by a signal). */
  readonly exited: Promise<number | null>;
}

function dashboard(...args: string[]): Child {
  const env = { ...process.env };
  delete env.DATABASE_URL;
  const child = spawn(process.execPath, [MAIN, 'dashboard', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const result: Child = {
    process: child,
    stdout: '',
    stderr: '',
    exited: once(child, 'exit').then(([code]) => code as number | null),
  };
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (result.stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (result.stderr += chunk));
  return result;
}

/** Resolves with the URL once the child has printed it (rejects if it exits first). */
async function printedUrl(child: Child): Promise<string> {
  const pattern = /^slotwise dashboard: (http:\/\/\S+\/)\n/;
  const early = child.exited.then((code) => {
    throw new Error(`exited ${String(code)} before printing its URL: ${child.stderr}`);
  });
  early.catch(() => undefined); // it exits later in every test: only a race lost to it matters
  while (!pattern.test(child.stdout)) await Promise.race([once(child.process.stdout ?? child.process, 'data'), early]);
  return pattern.exec(child.stdout)?.[1] ?? '';
}

describe('slotwise dashboard command', function () {
  this.timeout(60_000);
  let schema = '';
  let failures = 0;
  const knex = (): Knex => postgres?.knex() as Knex;
  const running: Child[] = [];

  before(async function () {
    if (postgres === undefined) {
      console.log(`dashboard command tests left out: PostgreSQL at ${TEST_DATABASE_URL} is unreachable`);
      this.skip();
    }
    schema = freshSchema('dashcli');
    const runner = new Runner({ database: knex(), schema, threads: 1 });
    await runner.ready(); // migrates the schema
    await runner.close();
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') failures += 1;
    for (const child of running.splice(0)) {
      if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL');
      await child.exited;
    }
  });

  after(async () => {
    if (schema !== '') await dropSchema(knex(), schema, failures === 0);
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`prints its URL, serves the page and the API, and exits 0 on ${signal}`, async () => {
      const child = dashboard('--database', TEST_DATABASE_URL, '--schema', schema, '--port', '0');
      running.push(child);
      const url = await printedUrl(child);
      expect(url).to.match(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      const page = await fetch(url);
      expect(page.status).to.equal(200);
      expect(page.headers.get('content-security-policy')).to.contain("default-src 'none'");
      const list = (await (await fetch(`${url}api/executions`)).json()) as { executions: unknown[]; next: unknown };
      expect(list).to.deep.equal({ executions: [], next: null });
      child.process.kill(signal);
      expect(await child.exited).to.equal(0);
      expect(child.stderr).to.equal('');
    });
  }

  it('exits 1 with a plain message when the port is in use', async () => {
    const taken = createServer();
    taken.listen(0, '127.0.0.1');
    await once(taken, 'listening');
    try {
      const { port } = taken.address() as AddressInfo;
      const child = dashboard('--database', TEST_DATABASE_URL, '--schema', schema, '--port', String(port));
      running.push(child);
      expect(await child.exited).to.equal(1);
      expect(child.stderr).to.equal(
        `slotwise dashboard: port 127.0.0.1:${String(port)} is in use: pick another --port (0 picks a free one)\n`,
      );
      expect(child.stdout).to.equal('');
    } finally {
      taken.close();
    }
  });

  it('exits 1 for a schema with no slotwise tables, 2 without a database', async () => {
    const missing = dashboard('--database', TEST_DATABASE_URL, '--schema', 'no_such_schema_here', '--port', '0');
    running.push(missing);
    expect(await missing.exited).to.equal(1);
    expect(missing.stderr).to.match(
      /^slotwise dashboard: schema no_such_schema_here of .* has no slotwise tables: run slotwise migrate\n$/,
    );
    const nowhere = dashboard('--port', '0');
    running.push(nowhere);
    expect(await nowhere.exited).to.equal(2);
    expect(nowhere.stderr).to.contain('no database: give --database URL or set DATABASE_URL');
    const badPort = dashboard('--port', 'x');
    running.push(badPort);
    expect(await badPort.exited).to.equal(2);
    expect(badPort.stderr).to.contain('expected a port');
  });
});
