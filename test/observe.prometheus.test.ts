// Prometheus metrics on a registry of the caller's: an executor's gauges read when scraped, its
// counters and histograms moving as runs start, defer and end; a runner's lost claims; and
// `remove()` taking everything off again.
import { expect } from 'chai';
import { Registry } from 'prom-client';
import { Runner, registerMetrics } from '../src/index.js';
import { createExecutor } from './helpers.js';
import { noop } from './fixtures/tasks.js';
import { deferOnce } from './fixtures/metrics-tasks.js';

/** The value of one series in the registry's text output (`name` or `name{labels}`), or undefined. */
async function valueOf(registry: Registry, series: string): Promise<number | undefined> {
  for (const line of (await registry.metrics()).split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

describe('Prometheus metrics (prom-client)', () => {
  it('registers an executor’s gauges, counters and histograms, moving as runs go', async () => {
    const executor = createExecutor({ threads: 1, maxConcurrentTasks: 2, limits: { api: 1 } });
    const registry = new Registry();
    const metrics = registerMetrics(executor, { registry, keys: true });
    try {
      expect(await valueOf(registry, 'slotwise_slots')).to.equal(2);
      expect(await valueOf(registry, 'slotwise_slots_free')).to.equal(2);
      expect(await valueOf(registry, 'slotwise_tasks_started_total')).to.equal(0);
      await Promise.all([executor.run(noop, 1), executor.run(noop, 2), executor.run(deferOnce, { ms: 5 })]);
      expect(await valueOf(registry, 'slotwise_tasks_started_total')).to.equal(3);
      expect(await valueOf(registry, 'slotwise_tasks_completed_total')).to.equal(3);
      expect(await valueOf(registry, 'slotwise_tasks_failed_total')).to.equal(0);
      expect(await valueOf(registry, 'slotwise_deferrals_total')).to.equal(1);
      expect(await valueOf(registry, 'slotwise_run_duration_seconds_count')).to.equal(3);
      expect(await valueOf(registry, 'slotwise_slot_wait_seconds_count')).to.equal(3);
      expect(await valueOf(registry, 'slotwise_deferred_seconds_count')).to.equal(1);
      expect(await valueOf(registry, 'slotwise_resume_lag_seconds_count')).to.equal(1);
      expect(await valueOf(registry, 'slotwise_slots_in_use')).to.equal(0);
      expect(await valueOf(registry, 'slotwise_limit_units{limit="api",state="held"}')).to.equal(0);
      const text = await registry.metrics();
      expect(text).to.contain('# TYPE slotwise_tasks_started_total counter');
      expect(text).to.contain('# TYPE slotwise_run_duration_seconds histogram');
      metrics.remove();
      expect(await registry.metrics()).to.not.contain('slotwise_');
      await executor.run(noop, 3); // no listener left to count it, nothing throws
    } finally {
      await executor.close();
    }
  });

  it('registers a runner’s executor metrics and its lost claims; two registrations on one registry are refused', async () => {
    const runner = new Runner({ threads: 1, maxConcurrentTasks: 1 });
    const registry = new Registry();
    try {
      await runner.ready();
      const metrics = registerMetrics(runner, { registry });
      expect(await valueOf(registry, 'slotwise_claims_lost_total')).to.equal(0);
      expect(await valueOf(registry, 'slotwise_slots')).to.equal(1);
      expect(() => registerMetrics(runner, { registry })).to.throw(/already been registered/);
      metrics.remove();
    } finally {
      await runner.close();
    }
  });
});
