/**
 * A plain Piscina worker for the raw baselines: the same no-op and CPU spin as `tasks.ts`,
 * and the byte-touching round trip of the transfer suite (moved back with `Piscina.move`),
 * with none of slotwise's request envelope, registry or handshake.
 */
import { move } from 'piscina';
import { spinFor } from './spin.js';

export type RawTask = { readonly kind: 'noop' } | { readonly kind: 'spin'; readonly us: number } | Uint8Array;

export default function rawTask(task: RawTask): unknown {
  if (task instanceof Uint8Array) {
    task[0] = (task[0] ?? 0) + 1;
    return move(task);
  }
  return task.kind === 'spin' ? spinFor(task.us) : undefined;
}
