/**
 * The benchmark report: one self-contained HTML file (inline CSS and SVG; no script, no network)
 * that reads at a glance: each suite's throughput beside its baselines as bars, the handshake's
 * latency percentiles, the memory figures, every target with its verdict, the machine it ran
 * on, and (when given) the slot timeline of a `defer` run.
 */
import { type Timeline, renderTimelineSvg } from '../src/index.js';
import { type SavedResult, unitOf } from './report.js';

interface Bar {
  readonly label: string;
  readonly metric: string;
  /** Ours, or a baseline measured in the same run. */
  readonly kind: 'ours' | 'baseline';
}

interface Chart {
  readonly suite: string;
  readonly title: string;
  readonly unit: string;
  /** Whether a longer bar is better (throughput) or worse (time). */
  readonly higherIsBetter: boolean;
  readonly bars: readonly Bar[];
}

const CHARTS: readonly Chart[] = [
  {
    suite: 'overhead',
    title: 'No-op runs per second, 2 threads',
    unit: 'runs/s',
    higherIsBetter: true,
    bars: [
      { label: 'slotwise Executor', metric: 'noop_executor_per_s', kind: 'ours' },
      { label: 'raw Piscina', metric: 'noop_raw_per_s', kind: 'baseline' },
    ],
  },
  {
    suite: 'overhead',
    title: '100 µs CPU runs per second, 2 threads',
    unit: 'runs/s',
    higherIsBetter: true,
    bars: [
      { label: 'slotwise Executor', metric: 'cpu100us_executor_per_s', kind: 'ours' },
      { label: 'raw Piscina', metric: 'cpu100us_raw_per_s', kind: 'baseline' },
    ],
  },
  {
    suite: 'transfer',
    title: '8 MiB buffer to a thread and back, moved (copied: see the table)',
    unit: 'µs',
    higherIsBetter: false,
    bars: [
      { label: 'slotwise, transfer option and transfer()', metric: 'moved_roundtrip_us', kind: 'ours' },
      { label: 'raw Piscina, Piscina.move', metric: 'piscina_move_roundtrip_us', kind: 'baseline' },
    ],
  },
  {
    suite: 'defer',
    title: 'Time to finish the CPU work beside 8 waiting tasks, 2 slots',
    unit: 'ms',
    higherIsBetter: false,
    bars: [
      { label: 'waiters use deferUntil', metric: 'cpu_done_ms_defer', kind: 'ours' },
      { label: 'waiters hold their slot', metric: 'cpu_done_ms_hold', kind: 'baseline' },
      { label: 'CPU work alone', metric: 'cpu_done_ms_cpu_only', kind: 'baseline' },
    ],
  },
  {
    suite: 'persist',
    title: 'Persisted tasks per second (one runner, 32 slots)',
    unit: 'tasks/s',
    higherIsBetter: true,
    bars: [
      { label: 'wide workflow, PostgreSQL', metric: 'wide_tasks_per_s_postgres', kind: 'ours' },
      { label: 'single-task workflows, PostgreSQL', metric: 'single_tasks_per_s_postgres', kind: 'ours' },
      { label: 'wide workflow, PGlite', metric: 'wide_tasks_per_s_pglite', kind: 'ours' },
      { label: 'single-task workflows, PGlite', metric: 'single_tasks_per_s_pglite', kind: 'ours' },
    ],
  },
  {
    suite: 'scale',
    title: 'Single-task no-op workflows per second on one PostgreSQL',
    unit: 'tasks/s',
    higherIsBetter: true,
    bars: [
      { label: '1 runner process', metric: 'runners_1_tps', kind: 'ours' },
      { label: '2 runner processes', metric: 'runners_2_tps', kind: 'ours' },
      { label: '3 runner processes', metric: 'runners_3_tps', kind: 'ours' },
      { label: 'graphile-worker 0.16.6, same concurrency', metric: 'graphile_worker_tps', kind: 'baseline' },
    ],
  },
  {
    suite: 'parked',
    title: '1 ms CPU runs per second with runs parked beside them',
    unit: 'runs/s',
    higherIsBetter: true,
    bars: [
      { label: 'none parked', metric: 'cpu_idle_per_s_10k', kind: 'baseline' },
      { label: '10,000 parked', metric: 'cpu_parked_per_s_10k', kind: 'ours' },
      { label: '100,000 parked', metric: 'cpu_parked_per_s_100k', kind: 'ours' },
    ],
  },
  {
    suite: 'handshake',
    title: 'Handshake latency, p50 (p99 in the table)',
    unit: 'µs',
    higherIsBetter: false,
    bars: [
      { label: 'release → queued task running', metric: 'release_to_start_p50_us', kind: 'ours' },
      { label: 'reclaim request → grant', metric: 'reclaim_p50_us', kind: 'ours' },
      { label: 'postMessage round trip', metric: 'postmessage_rtt_p50_us', kind: 'baseline' },
      { label: 'Atomics wake-up', metric: 'atomics_wake_p50_us', kind: 'baseline' },
    ],
  },
];

const COLOURS = { ours: '#2b6cb0', baseline: '#a0aec0' } as const;

/** The report page for these results, with the slot timeline of the first that recorded one. */
export function renderReport(results: readonly SavedResult[]): string {
  const machine = results[0]?.machine ?? {};
  const sections = results.map((result) => suiteSection(result));
  const recorded = results.find((r) => r.timeline !== undefined);
  const timeline = recorded?.timeline === undefined ? '' : timelineSection(recorded.suite, recorded.timeline);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>slotwise benchmark report</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; color: #1a202c; margin: 2rem auto; max-width: 980px; padding: 0 1rem; }
h1 { margin-bottom: 0.2rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #e2e8f0; }
.note { color: #4a5568; }
table { border-collapse: collapse; margin: 0.6rem 0; width: 100%; }
th, td { text-align: left; padding: 0.2rem 0.6rem; border-bottom: 1px solid #edf2f7; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.pass { color: #276749; font-weight: 600; } .miss { color: #c53030; font-weight: 600; }
.legend span { display: inline-block; margin-right: 1.2rem; }
.swatch { display: inline-block; width: 0.9rem; height: 0.9rem; vertical-align: -0.1rem; margin-right: 0.3rem; }
</style>
</head>
<body>
<h1>slotwise benchmark report</h1>
<p class="note">${escapeHtml(machineLine(machine))} · ${escapeHtml(
    results
      .map((r) => r.date)
      .sort()
      .at(-1) ?? '',
  )}</p>
<p class="legend"><span><i class="swatch" style="background:${COLOURS.ours}"></i>slotwise</span><span><i class="swatch" style="background:${COLOURS.baseline}"></i>baseline, measured in the same run</span></p>
${sections.join('\n')}
${timeline}
</body>
</html>
`;
}

function timelineSection(suite: string, timeline: Timeline): string {
  return `<section data-timeline="${escapeHtml(suite)}"><h2>Slot timeline of a ${escapeHtml(suite)} run</h2>
<p class="note">One lane per slot: which run held it, and when. Active time in one colour; parked (deferred) runs, holding no slot, beside them in another.</p>
${renderTimelineSvg(timeline, { title: `${suite}: ${String(timeline.slots)} slots` })}</section>`;
}

function suiteSection(result: SavedResult): string {
  const charts = CHARTS.filter((c) => c.suite === result.suite && c.bars.some((b) => b.metric in result.metrics));
  const rows = Object.entries(result.metrics).map(([metric, value]) => {
    const target = result.targets[metric];
    const verdict =
      target === undefined
        ? ''
        : `<span class="${target.pass ? 'pass' : 'miss'}">${target.pass ? 'pass' : 'missed'}</span> (${target.op} ${String(target.value)})`;
    return `<tr><td>${escapeHtml(metric)}</td><td class="num">${escapeHtml(format(value))}</td><td>${escapeHtml(unitOf(metric))}</td><td>${verdict}</td></tr>`;
  });
  return `<section data-suite="${escapeHtml(result.suite)}">
<h2>${escapeHtml(result.suite)}</h2>
${charts.map((c) => barChart(c, result.metrics)).join('\n')}
<table><thead><tr><th>metric</th><th>value</th><th>unit</th><th>target</th></tr></thead>
<tbody>${rows.join('')}</tbody></table>
</section>`;
}

/** Horizontal bars, one per metric present, scaled to the largest. */
function barChart(chart: Chart, metrics: Record<string, number>): string {
  const bars = chart.bars.filter((b) => Number.isFinite(metrics[b.metric]));
  const max = Math.max(...bars.map((b) => metrics[b.metric] ?? 0), 1);
  const rowHeight = 26;
  const labelWidth = 290;
  const plotWidth = 520;
  const height = bars.length * rowHeight + 36;
  const rows = bars.map((bar, i) => {
    const value = metrics[bar.metric] ?? 0;
    const y = 26 + i * rowHeight;
    const width = Math.max(1, (value / max) * plotWidth);
    return `<text x="${String(labelWidth - 8)}" y="${String(y + 14)}" text-anchor="end">${escapeHtml(bar.label)}</text>
<rect x="${String(labelWidth)}" y="${String(y)}" width="${width.toFixed(1)}" height="18" fill="${COLOURS[bar.kind]}"><title>${escapeHtml(`${bar.label}: ${format(value)} ${chart.unit}`)}</title></rect>
<text x="${(labelWidth + width + 6).toFixed(1)}" y="${String(y + 14)}">${escapeHtml(`${format(value)} ${chart.unit}`)}</text>`;
  });
  const better = chart.higherIsBetter ? 'longer is better' : 'shorter is better';
  return `<svg role="img" aria-label="${escapeHtml(chart.title)}" width="${String(labelWidth + plotWidth + 130)}" height="${String(height)}" font-size="12" font-family="system-ui, sans-serif">
<text x="0" y="14" font-weight="600" font-size="13">${escapeHtml(`${chart.title} (${chart.unit}, ${better})`)}</text>
${rows.join('\n')}
</svg>`;
}

function machineLine(machine: Record<string, unknown>): string {
  const get = (key: string): string => {
    const value = machine[key];
    return typeof value === 'string' || typeof value === 'number' ? String(value) : '?';
  };
  return `${get('cpus')} × ${get('cpuModel')}, ${get('totalMemGiB')} GiB, Node ${get('node')} on ${get('platform')} ${get('arch')}`;
}

function format(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  return Math.abs(value) >= 100 ? Math.round(value).toLocaleString('en-US') : String(Math.round(value * 1000) / 1000);
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${String(c.charCodeAt(0))};`);
}
