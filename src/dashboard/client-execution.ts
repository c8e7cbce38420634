/**
 * The page's script, third part: one execution's view (`#/executions/<id>`): its summary, input
 * and output, the DAG, the Gantt and the table of tasks with their attempts and errors. The
 * skeleton is built once and its parts refilled on each refresh, so that a scrolled input or
 * output stays where it was.
 */
export const CLIENT_EXECUTION = String.raw`
function executionView(id) {
  const alert = banner();
  const title = h('span');
  const status = h('span');
  const summary = h('dl', { class: 'summary' });
  const input = h('pre', { 'data-json': 'input' });
  const output = h('pre', { 'data-json': 'output' });
  const dag = h('div');
  const gantt = h('div');
  const tasks = h('div');
  const events = h('span', { class: 'count' });
  const body = h('div', { class: 'stack', hidden: true }, [
    h('section', { class: 'card', 'data-panel': 'execution' }, [h('h2', null, [title, status]), summary]),
    h('div', { class: 'pair' }, [card('input', 'Input', null, input), card('output', 'Output', null, output)]),
    card('dag', 'Tasks and dependencies', null, dag),
    card('gantt', 'Timeline', events, [ganttLegend(), gantt]),
    card('tasks', 'Tasks', null, tasks),
  ]);
  const root = h('div', null, [h('div', { class: 'crumbs' }, h('a', { href: homeHash('', '', '') }, '\u2190 All executions')), alert.node, body]);
  return {
    root: root,
    showError: function (error) {
      alert.show(error);
      // A missing or malformed id will not come right by itself: show only the message.
      if (error !== null && (error.status === 404 || error.status === 400)) body.hidden = true;
    },
    update: function () {
      return api('/api/executions/' + encodeURIComponent(id)).then(function (data) {
        body.hidden = false;
        const e = data.execution;
        const byId = new Map(data.tasks.map(function (t) { return [t.taskId, t]; }));
        setText(title, e.workflowName);
        status.replaceChildren(badge(e.status), e.paused ? h('span', { class: 'badge s-Paused' }, 'paused') : '');
        summary.replaceChildren.apply(summary, summaryItems(e, data));
        setText(input, jsonText(e.input));
        setText(output, e.output ? jsonText(e.output) : '(none yet)');
        dag.replaceChildren(drawDag(data.dag, byId));
        gantt.replaceChildren(drawGantt(data.gantt, gantt.clientWidth || 900));
        setText(events, data.events.length + (data.eventsTruncated ? '+' : '') + ' events');
        tasks.replaceChildren(taskTable(data.tasks));
      });
    },
  };
}

function summaryItems(e, data) {
  const end = e.completedAt ? new Date(e.completedAt) : new Date(data.now);
  const items = [
    ['Execution', h('span', { class: 'mono' }, e.id)],
    ['Created', when(e.createdAt)],
    ['Ended', e.completedAt ? when(e.completedAt) : 'still running'],
    ['Duration', duration(end.getTime() - new Date(e.createdAt).getTime())],
    ['Priority', String(e.priority)],
  ];
  if (e.error) items.push(['Error', h('span', { class: 'error' }, errorText(e.error))]);
  const out = [];
  for (const item of items) out.push(h('dt', null, item[0]), h('dd', null, item[1]));
  return out;
}

function taskTable(tasks) {
  if (tasks.length === 0) return h('div', { class: 'empty' }, 'No tasks.');
  const head = ['Task', 'State', 'Attempts', 'Deferred', 'Claimed by', 'Started', 'Ended', 'Depends on', 'Output or error'];
  return h('table', null, [
    h('thead', null, h('tr', null, head.map(function (t) { return h('th', null, t); }))),
    h('tbody', null, tasks.map(function (t) {
      const attempts = [t.attempt + ' of ' + t.maxAttempts];
      if (t.recoveryAttempts > 0) attempts.push(h('div', { class: 'muted' }, t.recoveryAttempts + ' recovered'));
      if (t.retryAt) attempts.push(h('div', { class: 'muted' }, 'retry at ' + when(t.retryAt)));
      const result = t.error
        ? h('pre', { class: 'error', 'data-task-error': t.taskId }, errorText(t.error))
        : t.output ? h('pre', { 'data-task-output': t.taskId }, jsonText(t.output)) : h('span', { class: 'muted' }, '\u2013');
      return h('tr', { 'data-task-row': t.taskId }, [
        h('td', null, h('strong', null, t.taskId)),
        h('td', null, badge(t.status, t.status === 'Running' ? t.subStatus : null)),
        h('td', null, attempts),
        h('td', null, t.deferrals > 0 ? t.deferrals + ' \u00d7, ' + duration(t.deferredMs) : '\u2013'),
        h('td', { class: 'mono' }, t.claimedBy ? clip(t.claimedBy, 30) : '\u2013'),
        h('td', { class: 'nowrap' }, when(t.startedAt)),
        h('td', { class: 'nowrap' }, when(t.completedAt)),
        h('td', null, t.dependencies.length > 0 ? t.dependencies.join(', ') : '\u2013'),
        h('td', null, result),
      ]);
    })),
  ]);
}
`;
