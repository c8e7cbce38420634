/**
 * Prometheus metrics of an executor (or a runner's executor) on a prom-client registry of the
 * caller's. Gauges are read from `metrics()` when the registry is scraped, so they cost nothing
 * between scrapes; counters and histograms follow the executor's events. Names follow
 * Prometheus conventions: the `slotwise_` prefix, base units in the name (seconds), `_total`
 * on counters.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Executor } from '../executor/executor.js';
import type { Runner } from '../runner/runner.js';

export interface MetricsOptions {
  /** The registry to register on (prom-client's `register`, or a `new Registry()`). */
  readonly registry: Registry;
  /**
   * Also export a series per concurrency key in use (`slotwise_key_units`). Keys come from task
   * inputs (tenants, users): leave this off when there may be many. Default: false.
   */
  readonly keys?: boolean;
}

/** What `registerMetrics` registered; `remove()` takes it all off the registry and stops listening. */
export interface RegisteredMetrics {
  remove(): void;
}

/** Histogram buckets in seconds, from 100 µs to a minute. */
const BUCKETS = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60];

/**
 * Registers slotwise's metrics for `target` (an `Executor`, or a `Runner`: its executor's, and
 * its claims, retries and recoveries) on `options.registry`.
 */
export function registerMetrics(target: Executor | Runner, options: MetricsOptions): RegisteredMetrics {
  const { registry } = options;
  const executor = 'runnerId' in target ? target.executor : target;
  const registers = [registry];
  /** Every metric registered here, by name, for `remove`. */
  const names: string[] = [];
  const gauge = (name: string, help: string, read: () => number): void => {
    names.push(name);
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(read());
      },
    });
  };
  /** A gauge with a series per label set, all set again at each scrape. */
  const labelled = <L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    read: () => Iterable<[Record<L, string>, number]>,
  ): void => {
    names.push(name);
    new Gauge({
      name,
      help,
      labelNames,
      registers,
      collect() {
        this.reset();
        for (const [labels, value] of read()) this.set(labels, value);
      },
    });
  };
  const counter = (name: string, help: string): Counter => {
    names.push(name);
    return new Counter({ name, help, registers });
  };
  const histogram = (name: string, help: string): Histogram => {
    names.push(name);
    return new Histogram({ name, help, registers, buckets: BUCKETS });
  };

  gauge('slotwise_slots', 'Slots of the executor (maxConcurrentTasks).', () => executor.metrics().maxConcurrentTasks);
  gauge('slotwise_slots_in_use', 'Slots held by active runs.', () => executor.metrics().slotsInUse);
  gauge('slotwise_slots_free', 'Slots free.', () => executor.metrics().availableSlots);
  gauge('slotwise_runs_active', 'Runs holding their slots.', () => executor.metrics().activeTasks);
  gauge('slotwise_runs_deferred', 'Runs waiting without a slot.', () => executor.metrics().deferredTasks);
  gauge(
    'slotwise_runs_reclaiming',
    'Runs back from a wait, waiting for a slot.',
    () => executor.metrics().reclaimingTasks,
  );
  gauge('slotwise_runs_queued', 'Runs waiting for their first slot.', () => executor.metrics().queuedTasks);
  labelled(
    'slotwise_limit_units',
    'Units of each named limit: held, kept by deferred runs, wanted back by reclaiming runs, queued for.',
    ['limit', 'state'],
    function* () {
      for (const [limit, usage] of Object.entries(executor.metrics().limits)) {
        for (const [state, value] of unitStates(usage)) yield [{ limit, state }, value];
      }
    },
  );
  if (options.keys === true) {
    labelled(
      'slotwise_key_units',
      'Runs of each concurrency key with a perKeyLimit: held, kept while deferred, wanted back, queued.',
      ['task', 'key', 'state'],
      function* () {
        for (const usage of executor.metrics().keys) {
          for (const [state, value] of unitStates(usage)) yield [{ task: usage.taskId, key: usage.key, state }, value];
        }
      },
    );
  }

  const started = counter('slotwise_tasks_started_total', 'Runs started (given their first slot).');
  const completed = counter('slotwise_tasks_completed_total', 'Runs that returned.');
  const failed = counter(
    'slotwise_tasks_failed_total',
    'Runs that failed: threw, timed out, were aborted or lost their thread.',
  );
  const deferrals = counter('slotwise_deferrals_total', 'Waits in which a run gave its slot back.');
  const slotWait = histogram('slotwise_slot_wait_seconds', 'From run() to the first slot.');
  const runTime = histogram('slotwise_run_duration_seconds', 'From the first slot to the end, deferred time included.');
  const deferredTime = histogram(
    'slotwise_deferred_seconds',
    'Each wait without a slot, slot released to slot granted.',
  );
  const resumeLag = histogram('slotwise_resume_lag_seconds', 'From the end of a wait to the slot granted again.');

  /** When each run's current wait ended (its reclaim began), by execution id. */
  const reclaimingSince = new Map<string, number>();
  const listeners = {
    taskStarted: (e: { queuedMs: number }) => {
      started.inc();
      slotWait.observe(e.queuedMs / 1000);
    },
    taskDeferred: () => deferrals.inc(),
    taskReclaiming: (e: { executionId: string; at: number }) => reclaimingSince.set(e.executionId, e.at),
    taskResumed: (e: { executionId: string; at: number; deferredMs: number }) => {
      deferredTime.observe(e.deferredMs / 1000);
      const since = reclaimingSince.get(e.executionId);
      reclaimingSince.delete(e.executionId);
      if (since !== undefined) resumeLag.observe(Math.max(0, e.at - since) / 1000);
    },
    taskCompleted: (e: { executionId: string; durationMs: number }) => {
      completed.inc();
      runTime.observe(e.durationMs / 1000);
      reclaimingSince.delete(e.executionId);
    },
    taskFailed: (e: { executionId: string; durationMs: number }) => {
      failed.inc();
      runTime.observe(e.durationMs / 1000);
      reclaimingSince.delete(e.executionId);
    },
  };
  for (const [event, listener] of Object.entries(listeners)) executor.on(event as 'taskStarted', listener as never);

  let stopRunner = (): void => undefined;
  if ('runnerId' in target) {
    const claimsLost = counter(
      'slotwise_claims_lost_total',
      'Claims this runner lost to another (its lease lapsed, or the fencing token moved).',
    );
    const retried = counter(
      'slotwise_tasks_retried_total',
      'Failed runs whose task was made Ready for another attempt.',
    );
    const recovered = counter(
      'slotwise_tasks_recovered_total',
      'Tasks of dead runners (or stray claims) this runner put back to Ready.',
    );
    const claimLatency = histogram('slotwise_claim_duration_seconds', 'Each claim statement, sent to answered.');
    // A runner's limits are held fleet-wide, in the database: these are this runner's share.
    const runner = target;
    labelled(
      'slotwise_runner_limit_tasks',
      "This runner's started tasks that name each limit, by sub-state (Active, Deferred).",
      ['limit', 'sub_state'],
      function* () {
        for (const units of runner.heldUnits()) {
          if (units.kind !== 'limit') continue;
          yield [{ limit: units.name, sub_state: 'Active' }, units.active];
          yield [{ limit: units.name, sub_state: 'Deferred' }, units.deferred];
        }
      },
    );
    if (options.keys === true) {
      labelled(
        'slotwise_runner_key_tasks',
        "This runner's started tasks of each concurrency key with a perKeyLimit, by sub-state.",
        ['task', 'key', 'sub_state'],
        function* () {
          for (const units of runner.heldUnits()) {
            if (units.kind !== 'key' || units.key === null) continue;
            yield [{ task: units.name, key: units.key, sub_state: 'Active' }, units.active];
            yield [{ task: units.name, key: units.key, sub_state: 'Deferred' }, units.deferred];
          }
        },
      );
    }
    const runnerListeners = {
      claimLost: () => claimsLost.inc(),
      taskRetryScheduled: () => retried.inc(),
      tasksRecovered: (e: { count: number }) => recovered.inc(e.count),
      claimed: (e: { durationMs: number }) => claimLatency.observe(e.durationMs / 1000),
    };
    for (const [event, listener] of Object.entries(runnerListeners)) target.on(event as 'claimLost', listener as never);
    stopRunner = () => {
      for (const [event, listener] of Object.entries(runnerListeners))
        target.off(event as 'claimLost', listener as never);
    };
  }

  return {
    remove() {
      for (const [event, listener] of Object.entries(listeners))
        executor.off(event as 'taskStarted', listener as never);
      stopRunner();
      for (const name of names) registry.removeSingleMetric(name);
    },
  };
}

function unitStates(usage: {
  held: number;
  deferredHolders: number;
  reclaiming: number;
  queued: number;
}): [string, number][] {
  return [
    ['held', usage.held],
    ['deferred', usage.deferredHolders],
    ['reclaiming', usage.reclaiming],
    ['queued', usage.queued],
  ];
}
