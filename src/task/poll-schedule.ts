/**
 * When the conditions of a worker thread's parked `deferUntil` waits are polled.
 *
 * A poll timer fires only when the thread's event loop reaches its timers, and on a busy thread
 * new task messages get there first: Node delivers the messages queued on a port back to back
 * (a run of CPU tasks can hold a due poll off for several task lengths). So besides its timer,
 * every task that ends on the thread runs the polls that are due (`runDuePolls`, called by the
 * worker's task runner before it hands the result back). A wait whose condition turned true
 * during a CPU task is then noticed as that task ends, and its request for a slot is made
 * before the task's result is sent: the main thread sees the request first and gives it the
 * slot of the task that ended, on the very thread it must run on.
 *
 * Pollers are kept per interval in a list ordered by due time (a poll re-arms at now +
 * interval, so appending keeps the order), with one timer per interval, as Node keeps its own
 * timer lists: 100,000 parked waits on one interval cost one timer, and finding the due ones
 * costs only what is due.
 */

export interface Poller {
  /** When the next poll is due, in `performance.now()` ms. */
  dueAt: number;
  readonly intervalMs: number;
  /** Checks the condition; the poller is out of its list while this runs. */
  poll(): void;
  prev: Poller | null;
  next: Poller | null;
  queued: boolean;
}

class Interval {
  constructor(readonly intervalMs: number) {}
  head: Poller | null = null;
  tail: Poller | null = null;
  timer: NodeJS.Timeout | undefined = undefined;
  /** The due time the timer is set for; Infinity when none is set. */
  timerAt = Infinity;
}

const intervals = new Map<number, Interval>();

/** Queues the poller's next poll one interval from now. */
export function schedulePoll(poller: Poller): void {
  let list = intervals.get(poller.intervalMs);
  if (list === undefined) {
    list = new Interval(poller.intervalMs);
    intervals.set(poller.intervalMs, list);
  }
  poller.dueAt = performance.now() + poller.intervalMs;
  poller.prev = list.tail;
  poller.next = null;
  if (list.tail === null) list.head = poller;
  else list.tail.next = poller;
  list.tail = poller;
  poller.queued = true;
  if (list.timer === undefined) arm(list);
}

/** Takes the poller out of its list (the wait ended). */
export function cancelPoll(poller: Poller): void {
  if (!poller.queued) return;
  const list = intervals.get(poller.intervalMs);
  if (list === undefined) return;
  unlink(list, poller);
  if (list.head === null) retire(list);
}

/** Runs every poll that is due now. Cheap when none is: one look per interval in use. */
export function runDuePolls(): void {
  if (intervals.size === 0) return;
  const now = performance.now();
  for (const list of [...intervals.values()]) runDue(list, now);
}

function runDue(list: Interval, now: number): void {
  for (let poller = list.head; poller !== null && poller.dueAt <= now; poller = list.head) {
    unlink(list, poller);
    poller.poll(); // may schedule it again, at the tail
  }
  if (list.head === null) retire(list);
  else if (list.timer === undefined || list.head.dueAt < list.timerAt) arm(list);
}

/** An interval no wait uses any more: its timer and entry go. */
function retire(list: Interval): void {
  clearTimeout(list.timer);
  list.timer = undefined;
  list.timerAt = Infinity;
  if (intervals.get(list.intervalMs) === list) intervals.delete(list.intervalMs);
}

function arm(list: Interval): void {
  clearTimeout(list.timer);
  const head = list.head;
  if (head === null) return retire(list);
  list.timerAt = head.dueAt;
  list.timer = setTimeout(
    () => {
      list.timer = undefined;
      list.timerAt = Infinity;
      runDue(list, performance.now());
    },
    Math.max(0, head.dueAt - performance.now()),
  );
}

function unlink(list: Interval, poller: Poller): void {
  if (poller.prev === null) list.head = poller.next;
  else poller.prev.next = poller.next;
  if (poller.next === null) list.tail = poller.prev;
  else poller.next.prev = poller.prev;
  poller.prev = null;
  poller.next = null;
  poller.queued = false;
}
