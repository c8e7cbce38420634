/**
 * The dashboard's page: a small HTML shell, its style sheet and its script (`client-*.ts`),
 * served from the dashboard's own origin (the CSP allows nothing else). The shell holds no
 * data; the script fetches the API and builds the DOM with createElement and textContent.
 */
import { CLIENT_CHARTS } from './client-charts.js';
import { CLIENT_CORE } from './client-core.js';
import { CLIENT_EXECUTION } from './client-execution.js';

const STYLE = String.raw`
:root { --bg: #f4f6f9; --card: #fff; --ink: #1c2430; --muted: #5f6b7a; --line: #e2e7ee;
  --blue: #2563eb; --green: #15803d; --red: #dc2626; --amber: #d97706; --grey: #6b7280; --violet: #7c3aed;
  --active: #2563eb; --deferred: #f59e0b; }
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin: 0; background: var(--bg); color: var(--ink); font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; }
header { display: flex; align-items: center; gap: 14px; padding: 10px 22px; background: #111827; color: #f9fafb; }
header .brand { font-weight: 700; font-size: 17px; letter-spacing: .3px; text-decoration: none; color: inherit; }
header .pill { padding: 2px 9px; border-radius: 999px; background: #374151; font-size: 12px; }
header .spacer { flex: 1; }
header .live { font-size: 12px; color: #d1d5db; display: flex; align-items: center; gap: 6px; }
header .dot { width: 9px; height: 9px; border-radius: 50%; background: #22c55e; }
header .dot.down { background: #ef4444; }
main { padding: 18px 22px; }
.home { display: grid; grid-template-columns: minmax(0, 1fr) 400px; gap: 18px; align-items: start; }
.side { display: grid; gap: 18px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 14px 16px; overflow-x: auto; }
.card h2 { margin: 0 0 10px; font-size: 15px; display: flex; align-items: baseline; gap: 8px; }
.card h2 .count { color: var(--muted); font-weight: 400; font-size: 12px; }
.filters { display: flex; gap: 8px; margin-bottom: 10px; flex-wrap: wrap; }
.filters select, .filters input { font: inherit; padding: 4px 8px; border: 1px solid var(--line); border-radius: 6px; background: #fff; }
button { font: inherit; padding: 4px 12px; border: 1px solid var(--line); border-radius: 6px; background: #fff; cursor: pointer; }
button:disabled { color: #b3bcc8; cursor: default; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 12px; font-weight: 600; color: var(--muted); text-transform: uppercase; letter-spacing: .4px; }
tbody tr:hover { background: #f8fafc; }
a { color: var(--blue); text-decoration: none; }
a:hover { text-decoration: underline; }
.mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 12px; }
.muted { color: var(--muted); }
.empty { color: var(--muted); padding: 8px 0; }
.pager { display: flex; gap: 8px; justify-content: flex-end; margin-top: 10px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 12px; font-weight: 600; color: #fff; background: var(--grey); white-space: nowrap; }
.s-Running, .s-Active { background: var(--blue); }
.s-Completed { background: var(--green); }
.s-Failed { background: var(--red); }
.s-Cancelled, .s-Skipped { background: var(--grey); }
.s-Paused, .s-Deferred { background: var(--amber); }
.s-Ready { background: var(--violet); }
.s-NotStarted { background: #cbd5e1; color: #334155; }
.bar { display: flex; height: 8px; border-radius: 4px; overflow: hidden; background: #e5e7eb; min-width: 90px; }
.bar span { display: block; height: 100%; }
.slots { height: 10px; border-radius: 5px; background: #e5e7eb; overflow: hidden; margin-top: 4px; }
.slots span { display: block; height: 100%; background: var(--active); }
.item { padding: 8px 0; border-bottom: 1px solid var(--line); }
.item:first-child { padding-top: 0; }
.item:last-child { border-bottom: 0; padding-bottom: 0; }
.item .top { display: flex; justify-content: space-between; gap: 8px; }
.nowrap { white-space: nowrap; }
.error { color: var(--red); }
td.error { max-width: 260px; overflow-wrap: anywhere; }
.banner { background: #fef2f2; border: 1px solid #fecaca; color: #991b1b; padding: 8px 12px; border-radius: 8px; margin-bottom: 14px; }
.crumbs { margin-bottom: 12px; }
.summary { display: grid; grid-template-columns: max-content 1fr; gap: 4px 14px; margin: 0; }
.summary dt { color: var(--muted); }
.summary dd { margin: 0; }
.stack { display: grid; gap: 18px; }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 18px; }
pre { margin: 0; padding: 8px 10px; background: #f8fafc; border: 1px solid var(--line); border-radius: 6px; max-height: 220px; overflow: auto; white-space: pre-wrap; word-break: break-all; font-size: 12px; }
td pre { max-height: 90px; max-width: 420px; }
.legend { display: flex; gap: 16px; font-size: 12px; color: var(--muted); margin-bottom: 6px; align-items: center; }
.swatch { display: inline-block; width: 14px; height: 10px; border-radius: 2px; margin-right: 5px; vertical-align: -1px; }
.swatch.active { background: var(--active); }
.swatch.deferred { background: var(--deferred); }
.swatch.mark { background: var(--red); width: 3px; }
svg text { font: 12px system-ui, sans-serif; fill: var(--ink); }
svg .axis text { fill: var(--muted); font-size: 11px; }
svg .grid { stroke: #eef1f5; }
svg .edge { fill: none; stroke: #94a3b8; stroke-width: 1.5; }
svg .node text { fill: #fff; font-weight: 600; }
svg .node text.sub { font-weight: 400; font-size: 11px; }
svg .node.s-NotStarted text { fill: #334155; }
svg rect.s-Running, svg rect.s-Active { fill: var(--blue); }
svg rect.s-Deferred { fill: var(--amber); }
svg rect.s-Completed { fill: var(--green); }
svg rect.s-Failed { fill: var(--red); }
svg rect.s-Cancelled, svg rect.s-Skipped { fill: var(--grey); }
svg rect.s-Paused { fill: var(--amber); }
svg rect.s-Ready { fill: var(--violet); }
svg rect.s-NotStarted { fill: #cbd5e1; }
svg rect[data-span="active"] { fill: var(--active); }
svg rect[data-span="deferred"] { fill: var(--deferred); }
svg rect[data-open="true"] { opacity: .75; }
svg line[data-mark] { stroke: var(--red); stroke-width: 2; }
svg .row-band { fill: #f8fafc; }
@media (max-width: 1000px) { .home, .pair { grid-template-columns: 1fr; } }
`;

/** The served files besides the page, by path. */
export const ASSETS: ReadonlyMap<string, { readonly type: string; readonly body: string }> = new Map([
  [
    '/assets/dashboard.js',
    {
      type: 'text/javascript; charset=utf-8',
      body: `'use strict';\n(function () {\n${CLIENT_CORE}\n${CLIENT_CHARTS}\n${CLIENT_EXECUTION}\nstart();\n})();\n`,
    },
  ],
  ['/assets/dashboard.css', { type: 'text/css; charset=utf-8', body: STYLE }],
]);

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${String(c.charCodeAt(0))};`);

/** The page shell; `schema` (a checked identifier, escaped all the same) is shown in its header. */
export function pageHtml(schema: string): string {
  const shown = escapeHtml(schema);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="slotwise-schema" content="${shown}">
<title>slotwise dashboard · ${shown}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/dashboard.css">
<script src="/assets/dashboard.js" defer></script>
</head>
<body>
<header>
<a class="brand" href="#/">slotwise</a>
<span class="pill">schema ${shown}</span>
<span class="spacer"></span>
<span class="live"><span class="dot" id="live-dot"></span><span id="live-text">loading…</span></span>
</header>
<main id="app"></main>
</body>
</html>
`;
}
