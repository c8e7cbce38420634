// `slotwise bench`: runs benchmark suites one after another, with progress on stderr, a table
// each on stdout, and each suite's JSON result written into --json-dir (default: bench-results
// in the working directory; never into the package's own folder, which may be node_modules).
import { writeFile } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import { comparisonLines, loadEarlier } from './compare.js';
import { startProgress } from './progress.js';
import { SUITES, SUITE_NAMES, type SuiteName } from './suites.js';

/** Where results go unless `--json-dir` says otherwise, under the working directory. */
export const DEFAULT_JSON_DIR = 'bench-results';

export interface BenchFlags {
  readonly jsonDir?: string;
  readonly database?: string;
  readonly report?: string;
  readonly compare?: string;
}

export async function benchCommand(names: readonly SuiteName[], flags: BenchFlags): Promise<void> {
  // The suites that need PostgreSQL read DATABASE_URL when they load (and their children inherit it).
  if (flags.database !== undefined) process.env.DATABASE_URL = flags.database;
  const { passes, printTable, writeResult } = await import('../../benchmarks/report.js');
  const { SuiteSkipped } = await import('../../benchmarks/baselines.js');
  const jsonDir = resolvePath(flags.jsonDir ?? DEFAULT_JSON_DIR);
  const run = names.length > 0 ? [...new Set(names)] : SUITE_NAMES;
  // Read before any suite runs: its result file may be the one about to be overwritten.
  const earlier = flags.compare === undefined ? null : await loadEarlier(flags.compare);
  let missed = 0;
  for (const [index, name] of run.entries()) {
    const progress = startProgress(name, index, run.length);
    let result;
    try {
      result = await SUITES[name]();
    } catch (error) {
      if (!(error instanceof SuiteSkipped)) {
        progress.done('failed');
        throw error;
      }
      progress.done('skipped');
      console.log(error.message);
      continue;
    }
    const seconds = progress.done('done');
    printTable(name, result);
    if (earlier !== null) console.log(comparisonLines(name, result.metrics, earlier.get(name)).join('\n'));
    const file = await writeResult(name, result, jsonDir);
    console.log(`(${seconds.toFixed(1)} s) wrote ${file}`);
    missed += result.targets.filter((target) => !passes(target, result.metrics)).length;
  }
  console.log(missed > 0 ? `\n${String(missed)} target(s) missed` : '\nevery target met');
  if (flags.report !== undefined) {
    const { readResults } = await import('../../benchmarks/report.js');
    const { renderReport } = await import('../../benchmarks/html-report.js');
    await writeFile(flags.report, renderReport(await readResults(jsonDir)));
    console.log(`wrote the report ${flags.report}`);
  }
}
