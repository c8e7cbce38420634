import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join as joinPath } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Timeline } from '../src/index.js';
import { machineInfo } from './machine.js';
import { round } from './stats.js';

/** A pass/fail bound on one metric. */
export interface Target {
  readonly metric: string;
  readonly op: '>=' | '<=';
  readonly value: number;
}

/** What every suite returns: its figures by name, and the bounds they are held to. */
export interface SuiteResult {
  readonly metrics: Record<string, number>;
  readonly targets: readonly Target[];
  /** Who held which slot when, in one run of the suite (the defer suite records one). */
  readonly timeline?: Timeline;
}

/** A suite's result as `writeResult` saves it. */
export interface SavedResult {
  readonly suite: string;
  readonly machine: Record<string, unknown>;
  readonly date: string;
  readonly metrics: Record<string, number>;
  readonly targets: Record<string, { readonly op: Target['op']; readonly value: number; readonly pass: boolean }>;
  readonly timeline?: Timeline;
}

/**
 * The repository's committed results, where `npm run bench` writes (compiled to
 * dist/benchmarks/report.js: two levels up is the repository root). `slotwise bench` writes
 * where it is run instead: an installed package's folder is no place for them.
 */
export const REPOSITORY_RESULTS = fileURLToPath(new URL('../../benchmarks/results/', import.meta.url));

export function passes(target: Target, metrics: Record<string, number>): boolean {
  const value = metrics[target.metric];
  if (value === undefined || Number.isNaN(value)) return false;
  return target.op === '>=' ? value >= target.value : value <= target.value;
}

/** The unit of a metric, read from its name (the suites name metrics by this convention). */
export function unitOf(metric: string): string {
  const words = metric.split('_');
  if (/_per_s(_|$)/.test(metric) || words.includes('tps')) return 'tasks/s';
  if (words.at(-1) === 's') return 's';
  if (words.includes('us')) return 'µs';
  if (words.includes('ms')) return 'ms';
  if (words.includes('ratio') || words.includes('vs')) return 'x';
  if (words.includes('completed')) return 'tasks';
  return '';
}

/** Prints one suite's figures as an aligned table, targets and verdicts alongside. */
export function printTable(suite: string, result: SuiteResult): void {
  const header = ['metric', 'value', 'unit', 'target', 'result'];
  const rows = Object.entries(result.metrics).map(([metric, value]) => {
    const targets = result.targets.filter((t) => t.metric === metric);
    return [
      metric,
      String(round(value, Math.abs(value) < 10 ? 3 : 1)), // ratios need the third digit to match their verdict
      unitOf(metric),
      targets.map((t) => `${t.op} ${String(t.value)}`).join(', '),
      targets.length === 0 ? '' : targets.every((t) => passes(t, result.metrics)) ? 'pass' : 'FAIL',
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i === 1 ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join('  ');
  console.log(`\n== ${suite} ==`);
  console.log(line(header));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const row of rows) console.log(line(row));
}

/** Writes `<dir>/<suite>.json` and returns its path. */
export async function writeResult(suite: string, result: SuiteResult, dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const metrics = Object.fromEntries(Object.entries(result.metrics).map(([k, v]) => [k, round(v, 3)]));
  const targets = Object.fromEntries(
    result.targets.map((t) => [t.metric, { op: t.op, value: t.value, pass: passes(t, result.metrics) }]),
  );
  const body: SavedResult = {
    suite,
    machine: { ...machineInfo() },
    date: new Date().toISOString(),
    metrics,
    targets,
    ...(result.timeline === undefined ? {} : { timeline: result.timeline }),
  };
  const file = joinPath(dir, `${suite}.json`);
  await writeFile(file, `${JSON.stringify(body, null, 2)}\n`);
  return file;
}

/** Every saved result in `dir`, by suite name. */
export async function readResults(dir: string): Promise<SavedResult[]> {
  const names = (await readdir(dir)).filter((name) => name.endsWith('.json')).sort();
  return Promise.all(names.map(async (name) => JSON.parse(await readFile(joinPath(dir, name), 'utf8')) as SavedResult));
}
