import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { type Backend, TEST_DATABASE_URL, backends, dropSchema, freshSchema } from './db.js';

const main = fileURLToPath(new URL('../examples/postgres-workflow/main.js', import.meta.url));
const watch = fileURLToPath(new URL('../examples/postgres-workflow/watch.js', import.meta.url));

/** A child process whose output lines are kept, with a way to wait for one of them. */
class Child {
  readonly lines: string[] = [];
  stderr = '';
  readonly exit: Promise<number | null>;
  readonly #process: ChildProcessByStdio<null, Readable, Readable>;
  readonly #waiting = new Set<() => void>();

  constructor(entry: string, args: string[], env: NodeJS.ProcessEnv) {
    this.#process = spawn(process.execPath, [entry, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.#process.stderr.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    createInterface({ input: this.#process.stdout }).on('line', (line) => {
      this.lines.push(line);
      for (const check of this.#waiting) check();
    });
    this.exit = new Promise((resolve) => this.#process.once('close', resolve));
  }

  /** Resolves once a line matches `pattern`; rejects if the process ends without one. */
  line(pattern: RegExp): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!this.lines.some((line) => pattern.test(line))) return;
        this.#waiting.delete(check);
        resolve();
      };
      this.#waiting.add(check);
      check();
      void this.exit.then(() => reject(new Error(`no line matched ${String(pattern)}:\n${this.output()}`)));
    });
  }

  output(): string {
    return `${this.lines.join('\n')}\n${this.stderr}`;
  }

  kill(): void {
    if (this.#process.exitCode === null) this.#process.kill('SIGKILL');
  }
}

describe('examples: postgres-workflow', function () {
  let postgres: Backend;
  const children: Child[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'slotwise-example-test-'));

  before(async function () {
    const found = (await backends()).find((backend) => backend.name === 'postgres');
    if (found === undefined) this.skip(); // test/db.ts has said why
    postgres = found;
  });

  afterEach(() => children.splice(0).forEach((child) => child.kill()));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('the watcher, another process, sees wait_for_data Running/Deferred, then Completed, and the workflow end', async function () {
    const schema = freshSchema('example');
    const env = { ...process.env, DATABASE_URL: TEST_DATABASE_URL, SLOTWISE_SCHEMA: schema };
    const file = join(dir, 'sales.csv');
    // The watcher starts first, before the runner has made its tables: it waits for the workflow.
    const watcher = new Child(watch, [], env);
    const runner = new Child(main, [file], env);
    children.push(watcher, runner);

    // The file is written once the watcher has seen the task parked, so it cannot miss that state.
    const ranOut = runner.exit.then(() => Promise.reject(new Error(`main.js ended first:\n${runner.output()}`)));
    ranOut.catch(() => undefined); // read by the race only
    await Promise.race([watcher.line(/wait_for_data\s+Running\/Deferred$/), ranOut]);
    writeFileSync(file, 'region,amount\nnorth,120\nsouth,80\n');
    const [watcherCode, runnerCode] = await Promise.all([watcher.exit, runner.exit]);

    expect(watcherCode, watcher.output()).to.equal(0);
    expect(runnerCode, runner.output()).to.equal(0);
    expect(watcher.stderr + runner.stderr).to.equal('');
    const at = (pattern: RegExp): number => watcher.lines.findIndex((line) => pattern.test(line));
    const [watching, deferred, completed, processed, ended] = [
      at(/watching workflow \S+$/),
      at(/wait_for_data\s+Running\/Deferred$/),
      at(/wait_for_data\s+Completed$/),
      at(/process_data\s+Completed$/),
      at(/workflow Completed$/),
    ];
    expect(watching, watcher.output()).to.be.at.least(0);
    expect(deferred, watcher.output()).to.be.greaterThan(watching);
    expect(completed, watcher.output()).to.be.greaterThan(deferred);
    expect(processed, watcher.output()).to.be.greaterThan(deferred);
    expect(ended, watcher.output()).to.equal(watcher.lines.length - 1);
    expect(runner.lines.join('\n')).to.match(/workflow Completed: .*"rows":2,"total":200/);
    await dropSchema(postgres.knex(), schema, true); // kept if the test failed before here
  });
});
