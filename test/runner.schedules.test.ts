// Cron schedules: checked options, listing, firing on both backends; with three runners on one
// PostgreSQL, exactly one execution per tick; and the catch-up of ticks missed while no runner
// was up.
import { expect } from 'chai';
import { ErrorCode, InvalidArgumentError, Runner, type RunnerOptions } from '../src/index.js';
import { backends, dropSchema, freshSchema } from './db.js';
import { rejection } from './helpers.js';
import { quickWorkflow } from './fixtures/control-tasks.js';

const EVERY_SECOND = '* * * * * *';

/** Polls `condition` every 20 ms until it holds; fails after `ms`. The deadline bounds, it times nothing. */
async function within(ms: number, condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not reached within ${String(ms)} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

for (const backend of await backends()) {
  describe(`runner schedules (${backend.name})`, function () {
    this.timeout(60_000);
    const runners: Runner[] = [];
    let schema = '';

    function createRunner(options: RunnerOptions = {}): Runner {
      const runner = new Runner({ database: backend.knex(), schema, threads: 1, maxConcurrentTasks: 2, ...options });
      runners.push(runner);
      return runner;
    }

    /** Each tick's executions, by tick time (ms), from the idempotency keys. */
    async function ticks(name: string): Promise<Map<number, number>> {
      const rows: { idempotency_key: string }[] = await backend
        .knex()
        .withSchema(schema)
        .table('workflow_executions')
        .whereLike('idempotency_key', `schedule:${name}:%`)
        .select('idempotency_key');
      const counts = new Map<number, number>();
      for (const { idempotency_key: key } of rows) {
        const at = Date.parse(key.slice(`schedule:${name}:`.length));
        counts.set(at, (counts.get(at) ?? 0) + 1);
      }
      return counts;
    }

    beforeEach(() => {
      schema = freshSchema('sched');
    });

    afterEach(async function () {
      for (const runner of runners.splice(0)) await runner.close();
      await dropSchema(backend.knex(), schema, this.currentTest?.state === 'passed');
    });

    it('lists, replaces and deletes schedules, and refuses bad ones with typed errors', async () => {
      const runner = createRunner();
      const before = Date.now();
      const info = await runner.schedule('nightly', {
        workflow: quickWorkflow,
        cron: '0 3 * * *',
        timezone: 'Europe/Paris',
      });
      expect(info).to.include({
        name: 'nightly',
        workflowName: 'quick',
        cron: '0 3 * * *',
        timezone: 'Europe/Paris',
        maxCatchUp: 1,
      });
      expect(info.nextRunAt.getTime()).to.be.greaterThan(before);
      expect(info.lastRunAt).to.equal(null);
      const replaced = await runner.schedule('nightly', { workflow: quickWorkflow, cron: '@hourly', input: { n: 2 } });
      expect(replaced).to.include({ cron: '@hourly', timezone: 'UTC' });
      expect((await runner.schedules()).map((s) => [s.name, s.cron, s.input])).to.deep.equal([
        ['nightly', '@hourly', { n: 2 }],
      ]);
      expect(await runner.unschedule('nightly')).to.equal(true);
      expect(await runner.unschedule('nightly')).to.equal(false);
      const bad = await rejection(
        runner.schedule('x', { workflow: quickWorkflow, cron: '61 * * * *' }),
        InvalidArgumentError,
        ErrorCode.InvalidArgument,
      );
      expect(bad.message).to.include('61 * * * *');
      for (const options of [
        { workflow: quickWorkflow, cron: '* * * * *', timezone: 'Mars/Olympus' },
        { workflow: quickWorkflow, cron: '* * * * *', maxCatchUp: 0 },
        { workflow: quickWorkflow, cron: 42 },
        { workflow: {}, cron: '* * * * *' },
        { workflow: quickWorkflow, cron: '* * * * *', every: 'day' },
      ]) {
        await rejection(runner.schedule('x', options as never), InvalidArgumentError, ErrorCode.InvalidArgument);
      }
      await rejection(
        runner.schedule('', { workflow: quickWorkflow, cron: '* * * * *' }),
        InvalidArgumentError,
        ErrorCode.InvalidArgument,
      );
      expect(await runner.schedules()).to.deep.equal([]);
    });

    it('starts the workflow at each tick, with the schedule’s input', async () => {
      const runner = createRunner();
      await runner.schedule('often', { workflow: quickWorkflow, cron: EVERY_SECOND, input: { n: 21 } });
      await within(10_000, async () => (await ticks('often')).size >= 2);
      const listed = await runner.list({ workflow: 'quick', limit: 1 });
      const result = await runner.wait(listed.executions[0]?.id ?? '');
      expect(result.output).to.include({ n: 21, doubled: 42 });
      expect((await runner.schedules())[0]?.lastRunAt).to.be.instanceOf(Date);
    });
  });
}

const postgres = (await backends()).find((b) => b.name === 'postgres');
if (postgres !== undefined) {
  const pg = postgres;
  describe('schedules across runners (postgres)', function () {
    this.timeout(60_000);
    let schema = '';
    const runners: Runner[] = [];

    const createRunner = (): Runner => {
      const runner = new Runner({
        database: pg.knex(),
        schema,
        threads: 1,
        maxConcurrentTasks: 2,
        workflows: [quickWorkflow],
      });
      runners.push(runner);
      return runner;
    };

    async function tickCounts(): Promise<Map<number, number>> {
      const rows: { idempotency_key: string; n: string }[] = await pg
        .knex()
        .withSchema(schema)
        .table('workflow_executions')
        .whereLike('idempotency_key', 'schedule:every-second:%')
        .groupBy('idempotency_key')
        .select('idempotency_key')
        .count({ n: '*' });
      return new Map(
        rows.map((r) => [Date.parse(r.idempotency_key.slice('schedule:every-second:'.length)), Number(r.n)]),
      );
    }

    beforeEach(() => {
      schema = freshSchema('schedx');
    });

    afterEach(async function () {
      for (const runner of runners.splice(0)) await runner.close();
      await dropSchema(pg.knex(), schema, this.currentTest?.state === 'passed');
    });

    it('three runners, a tick every second: one execution per tick; after every runner was down, the latest maxCatchUp missed ticks', async () => {
      const [first] = [createRunner(), createRunner(), createRunner()];
      await Promise.all(runners.map((r) => r.ready()));
      await first?.schedule('every-second', { workflow: quickWorkflow, cron: EVERY_SECOND, maxCatchUp: 2 });
      await within(20_000, async () => (await tickCounts()).size >= 10);
      for (const runner of runners.splice(0)) await runner.close();
      const fired = await tickCounts();
      expect(
        [...fired.values()].every((n) => n === 1),
        'one execution per tick',
      ).to.equal(true);
      const times = [...fired.keys()].sort((a, b) => a - b);
      for (let i = 1; i < times.length; i += 1)
        expect((times[i] ?? 0) - (times[i - 1] ?? 0), 'no tick missed').to.equal(1000);

      // Every runner down for five ticks (the wait is the downtime under test, not a synchronisation).
      const downSince = times.at(-1) ?? 0;
      await new Promise((resolve) => setTimeout(resolve, 5_000));
      const back = createRunner();
      await within(10_000, async () => [...(await tickCounts()).keys()].some((t) => t > downSince));
      await back.close();
      runners.splice(0);
      const after = await tickCounts();
      const caughtUp = [...after.keys()].filter((t) => t > downSince).sort((a, b) => a - b);
      // The first look after the downtime started the latest two missed ticks and dropped the
      // older ones (at least three: five seconds went by); later looks started one tick each.
      expect(caughtUp.length).to.be.at.least(2);
      expect((caughtUp[0] ?? 0) - downSince, 'older missed ticks dropped').to.be.at.least(3_000);
      for (let i = 1; i < caughtUp.length; i += 1) expect((caughtUp[i] ?? 0) - (caughtUp[i - 1] ?? 0)).to.equal(1000);
      expect(
        [...after.values()].every((n) => n === 1),
        'one execution per tick',
      ).to.equal(true);
    });
  });
}
