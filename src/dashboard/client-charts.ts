/**
 * The page's script, second part: the two SVG charts of an execution's page, drawn from what
 * the API computed (`layers.ts`, `gantt.ts`). The DAG: one column per layer, a box per task in
 * its state's colour, curved arrows from each dependency. The Gantt: a row per task
 * (`<g data-gantt-row="<taskId>">`), its spans as `<rect data-span="active|deferred">` on a time
 * axis from the execution's start, and a tick (`data-mark`) where an attempt ended.
 */
export const CLIENT_CHARTS = String.raw`
const MAX_DAG_NODES = 300;
const TICK_STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 15000, 30000,
  60000, 120000, 300000, 600000, 900000, 1800000, 3600000, 7200000, 10800000, 21600000, 43200000, 86400000];

function stateClass(task) {
  return 's-' + (task.status === 'Running' && task.subStatus ? task.subStatus : task.status);
}

function drawDag(dag, tasksById) {
  const count = dag.layers.reduce(function (n, layer) { return n + layer.length; }, 0);
  if (count === 0) return h('div', { class: 'empty' }, 'No tasks.');
  if (count > MAX_DAG_NODES) {
    return h('div', { class: 'empty' }, count + ' tasks in ' + dag.layers.length + ' layers: too many to draw; the table below lists them.');
  }
  const W = 176, H = 46, GAP_X = 64, GAP_Y = 14, PAD = 12;
  const tallest = Math.max.apply(null, dag.layers.map(function (l) { return l.length; }));
  const width = PAD * 2 + dag.layers.length * (W + GAP_X) - GAP_X;
  const height = PAD * 2 + tallest * (H + GAP_Y) - GAP_Y;
  const at = new Map();
  dag.layers.forEach(function (layer, col) {
    const top = PAD + ((tallest - layer.length) * (H + GAP_Y)) / 2;
    layer.forEach(function (id, row) { at.set(id, { x: PAD + col * (W + GAP_X), y: top + row * (H + GAP_Y) }); });
  });
  const root = svg('svg', { width: width, height: height, 'data-dag': '', role: 'img', 'aria-label': 'task graph' });
  root.appendChild(svg('defs', null, svg('marker', { id: 'dag-arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto' },
    svg('path', { d: 'M0,0 L10,5 L0,10 z', fill: '#94a3b8' }))));
  for (const edge of dag.edges) {
    const from = at.get(edge[0]), to = at.get(edge[1]);
    if (!from || !to) continue;
    const x1 = from.x + W, y1 = from.y + H / 2, x2 = to.x - 2, y2 = to.y + H / 2, bend = GAP_X / 2;
    root.appendChild(svg('path', { class: 'edge', 'data-edge': edge[0] + ' -> ' + edge[1], 'marker-end': 'url(#dag-arrow)',
      d: 'M' + x1 + ',' + y1 + ' C' + (x1 + bend) + ',' + y1 + ' ' + (x2 - bend) + ',' + y2 + ' ' + x2 + ',' + y2 }));
  }
  at.forEach(function (p, id) {
    const task = tasksById.get(id);
    const status = task ? (task.status === 'Running' && task.subStatus ? 'Running \u00b7 ' + task.subStatus : task.status) : '?';
    const tries = task ? 'attempt ' + task.attempt + '/' + task.maxAttempts : '';
    root.appendChild(svg('g', { class: 'node ' + (task ? stateClass(task) : ''), 'data-dag-node': id }, [
      svg('title', null, id + ': ' + status + (task && task.error ? ' \u2014 ' + errorText(task.error) : '')),
      svg('rect', { x: p.x, y: p.y, width: W, height: H, rx: 8, class: task ? stateClass(task) : '' }),
      svg('text', { x: p.x + 10, y: p.y + 19 }, clip(id, 22)),
      svg('text', { x: p.x + 10, y: p.y + 36, class: 'sub' }, clip(status + ' \u00b7 ' + tries, 30)),
    ]));
  });
  return root;
}

function tickStep(range) {
  for (const step of TICK_STEPS) if (range / step <= 8) return step;
  return TICK_STEPS[TICK_STEPS.length - 1];
}

function ganttLegend() {
  return h('div', { class: 'legend' }, [
    h('span', null, [h('span', { class: 'swatch active' }), 'active: holds its slot']),
    h('span', null, [h('span', { class: 'swatch deferred' }), 'deferred: slot given back while it waits']),
    h('span', null, [h('span', { class: 'swatch mark' }), 'attempt ended in failure or retry']),
  ]);
}

function drawGantt(gantt, width) {
  const LABEL = 180, ROW = 26, AXIS = 24, BAR = 14;
  const plot = Math.max(200, width - LABEL - 16);
  const range = Math.max(1, gantt.end - gantt.start);
  const x = function (t) { return LABEL + ((t - gantt.start) / range) * plot; };
  const height = AXIS + gantt.rows.length * ROW + 6;
  const root = svg('svg', { width: LABEL + plot + 16, height: height, 'data-gantt': '', role: 'img', 'aria-label': 'task timeline' });
  const axis = svg('g', { class: 'axis' });
  const step = tickStep(range);
  for (let t = 0; t <= range + 0.5; t += step) {
    axis.appendChild(svg('line', { class: 'grid', x1: x(gantt.start + t), x2: x(gantt.start + t), y1: AXIS - 6, y2: height }));
    axis.appendChild(svg('text', { x: x(gantt.start + t) + 3, y: AXIS - 10 }, duration(t)));
  }
  root.appendChild(axis);
  gantt.rows.forEach(function (row, i) {
    const top = AXIS + i * ROW;
    const g = svg('g', { 'data-gantt-row': row.taskId });
    if (i % 2 === 0) g.appendChild(svg('rect', { class: 'row-band', x: 0, y: top, width: LABEL + plot + 16, height: ROW }));
    g.appendChild(svg('text', { x: 8, y: top + ROW / 2 + 4 }, [svg('title', null, row.taskId), clip(row.taskId, 24)]));
    for (const span of row.spans) {
      const left = x(span.start);
      g.appendChild(svg('rect', {
        'data-span': span.kind, 'data-open': span.open ? 'true' : null, x: left, y: top + (ROW - BAR) / 2,
        width: Math.max(2, x(span.end) - left), height: BAR, rx: 2,
      }, svg('title', null, row.taskId + ' \u00b7 attempt ' + span.attempt + ' \u00b7 ' + span.kind + ' ' +
        duration(span.end - span.start) + (span.open ? ' so far' : '') + ' (from +' + duration(span.start - gantt.start) + ')')));
    }
    for (const mark of row.marks) {
      if (mark.type === 'task_completed') continue;
      const mx = x(mark.at);
      g.appendChild(svg('line', { 'data-mark': mark.type, x1: mx, x2: mx, y1: top + 3, y2: top + ROW - 3 },
        svg('title', null, row.taskId + ' \u00b7 attempt ' + mark.attempt + ': ' + mark.type.replace('task_', '').replace('_', ' '))));
    }
    root.appendChild(g);
  });
  return root;
}
`;
