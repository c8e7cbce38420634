// The server's tasks. Worker threads import this module to find them by id, so it only defines
// things: server.ts is the process entry.
import { pbkdf2Sync } from 'node:crypto';
import { defineTask, type TaskHandle } from '../../src/index.js';

/** CPU-heavy: `rounds` rounds of PBKDF2-SHA256. It blocks its worker thread, never the server's. */
export const hash = defineTask('hash', (input: { password: string; rounds: number }) =>
  pbkdf2Sync(input.password, 'slotwise-example', input.rounds, 32, 'sha256').toString('hex'),
);

export interface ReplyInput {
  /** Word 0 turns 1 once the outside event has happened: the server sets it, the task reads it. */
  readonly replied: Int32Array;
}

/** Waits for an outside event without holding a slot, then goes on with its local state intact. */
export const awaitReply = defineTask('await_reply', async (input: ReplyInput, handle: TaskHandle) => {
  const startedAt = Date.now();
  await handle.deferUntil(() => Atomics.load(input.replied, 0) === 1, { pollIntervalMs: 10 });
  return { waitedMs: Date.now() - startedAt };
});
