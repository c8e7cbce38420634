/**
 * Tasks and workflows of the limits suite: the same bodies as the plain benchmark tasks, once
 * with needs (a named limit and a concurrency key) and once without. Worker threads import this
 * module to find them by id.
 */
import { defineTask, defineWorkflow } from '../src/index.js';
import { spinFor } from './spin.js';

export interface KeyedInput {
  readonly key: string;
  readonly us: number;
}

const key = (input: KeyedInput): string => input.key;

/** Spins `us` µs: without needs, and with a named limit (`shared`) and a key. */
export const plainSpin = defineTask('bench.limits.plain', (input: KeyedInput) => spinFor(input.us));
export const limitedSpin = defineTask('bench.limits.limited', (input: KeyedInput) => spinFor(input.us), {
  limits: ['shared'],
  concurrencyKey: key,
});

/** Takes turns by key, no per-key limit (the fairness figure). */
export const turnSpin = defineTask('bench.limits.turns', (input: KeyedInput) => spinFor(input.us), {
  concurrencyKey: key,
});

/** Persisted: a no-op, plain and with a key of its own at most one at a time. */
const plainNoop = defineTask('bench.limits.persistPlain', () => undefined);
const keyedNoop = defineTask('bench.limits.persistKeyed', () => undefined, {
  concurrencyKey: (input: { key: string }) => input.key,
  perKeyLimit: 1,
});
export const plainWorkflow = defineWorkflow('bench.limits.plain', plainNoop);
export const keyedWorkflow = defineWorkflow('bench.limits.keyed', keyedNoop);
