import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import {
  ContextNotStorableError,
  ErrorCode,
  InvalidArgumentError,
  Runner,
  type RunnerOptions,
  WorkflowEndedError,
  WorkflowErrorCode,
  WorkflowNotFoundError,
} from '../src/index.js';
import { TEST_DATABASE_URL, backends, dropSchema, freshSchema } from './db.js';
import { rejection, until } from './helpers.js';
import {
  approvalWorkflow,
  givingUpWorkflow,
  impatientWorkflow,
  lateWorkflow,
  stepsWorkflow,
  twoWaiters,
} from './fixtures/signal-tasks.js';

const child = fileURLToPath(new URL('./fixtures/signal-child.js', import.meta.url));

/** Resolves once the runner has written a task of `id` as Deferred (waiting for its signal). */
function deferred(runner: Runner, id: string | (() => string)): Promise<void> {
  return new Promise((resolve) => {
    const listener = (e: { workflowExecutionId: string; subStatus: string }): void => {
      const wanted = typeof id === 'string' ? id : id();
      if (e.subStatus !== 'Deferred' || e.workflowExecutionId !== wanted) return;
      runner.off('taskSubStatus', listener);
      resolve();
    };
    runner.on('taskSubStatus', listener);
  });
}

for (const backend of await backends()) {
  describe(`runner.signal (${backend.name})`, function () {
    const runners: Runner[] = [];
    let schema = '';

    function createRunner(options: RunnerOptions = {}): Runner {
      const runner = new Runner({ database: backend.knex(), schema, threads: 2, maxConcurrentTasks: 2, ...options });
      runners.push(runner);
      return runner;
    }

    beforeEach(() => {
      schema = freshSchema('sig');
    });

    afterEach(async function () {
      for (const runner of runners.splice(0)) await runner.close();
      await dropSchema(backend.knex(), schema, this.currentTest?.state === 'passed');
    });

    it('ends a task waiting for a signal with its payload; the task is Running/Deferred while it waits', async () => {
      const runner = createRunner();
      let id = '';
      const waiting = deferred(runner, () => id);
      id = await runner.start(approvalWorkflow, {});
      await waiting;
      const status = await runner.status(id);
      expect(status.tasks.find((t) => t.taskId === 'await_approval')).to.include({
        status: 'Running',
        subStatus: 'Deferred',
      });
      expect(runner.executor.metrics()).to.include({ deferredTasks: 1, activeTasks: 0 });
      await runner.signal(id, 'approved', { by: 'ops' });
      const result = await runner.wait(id);
      expect(result.status).to.equal('Completed');
      expect(result.output).to.include({ approvedBy: 'ops', published: 'ops' });
      const rows: { name: string; consumed_at: Date | null; ordinal: number }[] = await backend
        .knex()
        .withSchema(schema)
        .table('signals')
        .select('name', 'consumed_at', 'ordinal');
      expect(rows).to.have.length(1);
      expect(rows[0]).to.include({ name: 'approved', ordinal: 0 });
      expect(rows[0]?.consumed_at).to.be.instanceOf(Date);
    });

    it('keeps a signal sent before the task waits, and gives it to the wait when it comes', async () => {
      const dir = mkdtempSync(joinPath(tmpdir(), 'slotwise-sig-'));
      try {
        const flagFile = joinPath(dir, 'flag');
        const runner = createRunner();
        const id = await runner.start(lateWorkflow, { flagFile });
        await runner.signal(id, 'go', 42);
        writeFileSync(flagFile, '');
        const result = await runner.wait(id);
        expect(result.output).to.include({ got: 42 });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('gives one task its signals in the order they were sent, one per wait', async () => {
      const runner = createRunner();
      let id = '';
      const waiting = deferred(runner, () => id);
      id = await runner.start(stepsWorkflow, {});
      await waiting;
      await runner.signal(id, 'step', 'one');
      await runner.signal(id, 'done', null);
      await runner.signal(id, 'step', { n: 2 });
      const result = await runner.wait(id);
      expect(result.output).to.deep.include({ steps: ['one', { n: 2 }, null] });
    });

    it('gives each of two tasks waiting on one name one of the two signals', async () => {
      const runner = createRunner();
      const id = await runner.start(twoWaiters, {});
      await until(async () => (await runner.status(id)).tasks.every((t) => t.subStatus === 'Deferred'));
      await runner.signal(id, 'token', 1);
      await runner.signal(id, 'token', 2);
      const result = await runner.wait(id);
      expect([result.output?.a, result.output?.b].sort()).to.deep.equal([1, 2]);
    });

    it('a wait that times out leaves later signals of its name in the table', async () => {
      const runner = createRunner();
      const id = await runner.start(impatientWorkflow, { timeoutMs: 50 });
      const result = await runner.wait(id);
      expect(result.output).to.include({ timedOut: ErrorCode.DeferTimeout });
      await rejection(runner.signal(id, 'never'), WorkflowEndedError, ErrorCode.WorkflowEnded);
    });

    it('a task that gave up waiting does not keep the next signal of the name from a task that waits', async () => {
      const dir = mkdtempSync(joinPath(tmpdir(), 'slotwise-sig-'));
      try {
        const flagFile = joinPath(dir, 'flag');
        const runner = createRunner();
        const id = await runner.start(givingUpWorkflow, { timeoutMs: 20, flagFile });
        const waits = (): Promise<{ name: string }[]> =>
          backend.knex().withSchema(schema).table('signal_waits').select('name').orderBy('name');
        await until(async () => (await waits()).map((w) => w.name).join() === 'done');
        writeFileSync(flagFile, '');
        await until(async () => (await waits()).map((w) => w.name).join() === 'done,x');
        await runner.signal(id, 'x', 'for the one waiting');
        await runner.signal(id, 'done', 'finally');
        const result = await runner.wait(id);
        expect(result.output).to.include({ x: 'for the one waiting', done: 'finally' });
        expect(await waits()).to.deep.equal([]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('refuses bad signals with typed errors that say which', async () => {
      const runner = createRunner();
      const id = await runner.start(approvalWorkflow, {});
      const missing = await rejection(
        runner.signal('0190a0a0-0000-7000-8000-000000000000', 'approved'),
        WorkflowNotFoundError,
        ErrorCode.WorkflowNotFound,
      );
      expect(missing.workflowExecutionId).to.equal('0190a0a0-0000-7000-8000-000000000000');
      await rejection(runner.signal('not-a-uuid', 'approved'), WorkflowNotFoundError, ErrorCode.WorkflowNotFound);
      await rejection(runner.signal(id, ''), InvalidArgumentError, ErrorCode.InvalidArgument);
      await rejection(runner.signal(id, 'x'.repeat(201)), InvalidArgumentError, ErrorCode.InvalidArgument);
      await rejection(
        runner.signal(42 as unknown as string, 'approved'),
        InvalidArgumentError,
        ErrorCode.InvalidArgument,
      );
      const notJson = await rejection(
        runner.signal(id, 'approved', { at: new Date() }),
        ContextNotStorableError,
        WorkflowErrorCode.ContextNotStorable,
      );
      expect(notJson.path).to.equal('payload.at');
      await runner.signal(id, 'approved', { by: 'me' });
      const result = await runner.wait(id);
      const ended = await rejection(runner.signal(id, 'approved'), WorkflowEndedError, ErrorCode.WorkflowEnded);
      expect(ended).to.include({ workflowExecutionId: id, status: result.status });
    });
  });
}

const postgres = (await backends()).find((b) => b.name === 'postgres');

/** A child runner process (`fixtures/signal-child.ts`) and what it prints. */
class ChildRunner {
  readonly process: ChildProcess;
  #out = '';
  readonly #waiters: (() => void)[] = [];
  readonly exited: Promise<void>;

  constructor(schema: string, mode: 'start' | 'serve') {
    this.process = spawn(process.execPath, [child, TEST_DATABASE_URL, schema, mode], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    this.exited = new Promise((resolve) => this.process.once('exit', () => resolve()));
    this.process.stdout?.on('data', (chunk: Buffer) => {
      this.#out += chunk.toString();
      for (const wake of this.#waiters.splice(0)) wake();
    });
  }

  /** Resolves with the first capture of `pattern` in what the child printed. */
  async line(pattern: RegExp): Promise<string> {
    for (;;) {
      const match = pattern.exec(this.#out);
      if (match?.[1] !== undefined) return match[1];
      await new Promise<void>((resolve, reject) => {
        this.#waiters.push(resolve);
        void this.exited.then(() => reject(new Error(`the child runner exited; it printed: ${this.#out}`)));
      });
    }
  }

  async kill(): Promise<void> {
    this.process.kill('SIGKILL');
    await this.exited;
  }
}

(postgres === undefined ? describe.skip : describe)('runner.signal across processes (postgres)', function () {
  let schema = '';
  const runners: Runner[] = [];
  const children: ChildRunner[] = [];

  beforeEach(() => {
    schema = freshSchema('sigx');
  });

  afterEach(async function () {
    for (const c of children.splice(0)) await c.kill();
    for (const runner of runners.splice(0)) await runner.close();
    if (postgres !== undefined) await dropSchema(postgres.knex(), schema, this.currentTest?.state === 'passed');
  });

  function sender(options: RunnerOptions = {}): Runner {
    // A runner that knows no workflow claims nothing: here it only sends.
    const runner = new Runner({ database: TEST_DATABASE_URL, schema, threads: 1, ...options });
    runners.push(runner);
    return runner;
  }

  it('wakes the task another process holds, through the database', async () => {
    const holder = new ChildRunner(schema, 'start');
    children.push(holder);
    const id = await holder.line(/waiting (\S+)\n/);
    await sender().signal(id, 'approved', { by: 'web' });
    expect(JSON.parse(await holder.line(new RegExp(`done ${id} (.+)\\n`)))).to.include({ published: 'web' });
  });

  it('a signal sent while no runner holds the waiting task is found when a runner recovers it', async () => {
    const holder = new ChildRunner(schema, 'start');
    children.push(holder);
    const id = await holder.line(/waiting (\S+)\n/);
    await holder.kill();
    await sender().signal(id, 'approved', { by: 'night shift' });
    const recovering = sender({ workflows: [approvalWorkflow], heartbeatIntervalMs: 100 });
    const result = await recovering.wait(id);
    expect(result.status).to.equal('Completed');
    expect(result.output).to.include({ published: 'night shift' });
    expect(result.tasks.find((t) => t.taskId === 'await_approval')?.recoveryAttempts).to.equal(1);
  });
});
