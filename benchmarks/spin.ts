/**
 * The CPU work both the slotwise tasks and the raw Piscina worker run, in a module of its own
 * so the raw worker imports nothing of slotwise.
 */

/** Busy-loops on the clock for `us` microseconds: CPU work with no allocation and no I/O. */
export function spinFor(us: number): number {
  const end = performance.now() + us / 1000;
  let turns = 0;
  while (performance.now() < end) turns += 1;
  return turns;
}
