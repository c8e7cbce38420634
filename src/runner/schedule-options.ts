/** The options of `runner.schedule`, checked, and the cron arithmetic (through croner). */
import { Cron } from 'croner';
import { InvalidArgumentError } from '../errors.js';
import { type KnownOptions, rejectUnknownOptions } from '../known-options.js';
import { assertStorable } from '../workflow/context.js';
import type { Workflow } from '../workflow/define-workflow.js';
import type { ScheduleRow } from '../store/schedules.js';

export interface ScheduleOptions {
  /** The workflow each tick starts. */
  readonly workflow: Workflow;
  /**
   * When: a cron expression of 5 fields (minute to weekday) or 6 (seconds first), as croner
   * reads it (`@hourly` and the like too).
   */
  readonly cron: string;
  /** The input of every execution it starts (JSON). Default: `{}`. */
  readonly input?: Record<string, unknown>;
  /** The IANA time zone the expression is read in, e.g. `Europe/Paris`. Default: `UTC`. */
  readonly timezone?: string;
  /**
   * Ticks missed while no runner of the workflow was up: how many of the latest of them to
   * start once a runner is back (1 to 100; older ones are dropped). Default: 1.
   */
  readonly maxCatchUp?: number;
}

/** A schedule as `runner.schedules()` lists it. */
export interface ScheduleInfo {
  readonly name: string;
  readonly workflowName: string;
  readonly cron: string;
  readonly timezone: string;
  readonly input: Record<string, unknown>;
  readonly maxCatchUp: number;
  /** The earliest tick not started yet. */
  readonly nextRunAt: Date;
  /** The latest tick started, if any. */
  readonly lastRunAt: Date | null;
}

export interface FilledSchedule {
  readonly name: string;
  readonly workflow: Workflow;
  readonly cron: string;
  readonly timezone: string;
  readonly input: Record<string, unknown>;
  readonly maxCatchUp: number;
}

const SCHEDULE_OPTIONS = {
  workflow: true,
  cron: true,
  input: true,
  timezone: true,
  maxCatchUp: true,
} as const satisfies KnownOptions<ScheduleOptions>;
const MAX_NAME = 256;
const MAX_CATCH_UP = 100;

export function checkScheduleName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_NAME || name.includes('\0')) {
    throw new InvalidArgumentError('name', `a schedule name of 1 to ${String(MAX_NAME)} characters without NUL`, name);
  }
  return name;
}

export function checkScheduleOptions(name: unknown, options: ScheduleOptions): FilledSchedule {
  const checked = checkScheduleName(name);
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options', 'an object', options);
  rejectUnknownOptions(options, SCHEDULE_OPTIONS, '`runner.schedule()`');
  const { workflow, cron, input = {}, timezone = 'UTC', maxCatchUp = 1 } = options;
  if (typeof workflow !== 'object' || workflow === null || typeof workflow.name !== 'string') {
    throw new InvalidArgumentError('workflow', 'a workflow from defineWorkflow()', workflow);
  }
  if (typeof timezone !== 'string' || !isTimeZone(timezone)) {
    throw new InvalidArgumentError('timezone', 'an IANA time zone such as `UTC` or `Europe/Paris`', timezone);
  }
  if (typeof cron !== 'string') throw new InvalidArgumentError('cron', 'a cron expression', cron);
  cronOf(cron, timezone);
  assertStorable(input, 'input');
  if (!Number.isSafeInteger(maxCatchUp) || maxCatchUp < 1 || maxCatchUp > MAX_CATCH_UP) {
    throw new InvalidArgumentError('maxCatchUp', `a whole number from 1 to ${String(MAX_CATCH_UP)}`, maxCatchUp);
  }
  return { name: checked, workflow, cron, timezone, input, maxCatchUp };
}

function isTimeZone(timezone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: timezone });
    return true;
  } catch {
    return false;
  }
}

/** The expression parsed; a typed error that quotes it when it does not parse. */
function cronOf(cron: string, timezone: string): Cron {
  try {
    return new Cron(cron, { timezone, paused: true });
  } catch (error) {
    throw new InvalidArgumentError('cron', `a cron expression of 5 or 6 fields (${(error as Error).message})`, cron, {
      cause: error,
    });
  }
}

/** The first tick strictly after `after`. */
export function nextTick(cron: string, timezone: string, after: Date): Date {
  const next = cronOf(cron, timezone).nextRun(after);
  if (next === null) throw new InvalidArgumentError('cron', 'an expression with a tick to come', cron);
  return next;
}

/**
 * The ticks to start now, in order: those from `from` up to `now`, at most the latest
 * `maxCatchUp` of them; and the first tick after `now`.
 */
export function dueTicks(
  cron: string,
  timezone: string,
  from: Date,
  now: Date,
  maxCatchUp: number,
): { ticks: Date[]; next: Date } {
  const parsed = cronOf(cron, timezone);
  // previousRuns takes ticks strictly before its reference: one ms later includes a tick at `now`.
  const ticks = parsed
    .previousRuns(maxCatchUp, new Date(now.getTime() + 1))
    .filter((tick) => tick.getTime() >= from.getTime())
    .reverse();
  return { ticks, next: nextTick(cron, timezone, now) };
}

/** The idempotency key of one tick's execution: the schedule's name and the tick's time. */
export function tickKey(name: string, tick: Date): string {
  return `schedule:${name}:${tick.toISOString()}`;
}

export function toScheduleInfo(row: ScheduleRow): ScheduleInfo {
  return {
    name: row.name,
    workflowName: row.workflow_name,
    cron: row.cron,
    timezone: row.timezone,
    input: row.input,
    maxCatchUp: row.max_catch_up,
    nextRunAt: row.next_run_at,
    lastRunAt: row.last_run_at,
  };
}
