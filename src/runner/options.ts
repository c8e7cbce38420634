/** Options of the persisted {@link Runner}, their defaults and their validation. */
import { InvalidArgumentError } from '../errors.js';
import { type KnownOptions, rejectUnknownOptions } from '../known-options.js';
import { type Logger, checkLogger } from '../logger.js';
import { type ExecutorOptions, fillExecutorOptions } from '../executor/options.js';
import { type DatabaseOption, validateSchema } from '../store/database.js';
import { type FilledLimit, type LimitsOption, checkLimits } from '../slots/needs.js';
import type { Workflow } from '../workflow/define-workflow.js';
import type { WorkflowStatus } from '../store/states.js';
import { type PruneOptions, checkPruneOptions } from './history-options.js';

/** Piscina's thread controls, passed to the runner's executor as they are (see `ExecutorOptions`). */
export type ThreadControls = Pick<ExecutorOptions, 'resourceLimits' | 'env' | 'argv' | 'execArgv' | 'niceIncrement'>;

/**
 * Options of a Runner. Besides its own, the executor's thread controls (`resourceLimits`, `env`,
 * `argv`, `execArgv`, `niceIncrement`). Not `maxQueue`: a runner claims no more tasks than it
 * has free slots, so nothing queues in it.
 */
export interface RunnerOptions extends ThreadControls {
  /**
   * Where state is kept: a PostgreSQL connection string, a knex instance, or
   * `{ embedded: true, dataDir? }`. Default: the embedded database (PGlite) in memory.
   */
  readonly database?: DatabaseOption | undefined;
  /** The PostgreSQL schema of this installation's tables. Default: `slotwise`. */
  readonly schema?: string;
  /** Worker threads. Default: `os.availableParallelism()`. */
  readonly threads?: number;
  /** Slots: tasks active at once. Default: `threads`. */
  readonly maxConcurrentTasks?: number;
  /**
   * Named limits, as the executor's (`{ [name]: max | { max, includeDeferred } }`), held across
   * every runner on the database: at most `max` tasks naming a limit are active at once
   * fleet-wide, decided when a runner claims them. Runners that share work should be given the
   * same limits; each claim applies the claiming runner's `max`. Default: none.
   */
  readonly limits?: LimitsOption;
  /**
   * Workflows this runner may run tasks of, besides those passed to `execute`/`start`. A runner
   * that restarts after a crash recovers the unfinished executions of these. Default: none.
   */
  readonly workflows?: readonly Workflow[];
  /** How often an idle runner looks for due work it was not told about, in ms. Default: 1000. */
  readonly pollIntervalMs?: number;
  /**
   * How long a state write keeps retrying through database errors, in ms; with a connection
   * string, also the bound on each statement and connection attempt (at least 1 s), so that a
   * database that stops answering fails the write instead of hanging it. Default: 30,000.
   */
  readonly writeDeadlineMs?: number;
  /**
   * How many times a task found Running after a crash is run again before it is marked Failed
   * ("abandoned"). Default: 3.
   */
  readonly maxRecoveryAttempts?: number;
  /** PostgreSQL connections in the pool (ignored for the embedded database). Default: 10. */
  readonly poolSize?: number;
  /**
   * How often the runner renews its lease, in ms. Each beat is one statement that also reports
   * claims this runner lost and whether a sweep of dead runners' claims is due. Default: 5,000.
   */
  readonly heartbeatIntervalMs?: number;
  /**
   * How long a lease lasts without renewal, in ms: a runner silent this long is taken for dead,
   * and the next sweep (of any runner) gives its tasks to others. A dead runner's tasks are
   * so taken over within `leaseMs + heartbeatIntervalMs`. Must exceed `heartbeatIntervalMs`.
   * Default: twice `heartbeatIntervalMs` (10,000).
   */
  readonly leaseMs?: number;
  /**
   * Told what a user may want to see: database retries, tasks taken over from dead runners,
   * lost claims, writes that failed for good. Anything with `warn` and `error` (console, pino).
   * Default: none; the library writes nothing to the console by itself.
   */
  readonly logger?: Logger;
  /**
   * Prunes finished executions periodically (as `runner.prune` does): every `intervalMs`
   * (default: 60,000), those that ended more than `olderThanMs` ago, in `status` (default: every
   * terminal state). Runners sharing a database take turns: one at a time prunes. Default: none.
   */
  readonly retention?: RetentionOption;
}

export interface RetentionOption extends PruneOptions {
  readonly intervalMs?: number;
}

export interface FilledRetention {
  readonly olderThanMs: number;
  readonly statuses: readonly WorkflowStatus[];
  readonly intervalMs: number;
}

export interface FilledRunnerOptions extends ThreadControls {
  readonly database: DatabaseOption | undefined;
  readonly schema: string;
  readonly threads: number;
  readonly maxConcurrentTasks: number;
  readonly limits: ReadonlyMap<string, FilledLimit>;
  readonly workflows: readonly Workflow[];
  readonly pollIntervalMs: number;
  readonly writeDeadlineMs: number;
  readonly maxRecoveryAttempts: number;
  readonly poolSize: number;
  readonly heartbeatIntervalMs: number;
  readonly leaseMs: number;
  readonly logger: Logger;
  readonly retention: FilledRetention | null;
}

const RUNNER_OPTIONS = {
  database: true,
  schema: true,
  threads: true,
  maxConcurrentTasks: true,
  limits: true,
  workflows: true,
  pollIntervalMs: true,
  writeDeadlineMs: true,
  maxRecoveryAttempts: true,
  poolSize: true,
  heartbeatIntervalMs: true,
  leaseMs: true,
  logger: true,
  retention: true,
  resourceLimits: true,
  env: true,
  argv: true,
  execArgv: true,
  niceIncrement: true,
} as const satisfies KnownOptions<RunnerOptions>;

export function fillRunnerOptions(options: RunnerOptions): FilledRunnerOptions {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options', 'an object', options);
  rejectUnknownOptions(options, RUNNER_OPTIONS, '`new Runner()`');
  // Not maxQueue: a runner claims no more than its free slots, so nothing queues in its executor.
  const { maxQueue: _maxQueue, ...executor } = fillExecutorOptions(executorOptionsOf(options));
  const workflows = options.workflows ?? [];
  if (!Array.isArray(workflows)) throw new InvalidArgumentError('workflows', 'an array of workflows', workflows);
  return {
    database: options.database,
    schema: validateSchema(options.schema ?? 'slotwise'),
    ...executor,
    limits: checkLimits(options.limits),
    workflows,
    pollIntervalMs: positive('pollIntervalMs', options.pollIntervalMs ?? 1000),
    writeDeadlineMs: positive('writeDeadlineMs', options.writeDeadlineMs ?? 30_000),
    maxRecoveryAttempts: nonNegativeInteger('maxRecoveryAttempts', options.maxRecoveryAttempts ?? 3),
    poolSize: nonNegativeInteger('poolSize', options.poolSize ?? 10) || 1,
    logger: checkLogger(options.logger),
    retention: retentionOption(options.retention),
    ...leaseOptions(options),
  };
}

function retentionOption(retention: RetentionOption | undefined): FilledRetention | null {
  if (retention === undefined) return null;
  if (typeof retention !== 'object' || retention === null) {
    throw new InvalidArgumentError('retention', 'an object: { olderThanMs, intervalMs?, status? }', retention);
  }
  const { intervalMs = 60_000, ...prune } = retention;
  return { ...checkPruneOptions(prune), intervalMs: positive('retention.intervalMs', intervalMs) };
}

function leaseOptions(options: RunnerOptions): { heartbeatIntervalMs: number; leaseMs: number } {
  const heartbeatIntervalMs = positive('heartbeatIntervalMs', options.heartbeatIntervalMs ?? 5_000);
  const leaseMs = positive('leaseMs', options.leaseMs ?? 2 * heartbeatIntervalMs);
  if (leaseMs <= heartbeatIntervalMs) {
    throw new InvalidArgumentError(
      'leaseMs',
      `longer than \`heartbeatIntervalMs\` (${String(heartbeatIntervalMs)})`,
      leaseMs,
    );
  }
  return { heartbeatIntervalMs, leaseMs };
}

/** The options of a runner's executor, taken from the runner's (those given). */
export function executorOptionsOf(options: RunnerOptions | FilledRunnerOptions): ExecutorOptions {
  const { threads, maxConcurrentTasks, resourceLimits, env, argv, execArgv, niceIncrement } = options;
  // Not limits: the runner holds them fleet-wide in the database, not in its executor.
  return definedOnly({ threads, maxConcurrentTasks, resourceLimits, env, argv, execArgv, niceIncrement });
}

/** `options` without its undefined entries (optional options take no `undefined`). */
function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>;
}

function positive(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new InvalidArgumentError(name, 'a positive finite number', value);
  }
  return value;
}

function nonNegativeInteger(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidArgumentError(name, 'an integer >= 0', value);
  }
  return value;
}
