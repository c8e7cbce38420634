/**
 * A plain Piscina worker for the raw baseline of the overhead suite: the same no-op and CPU
 * spin as `tasks.ts`, with none of slotwise's request envelope, registry or handshake.
 */
import { spinFor } from './spin.js';

export type RawTask = { readonly kind: 'noop' } | { readonly kind: 'spin'; readonly us: number };

export default function rawTask(task: RawTask): number | undefined {
  return task.kind === 'spin' ? spinFor(task.us) : undefined;
}
