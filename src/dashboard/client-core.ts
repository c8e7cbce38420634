/**
 * The page's script, first part: DOM helpers, the API client, the hash router with its 2 s
 * refresh, and the home view (executions, runners, schedules). Plain browser JavaScript in a
 * string (served as /assets/dashboard.js), written without template literals so that it can sit
 * in one. Every value from the API enters the DOM through `h`/`svg` as a text node or an
 * attribute value set by setAttribute (never markup), and links are built from encoded ids.
 */
export const CLIENT_CORE = String.raw`
const REFRESH_MS = 2000;
const SVG_NS = 'http://www.w3.org/2000/svg';
const STATUSES = ['Running', 'Completed', 'Failed', 'Cancelled'];
const TASK_ORDER = ['Completed', 'Running', 'Ready', 'Paused', 'NotStarted', 'Failed', 'Skipped', 'Cancelled'];
const state = { view: null, timer: null, seq: 0, cursors: [], filters: '' };

function fill(node, attrs, children) {
  if (attrs) for (const name of Object.keys(attrs)) {
    const value = attrs[name];
    if (value !== null && value !== undefined && value !== false) node.setAttribute(name, String(value));
  }
  const list = Array.isArray(children) ? children.flat(Infinity) : [children];
  for (const child of list) {
    if (child === null || child === undefined || child === false) continue;
    node.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
  return node;
}
function h(tag, attrs, children) { return fill(document.createElement(tag), attrs, children); }
function svg(tag, attrs, children) { return fill(document.createElementNS(SVG_NS, tag), attrs, children); }
function setText(node, text) { if (node.textContent !== text) node.textContent = text; }
function clip(text, n) { text = String(text); return text.length > n ? text.slice(0, n - 1) + '\u2026' : text; }
function executionHref(id) { return '#/executions/' + encodeURIComponent(id); }

function pad(n) { return n < 10 ? '0' + n : String(n); }
function when(iso) {
  if (iso === null || iso === undefined) return '\u2013';
  const d = new Date(iso);
  return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' +
    pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
}
function duration(ms) {
  if (ms === null || ms === undefined || !isFinite(ms)) return '\u2013';
  const sign = ms < 0 ? '-' : '';
  ms = Math.abs(ms);
  if (ms < 1000) return sign + Math.round(ms) + ' ms';
  if (ms < 60000) return sign + (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + ' s';
  if (ms < 3600000) return sign + Math.floor(ms / 60000) + ' m ' + Math.round((ms % 60000) / 1000) + ' s';
  return sign + Math.floor(ms / 3600000) + ' h ' + Math.round((ms % 3600000) / 60000) + ' m';
}
function badge(status, sub) {
  const label = sub ? status + ' \u00b7 ' + sub : status;
  return h('span', { class: 'badge s-' + (sub || status), 'data-status': status }, label);
}
function errorText(error) {
  if (!error) return '';
  return (error.name || 'Error') + (error.code ? ' (' + error.code + ')' : '') + ': ' + (error.message || '');
}
function jsonText(preview) {
  if (!preview) return '';
  if (preview.truncated) return preview.text + '\u2026 (cut: too long to show)';
  try { return JSON.stringify(JSON.parse(preview.text), null, 2); } catch (e) { return preview.text; }
}
function card(panel, title, extra, body) {
  const count = extra === null || typeof extra === 'string' ? h('span', { class: 'count' }, extra) : extra;
  return h('section', { class: 'card', 'data-panel': panel }, [h('h2', null, [title, count]), body]);
}

function api(path) {
  return fetch(path, { headers: { accept: 'application/json' }, cache: 'no-store' }).then(function (response) {
    return response.json().then(function (body) {
      if (!response.ok) {
        const failure = new Error(body && body.error ? body.error.message : 'HTTP ' + response.status);
        failure.status = response.status;
        throw failure;
      }
      return body;
    });
  });
}

function setLive(ok, text) {
  document.getElementById('live-dot').className = ok ? 'dot' : 'dot down';
  setText(document.getElementById('live-text'), text);
}

function route() {
  const hash = location.hash || '#/';
  if (hash.indexOf('#/executions/') === 0) {
    let id = hash.slice('#/executions/'.length);
    try { id = decodeURIComponent(id); } catch (e) { /* shown as it is: the API says it is no id */ }
    return { name: 'execution', id: id };
  }
  const at = hash.indexOf('?');
  const params = new URLSearchParams(at < 0 ? '' : hash.slice(at + 1));
  return { name: 'home', status: params.get('status') || '', workflow: params.get('workflow') || '', after: params.get('after') || '' };
}
function homeHash(status, workflow, after) {
  const params = new URLSearchParams();
  if (status) params.set('status', status);
  if (workflow) params.set('workflow', workflow);
  if (after) params.set('after', after);
  const query = params.toString();
  return '#/' + (query ? '?' + query : '');
}

/** Mounts the view of the current hash, then refreshes it every REFRESH_MS, one fetch at a time. */
function navigate() {
  const where = route();
  state.view = where.name === 'execution' ? executionView(where.id) : homeView(where);
  const app = document.getElementById('app');
  app.replaceChildren(state.view.root);
  refresh();
}
function refresh() {
  clearTimeout(state.timer);
  const seq = ++state.seq;
  const view = state.view;
  view.update().then(function () {
    setLive(true, 'live \u00b7 every ' + REFRESH_MS / 1000 + ' s \u00b7 updated ' + when(new Date().toISOString()).slice(11));
    view.showError(null);
  }, function (error) {
    setLive(false, 'not updating: ' + error.message);
    view.showError(error);
  }).then(function () {
    if (seq === state.seq) state.timer = setTimeout(refresh, REFRESH_MS);
  });
}
function start() {
  window.addEventListener('hashchange', navigate);
  navigate();
}

function banner() {
  const node = h('div', { class: 'banner', hidden: true });
  return {
    node: node,
    show: function (error) {
      node.hidden = error === null;
      setText(node, error === null ? '' : error.message);
    },
  };
}

function homeView(where) {
  const filters = where.status + '\u0000' + where.workflow;
  if (filters !== state.filters) { state.cursors = []; state.filters = filters; }
  const status = h('select', { 'aria-label': 'status', 'data-filter': 'status' },
    [h('option', { value: '' }, 'All statuses')].concat(STATUSES.map(function (s) {
      return h('option', { value: s, selected: s === where.status }, s);
    })));
  const workflow = h('input', { type: 'search', placeholder: 'workflow name', 'aria-label': 'workflow', 'data-filter': 'workflow', list: 'workflow-names' });
  workflow.value = where.workflow;
  const names = h('datalist', { id: 'workflow-names' });
  const apply = function () { location.hash = homeHash(status.value, workflow.value.trim(), ''); };
  status.addEventListener('change', apply);
  workflow.addEventListener('change', apply);
  const rows = h('div');
  const newer = h('button', { type: 'button', 'data-page': 'newer' }, '\u2190 Newer');
  const older = h('button', { type: 'button', 'data-page': 'older' }, 'Older \u2192');
  let next = null;
  newer.addEventListener('click', function () { location.hash = homeHash(where.status, where.workflow, state.cursors.pop() || ''); });
  older.addEventListener('click', function () {
    if (next === null) return;
    state.cursors.push(where.after);
    location.hash = homeHash(where.status, where.workflow, next);
  });
  const runners = h('div');
  const schedules = h('div');
  const runnerCount = h('span', { class: 'count' });
  const alert = banner();
  const root = h('div', null, [alert.node, h('div', { class: 'home' }, [
    card('executions', 'Executions', where.after ? 'older page' : 'newest first',
      [h('div', { class: 'filters' }, [status, workflow, names]), rows, h('div', { class: 'pager' }, [newer, older])]),
    h('div', { class: 'side' }, [card('runners', 'Runners', runnerCount, runners), card('schedules', 'Schedules', null, schedules)]),
  ])]);
  const query = new URLSearchParams();
  if (where.status) query.set('status', where.status);
  if (where.workflow) query.set('workflow', where.workflow);
  if (where.after) query.set('after', where.after);
  return {
    root: root,
    showError: alert.show,
    update: function () {
      return Promise.all([api('/api/executions?' + query.toString()), api('/api/runners'), api('/api/schedules')])
        .then(function (answers) {
          next = answers[0].next;
          newer.disabled = !where.after;
          older.disabled = next === null;
          rows.replaceChildren(executionTable(answers[0].executions));
          const seen = new Set(answers[0].executions.map(function (e) { return e.workflowName; }));
          names.replaceChildren.apply(names, Array.from(seen).sort().map(function (n) { return h('option', { value: n }); }));
          runners.replaceChildren(runnerList(answers[1].runners));
          setText(runnerCount, answers[1].runners.filter(function (r) { return r.live; }).length + ' live');
          schedules.replaceChildren(scheduleTable(answers[2].schedules));
        });
    },
  };
}

function taskBar(counts) {
  let total = 0;
  for (const key of Object.keys(counts)) total += counts[key];
  const bar = h('div', { class: 'bar', title: TASK_ORDER.filter(function (s) { return counts[s]; }).map(function (s) { return counts[s] + ' ' + s; }).join(', ') });
  for (const status of TASK_ORDER) {
    if (!counts[status]) continue;
    const part = h('span', { class: 's-' + status });
    part.style.width = (100 * counts[status] / total) + '%';
    bar.appendChild(part);
  }
  return h('div', null, [bar, h('span', { class: 'muted' }, (counts.Completed || 0) + '/' + total + ' done')]);
}

function executionTable(executions) {
  if (executions.length === 0) return h('div', { class: 'empty' }, 'No workflow executions match.');
  const body = executions.map(function (e) {
    const end = e.completedAt ? new Date(e.completedAt).getTime() : Date.now();
    return h('tr', { 'data-execution-row': e.id }, [
      h('td', null, [badge(e.status), e.paused ? h('span', { class: 'badge s-Paused' }, 'paused') : null]),
      h('td', null, h('a', { href: executionHref(e.id) }, e.workflowName)),
      h('td', { class: 'mono' }, h('a', { href: executionHref(e.id), title: e.id }, e.id.slice(0, 8) + '\u2026' + e.id.slice(-4))),
      h('td', null, taskBar(e.tasks)),
      h('td', { class: 'nowrap' }, when(e.createdAt)),
      h('td', { class: 'nowrap' }, duration(end - new Date(e.createdAt).getTime()) + (e.completedAt ? '' : ' so far')),
      h('td', { class: 'error' }, e.error ? clip(errorText(e.error), 80) : null),
    ]);
  });
  return h('table', null, [
    h('thead', null, h('tr', null, ['Status', 'Workflow', 'Execution', 'Tasks', 'Created', 'Duration', 'Error'].map(function (t) { return h('th', null, t); }))),
    h('tbody', null, body),
  ]);
}

function runnerList(runners) {
  if (runners.length === 0) return h('div', { class: 'empty' }, 'No runner holds a lease on this schema.');
  return h('div', null, runners.map(function (r) {
    const slots = h('div', { class: 'slots', title: r.slotsInUse + ' of ' + (r.maxSlots === null ? '?' : r.maxSlots) + ' slots' }, h('span'));
    slots.firstChild.style.width = r.maxSlots ? Math.min(100, 100 * r.slotsInUse / r.maxSlots) + '%' : '0%';
    return h('div', { class: 'item', 'data-runner': r.id }, [
      h('div', { class: 'top' }, [
        h('strong', null, clip(r.host, 28) + ' \u00b7 pid ' + r.pid),
        h('span', { class: 'badge ' + (r.live ? 's-Completed' : 's-Failed') }, r.live ? 'live' : 'lease expired'),
      ]),
      h('div', { class: 'mono muted', title: r.id }, clip(r.id, 48)),
      slots,
      h('div', null, [h('strong', { 'data-slots-in-use': r.slotsInUse }, String(r.slotsInUse)),
        ' of ' + (r.maxSlots === null ? '?' : r.maxSlots) + ' slots in use \u00b7 ' + r.activeTasks + ' active, ' + r.deferredTasks + ' deferred']),
      h('div', { class: 'muted' }, 'lease renewed ' + duration(r.leaseAgeMs) + ' ago \u00b7 ' +
        (r.leaseLeftMs >= 0 ? 'expires in ' + duration(r.leaseLeftMs) : 'expired ' + duration(-r.leaseLeftMs) + ' ago') +
        ' \u00b7 up since ' + when(r.startedAt)),
    ]);
  }));
}

function scheduleTable(schedules) {
  if (schedules.length === 0) return h('div', { class: 'empty' }, 'No schedules.');
  return h('div', null, schedules.map(function (s) {
    return h('div', { class: 'item', 'data-schedule': s.name }, [
      h('div', { class: 'top' }, [
        h('strong', { title: s.name }, clip(s.name, 64)),
        h('a', { href: homeHash('', s.workflowName, ''), title: 'its executions' }, clip(s.workflowName, 40)),
      ]),
      h('div', null, [h('span', { class: 'mono' }, s.cron), ' ', h('span', { class: 'muted' }, s.timezone)]),
      h('div', { class: 'muted' }, 'next ' + when(s.nextRunAt) + ' \u00b7 last ' + when(s.lastRunAt)),
    ]);
  }));
}
`;
