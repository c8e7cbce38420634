// Deferred tasks give their slots back while they wait, and CPU work uses the slots meanwhile.
// Three "fetch-report" runs wait for reports that the main thread publishes at fixed times (one
// flag each in a SharedArrayBuffer); sixteen "crunch" runs of 110-150 ms use the two slots in
// the meantime. Every executor event is logged as it happens; a timeline follows. `npm run demo`
import { performance } from 'node:perf_hooks';
import { Executor, type TaskEventBase } from '../src/index.js';
import { crunch, fetchReport } from './demo-tasks.js';

const SLOTS = 2;
const PUBLISH_AT_MS = [500, 750, 1_000]; // report i is published at PUBLISH_AT_MS[i]
const CRUNCH_MS = [120, 140, 110, 150, 130, 120, 140, 110, 150, 130, 120, 140, 110, 150, 130, 120];
const WIDTH = 60; // columns of the timeline
const EVENTS = ['taskStarted', 'taskDeferred', 'taskResumed', 'taskCompleted', 'taskFailed'] as const;
const GLYPH = { started: '▶', deferred: '‖', resumed: '↺', completed: '✓', failed: '✗' };
// Lines are printed at the end of each synchronous burst of events, the event that freed a slot
// first (the executor emits it before it hands the slot on; sorting keeps that order robust).
const RANK = { deferred: 0, completed: 0, failed: 0, resumed: 1, started: 1 };

type Kind = keyof typeof GLYPH;
type Span = { kind: 'active' | 'deferred'; from: number; to: number };
type Run = { label: string; spans: Span[]; queuedBehind?: number };

let t0 = performance.now();
const runs = new Map<string, Run>(); // by executionId, in start order
const publishedAt: number[] = [];
let batch: { rank: number; at: number; text: string }[] = [];
let printedUpTo = 0;
let maxActive = 0;
let maxDeferred = 0;

const secs = (at: number): string => `${((at - t0) / 1000).toFixed(3)}s`;
const runsOf = (taskId: string): Run[] => [...runs.values()].filter((run) => run.label.startsWith(`${taskId}#`));

function print(rank: number, at: number, text: string): void {
  if (batch.length === 0) queueMicrotask(flush);
  batch.push({ rank, at, text });
}

function flush(): void {
  for (const line of batch.sort((a, b) => a.rank - b.rank || a.at - b.at)) {
    printedUpTo = Math.max(printedUpTo, line.at); // keeps printed times in order (they differ by µs)
    console.log(`${secs(printedUpTo).padStart(8)}  ${line.text}`);
  }
  batch = [];
}

function track(executor: Executor, kind: Kind, event: TaskEventBase): void {
  const m = executor.metrics();
  maxActive = Math.max(maxActive, m.activeTasks);
  maxDeferred = Math.max(maxDeferred, m.deferredTasks);
  let run = runs.get(event.executionId);
  if (run === undefined) {
    // Slots go first come, first served: the n-th run of a task to start is the n-th submitted.
    run = { label: `${event.taskId}#${runsOf(event.taskId).length + 1}`, spans: [] };
    runs.set(event.executionId, run);
  }
  const last = run.spans.at(-1);
  if (last !== undefined) last.to = event.at;
  if (kind === 'started' || kind === 'resumed') run.spans.push({ kind: 'active', from: event.at, to: event.at });
  if (kind === 'deferred') run.spans.push({ kind: 'deferred', from: event.at, to: event.at });
  if (kind === 'resumed') run.queuedBehind = m.queuedTasks;
  const status = `active ${m.activeTasks}/${m.maxConcurrentTasks}  deferred ${m.deferredTasks}  queued ${m.queuedTasks}`;
  print(RANK[kind], event.at, `${GLYPH[kind]} ${kind.padEnd(9)} ${run.label.padEnd(16)} ${status}`);
}

function timeline(end: number): void {
  const bucket = (end - t0) / WIDTH;
  const overlap = (run: Run, kind: Span['kind'], from: number, to: number): number =>
    run.spans.reduce(
      (sum, s) => sum + (s.kind === kind ? Math.max(0, Math.min(s.to, to) - Math.max(s.from, from)) : 0),
      0,
    );
  console.log(`\nTimeline (one column = ${bucket.toFixed(0)} ms)\n`);
  for (const run of runs.values()) {
    let row = '';
    for (let c = 0; c < WIDTH; c++) {
      const [from, to] = [t0 + c * bucket, t0 + (c + 1) * bucket];
      const [active, deferred] = [overlap(run, 'active', from, to), overlap(run, 'deferred', from, to)];
      row += active === 0 && deferred === 0 ? ' ' : active >= deferred ? '█' : '░';
    }
    console.log(`  ${run.label.padEnd(16)} │${row}│`);
  }
  let [ruler, labels] = ['', ''];
  for (let c = 0; c < WIDTH; c++) {
    const quarter = Math.floor((c * bucket) / 250); // a tick in the column that holds each 0.25 s
    const tick = c === 0 || quarter !== Math.floor(((c - 1) * bucket) / 250);
    ruler += tick ? '┬' : '─';
    if (tick && (c === 0 || labels.length < c)) labels = `${labels.padEnd(c)}${(quarter / 4).toFixed(2)}s`;
  }
  console.log(`${''.padEnd(20)}${ruler}\n${''.padEnd(20)}${labels}`);
  console.log('\n  █ active: holds a slot   ░ deferred: parked in deferUntil, no slot   (blank) not running');
}

function summary(): void {
  const parked = runsOf(fetchReport.id).flatMap((run) => run.spans.filter((span) => span.kind === 'deferred'));
  const crunches = runsOf(crunch.id);
  const alongside = crunches.filter((run) =>
    run.spans.some((a) => parked.some((d) => Math.min(a.to, d.to) > Math.max(a.from, d.from))),
  );
  console.log('\nSummary');
  console.log(`  ${alongside.length} of ${crunches.length} crunch runs had a slot while fetch-reports were parked.`);
  console.log(`  At most ${maxDeferred} runs were parked at once; at most ${maxActive} of ${SLOTS} slots were in use.`);
  runsOf(fetchReport.id).forEach((run, i) => {
    const resumed = run.spans.find((span, j) => j > 0 && span.kind === 'active')?.from ?? NaN;
    const published = publishedAt[i] ?? NaN;
    // L: the crunch run whose slot it took back, the last to end before it resumed (on its thread).
    const before = crunches
      .flatMap((c) => c.spans.filter((span) => span.kind === 'active' && span.to <= resumed + 0.5))
      .sort((a, b) => b.to - a.to)[0];
    const cpuMs = before === undefined ? NaN : before.to - before.from;
    const lagMs = resumed - published;
    const lag = `${secs(published)} → ${secs(resumed)} (+${lagMs.toFixed(0)} ms = ${(lagMs / cpuMs).toFixed(2)} L, L = ${cpuMs.toFixed(0)} ms)`;
    console.log(`  ${run.label}: published → slot taken back ${lag}, ${run.queuedBehind} crunch runs queued behind it`);
  });
  console.log(
    "  L is the crunch run whose slot it took back. A run goes on on its own thread, so it can wait for that thread's\n" +
      '  current crunch run to end (at most 1 L), plus one 10 ms poll to notice: the floor. It goes before queued crunch runs.',
  );
}

async function main(): Promise<void> {
  const executor = new Executor({ threads: 2, maxConcurrentTasks: SLOTS });
  const published = new Int32Array(new SharedArrayBuffer(PUBLISH_AT_MS.length * Int32Array.BYTES_PER_ELEMENT));
  const timers: NodeJS.Timeout[] = [];
  let end = 0;
  try {
    await Promise.all([executor.run(crunch, 0), executor.run(crunch, 0)]); // both threads up, tasks loaded
    for (const name of EVENTS) {
      const kind = name.slice(4).toLowerCase() as Kind; // taskStarted → started
      executor.on(name, (event: TaskEventBase) => {
        end = Math.max(end, event.at);
        track(executor, kind, event);
      });
    }
    console.log(`slotwise demo: 2 threads, ${SLOTS} slots; 3 fetch-reports, then ${CRUNCH_MS.length} crunch runs\n`);
    t0 = performance.now();
    PUBLISH_AT_MS.forEach((ms, index) => {
      const publish = (): void => {
        publishedAt[index] = performance.now();
        Atomics.store(published, index, 1); // what the waiting run's condition reads
        print(0, publishedAt[index], `★ report ${index + 1} published (the main thread sets flag ${index})`);
      };
      timers.push(setTimeout(publish, ms));
    });
    const reports = PUBLISH_AT_MS.map((_, index) =>
      executor.run(fetchReport, { index, published, pollIntervalMs: 10 }),
    );
    await Promise.all([...reports, ...CRUNCH_MS.map((ms) => executor.run(crunch, ms))]);
    flush();
    timeline(end);
    summary();
    const { latency, limits: _limits, keys: _keys, ...counts } = executor.metrics();
    const metrics = Object.entries(counts).map(([key, value]) => `${key}=${String(value)}`);
    console.log(`\nmetrics() (2 warm-up runs included): ${metrics.join(' ')}`);
    const ms = (value: number): string => `${value.toFixed(1)} ms`;
    console.log(
      `latency p50 / p99: wait for a slot ${ms(latency.waitForSlotMs.p50)} / ${ms(latency.waitForSlotMs.p99)}, ` +
        `run ${ms(latency.runMs.p50)} / ${ms(latency.runMs.p99)}, wait without a slot ${ms(latency.deferredMs.p50)} / ${ms(latency.deferredMs.p99)}`,
    );
  } finally {
    timers.forEach(clearTimeout);
    published.forEach((_, index) => Atomics.store(published, index, 1)); // after a failure: let waiting runs end
    await executor.close({ timeoutMs: 5_000 });
  }
  const { availableSlots, maxConcurrentTasks } = executor.metrics();
  console.log(`executor closed; slots free: ${availableSlots}/${maxConcurrentTasks}`);
}

main().catch((error: unknown) => {
  console.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
