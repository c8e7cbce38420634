// A recorder of who held which slot when, built only from an executor's events. Lanes are
// assigned as the events arrive: the executor emits a run's deferral or end before it hands the
// slot on, so a lane is always free again before the next run's start or resumption takes it.
import { performance } from 'node:perf_hooks';
import type { Executor } from '../executor/executor.js';
import type { TaskEventBase } from '../executor/events.js';

/** A stretch of time during which a run held a slot, on the lane of that slot. */
export interface TimelineActiveSpan {
  readonly executionId: string;
  readonly taskId: string;
  /** Start, in ms after the timeline's first event. */
  readonly from: number;
  /** End, in ms after the timeline's first event. */
  readonly to: number;
  readonly kind: 'active';
}

/** A stretch of time during which a run was parked in `deferUntil` (or waiting to reclaim), without a slot. */
export interface TimelineParkedSpan {
  readonly executionId: string;
  readonly taskId: string;
  /** Start, in ms after the timeline's first event. */
  readonly from: number;
  /** End, in ms after the timeline's first event. */
  readonly to: number;
  readonly kind: 'deferred';
}

/** One slot's lane: the active spans that held slot `slot`, in time order, never overlapping. */
export interface TimelineLane {
  /** The lane's index, from 0 to `slots - 1`. */
  readonly slot: number;
  readonly spans: TimelineActiveSpan[];
}

/**
 * What a {@link TimelineRecorder} saw: a plain object that survives `JSON.stringify`. Together, a
 * run's active spans (in the lanes) and its parked spans cover its life from its first slot to
 * its end without gaps or overlaps.
 */
export interface Timeline {
  /** Wall-clock time of the first recorded event, in ms since the Unix epoch; span times count from it. */
  readonly startedAt: number;
  /**
   * Wall-clock time the timeline ends, in ms since the Unix epoch: the last event's, or, while a
   * run is still unfinished, when the timeline was taken (or the recorder detached).
   */
  readonly endedAt: number;
  /** The executor's `maxConcurrentTasks`; there are as many lanes. */
  readonly slots: number;
  /** One lane per slot, by slot index. */
  readonly lanes: TimelineLane[];
  /** Every deferral of every run, in the order they began. */
  readonly parked: TimelineParkedSpan[];
}

/** A span as recorded: absolute `performance.now()` times, `to` null while it is open. */
interface Entry {
  readonly executionId: string;
  readonly taskId: string;
  readonly from: number;
  to: number | null;
}

interface OpenRun {
  /** Its open span: active (in a lane) or parked. */
  entry: Entry;
  /** The lane of its open active span, or null while parked. */
  lane: number | null;
}

type Kind = 'started' | 'deferred' | 'resumed' | 'finished';

const EVENTS = {
  taskStarted: 'started',
  taskDeferred: 'deferred',
  taskResumed: 'resumed',
  taskCompleted: 'finished',
  taskFailed: 'finished',
} as const satisfies Record<string, Kind>;

/**
 * Records, from an {@link Executor}'s events, which run held which slot and when, and which
 * runs were parked without one. Runs that started before the recorder was attached are left out.
 *
 * ```ts
 * const recorder = TimelineRecorder.attach(executor);
 * await Promise.all(jobs.map((job) => executor.run(task, job)));
 * recorder.detach();
 * writeFileSync('timeline.svg', renderTimelineSvg(recorder.timeline(), { title: 'Nightly import' }));
 * ```
 */
export class TimelineRecorder implements Disposable {
  readonly #executor: Executor;
  readonly #slots: number;
  readonly #listeners: [keyof typeof EVENTS, (event: TaskEventBase) => void][];
  /** Which run holds each lane now (null: free). */
  readonly #lanes: (string | null)[];
  readonly #spans: { lane: number; entry: Entry }[] = [];
  readonly #parked: Entry[] = [];
  readonly #open = new Map<string, OpenRun>();
  readonly #attachedAt = performance.now();
  #first: number | null = null;
  #last: number | null = null;
  #detachedAt: number | null = null;

  private constructor(executor: Executor) {
    this.#executor = executor;
    this.#slots = executor.metrics().maxConcurrentTasks;
    this.#lanes = Array.from({ length: this.#slots }, () => null);
    this.#listeners = Object.entries(EVENTS).map(([name, kind]) => [
      name as keyof typeof EVENTS,
      (event: TaskEventBase) => this.#record(kind, event),
    ]);
    for (const [name, listener] of this.#listeners) executor.on(name, listener);
  }

  /**
   * Starts recording the runs of an executor, or of a runner's executor, from now on.
   * @param source The executor to listen to, or a `Runner` (its `executor`); the recorder only
   *   adds event listeners.
   * @returns The recorder; call {@link TimelineRecorder.detach} when done.
   */
  static attach(source: Executor | { readonly executor: Executor }): TimelineRecorder {
    return new TimelineRecorder('executor' in source ? source.executor : source);
  }

  /** Whether the recorder still listens to its executor. */
  get attached(): boolean {
    return this.#detachedAt === null;
  }

  /**
   * Stops recording: removes the recorder's listeners from the executor. What was recorded
   * stays readable through {@link TimelineRecorder.timeline}; spans still open end here.
   * Calling it again does nothing.
   */
  detach(): void {
    if (this.#detachedAt !== null) return;
    this.#detachedAt = performance.now();
    for (const [name, listener] of this.#listeners) this.#executor.off(name, listener);
  }

  /** Same as {@link TimelineRecorder.detach}, for `using recorder = TimelineRecorder.attach(executor)`. */
  [Symbol.dispose](): void {
    this.detach();
  }

  /**
   * What was recorded so far, as a new plain object (later events do not change it). Spans of
   * runs still unfinished end at `endedAt`.
   */
  timeline(): Timeline {
    const origin = this.#first ?? this.#attachedAt;
    const open = this.#open.size > 0 ? (this.#detachedAt ?? performance.now()) : null;
    const end = Math.max(origin, this.#last ?? origin, open ?? origin);
    const times = (entry: Entry): { from: number; to: number } => ({
      from: round(entry.from - origin),
      to: round((entry.to ?? end) - origin),
    });
    const lanes: TimelineLane[] = this.#lanes.map((_, slot) => ({ slot, spans: [] }));
    for (const { lane, entry } of this.#spans) {
      lanes[lane]?.spans.push({
        executionId: entry.executionId,
        taskId: entry.taskId,
        ...times(entry),
        kind: 'active',
      });
    }
    const parked = this.#parked.map((entry) => ({
      executionId: entry.executionId,
      taskId: entry.taskId,
      ...times(entry),
      kind: 'deferred' as const,
    }));
    return {
      startedAt: round(performance.timeOrigin + origin),
      endedAt: round(performance.timeOrigin + end),
      slots: this.#slots,
      lanes,
      parked,
    };
  }

  #record(kind: Kind, event: TaskEventBase): void {
    const run = this.#open.get(event.executionId);
    if (run === undefined && kind !== 'started') return; // started before the recorder was attached
    this.#first ??= event.at;
    this.#last = Math.max(this.#last ?? event.at, event.at);
    if (run !== undefined) {
      // Ends its open span and frees its lane.
      run.entry.to = event.at;
      if (run.lane !== null) this.#lanes[run.lane] = null;
    }
    const entry: Entry = { executionId: event.executionId, taskId: event.taskId, from: event.at, to: null };
    if (kind === 'started' || kind === 'resumed') {
      let lane = this.#lanes.indexOf(null);
      if (lane === -1) lane = this.#lanes.push(null) - 1; // only if the events broke their promise
      this.#lanes[lane] = event.executionId;
      this.#spans.push({ lane, entry });
      this.#open.set(event.executionId, { entry, lane });
    } else if (kind === 'deferred') {
      this.#parked.push(entry);
      this.#open.set(event.executionId, { entry, lane: null });
    } else {
      this.#open.delete(event.executionId);
    }
  }
}

/** To the microsecond: enough for any drawing, and short in JSON. */
function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
