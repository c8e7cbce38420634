// `slotwise bench --compare <file or folder>`: each figure of a run beside the same figure of
// an earlier run (a saved result JSON, or a folder of them), with the change in per cent.
import { readFile, readdir, stat } from 'node:fs/promises';
import { join as joinPath } from 'node:path';
import { CliError } from './errors.js';

/** What a saved result holds that a comparison reads. */
interface Earlier {
  readonly suite: string;
  readonly metrics: Record<string, number>;
}

/** The earlier results in `path`, by suite; exits 2 on a path that holds none. */
export async function loadEarlier(path: string): Promise<Map<string, Earlier>> {
  let files: string[];
  try {
    files = (await stat(path)).isDirectory()
      ? (await readdir(path)).filter((name) => name.endsWith('.json')).map((name) => joinPath(path, name))
      : [path];
  } catch {
    throw new CliError(`--compare: no such file or folder: ${path}`, 2);
  }
  const earlier = new Map<string, Earlier>();
  for (const file of files) {
    try {
      const result = JSON.parse(await readFile(file, 'utf8')) as Partial<Earlier>;
      if (typeof result.suite === 'string' && typeof result.metrics === 'object' && result.metrics !== null) {
        earlier.set(result.suite, { suite: result.suite, metrics: result.metrics });
      }
    } catch {
      // not a saved result: skipped
    }
  }
  if (earlier.size === 0) throw new CliError(`--compare: ${path} holds no saved benchmark result`, 2);
  return earlier;
}

/** The lines of a comparison table: every metric of `now`, its earlier value and the change. */
export function comparisonLines(suite: string, now: Record<string, number>, earlier: Earlier | undefined): string[] {
  if (earlier === undefined) return [`(no earlier ${suite} result to compare with)`];
  const rows = Object.entries(now).map(([metric, value]) => {
    const before = earlier.metrics[metric];
    const change =
      before === undefined || !Number.isFinite(before) || before === 0
        ? 'new'
        : `${value >= before ? '+' : ''}${(((value - before) / Math.abs(before)) * 100).toFixed(1)}%`;
    return [metric, before === undefined ? '-' : format(before), format(value), change];
  });
  const table = [['metric', 'earlier', 'now', 'change'], ...rows];
  const widths = [0, 1, 2, 3].map((c) => Math.max(...table.map((row) => (row[c] ?? '').length)));
  return [
    `compared with the earlier ${suite} run:`,
    ...table.map((row) =>
      row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0))).join('  '),
    ),
  ];
}

function format(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(3);
}
