/**
 * Writing run outcomes: batched (one transaction records the outcomes that arrive while the
 * previous batch is written, see `Transitions.applyOutcomes`), retried through transient errors.
 */
import { DatabaseUnavailableError, OutcomeRefusedError } from '../errors.js';
import { Batcher } from './batcher.js';
import type { Retry } from './retry.js';
import type { Settlement, SettlementResult, Transitions } from './transitions.js';

const MAX_BATCH = 64;

export class OutcomeWriter {
  readonly #batches: Batcher<Settlement, SettlementResult>;

  constructor(
    private readonly transitions: Transitions,
    private readonly retry: Retry,
  ) {
    this.#batches = new Batcher((settlements) => this.#record(settlements), MAX_BATCH);
  }

  /** Resolves once the outcome is written: `ended` (its workflow ended), `lost` (the claim was not ours), or not. */
  write(settlement: Settlement): Promise<SettlementResult> {
    return this.#batches.add(settlement);
  }

  /**
   * Writes a batch. One outcome the database refuses for good (a value it cannot store, say)
   * must not sink the rest of its batch: on such an error they are written one at a time, and
   * the refused one is recorded as a failure of its task, with the database's error, instead of
   * looping through recoveries.
   */
  async #record(settlements: readonly Settlement[]): Promise<SettlementResult[]> {
    const write = (batch: readonly Settlement[]): Promise<SettlementResult[]> =>
      this.retry(`recording the outcome of ${String(batch.length)} task(s)`, () =>
        this.transitions.applyOutcomes(batch),
      );
    try {
      return await write(settlements);
    } catch (error) {
      if (error instanceof DatabaseUnavailableError) throw error;
      const results: SettlementResult[] = [];
      for (const settlement of settlements) {
        try {
          results.push(...(await write([settlement])));
        } catch (refused) {
          if (refused instanceof DatabaseUnavailableError) throw refused;
          const failure = new OutcomeRefusedError(settlement.claim.task_id, refused);
          const failed = { ok: false as const, error: failure, stats: settlement.outcome.stats };
          results.push(...(await write([{ ...settlement, outcome: failed }])));
        }
      }
      return results;
    }
  }
}
