// The dashboard's pure parts: execution events turned into Gantt spans (active and deferred, per
// attempt), and a DAG turned into layers.
import { expect } from 'chai';
import { type GanttEvent, ganttOf } from '../src/dashboard/gantt.js';
import { dagLayout } from '../src/dashboard/layers.js';

const task = (id: string): { id: string; taskId: string } => ({ id, taskId: `task-${id}` });
const event = (taskExecutionId: string | null, type: string, at: number, data?: unknown): GanttEvent => ({
  taskExecutionId,
  type,
  at,
  ...(data === undefined ? {} : { data }),
});

describe('dashboard Gantt spans', () => {
  it('splits a run at its deferral: active, deferred, active again, ended by the completion', () => {
    const gantt = ganttOf(
      [task('a')],
      [
        event(null, 'workflow_started', 0),
        event('a', 'task_ready', 0),
        event('a', 'task_started', 10, { attempt: 1 }),
        event('a', 'task_deferred', 30),
        event('a', 'task_resumed', 80),
        event('a', 'task_completed', 95),
        event(null, 'workflow_completed', 95),
      ],
      0,
      100,
    );
    expect(gantt).to.deep.include({ start: 0, end: 100 });
    expect(gantt.rows).to.have.length(1);
    expect(gantt.rows[0]?.taskId).to.equal('task-a');
    expect(gantt.rows[0]?.spans).to.deep.equal([
      { kind: 'active', start: 10, end: 30, attempt: 1, open: false },
      { kind: 'deferred', start: 30, end: 80, attempt: 1, open: false },
      { kind: 'active', start: 80, end: 95, attempt: 1, open: false },
    ]);
    expect(gantt.rows[0]?.marks).to.deep.equal([{ type: 'task_completed', at: 95, attempt: 1 }]);
  });

  it('gives each attempt its spans and marks how each ended (a retry, then a failure)', () => {
    const gantt = ganttOf(
      [task('a')],
      [
        event('a', 'task_started', 0, { attempt: 1 }),
        event('a', 'task_retry_scheduled', 5, { attempt: 1, delayMs: 10 }),
        event('a', 'task_ready', 15),
        event('a', 'task_started', 20, { attempt: 2 }),
        event('a', 'task_failed', 26, { name: 'Error', code: null, message: 'no' }),
      ],
      0,
      30,
    );
    const row = gantt.rows[0];
    expect(row?.spans.map((s) => [s.kind, s.start, s.end, s.attempt])).to.deep.equal([
      ['active', 0, 5, 1],
      ['active', 20, 26, 2],
    ]);
    expect(row?.marks.map((m) => [m.type, m.attempt])).to.deep.equal([
      ['task_retry_scheduled', 1],
      ['task_failed', 2],
    ]);
  });

  it('runs a span still open to `until` and says so; counts attempts when the event carries none', () => {
    const gantt = ganttOf(
      [task('a'), task('b')],
      [event('a', 'task_started', 10), event('a', 'task_deferred', 20), event('b', 'task_started', 15)],
      0,
      50,
    );
    expect(gantt.rows[0]?.spans).to.deep.equal([
      { kind: 'active', start: 10, end: 20, attempt: 1, open: false },
      { kind: 'deferred', start: 20, end: 50, attempt: 1, open: true },
    ]);
    expect(gantt.rows[1]?.spans).to.deep.equal([{ kind: 'active', start: 15, end: 50, attempt: 1, open: true }]);
  });

  it('closes a span a recovery cut short, starts the next attempt clean, and keeps tasks that never ran', () => {
    const gantt = ganttOf(
      [task('a'), task('never')],
      [
        event('a', 'task_started', 0, { attempt: 1 }),
        event('a', 'task_deferred', 4),
        event('a', 'task_recovered', 9, { recoveries: 1 }),
        event('a', 'task_started', 12, { attempt: 2 }),
        event('a', 'task_completed', 14),
        event('never', 'task_skipped', 14),
        event('elsewhere', 'task_started', 1),
      ],
      0,
      20,
    );
    expect(gantt.rows[0]?.spans.map((s) => [s.kind, s.start, s.end, s.attempt])).to.deep.equal([
      ['active', 0, 4, 1],
      ['deferred', 4, 9, 1],
      ['active', 12, 14, 2],
    ]);
    expect(gantt.rows[1]).to.deep.include({ taskId: 'task-never', spans: [], marks: [] });
  });

  it('widens its range to hold an event written before the execution or after `until`', () => {
    const gantt = ganttOf([task('a')], [event('a', 'task_started', -5), event('a', 'task_completed', 130)], 0, 100);
    expect(gantt).to.deep.include({ start: -5, end: 130 });
  });
});

describe('dashboard DAG layers', () => {
  it('puts each task one layer after its deepest dependency, edges from dependency to dependent', () => {
    const layout = dagLayout([
      { taskId: 'fetch', dependencies: [] },
      { taskId: 'crunch', dependencies: ['fetch'] },
      { taskId: 'audit', dependencies: ['fetch'] },
      { taskId: 'report', dependencies: ['crunch', 'audit', 'fetch'] },
      { taskId: 'alone', dependencies: [] },
    ]);
    expect(layout.layers).to.deep.equal([['fetch', 'alone'], ['crunch', 'audit'], ['report']]);
    expect(layout.edges).to.deep.equal([
      ['fetch', 'crunch'],
      ['fetch', 'audit'],
      ['crunch', 'report'],
      ['audit', 'report'],
      ['fetch', 'report'],
    ]);
  });

  it('ignores dependencies on tasks it was not given, and survives a cycle in stored rows', () => {
    const layout = dagLayout([
      { taskId: 'a', dependencies: ['b', 'missing'] },
      { taskId: 'b', dependencies: ['a'] },
    ]);
    expect(layout.layers.flat().sort()).to.deep.equal(['a', 'b']);
    expect(layout.edges).to.deep.equal([
      ['b', 'a'],
      ['a', 'b'],
    ]);
  });
});
