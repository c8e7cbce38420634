/**
 * The dashboard's JSON API, as answers to paths (the HTTP plumbing is in `server.ts`):
 *
 *   GET /api/executions?status=&workflow=&after=&limit=   a page, newest first, and `next`
 *   GET /api/executions/:id                               one execution: tasks, events, DAG, Gantt
 *   GET /api/runners                                      runners, their slots in use and leases
 *   GET /api/schedules                                    cron schedules
 *
 * A bad filter, cursor or id is a 400, an unknown path or execution a 404; every body is JSON.
 */
import type { Knex } from 'knex';
import { InvalidArgumentError } from '../errors.js';
import { isUuid } from '../executor/execution-id.js';
import { checkListOptions, encodeCursor } from '../runner/history-options.js';
import type { WorkflowStatus } from '../store/states.js';
import { type Gantt, ganttOf } from './gantt.js';
import { type DagLayout, dagLayout } from './layers.js';
import { type ExecutionDetail, listWithCounts, readExecution, readRunners, readSchedules } from './queries.js';

/** How many executions a page of the list shows unless `limit` says otherwise. */
export const PAGE_SIZE = 25;

export interface ApiAnswer {
  readonly status: number;
  readonly body: unknown;
}

/** The body of every error answer. */
export interface ApiError {
  readonly error: { readonly status: number; readonly message: string };
}

export const failure = (status: number, message: string): ApiAnswer => ({
  status,
  body: { error: { status, message } } satisfies ApiError,
});

/** One execution as its page draws it. */
export interface ExecutionPageData extends ExecutionDetail {
  readonly dag: DagLayout;
  readonly gantt: Gantt;
}

/** Answers a GET of `path` (below `/api/`), or null when no API route has that path. */
export async function answerApi(
  knex: Knex,
  schema: string,
  path: string,
  query: URLSearchParams,
): Promise<ApiAnswer | null> {
  if (path === '/api/executions') return listPage(knex, schema, query);
  if (path === '/api/runners') return { status: 200, body: { runners: await readRunners(knex, schema) } };
  if (path === '/api/schedules') return { status: 200, body: { schedules: await readSchedules(knex, schema) } };
  const match = /^\/api\/executions\/([^/]+)$/.exec(path);
  if (match === null) return null;
  let id: string;
  try {
    id = decodeURIComponent(match[1] ?? '');
  } catch {
    return failure(400, 'the execution id is not valid percent-encoding');
  }
  // The id is a uuid column: anything else would be a database error, not "no such execution".
  if (!isUuid(id)) return failure(400, `not an execution id (a UUID): ${JSON.stringify(id.slice(0, 80))}`);
  const detail = await readExecution(knex, schema, id.toLowerCase());
  if (detail === undefined) return failure(404, `no workflow execution ${id} in schema ${schema}`);
  return { status: 200, body: executionPage(detail) };
}

async function listPage(knex: Knex, schema: string, query: URLSearchParams): Promise<ApiAnswer> {
  const text = (name: string): string | undefined => {
    const value = query.get(name);
    return value === null || value === '' ? undefined : value;
  };
  const status = text('status');
  const workflow = text('workflow');
  const after = text('after');
  const limit = text('limit');
  let checked;
  try {
    checked = checkListOptions({
      limit: limit === undefined ? PAGE_SIZE : Number(limit),
      ...(status === undefined ? {} : { status: status as WorkflowStatus }),
      ...(workflow === undefined ? {} : { workflow }),
      ...(after === undefined ? {} : { after }),
    });
  } catch (error) {
    if (error instanceof InvalidArgumentError) return failure(400, error.message);
    throw error;
  }
  const page = await listWithCounts(knex, schema, checked);
  return { status: 200, body: { executions: page.executions, next: encodeCursor(page.next) } };
}

function executionPage(detail: ExecutionDetail): ExecutionPageData {
  const { execution, tasks, events, now } = detail;
  const until = (execution.completedAt ?? now).getTime();
  const gantt = ganttOf(
    tasks,
    events.map((e) => ({ taskExecutionId: e.taskExecutionId, type: e.type, at: e.at.getTime(), data: e.data })),
    execution.createdAt.getTime(),
    until,
  );
  return { ...detail, dag: dagLayout(tasks), gantt };
}
