/**
 * Fires the cron schedules of the workflows this runner knows: once a second (just after the
 * second turns, so a tick every second starts on time), it reads the schedules due, starts each
 * due tick's execution with the tick's idempotency key and moves the schedule on (see
 * `store/schedules.ts` for why that is exactly once per tick with any number of runners).
 * Ticks missed while no runner was up: the latest `maxCatchUp` of them are started, older ones
 * dropped. Runners' clocks are assumed in step (NTP): a tick is due by the runner's clock.
 */
import type { Logger } from '../logger.js';
import type { ScheduleRow, ScheduleStore } from '../store/schedules.js';
import type { Workflow } from '../workflow/define-workflow.js';
import { dueTicks, tickKey } from './schedule-options.js';
import type { StartedExecution, WorkflowStart } from './transitions.js';

const LOOK_MS = 1_000;
/** How long after the second turns to look: ticks fall on whole seconds. */
const AFTER_THE_SECOND_MS = 5;

export interface SchedulerContext {
  readonly store: ScheduleStore;
  readonly workflows: ReadonlyMap<string, Workflow>;
  readonly start: (start: WorkflowStart) => Promise<StartedExecution>;
  readonly logger: Logger;
  readonly runnerId: string;
}

export class Scheduler {
  readonly #context: SchedulerContext;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  /** The look going on, if any: `stop` waits for it. */
  #looking: Promise<void> = Promise.resolve();

  constructor(context: SchedulerContext) {
    this.#context = context;
  }

  start(): void {
    this.#schedule();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#looking;
  }

  /** Starts every due tick now; resolves once they are started. */
  async fire(): Promise<void> {
    const { store, workflows } = this.#context;
    for (const row of await store.due([...workflows.keys()])) {
      if (this.#stopped) return;
      await this.#fireOne(row);
    }
  }

  async #fireOne(row: ScheduleRow): Promise<void> {
    const workflow = this.#context.workflows.get(row.workflow_name);
    if (workflow === undefined) return;
    const { ticks, next } = dueTicks(row.cron, row.timezone, row.next_run_at, new Date(), row.max_catch_up);
    for (const tick of ticks) {
      await this.#context.start({ workflow, input: row.input, idempotencyKey: tickKey(row.name, tick) });
    }
    await this.#context.store.advance(row.name, row.next_run_at, next, ticks.at(-1) ?? null);
  }

  #schedule(): void {
    if (this.#stopped) return;
    const delay = LOOK_MS - (Date.now() % LOOK_MS) + AFTER_THE_SECOND_MS;
    this.#timer = setTimeout(() => {
      this.#looking = this.fire()
        .catch((error: unknown) => {
          this.#context.logger.warn(`slotwise: firing schedules failed: ${(error as Error).message}`, {
            runnerId: this.#context.runnerId,
          });
        })
        .finally(() => this.#schedule());
    }, delay);
    this.#timer.unref();
  }
}
