// Random workflows run to their end on each database: random DAGs of up to five tasks, each
// with a random trigger rule and a random fate (succeed, fail every attempt, fail once or twice
// then succeed, defer then succeed). A model of the rules says how every task and the workflow
// must end, and with how many attempts; the runner must agree, every time.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { expect } from 'chai';
import fc from 'fast-check';
import { Runner, type TaskHandle, type Workflow, defineTask, defineWorkflow } from '../src/index.js';
import { backends, dropSchema, freshSchema } from './db.js';
import { type DagInput, MAX_ATTEMPTS, NODES, type Plan, RULES, type Rule } from './fixtures/dag-tasks.js';

const WORKFLOWS_PER_BACKEND = 20;
const DAG_MODULE = new URL('./fixtures/dag-tasks.js', import.meta.url).href;

interface Node {
  /** Indexes of the earlier nodes it depends on. */
  readonly dependencies: readonly number[];
  readonly rule: Rule;
  readonly plan: Plan;
}

const plan: fc.Arbitrary<Plan> = fc.oneof(
  { arbitrary: fc.constant({ kind: 'ok' as const }), weight: 3 },
  fc.constant({ kind: 'fail' as const }),
  fc.constantFrom(1 as const, 2 as const).map((failures) => ({ kind: 'flaky' as const, failures })),
  fc.constant({ kind: 'defer' as const }),
);

const dag: fc.Arbitrary<Node[]> = fc.integer({ min: 1, max: NODES }).chain((size) =>
  fc.tuple(
    ...Array.from({ length: size }, (_, i) =>
      fc.record({
        dependencies: fc.subarray([...Array(i).keys()]),
        rule: fc.constantFrom(...RULES),
        plan,
      }),
    ),
  ),
);

interface Expected {
  readonly status: 'Completed' | 'Failed' | 'Skipped';
  readonly attempts: number;
}

/** The rules, written out: how each node ends, in order (dependencies come first). */
function model(nodes: readonly Node[]): Expected[] {
  const ends: Expected[] = [];
  for (const node of nodes) {
    const statuses = node.dependencies.map((d) => ends[d]?.status);
    const runs =
      node.rule === 'always' ||
      (node.rule === 'allCompleted' && statuses.every((s) => s === 'Completed')) ||
      (node.rule === 'anyFailed' && statuses.some((s) => s === 'Failed'));
    if (!runs) ends.push({ status: 'Skipped', attempts: 0 });
    else if (node.plan.kind === 'fail') ends.push({ status: 'Failed', attempts: MAX_ATTEMPTS });
    else ends.push({ status: 'Completed', attempts: node.plan.kind === 'flaky' ? node.plan.failures + 1 : 1 });
  }
  return ends;
}

let dagCount = 0;

/** The DAG as a workflow: `n0..` defined again with its options, in a module instance of its own. */
function workflowOf(nodes: readonly Node[]): Workflow {
  dagCount += 1;
  const module = `${DAG_MODULE}?dag=${String(dagCount)}`;
  const tasks = nodes.map((node, i) =>
    // The body runs in the worker threads (from the module); this one only carries the options.
    defineTask(`n${String(i)}`, (_context: DagInput, _handle: TaskHandle) => ({}), {
      module,
      dependencies: node.dependencies.map((d) => `n${String(d)}`),
      trigger: node.rule,
      retry: { maxAttempts: MAX_ATTEMPTS, backoff: 'fixed', initialDelayMs: 1, jitter: false },
    }),
  );
  return defineWorkflow(`dag-${String(dagCount)}`, ...tasks);
}

for (const backend of await backends()) {
  describe(`Runner properties (${backend.name})`, function () {
    let schema = '';
    let dir = '';

    beforeEach(() => {
      schema = freshSchema('prop');
      dir = mkdtempSync(joinPath(tmpdir(), 'slotwise-dag-'));
    });

    afterEach(async function () {
      rmSync(dir, { recursive: true, force: true });
      await dropSchema(backend.knex(), schema, this.currentTest?.state === 'passed');
    });

    it(`ends ${String(WORKFLOWS_PER_BACKEND)} random workflows as the rules say (DAGs, trigger rules, failures, retries, deferrals)`, async function () {
      this.timeout(120_000);
      const runner = new Runner({ database: backend.knex(), schema, threads: 2, maxConcurrentTasks: 3 });
      try {
        await fc.assert(
          fc.asyncProperty(dag, async (nodes) => {
            const workflow = workflowOf(nodes);
            const input: DagInput = { plan: Object.fromEntries(nodes.map((n, i) => [`n${String(i)}`, n.plan])), dir };
            const result = await runner.execute(workflow, input as unknown as Record<string, unknown>);
            const expected = model(nodes);
            const actual = nodes.map((_, i) => {
              const task = result.tasks.find((t) => t.taskId === `n${String(i)}`);
              return { status: task?.status, attempts: task?.attempts };
            });
            expect(actual, JSON.stringify(nodes)).to.deep.equal(expected);
            expect(result.status).to.equal(expected.some((e) => e.status === 'Failed') ? 'Failed' : 'Completed');
            expect(result.tasks.every((t) => t.subStatus === null)).to.equal(true);
          }),
          { numRuns: WORKFLOWS_PER_BACKEND },
        );
      } finally {
        await runner.close();
      }
    });
  });
}
