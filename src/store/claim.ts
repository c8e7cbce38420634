/**
 * Claiming Ready tasks, and taking limits' units back after a wait: the statements that keep
 * weights, named limits and per-key limits true across every runner on one database.
 *
 * Units are never counted in a column. A run holds a unit of a limit while its row is Running
 * and is Active, or Deferred when the limit counts deferred runs (`includeDeferred`), or wants
 * its units back (`wants_units`, so that it goes before new work). Whoever may add a holder (a
 * claim, a run taking its units back) first takes a transaction-scoped advisory lock per limit
 * and per key it touches, in one global order (by lock id, so two transactions never wait on
 * each other in a cycle), then counts the holders in a statement that starts after the locks
 * are held (so its snapshot sees every holder committed by the previous lock holder), and adds
 * holders only up to each `max`. Everything else only removes holders (a run ending, deferring,
 * being recovered) and needs no lock: a count that misses such a change is too high, never too
 * low. So no interleaving of runners can put more than `max` holders on a limit at once.
 */
import type { Knex } from 'knex';
import type { FilledLimit } from '../slots/needs.js';
import type { ClaimedTask } from './rows.js';

/** What the claim is for: the runner, its free slots and the limits it knows. */
export interface ClaimRequest {
  readonly runnerId: string;
  /** Slots free now: the claimed tasks' weights add up to at most this. */
  readonly freeSlots: number;
  /** The runner's `maxConcurrentTasks`: a task heavier than this is left for another runner. */
  readonly maxSlots: number;
  readonly workflowNames: readonly string[];
  readonly exclude: readonly string[];
  readonly leaseMarginMs: number;
  readonly limits: ReadonlyMap<string, FilledLimit>;
}

/**
 * How many Ready tasks one claim looks at (and locks) for its free slots: twice as many plus a
 * few, so tasks held back by full limits can be passed without locking a long stretch of rows.
 */
const WINDOW_PER_SLOT = 2;
const MIN_WINDOW = 8;

/**
 * Claims Ready tasks whose needs fit: their weights within the free slots, and a unit free of
 * each limit and key they need. In claim order (priority desc, fair tag, id), a task held back
 * by a full limit is passed; one that needs more slots than are free stops the claim (lighter
 * tasks behind it would take the slots it waits for, for ever).
 */
export async function claimWithinLimits(knex: Knex, schema: string, request: ClaimRequest): Promise<ClaimedTask[]> {
  if (request.freeSlots <= 0 || request.workflowNames.length === 0) return [];
  // One round trip: the function (migration 007) locks the candidates and their units' advisory
  // locks, counts the holders in a statement of its own, admits in order and marks the claims.
  const result = await knex.raw<{ rows: { claimed: ClaimedTask[] }[] }>(
    `SELECT :schema:.claim_within_limits(:runnerId, :freeSlots, :maxSlots, CAST(:workflowNames AS text[]), CAST(:exclude AS uuid[]),
       :leaseMarginMs, :window, CAST(:maxes AS jsonb), CAST(:keep AS text[]), :lockPrefix) AS claimed`,
    {
      schema,
      runnerId: request.runnerId,
      freeSlots: request.freeSlots,
      maxSlots: request.maxSlots,
      workflowNames: [...request.workflowNames],
      exclude: [...request.exclude],
      leaseMarginMs: request.leaseMarginMs,
      window: request.freeSlots * WINDOW_PER_SLOT + MIN_WINDOW,
      maxes: JSON.stringify(Object.fromEntries([...request.limits].map(([name, limit]) => [name, limit.max]))),
      keep: keptNames(request.limits),
      lockPrefix: `${schema}:`,
    },
  );
  return result.rows[0]?.claimed ?? [];
}

/**
 * The claim of a run back from a wait, with what it needs, for `takeUnitsBack`.
 */
export interface UnitsClaim {
  readonly id: string;
  readonly claim_token: string;
  readonly task_id: string;
  readonly limits: readonly string[];
  readonly concurrency_key: string | null;
  readonly per_key_limit: number | null;
  readonly per_key_include_deferred: boolean;
}

/** Whether a run gave units up in its waits: a limit or key it needs that does not count deferred runs. */
export function givesUnitsUp(claim: UnitsClaim, limits: ReadonlyMap<string, FilledLimit>): boolean {
  return unitsGivenUp(claim, limits).length > 0;
}

/**
 * A run back from a wait takes the units it gave up again, if each has one free: its row goes
 * Active (`'taken'`). Otherwise it is marked as wanting them (`'wait'`: claims now count it as
 * a holder, so no new task takes the unit it waits for) and the caller tries again later.
 * `'lost'`: the claim is another runner's now.
 */
export async function takeUnitsBack(
  knex: Knex,
  schema: string,
  claim: UnitsClaim,
  limits: ReadonlyMap<string, FilledLimit>,
): Promise<'taken' | 'wait' | 'lost'> {
  const units = unitsGivenUp(claim, limits);
  return knex.transaction(async (tx) => {
    const held = await lockAndCount(tx, schema, unitsOf([claim]), limits, claim.id);
    const free = units.every((unit) => (held.get(unit) ?? 0) < maxOf(unit, claim, limits));
    // Free: Active now. Full: marked as wanting its units (still Deferred).
    const result = await tx.raw<{ rows: unknown[] }>(
      `UPDATE :schema:.task_executions
       SET sub_status = CASE WHEN :free THEN 'Active' ELSE sub_status END, wants_units = NOT :free, updated_at = now()
       WHERE id = :id AND claim_token = :token AND status = 'Running' RETURNING id`,
      { schema, id: claim.id, token: claim.claim_token, free },
    );
    if (result.rows.length === 0) return 'lost';
    return free ? 'taken' : 'wait';
  });
}

interface Units {
  readonly names: string[];
  readonly keys: { task_id: string; key: string }[];
}

type NeedsRow = Pick<UnitsClaim, 'task_id' | 'limits' | 'concurrency_key' | 'per_key_limit'>;

/** The named limits and keys (with a limit) these tasks need. */
function unitsOf(tasks: readonly Pick<NeedsRow, 'task_id' | 'concurrency_key' | 'per_key_limit' | 'limits'>[]): Units {
  const names = new Set<string>();
  const keys = new Map<string, { task_id: string; key: string }>();
  for (const task of tasks) {
    for (const name of task.limits) names.add(name);
    if (task.concurrency_key !== null && task.per_key_limit !== null) {
      keys.set(keyUnit(task.task_id, task.concurrency_key), { task_id: task.task_id, key: task.concurrency_key });
    }
  }
  return { names: [...names], keys: [...keys.values()] };
}

/**
 * Takes the units' advisory locks in lock-id order (the same ids as the claim's: `schema:unit`
 * hashed), then counts their holders (`unit_holders`, migration 007).
 */
async function lockAndCount(
  tx: Knex.Transaction,
  schema: string,
  units: Units,
  limits: ReadonlyMap<string, FilledLimit>,
  self: string,
): Promise<Map<string, number>> {
  if (units.names.length === 0 && units.keys.length === 0) return new Map();
  const locks = [
    ...units.names.map((name) => `${schema}:${limitUnit(name)}`),
    ...units.keys.map((k) => `${schema}:${keyUnit(k.task_id, k.key)}`),
  ];
  await tx.raw(
    `SELECT count(pg_advisory_xact_lock(h)) FROM
       (SELECT DISTINCT hashtextextended(u, 0) AS h FROM unnest(CAST(:locks AS text[])) u ORDER BY h) ordered`,
    { locks },
  );
  // The count is a statement of its own, so its snapshot comes after the locks. A run taking its own units back is not counted (`self`), and neither are the other runs that
  // want theirs back: two such runs must not wait for each other; the first to take the lock wins.
  const result = await tx.raw<{ rows: { unit: string; held: number }[] }>(
    `SELECT unit, held FROM :schema:.unit_holders(CAST(:names AS text[]), CAST(:keep AS text[]),
       CAST(:keyTasks AS text[]), CAST(:keys AS text[]), CAST(:self AS uuid), false)`,
    {
      schema,
      names: units.names,
      keep: keptNames(limits),
      keyTasks: units.keys.map((k) => k.task_id),
      keys: units.keys.map((k) => k.key),
      self,
    },
  );
  return new Map(result.rows.map((row) => [row.unit, row.held]));
}

function keptNames(limits: ReadonlyMap<string, FilledLimit>): string[] {
  return [...limits].filter(([, limit]) => limit.includeDeferred).map(([name]) => name);
}

function limitUnit(name: string): string {
  return `limit:${name}`;
}

/** A key's unit: its task id, length first (task ids are ASCII), then the key; as the claim's SQL builds it. */
function keyUnit(taskId: string, key: string): string {
  return `key:${String(taskId.length)}:${taskId}:${key}`;
}

/** The units a run gives up in a wait: those not counting deferred runs. */
function unitsGivenUp(claim: UnitsClaim, limits: ReadonlyMap<string, FilledLimit>): string[] {
  const units = claim.limits.filter((name) => limits.get(name)?.includeDeferred !== true).map(limitUnit);
  if (claim.concurrency_key !== null && claim.per_key_limit !== null && !claim.per_key_include_deferred) {
    units.push(keyUnit(claim.task_id, claim.concurrency_key));
  }
  return units;
}

/**
 * A unit's size: a named limit's from this runner's `limits` (a name it does not know counts as
 * full: the task is left for a runner that knows it), a key's from the row.
 */
function maxOf(unit: string, task: Pick<NeedsRow, 'per_key_limit'>, limits: ReadonlyMap<string, FilledLimit>): number {
  if (unit.startsWith('limit:')) return limits.get(unit.slice('limit:'.length))?.max ?? 0;
  return task.per_key_limit ?? Infinity;
}
