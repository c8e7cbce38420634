/**
 * `slotwise worker` as a library: a long-running Runner for the workflows of some packages,
 * with its log, its metrics endpoint and a graceful stop. The order of `start` is the contract:
 * packages load and are checked, and the metrics port is bound, before the runner exists, so a
 * broken package or a taken port stops start-up before anything is claimed.
 *
 * Its life: `start` (once) → running → `stop` (once; during a start, after that start's current
 * step) → stopped. A failed start closes what it made and rejects; `stop` then resolves.
 */
import { Registry, collectDefaultMetrics } from 'prom-client';
import { loadPackages } from '../package/loader.js';
import { type RegisteredMetrics, registerMetrics } from '../observe/prometheus.js';
import { Runner } from '../runner/runner.js';
import { checkRunnable } from '../runner/start-needs.js';
import { TaskAbortedError } from '../errors.js';
import { type RunnerOptions, fillRunnerOptions } from '../runner/options.js';
import type { LimitsOption } from '../slots/needs.js';
import type { Workflow } from '../workflow/define-workflow.js';
import type { LineLogger } from './log-lines.js';
import { type MetricsServer, startMetricsServer } from './metrics-server.js';

export interface WorkerOptions {
  /** Package folders or installed package names (see `loadPackages`). */
  readonly packages: readonly string[];
  /** Where names and relative folders are resolved from. Default: `process.cwd()`. */
  readonly cwd?: string;
  readonly database: string;
  readonly schema: string;
  readonly threads?: number;
  /** The runner's `maxConcurrentTasks`. */
  readonly slots?: number;
  readonly limits?: LimitsOption;
  /** The runner's `leaseMs`: how soon other runners take this one's tasks over if it dies. */
  readonly leaseMs?: number;
  /** The runner's `heartbeatIntervalMs`. */
  readonly heartbeatIntervalMs?: number;
  /** The runner's `pollIntervalMs`: how often an idle worker looks for work it was not told of. */
  readonly pollIntervalMs?: number;
  /** Where to serve `/metrics` and `/healthz`; null: nowhere. */
  readonly metrics: { readonly port: number; readonly host: string; readonly keys?: boolean } | null;
  /** How long `stop` lets running tasks finish before it aborts them and hands their claims back, in ms. */
  readonly shutdownTimeoutMs: number;
  readonly log: LineLogger;
}

export class Worker {
  readonly #options: WorkerOptions;
  #runner: Runner | null = null;
  #server: MetricsServer | null = null;
  #metrics: RegisteredMetrics | null = null;
  #starting: Promise<void> | null = null;
  #stopping: Promise<void> | null = null;
  #tornDown: Promise<void> | null = null;

  constructor(options: WorkerOptions) {
    this.#options = options;
  }

  /** The runner, once `start` has made it. */
  get runner(): Runner | null {
    return this.#runner;
  }

  /** Where the metrics endpoint listens, once started (null without one). */
  get metricsUrl(): string | null {
    return this.#server?.url ?? null;
  }

  /**
   * Loads the packages, binds the metrics port, starts the runner and waits for it to be ready.
   * Called again, it returns the first call's promise. A `stop` during it ends it early: before
   * the runner exists, none is made; after, the runner is closed once it is ready.
   */
  start(): Promise<void> {
    this.#starting ??= this.#start().catch(async (error: unknown) => {
      await this.#tearDown();
      throw error;
    });
    return this.#starting;
  }

  /**
   * Stops claiming, lets running tasks finish within `shutdownTimeoutMs` (then aborts them and
   * hands their claims back to the database for another runner), and closes the endpoint. A
   * start under way is let settle first (its next step sees the stop and goes no further).
   */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      await this.#starting?.catch(() => undefined); // its failure is start()'s to report
      await this.#tearDown();
    })();
    return this.#stopping;
  }

  async #start(): Promise<void> {
    const { log } = this.#options;
    const packages = await loadPackages(this.#options.packages, this.#options.cwd);
    for (const loaded of packages) {
      log.info('package loaded', {
        package: loaded.manifest.name,
        version: loaded.manifest.version,
        dir: loaded.manifest.dir,
        workflows: loaded.workflows.map((w) => w.name).join(','),
      });
    }
    const workflows = packages.flatMap((p) => p.workflows);
    const options = this.#runnerOptions(workflows);
    // The runner's own checks, and every workflow's needs against its slots and limits (else
    // its tasks would sit Ready for ever), before a port is bound or a row written.
    const filled = fillRunnerOptions(options);
    for (const workflow of workflows) checkRunnable(workflow, filled.limits, filled.maxConcurrentTasks);
    if (this.#stopping !== null) return;
    const registry = new Registry();
    collectDefaultMetrics({ register: registry }); // process_* and nodejs_*, the names Node dashboards chart
    if (this.#options.metrics !== null) {
      const { port, host } = this.#options.metrics;
      this.#server = await startMetricsServer({
        registry,
        unhealthy: () =>
          this.#stopping !== null ? 'stopping' : this.#runner?.leaseHeld === true ? null : 'lease not held',
        port,
        host,
      });
      log.info('metrics listening', { url: `${this.#server.url}/metrics`, health: `${this.#server.url}/healthz` });
    }
    if (this.#stopping !== null) return;
    const runner = new Runner(options);
    this.#runner = runner;
    this.#metrics = registerMetrics(runner, { registry, keys: this.#options.metrics?.keys === true });
    this.#logEvents(runner);
    await runner.ready();
    if (this.#stopping !== null) return;
    log.info('worker ready', {
      runner: runner.runnerId,
      schema: this.#options.schema,
      threads: runner.options.threads,
      slots: runner.options.maxConcurrentTasks,
      workflows: workflows.map((w) => w.name).join(','),
    });
  }

  /** Closes what the start made, once: the runner (gracefully), the metrics, the endpoint. */
  #tearDown(): Promise<void> {
    this.#tornDown ??= (async () => {
      const runner = this.#runner;
      if (runner !== null) {
        const running = runner.executor.metrics();
        this.#options.log.info('worker stopping', {
          running: running.activeTasks + running.deferredTasks + running.reclaimingTasks,
          timeoutMs: this.#options.shutdownTimeoutMs,
        });
        await runner.close({ timeoutMs: this.#options.shutdownTimeoutMs });
      }
      this.#metrics?.remove();
      await this.#server?.close();
      this.#options.log.info('worker stopped');
    })();
    return this.#tornDown;
  }

  /** The runner's options, from the worker's: the ones given, the runner's defaults for the rest. */
  #runnerOptions(workflows: readonly Workflow[]): RunnerOptions {
    const o = this.#options;
    return {
      database: o.database,
      schema: o.schema,
      workflows,
      logger: o.log,
      ...(o.threads === undefined ? {} : { threads: o.threads }),
      ...(o.slots === undefined ? {} : { maxConcurrentTasks: o.slots }),
      ...(o.limits === undefined ? {} : { limits: o.limits }),
      ...(o.leaseMs === undefined ? {} : { leaseMs: o.leaseMs }),
      ...(o.heartbeatIntervalMs === undefined ? {} : { heartbeatIntervalMs: o.heartbeatIntervalMs }),
      ...(o.pollIntervalMs === undefined ? {} : { pollIntervalMs: o.pollIntervalMs }),
    };
  }

  #logEvents(runner: Runner): void {
    const { log } = this.#options;
    runner.executor.on('taskFailed', (e) => {
      // Aborted by the stop after --shutdown-timeout: its claim goes back to the database, it did not fail.
      if (this.#stopping !== null && e.error instanceof TaskAbortedError) {
        log.info('task handed back', { task: e.taskId, run: e.executionId, after: 'shutdown timeout' });
      } else {
        log.warn('task run failed', { task: e.taskId, run: e.executionId, error: e.error });
      }
    });
    runner.on('taskRetryScheduled', (e) => {
      log.info('task retry scheduled', {
        workflowExecution: e.workflowExecutionId,
        task: e.taskId,
        attempt: e.attempt,
        delayMs: e.delayMs,
      });
    });
  }
}
