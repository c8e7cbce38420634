// A task module as a plain-JavaScript user of the installed package writes it (copied into a
// scratch project by package.test.ts; not compiled, not type-checked).
import { defineTask, defineWorkflow, transfer } from 'slotwise';

/** Gives its slot back until its condition has been checked three times, then doubles `n`. */
export const waitThenDouble = defineTask('waitThenDouble', async (input, handle) => {
  let checks = 0;
  await handle.deferUntil(() => ++checks >= 3, { pollIntervalMs: 1 });
  return { doubled: input.n * 2, checks };
});

/** Flips every byte and moves the buffer back. */
export const invert = defineTask('invert', (bytes) => {
  for (let i = 0; i < bytes.length; i++) bytes[i] ^= 255;
  return transfer(bytes, [bytes]);
});

export const doubling = defineWorkflow('doubling', waitThenDouble);
