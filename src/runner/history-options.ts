/** The options of `runner.list` and `runner.prune`, checked, and list cursors. */
import { InvalidArgumentError } from '../errors.js';
import { type KnownOptions, rejectUnknownOptions } from '../known-options.js';
import type { ExecutionSummary, ListCursor, ListQuery } from '../store/history.js';
import { STATES, TERMINAL_WORKFLOW_STATES, type WorkflowStatus } from '../store/states.js';

export interface ListOptions {
  /** Only executions in this state. */
  readonly status?: WorkflowStatus;
  /** Only executions of the workflow of this name. */
  readonly workflow?: string;
  /** At most this many (1 to 1,000). Default: 50. */
  readonly limit?: number;
  /** The `next` of the page before: where this page starts. */
  readonly after?: string;
}

export interface ExecutionPage {
  /** Newest first. */
  readonly executions: readonly ExecutionSummary[];
  /** Pass as `after` for the next page; null on the last page. */
  readonly next: string | null;
}

export interface PruneOptions {
  /** Delete executions that ended more than this many ms ago (a finite number >= 0). */
  readonly olderThanMs: number;
  /** Only those that ended in these states (terminal ones). Default: all of them. */
  readonly status?: WorkflowStatus | readonly WorkflowStatus[];
}

const LIST_OPTIONS = {
  status: true,
  workflow: true,
  limit: true,
  after: true,
} as const satisfies KnownOptions<ListOptions>;
const PRUNE_OPTIONS = { olderThanMs: true, status: true } as const satisfies KnownOptions<PruneOptions>;
const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 1_000;
const CURSOR = /^(-?\d{1,20}):([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

function checkObject(options: unknown, known: Record<string, true>, where: string): void {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options', 'an object', options);
  rejectUnknownOptions(options, known, where);
}

export function checkListOptions(options: ListOptions): ListQuery {
  checkObject(options, LIST_OPTIONS, '`runner.list()`');
  const { status = null, workflow = null, limit = DEFAULT_LIMIT, after = null } = options;
  if (status !== null && !STATES.workflow.includes(status)) {
    throw new InvalidArgumentError('status', `one of ${STATES.workflow.join(', ')}`, status);
  }
  if (workflow !== null && (typeof workflow !== 'string' || workflow.length === 0)) {
    throw new InvalidArgumentError('workflow', 'a workflow name', workflow);
  }
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw new InvalidArgumentError('limit', `a whole number from 1 to ${String(MAX_LIMIT)}`, limit);
  }
  return { status, workflow, limit, after: after === null ? null : decodeCursor(after) };
}

export function encodeCursor(cursor: ListCursor | null): string | null {
  return cursor === null ? null : Buffer.from(`${cursor.createdMicros}:${cursor.id}`).toString('base64url');
}

function decodeCursor(after: unknown): ListCursor {
  const match = typeof after === 'string' ? CURSOR.exec(Buffer.from(after, 'base64url').toString()) : null;
  if (match === null) throw new InvalidArgumentError('after', 'the `next` of an earlier `list()` page', after);
  return { createdMicros: match[1] ?? '', id: match[2] ?? '' };
}

export function checkPruneOptions(options: PruneOptions): { olderThanMs: number; statuses: WorkflowStatus[] } {
  checkObject(options, PRUNE_OPTIONS, '`runner.prune()`');
  const { olderThanMs, status = TERMINAL_WORKFLOW_STATES } = options;
  if (typeof olderThanMs !== 'number' || !Number.isFinite(olderThanMs) || olderThanMs < 0) {
    throw new InvalidArgumentError('olderThanMs', 'a finite number of ms >= 0', olderThanMs);
  }
  const statuses = typeof status === 'string' ? [status] : status;
  if (
    !Array.isArray(statuses) ||
    statuses.length === 0 ||
    !statuses.every((s) => TERMINAL_WORKFLOW_STATES.includes(s as WorkflowStatus))
  ) {
    throw new InvalidArgumentError('status', `one or more of ${TERMINAL_WORKFLOW_STATES.join(', ')}`, status);
  }
  return { olderThanMs, statuses: [...(statuses as WorkflowStatus[])] };
}
