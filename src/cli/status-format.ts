// The text of `slotwise status`: one header line per workflow execution, then its tasks as an aligned table.
import type { UnitUsage } from '../store/limit-usage.js';
import type { TaskStatusLine, WorkflowStatusReport } from './status-query.js';

const HEADER = ['task', 'state', 'sub-state', 'attempts', 'deferrals', 'deferred', 'claimed by'];

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function cells(task: TaskStatusLine): string[] {
  const deferred =
    task.deferredNowMs === null ? seconds(task.deferredMs) : `${seconds(task.deferredMs + task.deferredNowMs)} (now)`;
  return [
    task.taskId,
    task.status,
    task.subStatus ?? '',
    `${String(task.attempt)}/${String(task.maxAttempts)}`,
    String(task.deferrals),
    deferred,
    task.claimedBy ?? '',
  ];
}

function table(rows: readonly string[][]): string[] {
  const widths = HEADER.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (row: readonly string[]): string =>
    `  ${row.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ')}`.trimEnd();
  return [line(HEADER), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

const LIMIT_HEADER = ['limit / key', 'active', 'deferred', 'reclaiming', 'queued', 'max'] as const;

/** Limits and keys in use, one row each (none: no line at all). */
function limitLines(usage: readonly UnitUsage[]): string[] {
  if (usage.length === 0) return [];
  const rows = usage.map((u) => [
    u.kind === 'limit' ? u.name : `${u.name} key ${JSON.stringify(u.key)}`,
    String(u.active),
    String(u.deferred),
    String(u.reclaiming),
    String(u.queued),
    u.max === null ? '(runners’)' : String(u.max),
  ]);
  const widths = LIMIT_HEADER.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (row: readonly string[]): string =>
    `  ${row.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ')}`.trimEnd();
  return ['', 'limits and keys in use:', line(LIMIT_HEADER), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

/** The whole report, ending with a newline. */
export function formatStatus(
  schema: string,
  shown: string,
  workflows: readonly WorkflowStatusReport[],
  usage: readonly UnitUsage[] = [],
): string {
  const lines = [`${shown} schema ${schema}: ${String(workflows.length)} workflow execution(s), newest first`];
  lines.push(...limitLines(usage));
  for (const w of workflows) {
    const ended = w.completedAt === null ? '' : `, ended ${w.completedAt}`;
    lines.push('', `${w.name}  ${w.id}  ${w.status}${w.paused ? ' (paused)' : ''}  (created ${w.createdAt}${ended})`);
    lines.push(...(w.tasks.length === 0 ? ['  (no tasks)'] : table(w.tasks.map(cells))));
  }
  return `${lines.join('\n')}\n`;
}
