// The workflows of the fixture package, written as a user of the installed package writes them
// (plain JavaScript importing `slotwise`); worker threads import the tasks from this file.
import { defineTask, defineWorkflow } from 'slotwise';

/** Says hello to `input.name`. */
export const greet = defineTask('greet', (input) => ({ greeting: `hello ${input.name}` }));

/** Shouts what `greet` said. */
export const shout = defineTask('shout', (context) => ({ shouted: context.greeting.toUpperCase() }), {
  dependencies: ['greet'],
});

export const hello = defineWorkflow('hello', greet, shout);

/** Keeps its thread busy for `input.ms`, then says which process ran it; holds a unit of the limit `cpu`. */
export const spin = defineTask(
  'spin',
  (input) => {
    const end = Date.now() + input.ms;
    while (Date.now() < end);
    return { pid: process.pid };
  },
  { limits: ['cpu'] },
);

export const busy = defineWorkflow('busy', spin);

/** Waits, without a slot, for the signal `go`, and returns its payload; at most 4 at once per `input.tenant`. */
export const waitForGo = defineTask(
  'waitForGo',
  async (_input, handle) => ({ got: await handle.waitForSignal('go') }),
  {
    concurrencyKey: (input) => input.tenant ?? null,
    perKeyLimit: 4,
  },
);

export const held = defineWorkflow('held', waitForGo);

/** Fails every attempt: two, a retry between them. */
export const refuse = defineTask(
  'refuse',
  () => {
    throw new Error('refused, as always');
  },
  { retry: { maxAttempts: 2, initialDelayMs: 10 } },
);

export const failing = defineWorkflow('failing', refuse);
