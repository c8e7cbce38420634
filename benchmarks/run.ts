/**
 * Benchmark entry: `node dist/benchmarks/run.js [suite ...]` (or `npm run bench -- suite`).
 * With no argument every suite runs. Each prints a table and writes
 * benchmarks/results/<suite>.json. A missed target is reported (a figure is a measurement, not
 * a failure); the exit code is 1 only when a suite threw, 2 for an unknown suite. Every suite closes its own pools and workers,
 * so the process ends by itself.
 */
import { defer } from './defer.js';
import { handshake } from './handshake.js';
import { memory } from './memory.js';
import { overhead } from './overhead.js';
import { parked } from './parked.js';
import { persist } from './persist.js';
import { resume } from './resume.js';
import { scale } from './scale.js';
import { transferSuite } from './transfer.js';
import { limits } from './limits.js';
import { SuiteSkipped } from './baselines.js';
import { REPOSITORY_RESULTS, type SuiteResult, passes, printTable, writeResult } from './report.js';

const SUITES: Record<string, () => Promise<SuiteResult>> = {
  overhead,
  handshake,
  defer,
  resume,
  persist,
  scale,
  parked,
  memory,
  transfer: transferSuite,
  limits,
};

function usage(): string {
  return `usage: node dist/benchmarks/run.js [${Object.keys(SUITES).join(' | ')} ...]\n  no suite: run them all`;
}

async function main(args: readonly string[]): Promise<number> {
  if (args.includes('-h') || args.includes('--help')) {
    console.log(usage());
    return 0;
  }
  const unknown = args.filter((name) => !Object.hasOwn(SUITES, name));
  if (unknown.length > 0) {
    console.error(`unknown suite: ${unknown.join(', ')}\n${usage()}`);
    return 2;
  }
  let missed = 0;
  for (const name of args.length > 0 ? args : Object.keys(SUITES)) {
    const suite = SUITES[name];
    if (suite === undefined) continue;
    const started = performance.now();
    let result: SuiteResult;
    try {
      result = await suite();
    } catch (error) {
      if (!(error instanceof SuiteSkipped)) throw error;
      console.log(error.message);
      continue;
    }
    printTable(name, result);
    const file = await writeResult(name, result, REPOSITORY_RESULTS);
    console.log(`(${((performance.now() - started) / 1000).toFixed(1)} s) wrote ${file}`);
    missed += result.targets.filter((target) => !passes(target, result.metrics)).length;
  }
  console.log(missed > 0 ? `\n${String(missed)} target(s) missed` : '\nevery target met');
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  },
);
