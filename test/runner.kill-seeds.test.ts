// Process faults: a child runner process runs a few diamond workflows whose tasks defer, and is
// killed with SIGKILL after the k-th sub-state it wrote (k and the deferrals drawn from a seed);
// then a fresh runner on the same schema must finish every workflow, each task Completed exactly
// once, and exactly the tasks left Running by the dead process recovered (once each).
//
// The seed is in each test's title. To replay some: SLOTWISE_KILL_SEEDS=12,345 npx mocha
// dist/test/runner.kill-seeds.test.js (the moment of the kill follows the child's lines, so a
// replay hits the same point of the event stream, not necessarily the same instant).
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import type { Knex } from 'knex';
import { Runner } from '../src/index.js';
import { TEST_DATABASE_URL, backends, dropSchema, freshSchema } from './db.js';
import { type Plan, killSeedsDiamond } from './fixtures/kill-seeds-tasks.js';

const child = fileURLToPath(new URL('./fixtures/kill-seeds-child.js', import.meta.url));
const postgres = (await backends()).find((b) => b.name === 'postgres');

const WORKFLOWS = 3;
const TASKS = ['a', 'b', 'c', 'd'] as const;

/** mulberry32: a small seeded PRNG, uniform in [0, 1). */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Scenario {
  readonly seed: number;
  readonly plans: Plan[];
  /** Sub-state lines a child that is not killed prints: a Deferred and an Active per deferral. */
  readonly lines: number;
  /** Kill after this many sub-state lines (0: as soon as the workflows are started). */
  readonly killAfter: number;
}

function scenario(seed: number): Scenario {
  const random = prng(seed);
  const int = (min: number, max: number): number => min + Math.floor(random() * (max - min + 1));
  const plans = Array.from({ length: WORKFLOWS }, () => {
    const plan: Record<string, number[]> = {};
    for (const task of TASKS) plan[task] = Array.from({ length: int(0, 2) }, () => int(10, 60));
    return plan as unknown as Plan;
  });
  const lines = 2 * plans.reduce((sum, plan) => sum + TASKS.reduce((n, task) => n + plan[task].length, 0), 0);
  return { seed, plans, lines, killAfter: int(0, lines) };
}

/** Rejects with `what` if `promise` has not settled within `ms`: a hang fails the test, cleanly. */
async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not done within ${String(ms)} ms`)), ms);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

type Child = ChildProcessByStdio<null, Readable, null>;

/**
 * Runs the child until it has printed `killAfter` sub-state lines after starting its workflows
 * (or has finished them all), kills it with SIGKILL and waits for it to be gone. Resolves with
 * the ids it started and the lines it printed.
 */
async function runAndKill(schema: string, s: Scenario): Promise<{ ids: string[]; lines: string[] }> {
  const process_: Child = spawn(process.execPath, [child, TEST_DATABASE_URL, schema, JSON.stringify(s.plans)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => process_.once('exit', (code) => resolve(code)));
  const lines: string[] = [];
  let ids: string[] | null = null;
  let killed = false;
  let events = 0;
  try {
    await within(
      10_000,
      'the child reaching its kill point',
      new Promise<void>((resolve, reject) => {
        void exited.then((code) => {
          if (!killed) reject(new Error(`the child runner exited by itself (${String(code)}): ${lines.join(' | ')}`));
        });
        createInterface({ input: process_.stdout }).on('line', (line) => {
          if (killed) return;
          lines.push(line);
          if (line.startsWith('started ')) ids = JSON.parse(line.slice('started '.length)) as string[];
          if (line.startsWith('event ')) events += 1;
          if ((ids !== null && events >= s.killAfter) || line === 'finished') {
            killed = process_.kill('SIGKILL');
            resolve();
          }
        });
      }),
    );
  } finally {
    if (!killed) process_.kill('SIGKILL');
    await exited;
  }
  expect(ids, 'the child printed the ids it started').to.be.an('array').with.lengthOf(WORKFLOWS);
  return { ids: ids ?? [], lines };
}

async function rows<T>(knex: Knex, sql: string, bindings: readonly Knex.RawBinding[]): Promise<T[]> {
  return (await knex.raw<{ rows: T[] }>(sql, bindings)).rows;
}

async function check(knex: Knex, schema: string, s: Scenario): Promise<void> {
  const { ids } = await runAndKill(schema, s);
  // What the dead process left behind: its workflows, and the tasks it had Running.
  const stored = await rows<{ id: string }>(knex, 'SELECT id FROM ??.workflow_executions ORDER BY id', [schema]);
  expect(stored.map((w) => w.id)).to.deep.equal([...ids].sort());
  const leftRunning = (
    await rows<{ id: string }>(knex, `SELECT id FROM ??.task_executions WHERE status = 'Running'`, [schema])
  ).map((t) => t.id);

  const runner = new Runner({
    database: TEST_DATABASE_URL,
    schema,
    threads: 2,
    maxConcurrentTasks: 2,
    workflows: [killSeedsDiamond],
    heartbeatIntervalMs: 100, // sweeps soon after the killed runner's 200 ms lease expires
    pollIntervalMs: 100,
  });
  try {
    const results = await within(
      10_000,
      'the fresh runner finishing every workflow',
      Promise.all(ids.map((id) => runner.wait(id))),
    );
    for (const result of results) {
      expect(result.status, `workflow ${result.id}`).to.equal('Completed');
      expect(result.tasks.map((t) => [t.taskId, t.status])).to.have.deep.members(TASKS.map((t) => [t, 'Completed']));
      expect(result.output).to.deep.include({ done_a: true, done_b: true, done_c: true, done_d: true });
      expect(result.output?.saw).to.deep.equal(['done_b', 'done_c']);
    }
  } finally {
    await runner.close({ timeoutMs: 2_000 });
  }

  // Each task execution: completed exactly once, never failed; recovered (at least once) if the
  // dead process had it Running. Every start ended in one completion, recovery or release (a
  // runner that cannot renew its 200 ms lease in time gives its claims back: legitimate, under
  // load), and a release does not count as an attempt.
  const tasks = await rows<{ id: string; task_id: string; attempt: number; recovery_attempts: number }>(
    knex,
    'SELECT id, task_id, attempt, recovery_attempts FROM ??.task_executions',
    [schema],
  );
  const events = await rows<{ task_execution_id: string; event_type: string; n: number }>(
    knex,
    `SELECT task_execution_id, event_type, count(*)::int AS n FROM ??.execution_events
     WHERE task_execution_id IS NOT NULL GROUP BY task_execution_id, event_type`,
    [schema],
  );
  const count = (id: string, type: string): number =>
    Number(events.find((e) => e.task_execution_id === id && e.event_type === type)?.n ?? 0);
  expect(tasks).to.have.lengthOf(WORKFLOWS * TASKS.length);
  for (const task of tasks) {
    const what = `task ${task.task_id} (${task.id})`;
    const [started, recovered, released] = ['task_started', 'task_recovered', 'task_released'].map((type) =>
      count(task.id, type),
    ) as [number, number, number];
    expect(count(task.id, 'task_completed'), `${what}: task_completed events`).to.equal(1);
    expect(count(task.id, 'task_failed') + count(task.id, 'task_abandoned'), `${what}: failures`).to.equal(0);
    expect(recovered, `${what}: task_recovered events`).to.be.at.least(leftRunning.includes(task.id) ? 1 : 0);
    expect(task.recovery_attempts, `${what}: recovery_attempts`).to.equal(recovered);
    expect(started, `${what}: task_started events`).to.equal(1 + recovered + released);
    expect(task.attempt, `${what}: attempts`).to.equal(started - released);
  }
}

function seeds(): number[] {
  const given = process.env.SLOTWISE_KILL_SEEDS;
  if (given !== undefined && given.trim() !== '') return given.split(',').map((seed) => Number(seed.trim()));
  // Three fixed seeds, and two new ones each run (replay a failing one by its title).
  const fresh = (): number => Math.floor(Math.random() * 2 ** 31);
  return [1, 2, 3, fresh(), fresh()];
}

if (postgres !== undefined) {
  describe('Runner after SIGKILL at random moments (postgres)', function () {
    for (const seed of seeds()) {
      const s = scenario(seed);
      it(`seed ${String(seed)}: killed after sub-state line ${String(s.killAfter)} of ${String(s.lines)}, a fresh runner completes every workflow, each task once`, async () => {
        const schema = freshSchema('kill');
        let passed = false;
        try {
          await check(postgres.knex(), schema, s);
          passed = true;
        } finally {
          await dropSchema(postgres.knex(), schema, passed);
        }
      });
    }
  });
}
