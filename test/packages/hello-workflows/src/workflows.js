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

/** Keeps its thread busy for `input.ms`, then says which process ran it. */
export const spin = defineTask('spin', (input) => {
  const end = Date.now() + input.ms;
  while (Date.now() < end);
  return { pid: process.pid };
});

export const busy = defineWorkflow('busy', spin);

/** Waits, without a slot, for the signal `go`, and returns its payload. */
export const waitForGo = defineTask('waitForGo', async (_input, handle) => ({ got: await handle.waitForSignal('go') }));

export const held = defineWorkflow('held', waitForGo);
