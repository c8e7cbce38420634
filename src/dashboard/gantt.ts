/**
 * The dashboard's Gantt: an execution's `execution_events` turned into spans per task, each
 * `active` (it held its slots) or `deferred` (it waited in `deferUntil` or for a signal, holding
 * none). Pure, so that the rules below are tested without a browser or a database.
 *
 * A task's events, in id order (the order they were written), drive a small state machine:
 *
 *   task_started            → an active span opens (a new attempt; one still open is closed first)
 *   task_deferred           → the open span closes, a deferred one opens
 *   task_resumed            → the open span closes, an active one opens
 *   an attempt's end (ENDS) → the open span closes, and a mark records how the attempt ended
 *   anything else           → no change (task_ready, task_skipped: the task was not running)
 *
 * A span still open after the last event (the task is running now, or an end was never written)
 * runs to `until`: the execution's end, or the database's now while it runs, and says `open`.
 */

export type SpanKind = 'active' | 'deferred';

/** One row of `execution_events`, as the Gantt reads it. */
export interface GanttEvent {
  readonly taskExecutionId: string | null;
  readonly type: string;
  /** When it was written, in ms since the epoch. */
  readonly at: number;
  readonly data?: unknown;
}

export interface GanttSpan {
  readonly kind: SpanKind;
  /** Ms since the epoch. */
  readonly start: number;
  readonly end: number;
  /** The attempt the span belongs to, from 1 (0: before any `task_started` was seen). */
  readonly attempt: number;
  /** Still running at `until`: the end is the chart's edge, not an event. */
  readonly open: boolean;
}

/** How an attempt ended, where a span closed on one of the ENDS events. */
export interface GanttMark {
  readonly type: string;
  readonly at: number;
  readonly attempt: number;
}

export interface GanttRow {
  readonly taskExecutionId: string;
  readonly taskId: string;
  readonly spans: readonly GanttSpan[];
  readonly marks: readonly GanttMark[];
}

export interface Gantt {
  /** The chart's time range, in ms since the epoch. */
  readonly start: number;
  readonly end: number;
  readonly rows: readonly GanttRow[];
}

/** The events that end an attempt (it ran no more under that claim). */
export const ATTEMPT_ENDS: ReadonlySet<string> = new Set([
  'task_completed',
  'task_failed',
  'task_retry_scheduled',
  'task_recovered',
  'task_released',
  'task_abandoned',
  'task_cancelled',
]);

interface Open {
  kind: SpanKind;
  start: number;
}

/**
 * The spans of each task (in the order `tasks` gives them) between `from` and `until`. Events
 * of tasks not in `tasks`, and workflow events (no task), are left out.
 */
export function ganttOf(
  tasks: readonly { readonly id: string; readonly taskId: string }[],
  events: readonly GanttEvent[],
  from: number,
  until: number,
): Gantt {
  const byTask = new Map<string, GanttEvent[]>();
  for (const task of tasks) byTask.set(task.id, []);
  for (const event of events) {
    if (event.taskExecutionId !== null) byTask.get(event.taskExecutionId)?.push(event);
  }
  const rows = tasks.map((task) => rowOf(task, byTask.get(task.id) ?? [], until));
  // Clocks of several writers may put an event a little outside the execution's own times:
  // widen the range to hold every span rather than cut one.
  let start = from;
  let end = Math.max(until, from);
  for (const row of rows) {
    for (const span of row.spans) {
      start = Math.min(start, span.start);
      end = Math.max(end, span.end);
    }
  }
  return { start, end, rows };
}

function rowOf(task: { readonly id: string; readonly taskId: string }, events: readonly GanttEvent[], until: number) {
  const spans: GanttSpan[] = [];
  const marks: GanttMark[] = [];
  let open: Open | null = null;
  let attempt = 0;
  const close = (at: number): void => {
    if (open === null) return;
    spans.push({ kind: open.kind, start: open.start, end: Math.max(at, open.start), attempt, open: false });
    open = null;
  };
  for (const event of events) {
    if (event.type === 'task_started') {
      close(event.at);
      attempt = attemptOf(event.data) ?? attempt + 1;
      open = { kind: 'active', start: event.at };
    } else if (event.type === 'task_deferred' || event.type === 'task_resumed') {
      close(event.at);
      open = { kind: event.type === 'task_deferred' ? 'deferred' : 'active', start: event.at };
    } else if (ATTEMPT_ENDS.has(event.type)) {
      close(event.at);
      marks.push({ type: event.type, at: event.at, attempt });
    }
  }
  const last: Open | null = open;
  if (last !== null)
    spans.push({ kind: last.kind, start: last.start, end: Math.max(until, last.start), attempt, open: true });
  return { taskExecutionId: task.id, taskId: task.taskId, spans, marks };
}

function attemptOf(data: unknown): number | null {
  const attempt = (data as { attempt?: unknown } | null | undefined)?.attempt;
  return typeof attempt === 'number' && Number.isInteger(attempt) ? attempt : null;
}
