// `slotwise list` (executions newest first, a page at a time), `slotwise prune` (delete
// finished executions older than a duration) and `slotwise schedules`, as `runner.list`,
// `runner.prune` and `runner.schedules` do.
import { SlotwiseError } from '../errors.js';
import { checkListOptions, checkPruneOptions, encodeCursor } from '../runner/history-options.js';
import { listExecutions, pruneAll, pruneBatch } from '../store/history.js';
import type { WorkflowStatus } from '../store/states.js';
import { ScheduleStore } from '../store/schedules.js';
import { toScheduleInfo } from '../runner/schedule-options.js';
import { type DatabaseFlags, openFromFlags } from './database.js';
import { CliError } from './errors.js';

export interface ListFlags extends DatabaseFlags {
  readonly status?: string;
  readonly workflow?: string;
  readonly limit: number;
  readonly after?: string;
  readonly json?: boolean;
}

export interface PruneFlags extends DatabaseFlags {
  readonly olderThan: number;
  readonly status?: string[];
  readonly json?: boolean;
}

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `500ms`, `30s`, `15m`, `12h`, `7d` in ms; commander calls it with the flag's text. */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text.trim());
  if (match === null) throw new Error(`expected a duration such as 30s, 15m, 12h or 7d, got ${JSON.stringify(text)}`);
  return Number(match[1]) * (UNITS[match[2] ?? 'ms'] ?? 1);
}

/** A bad filter or cursor is a usage error (exit 2), with the library's message. */
function usage<T>(command: string, check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (error instanceof SlotwiseError) throw new CliError(`slotwise ${command}: ${error.message}`, 2);
    throw error;
  }
}

export async function listCommand(flags: ListFlags): Promise<void> {
  const query = usage('list', () =>
    checkListOptions({
      limit: flags.limit,
      ...(flags.status === undefined ? {} : { status: flags.status as WorkflowStatus }),
      ...(flags.workflow === undefined ? {} : { workflow: flags.workflow }),
      ...(flags.after === undefined ? {} : { after: flags.after }),
    }),
  );
  const { database, schema } = await openFromFlags(flags, 'list');
  try {
    const page = await listExecutions(database.knex, schema, query);
    const next = encodeCursor(page.next);
    if (flags.json === true) {
      process.stdout.write(`${JSON.stringify({ executions: page.executions, next }, null, 2)}\n`);
      return;
    }
    const lines = page.executions.map((e) =>
      [
        e.id,
        e.workflowName.padEnd(20),
        `${e.status}${e.paused ? ' (paused)' : ''}`.padEnd(18),
        e.createdAt.toISOString(),
        e.completedAt?.toISOString() ?? '-',
      ].join('  '),
    );
    if (lines.length === 0) lines.push('no workflow executions');
    if (next !== null) lines.push(`more: slotwise list --after ${next}`);
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await database.close();
  }
}

export async function pruneCommand(flags: PruneFlags): Promise<void> {
  const { olderThanMs, statuses } = usage('prune', () =>
    checkPruneOptions({
      olderThanMs: flags.olderThan,
      ...(flags.status === undefined ? {} : { status: flags.status as WorkflowStatus[] }),
    }),
  );
  const { database, schema } = await openFromFlags(flags, 'prune');
  try {
    const pruned = await pruneAll(() => pruneBatch(database.knex, schema, olderThanMs, statuses, null));
    process.stdout.write(
      flags.json === true ? `${JSON.stringify({ pruned })}\n` : `pruned ${String(pruned)} workflow execution(s)\n`,
    );
  } finally {
    await database.close();
  }
}

export interface SchedulesFlags extends DatabaseFlags {
  readonly json?: boolean;
}

export async function schedulesCommand(flags: SchedulesFlags): Promise<void> {
  const { database, schema } = await openFromFlags(flags, 'schedules');
  try {
    const schedules = (await new ScheduleStore(database.knex, schema).all()).map(toScheduleInfo);
    if (flags.json === true) {
      process.stdout.write(`${JSON.stringify({ schedules }, null, 2)}\n`);
      return;
    }
    const lines = schedules.map((s) =>
      [
        s.name.padEnd(20),
        s.workflowName.padEnd(20),
        `${s.cron} (${s.timezone})`.padEnd(28),
        `next ${s.nextRunAt.toISOString()}`,
        `last ${s.lastRunAt?.toISOString() ?? '-'}`,
      ].join('  '),
    );
    process.stdout.write(`${(lines.length === 0 ? ['no schedules'] : lines).join('\n')}\n`);
  } finally {
    await database.close();
  }
}
