/**
 * What a runner does to executions and schedules rather than to tasks: cancel, pause, resume,
 * list, prune (by hand and by the `retention` option), and cron schedules. The `Runner`'s
 * methods of those names (documented there) call these.
 */
import { isUuid } from '../executor/execution-id.js';
import type { Knex } from 'knex';
import {
  InvalidArgumentError,
  RunnerClosedError,
  WorkflowCancelledError,
  WorkflowEndedError,
  WorkflowNotFoundError,
} from '../errors.js';
import { type ControlResult, type ControlStore } from '../store/control.js';
import { listExecutions, pruneAll, pruneBatch } from '../store/history.js';
import type { ScheduleStore } from '../store/schedules.js';
import type { WorkflowStatus } from '../store/states.js';
import type { Workflow } from '../workflow/define-workflow.js';
import { type CancelOptions, type CancelResult, checkCancelOptions } from './control-options.js';
import {
  type ExecutionPage,
  type ListOptions,
  type PruneOptions,
  checkListOptions,
  checkPruneOptions,
  encodeCursor,
} from './history-options.js';
import type { FilledRunnerOptions } from './options.js';
import { type WorkflowResult, storedError } from './result.js';
import type { Retry } from './retry.js';
import {
  type ScheduleInfo,
  type ScheduleOptions,
  checkScheduleName,
  checkScheduleOptions,
  nextTick,
  toScheduleInfo,
} from './schedule-options.js';

/** What the operations need of their runner. */
export interface OperationsContext {
  readonly options: FilledRunnerOptions;
  readonly runnerId: string;
  readonly knex: Knex;
  readonly schema: string;
  readonly control: ControlStore;
  readonly schedules: ScheduleStore;
  readonly retry: Retry;
  /** Resolves once the runner has started (rejects if it failed to). */
  readonly ready: () => Promise<void>;
  readonly closing: () => boolean;
  readonly status: (id: string) => Promise<WorkflowResult>;
  readonly register: (workflow: Workflow) => void;
  /** This runner cancelled execution `id`: abort its runs here and wake its waiters. */
  readonly cancelled: (id: string, error: WorkflowCancelledError) => void;
  /** An execution was resumed: look for work. */
  readonly resumed: () => void;
}

export class Operations {
  readonly #c: OperationsContext;
  #retentionTimer: NodeJS.Timeout | undefined;
  /** The retention prune going on, if any: `stop` waits for it. */
  #retentionRun: Promise<void> = Promise.resolve();

  constructor(context: OperationsContext) {
    this.#c = context;
  }

  /** Stops the retention timer and waits for a prune in flight. */
  async stop(): Promise<void> {
    clearTimeout(this.#retentionTimer);
    await this.#retentionRun;
  }

  /** See `Runner.cancel`. */
  async cancel(id: string, options: CancelOptions = {}): Promise<CancelResult> {
    const reason = checkCancelOptions(options);
    const known = await this.#checkControl(id);
    const error = new WorkflowCancelledError(id, reason);
    const outcome = known
      ? await this.#c.retry(`cancelling workflow execution \`${id}\``, () =>
          this.#c.control.cancel(id, { ...storedError(error), reason }, this.#c.runnerId),
        )
      : ({ kind: 'not-found' } as const);
    if (outcome.kind === 'not-found') throw new WorkflowNotFoundError(id);
    if (outcome.kind === 'done') {
      this.#c.cancelled(id, error);
    }
    return { cancelled: outcome.kind === 'done', result: await this.#c.status(id) };
  }

  /** See `Runner.pause`. */
  async pause(id: string): Promise<WorkflowResult> {
    return this.#pauseOrResume(id, ['pausing', 'paused'], () => this.#c.control.pause(id));
  }

  /** See `Runner.resume`. */
  async resume(id: string): Promise<WorkflowResult> {
    return this.#pauseOrResume(id, ['resuming', 'resumed'], () => this.#c.control.resume(id, this.#c.runnerId));
  }

  /** See `Runner.list`. */
  async list(options: ListOptions = {}): Promise<ExecutionPage> {
    const query = checkListOptions(options);
    await this.#c.ready();
    const page = await listExecutions(this.#c.knex, this.#c.schema, query);
    return { executions: page.executions, next: encodeCursor(page.next) };
  }

  /** See `Runner.prune`. */
  async prune(options: PruneOptions): Promise<number> {
    const { olderThanMs, statuses } = checkPruneOptions(options);
    if (this.#c.closing()) throw new RunnerClosedError();
    await this.#c.ready();
    return this.#prune(olderThanMs, statuses, null);
  }

  /** See `Runner.schedule`. */
  async schedule(name: string, options: ScheduleOptions): Promise<ScheduleInfo> {
    const schedule = checkScheduleOptions(name, options);
    if (this.#c.closing()) throw new RunnerClosedError();
    await this.#c.ready();
    this.#c.register(schedule.workflow);
    const row = await this.#c.retry(`writing schedule \`${schedule.name}\``, () =>
      this.#c.schedules.upsert({
        name: schedule.name,
        workflow_name: schedule.workflow.name,
        cron: schedule.cron,
        timezone: schedule.timezone,
        input: schedule.input,
        max_catch_up: schedule.maxCatchUp,
        next_run_at: nextTick(schedule.cron, schedule.timezone, new Date()),
      }),
    );
    return toScheduleInfo(row);
  }

  /** Deletes the schedule `name` (executions it started stay); resolves with whether there was one. */
  async unschedule(name: string): Promise<boolean> {
    const checked = checkScheduleName(name);
    await this.#c.ready();
    return this.#c.retry(`deleting schedule \`${checked}\``, () => this.#c.schedules.remove(checked));
  }

  /** Every schedule in the database, by name, with its next tick. */
  async schedules(): Promise<ScheduleInfo[]> {
    await this.#c.ready();
    return (await this.#c.schedules.all()).map(toScheduleInfo);
  }

  /** Prunes batch after batch until one is not full; `lock`: see `pruneBatch`. */
  async #prune(olderThanMs: number, statuses: readonly WorkflowStatus[], lock: string | null): Promise<number> {
    const { knex, schema } = this.#c;
    return pruneAll(
      () =>
        this.#c.retry('pruning finished workflow executions', () =>
          pruneBatch(knex, schema, olderThanMs, statuses, lock),
        ),
      () => this.#c.closing(),
    );
  }

  /** Periodic retention (the `retention` option): one runner of the database at a time. */
  startRetention(): void {
    const retention = this.#c.options.retention;
    if (retention === null) return;
    const lock = `${this.#c.options.schema}:retention`;
    const tick = (): void => {
      if (this.#c.closing()) return;
      this.#retentionRun = this.#prune(retention.olderThanMs, retention.statuses, lock).then(
        () => {
          this.#retentionTimer = setTimeout(tick, retention.intervalMs);
        },
        (error: unknown) => {
          this.#c.options.logger.warn(`slotwise: retention failed: ${(error as Error).message}`, {
            runnerId: this.#c.runnerId,
          });
          this.#retentionTimer = setTimeout(tick, retention.intervalMs);
        },
      );
    };
    this.#retentionTimer = setTimeout(tick, 0);
  }

  /** Checks an execution id given to `cancel`, `pause` or `resume`; false: it cannot name one. */
  async #checkControl(id: string): Promise<boolean> {
    if (this.#c.closing()) throw new RunnerClosedError();
    if (typeof id !== 'string' || id.length === 0) {
      throw new InvalidArgumentError('id', 'a workflow execution id (a UUID string)', id);
    }
    await this.#c.ready();
    return isUuid(id);
  }

  /** `pause` and `resume`: the change, then the state after it. */
  async #pauseOrResume(
    id: string,
    [doing, done]: readonly [string, string],
    change: () => Promise<ControlResult>,
  ): Promise<WorkflowResult> {
    const known = await this.#checkControl(id);
    const outcome = known
      ? await this.#c.retry(`${doing} workflow execution \`${id}\``, change)
      : ({ kind: 'not-found' } as const);
    if (outcome.kind === 'not-found') throw new WorkflowNotFoundError(id);
    if (outcome.kind === 'ended') throw new WorkflowEndedError(id, outcome.status, `it cannot be ${done}`);
    if (doing === 'resuming') this.#c.resumed();
    return this.#c.status(id);
  }
}
