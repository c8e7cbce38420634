/**
 * Cron schedules, kept in the `schedules` table (migration 008). A row says which workflow to
 * start, with what input, on which cron expression in which time zone, and `next_run_at`: the
 * earliest tick not fired yet. Firing takes no lock: every runner that finds a schedule due
 * starts its ticks' executions with the idempotency key `schedule:<name>:<tick>`, so whichever
 * runners race, each tick starts exactly one execution (the unique key decides), and then moves
 * `next_run_at` on only from the value it read (so a slower runner does not move it back).
 */
import type { Knex } from 'knex';

export interface ScheduleRow {
  readonly name: string;
  readonly workflow_name: string;
  readonly cron: string;
  readonly timezone: string;
  readonly input: Record<string, unknown>;
  readonly max_catch_up: number;
  readonly next_run_at: Date;
  readonly last_run_at: Date | null;
  readonly created_at: Date;
}

export type NewSchedule = Pick<
  ScheduleRow,
  'name' | 'workflow_name' | 'cron' | 'timezone' | 'input' | 'max_catch_up' | 'next_run_at'
>;

export class ScheduleStore {
  constructor(
    readonly knex: Knex,
    readonly schema: string,
  ) {}

  #table(): Knex.QueryBuilder {
    return this.knex.withSchema(this.schema).table('schedules');
  }

  /** Creates the schedule, or replaces the one of its name (its next tick computed again). */
  async upsert(schedule: NewSchedule): Promise<ScheduleRow> {
    const rows = (await this.#table()
      .insert({ ...schedule, input: JSON.stringify(schedule.input) })
      .onConflict('name')
      .merge(['workflow_name', 'cron', 'timezone', 'input', 'max_catch_up', 'next_run_at'])
      .returning('*')) as ScheduleRow[];
    const row = rows[0];
    if (row === undefined) throw new Error(`schedule \`${schedule.name}\` was not written`);
    return row;
  }

  /** Deletes the schedule; whether there was one. */
  async remove(name: string): Promise<boolean> {
    const removed = (await this.#table().where({ name }).delete().returning('name')) as unknown[];
    return removed.length > 0;
  }

  async all(): Promise<ScheduleRow[]> {
    return (await this.#table().select('*').orderBy('name')) as ScheduleRow[];
  }

  /** Schedules of these workflows with a tick due now. */
  async due(workflowNames: readonly string[]): Promise<ScheduleRow[]> {
    if (workflowNames.length === 0) return [];
    return (await this.#table()
      .select('*')
      .whereIn('workflow_name', [...workflowNames])
      .andWhere('next_run_at', '<=', this.knex.fn.now())
      .orderBy('next_run_at')) as ScheduleRow[];
  }

  /**
   * Moves the schedule on to `next`, having fired up to `last`, only if its next tick is still
   * `from` (another runner may have moved it on, or the schedule been replaced, meanwhile).
   */
  async advance(name: string, from: Date, next: Date, last: Date | null): Promise<void> {
    await this.#table()
      .where({ name, next_run_at: from })
      .update({ next_run_at: next, ...(last === null ? {} : { last_run_at: last }) });
  }
}
