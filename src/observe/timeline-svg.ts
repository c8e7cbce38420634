// Draws a Timeline as one self-contained SVG: presentation attributes only, no stylesheet,
// script, font or link, so it can be inlined in an HTML report or opened on its own.
import type { Timeline, TimelineParkedSpan } from './timeline.js';

/** Options of {@link renderTimelineSvg}. */
export interface TimelineSvgOptions {
  /** The heading drawn above the lanes. Default: `Slot timeline`. */
  readonly title?: string;
}

const WIDTH = 960;
const LEFT = 90; // room for lane labels
const RIGHT = 36;
const ROW = 26; // height of a lane or parked row
const BAR = 18; // height of a span's bar
const FONT = 'system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif';
const ACTIVE = '#2b6cb0';
const DEFERRED = '#dd8a1e';
const TEXT = '#1a202c';
const MUTED = '#718096';
const CHAR_PX = 6.2; // rough width of a character at 11px, to decide whether a label fits

/**
 * Renders a {@link Timeline} as a self-contained SVG document (a string): a title, a legend, one
 * row per slot lane (`<g data-lane="i">`) with the runs that held that slot, the parked runs
 * below them (`<g data-parked-row="i">`, overlapping deferrals on separate rows), and a time
 * axis in ms. Every span carries a `<title>` tooltip with its task id, run id and times.
 * @param timeline What {@link TimelineRecorder.timeline} returned (or the same, read back from JSON).
 * @param options The title.
 * @returns The SVG markup, starting with `<svg`.
 */
export function renderTimelineSvg(timeline: Timeline, options: TimelineSvgOptions = {}): string {
  const title = options.title ?? 'Slot timeline';
  const duration = Math.max(timeline.endedAt - timeline.startedAt, 1);
  const step = tickStep(duration);
  const axisEnd = Math.ceil(duration / step) * step;
  const plot = WIDTH - LEFT - RIGHT;
  const x = (ms: number): number => LEFT + (ms / axisEnd) * plot;
  const parkedRows = packRows(timeline.parked);
  const lanesTop = 64;
  const parkedTop = lanesTop + timeline.lanes.length * ROW + 14;
  const axisTop = parkedTop + Math.max(parkedRows.length, 1) * ROW + 6;
  const height = axisTop + 36;
  const out: string[] = [];

  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}"` +
      ` role="img" aria-label="${escape(title)}" font-family="${FONT}" font-size="11" fill="${TEXT}">`,
    `<title>${escape(title)}</title>`,
    `<rect x="0" y="0" width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    `<text x="${LEFT}" y="24" font-size="16" font-weight="600">${escape(title)}</text>`,
    `<text x="${WIDTH - RIGHT}" y="24" text-anchor="end" fill="${MUTED}">` +
      `${timeline.slots} slot${timeline.slots === 1 ? '' : 's'} · ${format(duration)} ms · ${escape(new Date(timeline.startedAt).toISOString())}</text>`,
    `<g data-legend="">`,
    `<rect x="${LEFT}" y="36" width="14" height="12" rx="2" fill="${ACTIVE}"/>`,
    `<text x="${LEFT + 20}" y="46">active: holds a slot</text>`,
    `<rect x="${LEFT + 150}" y="36" width="14" height="12" rx="2" fill="${DEFERRED}"/>`,
    `<text x="${LEFT + 170}" y="46">deferred: parked in deferUntil, no slot</text>`,
    `</g>`,
  );

  const ticks = Array.from({ length: Math.round(axisEnd / step) + 1 }, (_, i) => i * step);
  // Vertical grid lines at each tick, behind the bars.
  for (const t of ticks) {
    out.push(`<line x1="${n(x(t))}" y1="${lanesTop}" x2="${n(x(t))}" y2="${axisTop}" stroke="#edf2f7"/>`);
  }

  timeline.lanes.forEach((lane, i) => {
    const top = lanesTop + i * ROW;
    out.push(
      `<g data-lane="${lane.slot}">`,
      `<rect x="${LEFT}" y="${top + 2}" width="${plot}" height="${ROW - 4}" fill="#f7fafc"/>`,
      `<text x="${LEFT - 8}" y="${top + ROW / 2 + 4}" text-anchor="end">slot ${lane.slot}</text>`,
      ...lane.spans.map((span) => bar(span, top, x, ACTIVE, '#ffffff')),
      `</g>`,
    );
  });

  out.push(
    `<line x1="${LEFT}" y1="${parkedTop - 7}" x2="${WIDTH - RIGHT}" y2="${parkedTop - 7}" stroke="#cbd5e0" stroke-dasharray="4 3"/>`,
    `<text x="${LEFT - 8}" y="${parkedTop + ROW / 2 + 4}" text-anchor="end">parked</text>`,
  );
  if (parkedRows.length === 0) {
    out.push(`<text x="${LEFT + 6}" y="${parkedTop + ROW / 2 + 4}" fill="${MUTED}">no deferrals</text>`);
  }
  parkedRows.forEach((row, i) => {
    const top = parkedTop + i * ROW;
    out.push(`<g data-parked-row="${i}">`, ...row.map((span) => bar(span, top, x, DEFERRED, TEXT)), `</g>`);
  });

  out.push(
    `<g data-axis="">`,
    `<line x1="${LEFT}" y1="${axisTop}" x2="${WIDTH - RIGHT}" y2="${axisTop}" stroke="${MUTED}"/>`,
  );
  for (const t of ticks) {
    out.push(
      `<line x1="${n(x(t))}" y1="${axisTop}" x2="${n(x(t))}" y2="${axisTop + 5}" stroke="${MUTED}"/>`,
      `<text x="${n(x(t))}" y="${axisTop + 18}" text-anchor="middle" fill="${MUTED}">${format(t)} ms</text>`,
    );
  }
  out.push(`</g>`, `</svg>`);
  return out.join('\n');
}

/** A span's bar with its tooltip, and its task id written on it if it fits. */
function bar(
  span: { executionId: string; taskId: string; from: number; to: number },
  top: number,
  x: (ms: number) => number,
  fill: string,
  ink: string,
): string {
  const left = x(span.from);
  const width = Math.max(x(span.to) - left - 1, 1); // a 1px gap between runs that follow each other
  const tip = `${span.taskId} (${span.executionId}): ${format(span.from)}–${format(span.to)} ms`;
  const label =
    width > span.taskId.length * CHAR_PX + 8
      ? `<text x="${n(left + 4)}" y="${top + ROW / 2 + 4}" fill="${ink}">${escape(span.taskId)}</text>`
      : '';
  return (
    `<g><title>${escape(tip)}</title>` +
    `<rect x="${n(left)}" y="${top + (ROW - BAR) / 2}" width="${n(width)}" height="${BAR}" rx="2" fill="${fill}"/>` +
    `${label}</g>`
  );
}

/** Puts each parked span on the first row where it overlaps nothing. */
function packRows(spans: readonly TimelineParkedSpan[]): TimelineParkedSpan[][] {
  const rows: TimelineParkedSpan[][] = [];
  for (const span of [...spans].sort((a, b) => a.from - b.from)) {
    const row = rows.find((r) => (r.at(-1)?.to ?? -Infinity) <= span.from);
    if (row === undefined) rows.push([span]);
    else row.push(span);
  }
  return rows;
}

/** A round step (1, 2 or 5 times a power of ten) that cuts `duration` into at most 10 ticks. */
function tickStep(duration: number): number {
  const raw = duration / 10;
  const power = 10 ** Math.floor(Math.log10(raw));
  return ([1, 2, 5, 10].find((m) => m * power >= raw) ?? 10) * power;
}

function format(ms: number): string {
  return ms >= 100 ? ms.toFixed(0) : String(Number(ms.toPrecision(3)));
}

function n(value: number): string {
  return value.toFixed(1);
}

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
