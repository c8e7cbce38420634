/**
 * The soak: random executor programs (the property test's, see `support/executor-programs.ts`)
 * for a number of minutes, then a report of what they covered. `npm run soak -- --minutes 10`
 * (default 1). Exits 1, printing the program and the seed, on the first broken invariant.
 */
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { Executor } from '../src/index.js';
import { type Coverage, type Program, program, runProgram } from './support/executor-programs.js';

const { values } = parseArgs({ options: { minutes: { type: 'string', default: '1' }, seed: { type: 'string' } } });
const minutes = Number(values.minutes);
if (!Number.isFinite(minutes) || minutes <= 0) {
  console.error(`--minutes must be a positive number, got ${String(values.minutes)}`);
  process.exit(2);
}
const seed = values.seed === undefined ? Date.now() % 2 ** 31 : Number(values.seed);

const executors = new Map<string, Executor>();
const coverage: Coverage = new Map();
const deadline = performance.now() + minutes * 60_000;
let programs = 0;
let runs = 0;
let current: Program | null = null;
try {
  // Batches of fresh random programs from one seeded stream, until the time is up.
  for (let batch = 0; performance.now() < deadline; batch += 1) {
    for (const p of fc.sample(program, { numRuns: 100, seed: seed + batch })) {
      current = p;
      const key = `${String(p.config.threads)}/${String(p.config.maxConcurrentTasks)}`;
      let executor = executors.get(key);
      if (executor === undefined) {
        executor = new Executor(p.config);
        executors.set(key, executor);
      }
      await runProgram(executor, p, coverage);
      programs += 1;
      runs += p.runs.length;
      if (performance.now() >= deadline) break;
    }
  }
  console.log(
    `soak: ${String(programs)} programs, ${String(runs)} runs in ${String(minutes)} min, seed ${String(seed)}: every invariant held`,
  );
  for (const [what, count] of [...coverage].sort(([a], [b]) => a.localeCompare(b))) {
    console.log(`  ${what.padEnd(32)} ${String(count)}`);
  }
} catch (error) {
  console.error(`soak: invariant broken after ${String(programs)} programs (seed ${String(seed)})`);
  console.error(`program: ${JSON.stringify(current)}`);
  console.error(error);
  process.exitCode = 1;
} finally {
  await Promise.all([...executors.values()].map((e) => e.close({ timeoutMs: 5_000 })));
}
