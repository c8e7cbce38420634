// The timeline recorder, on real worker threads: runs are steered through signals and events
// (nothing sleeps), and the recorded lanes and parked spans are checked against what the slots
// allow. The SVG renderer is checked on a recorded timeline and on a hand-made one.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { expect } from 'chai';
import {
  type Executor,
  type ExecutorEvents,
  type Timeline,
  TimelineRecorder,
  Runner,
  renderTimelineSvg,
} from '../src/index.js';
import { deferredPipeline } from './fixtures/runner-tasks.js';
import { deferOnSignal, fails, holdUntilSignal, noop, spin } from './fixtures/tasks.js';
import { createExecutor, createSignals, raise, raised } from './helpers.js';

/** Resolves once `executor` has emitted `event` `count` times. */
function events(executor: Executor, event: keyof ExecutorEvents, count: number): Promise<void> {
  return new Promise((resolve) => {
    let seen = 0;
    const listener = (): void => {
      if (++seen < count) return;
      executor.off(event, listener);
      resolve();
    };
    executor.on(event, listener);
  });
}

interface AnySpan {
  executionId: string;
  taskId: string;
  from: number;
  to: number;
  kind: 'active' | 'deferred';
}

/** Checks what must hold of any timeline; returns each run's spans in time order. */
function checkTimeline(timeline: Timeline): Map<string, AnySpan[]> {
  const duration = timeline.endedAt - timeline.startedAt;
  expect(timeline.lanes.map((lane) => lane.slot)).to.deep.equal([...Array(timeline.slots).keys()]);
  for (const lane of timeline.lanes) {
    lane.spans.forEach((span, i) => {
      expect(span.kind).to.equal('active');
      expect(span.from).to.be.at.most(span.to);
      expect(span.to).to.be.at.most(duration + 0.01);
      const previous = lane.spans[i - 1];
      if (previous !== undefined) expect(span.from, `overlap in lane ${lane.slot}`).to.be.at.least(previous.to);
    });
  }
  const runs = new Map<string, AnySpan[]>();
  for (const span of [...timeline.lanes.flatMap((lane) => lane.spans), ...timeline.parked]) {
    runs.set(span.executionId, [...(runs.get(span.executionId) ?? []), span]);
  }
  for (const [id, spans] of runs) {
    spans.sort((a, b) => a.from - b.from || a.to - b.to);
    spans.forEach((span, i) => {
      expect(span.kind, `run ${id}: spans alternate, active first`).to.equal(i % 2 === 0 ? 'active' : 'deferred');
      const previous = spans[i - 1];
      if (previous !== undefined) expect(span.from, `run ${id}: gap or overlap`).to.equal(previous.to);
    });
  }
  expect(Math.min(...[...runs.values()].map((spans) => spans[0]?.from ?? Infinity))).to.equal(0);
  expect(JSON.parse(JSON.stringify(timeline))).to.deep.equal(timeline);
  return runs;
}

describe('TimelineRecorder', () => {
  it('puts active spans on slot lanes and deferrals in parked, tiling each run', async () => {
    const executor = createExecutor(); // 2 threads, 2 slots
    const recorder = TimelineRecorder.attach(executor);
    const signals = createSignals();
    const bothParked = events(executor, 'taskDeferred', 2);
    const waiting = [0, 1].map((release) => executor.run(deferOnSignal, { signals, release }));
    await bothParked;

    const mid = recorder.timeline(); // the deferrals are still open: they end at endedAt
    expect(mid.parked).to.have.length(2);
    for (const span of mid.parked) expect(span.to).to.be.closeTo(mid.endedAt - mid.startedAt, 0.01);

    // Four CPU runs and a failing one use both slots while the two runs are parked.
    await Promise.all([5, 5, 5, 5].map((ms) => executor.run(spin, ms)));
    await executor.run(fails, 'on purpose').catch(() => undefined);
    raise(signals, 0);
    raise(signals, 1);
    const deferredIds = (await Promise.all(waiting)).map((output) => output.executionId);
    recorder.detach();
    expect(recorder.attached).to.equal(false);
    await executor.run(noop, undefined); // after detach: not recorded

    const timeline = recorder.timeline();
    expect(timeline.slots).to.equal(2);
    expect(timeline.lanes).to.have.length(2);
    const runs = checkTimeline(timeline);
    expect(runs.size).to.equal(7);
    const taskIds = [...runs.values()].map((spans) => spans[0]?.taskId);
    expect(taskIds).to.have.members(['deferOnSignal', 'deferOnSignal', 'spin', 'spin', 'spin', 'spin', 'fails']);

    expect(timeline.parked.map((span) => span.executionId)).to.have.members(deferredIds);
    for (const id of deferredIds) {
      expect(runs.get(id)?.map((span) => span.kind)).to.deep.equal(['active', 'deferred', 'active']);
    }
    // The CPU runs had the slots while both deferred runs were parked.
    const parkedFrom = Math.max(...timeline.parked.map((span) => span.from));
    const parkedTo = Math.min(...timeline.parked.map((span) => span.to));
    const cpu = timeline.lanes.flatMap((lane) => lane.spans).filter((span) => span.taskId !== 'deferOnSignal');
    expect(cpu).to.have.length(5);
    for (const span of cpu) {
      expect(span.from).to.be.at.least(parkedFrom);
      expect(span.to).to.be.at.most(parkedTo);
    }

    const svg = renderTimelineSvg(timeline, { title: 'Two parked, five busy' });
    expect(svg.match(/data-lane="/g)).to.have.length(2);
    expect(svg.match(/data-parked-row="/g)).to.have.length(2); // the two deferrals overlap: a row each
    expect(svg).to.contain('Two parked, five busy');
  });

  it('gives a starting run the lowest free lane and ignores runs begun before attach', async () => {
    const executor = createExecutor();
    const signals = createSignals();
    const hold = (started: number, release: number): Promise<string> =>
      executor.run(holdUntilSignal, { signals, started, release });
    const before = hold(0, 1);
    await raised(signals, 0);
    const recorder = TimelineRecorder.attach(executor);
    const first = hold(2, 3); // lane 0: the run from before attach is not on any lane
    await raised(signals, 2);
    raise(signals, 1);
    await before;
    const second = hold(4, 5); // lane 1
    await raised(signals, 4);
    const queued = executor.run(noop, undefined); // both slots held: waits
    raise(signals, 3); // first ends, frees lane 0, and the queued run takes it
    await Promise.all([first, queued]);
    raise(signals, 5);
    await second;
    recorder.detach();

    const timeline = recorder.timeline();
    checkTimeline(timeline);
    expect(timeline.lanes.map((lane) => lane.spans.map((span) => span.taskId))).to.deep.equal([
      ['holdUntilSignal', 'noop'],
      ['holdUntilSignal'],
    ]);
    expect(timeline.parked).to.deep.equal([]);
  });
});

describe('TimelineRecorder on a Runner', () => {
  it("records the runs of a runner's executor: a persisted workflow's deferred task and its dependent", async function () {
    this.timeout(30_000);
    const dir = mkdtempSync(joinPath(tmpdir(), 'slotwise-'));
    const runner = new Runner({ threads: 1, maxConcurrentTasks: 1 }); // the embedded database
    try {
      await runner.ready();
      const recorder = TimelineRecorder.attach(runner);
      const flagFile = joinPath(dir, 'flag');
      runner.once('taskSubStatus', () => writeFileSync(flagFile, 'data'));
      const result = await runner.execute(deferredPipeline, { flagFile, counterFile: joinPath(dir, 'counter') });
      recorder.detach();
      expect(result.status).to.equal('Completed');
      const timeline = recorder.timeline();
      expect(timeline.slots).to.equal(1);
      const tasks = timeline.lanes.flatMap((lane) => lane.spans.map((span) => span.taskId));
      expect(tasks).to.include.members(['wait_for_data', 'process_data']);
      expect(timeline.parked.map((span) => span.taskId)).to.deep.equal(['wait_for_data']);
    } finally {
      await runner.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('renderTimelineSvg', () => {
  const timeline: Timeline = {
    startedAt: Date.UTC(2025, 0, 1),
    endedAt: Date.UTC(2025, 0, 1) + 420,
    slots: 3,
    lanes: [
      {
        slot: 0,
        spans: [{ executionId: 'e1', taskId: '<script>alert(1)</script>', from: 0, to: 300, kind: 'active' }],
      },
      { slot: 1, spans: [{ executionId: 'e2', taskId: 'a&b', from: 10, to: 50, kind: 'active' }] },
      { slot: 2, spans: [] },
    ],
    parked: [
      { executionId: 'e2', taskId: 'a&b', from: 50, to: 400, kind: 'deferred' },
      { executionId: 'e3', taskId: 'x"y', from: 60, to: 70, kind: 'deferred' },
    ],
  };

  it('draws one lane group per slot, a parked area, an axis, the title and the legend', () => {
    const svg = renderTimelineSvg(timeline, { title: 'Nightly <import> & co' });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).to.equal(true);
    expect(svg.endsWith('</svg>')).to.equal(true);
    expect(svg.match(/data-lane="/g)).to.have.length(3);
    expect(svg.match(/data-parked-row="/g)).to.have.length(2);
    expect(svg).to.contain('Nightly &#60;import&#62; &#38; co');
    expect(svg).to.contain('data-legend');
    expect(svg).to.contain('active: holds a slot');
    expect(svg).to.contain('deferred: parked in deferUntil, no slot');
    expect(svg)
      .to.match(/>0 ms</)
      .and.to.match(/>400 ms</);
    expect(svg.match(/<g[ >]/g)?.length).to.equal(svg.match(/<\/g>/g)?.length);
  });

  it('escapes task ids and refers to nothing outside itself', () => {
    const svg = renderTimelineSvg(timeline);
    expect(svg).to.contain('Slot timeline');
    expect(svg).not.to.contain('<script');
    expect(svg).to.contain('&#60;script&#62;alert(1)&#60;/script&#62;');
    expect(svg).to.contain('a&#38;b');
    expect(svg).to.contain('x&#34;y');
    expect(svg).not.to.match(/href|url\(|<style|<image|<foreignObject/i);
  });

  it('draws an empty timeline', () => {
    const empty: Timeline = { startedAt: 0, endedAt: 0, slots: 1, lanes: [{ slot: 0, spans: [] }], parked: [] };
    const svg = renderTimelineSvg(empty);
    expect(svg.match(/data-lane="/g)).to.have.length(1);
    expect(svg).to.contain('no deferrals');
  });
});
