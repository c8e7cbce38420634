/**
 * The resume suite's cross-process figures, on PostgreSQL (DATABASE_URL, or the local test
 * database): `runner.signal` from this process to the task's next line in a runner process
 * (`signal-runner-child.ts`), and, as the same-run baseline, graphile-worker 0.16.6's `addJob`
 * to its job's start in a worker process (`graphile-latency-child.ts`). One at a time, in
 * turns; stamps on `epochNow()` (the same clock in both processes). Null without PostgreSQL.
 */
import knexModule from 'knex';
import { Runner } from '../src/index.js';
import { GRAPHILE_WORKER, installed } from './baselines.js';
import { spawnLineChild } from './line-child.js';
import { epochNow, percentile } from './stats.js';

const POSTGRES_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const WARMUP = 10;
const ROUNDS = 100;

export interface CrossProcessLatency {
  readonly slotwiseP50Ms: number;
  readonly slotwiseP99Ms: number;
  readonly graphileP50Ms: number;
  readonly graphileP99Ms: number;
}

async function reachable(): Promise<boolean> {
  const knex = knexModule.knex({ client: 'pg', connection: POSTGRES_URL, acquireConnectionTimeout: 3000 });
  try {
    await knex.raw('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await knex.destroy();
  }
}

export async function runnerSignalLatency(): Promise<CrossProcessLatency | null> {
  if (!(await reachable())) {
    console.log('resume: PostgreSQL unreachable, the cross-process figures are left out');
    return null;
  }
  if (!installed(GRAPHILE_WORKER)) {
    console.log(
      `resume: ${GRAPHILE_WORKER} (the same-run baseline) is not installed, the cross-process figures are left out`,
    );
    return null;
  }
  const { makeWorkerUtils } = await import('graphile-worker');
  const schema = `bench_resume_${String(process.pid)}`;
  const graphileSchema = `bench_resume_gw_${String(process.pid)}`;
  const admin = knexModule.knex({ client: 'pg', connection: POSTGRES_URL });
  const runnerChild = spawnLineChild(new URL('./signal-runner-child.js', import.meta.url), [POSTGRES_URL, schema]);
  const graphileChild = spawnLineChild(new URL('./graphile-latency-child.js', import.meta.url), [
    POSTGRES_URL,
    graphileSchema,
  ]);
  const sender = new Runner({ database: POSTGRES_URL, schema, threads: 1 }); // knows no workflow: claims nothing
  const utils = await makeWorkerUtils({ connectionString: POSTGRES_URL, schema: graphileSchema });
  try {
    await Promise.all([runnerChild.line(/^(ready)$/), graphileChild.line(/^(ready)$/), sender.ready()]);
    const slotwise: number[] = [];
    const graphile: number[] = [];
    for (let i = 0; i < WARMUP + ROUNDS; i += 1) {
      runnerChild.send('start');
      const [id = ''] = await runnerChild.line(/^waiting (\S+)$/);
      const sentAt = epochNow();
      await sender.signal(id, 'go');
      const [, resumedAt = 'NaN'] = await runnerChild.line(new RegExp(`^done (${id}) (\\S+)$`));
      const addedAt = epochNow();
      await utils.addJob('bench.latency', { i });
      const [startedAt = 'NaN'] = await graphileChild.line(new RegExp(`^started ${String(i)} (\\S+)$`));
      if (i >= WARMUP) {
        slotwise.push(Number(resumedAt) - sentAt);
        graphile.push(Number(startedAt) - addedAt);
      }
    }
    return {
      slotwiseP50Ms: percentile(slotwise, 50),
      slotwiseP99Ms: percentile(slotwise, 99),
      graphileP50Ms: percentile(graphile, 50),
      graphileP99Ms: percentile(graphile, 99),
    };
  } finally {
    await utils.release();
    await sender.close();
    await Promise.all([runnerChild.stop(), graphileChild.stop()]);
    await admin.raw('DROP SCHEMA IF EXISTS ?? CASCADE', [schema]);
    await admin.raw('DROP SCHEMA IF EXISTS ?? CASCADE', [graphileSchema]);
    await admin.destroy();
  }
}
