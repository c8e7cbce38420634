/**
 * Groups writes that are requested while an earlier one is in flight, so one statement or
 * transaction serves many of them. One batch is written at a time: under load the queue grows
 * while a batch is being written, and the next batch takes all of it (up to `maxBatch`).
 * Measured on the persisted runner: one writer with growing batches beat two writers with
 * small ones (860 vs 560 tasks/s on a wide workflow, whose writes all queue on one row lock).
 */
export class Batcher<Item, Result> {
  readonly #write: (items: readonly Item[]) => Promise<readonly Result[]>;
  readonly #maxBatch: number;
  readonly #queue: { item: Item; resolve: (result: Result) => void; reject: (error: unknown) => void }[] = [];
  #writing = false;

  /** `write` returns one result per item, in order; if it throws, every item of the batch rejects. */
  constructor(write: (items: readonly Item[]) => Promise<readonly Result[]>, maxBatch: number) {
    this.#write = write;
    this.#maxBatch = maxBatch;
  }

  /** Resolves with the item's result once the batch that carries it is written. */
  add(item: Item): Promise<Result> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    if (this.#writing) return;
    this.#writing = true;
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0, this.#maxBatch);
        try {
          const results = await this.#write(batch.map((entry) => entry.item));
          batch.forEach((entry, i) => entry.resolve(results[i] as Result));
        } catch (error) {
          for (const entry of batch) entry.reject(error);
        }
      }
    } finally {
      this.#writing = false;
    }
  }
}
