// `slotwise dashboard` in a real headless browser (Debian's Chromium, which .ci/run installs),
// on real workflows run by a real Runner on the local PostgreSQL: the list shows them, an
// execution's page draws its DAG and its Gantt (a deferred span for the task that deferred),
// markup in inputs, outputs and schedule names shows as text and never runs, the page makes no
// request to any other origin, refreshes by itself, and its screenshots are not blank. With
// SLOTWISE_SCREENSHOT_DIR set, the two screenshots are written there (docs/images/ holds them).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { expect } from 'chai';
import type { Knex } from 'knex';
import { PNG } from 'pngjs';
import { type Browser, type Page, chromium } from 'playwright-core';
import { Runner } from '../src/index.js';
import { type Dashboard, startDashboard } from '../src/dashboard/server.js';
import { TEST_DATABASE_URL, backends, dropSchema, freshSchema } from './db.js';
import { until } from './helpers.js';
import { findChromium } from './support/chromium.js';
import { XSS, busyWorkflow, dashboardPipeline, failingUpload } from './fixtures/dashboard-tasks.js';

const postgres = (await backends()).find((b) => b.name === 'postgres');
const XSS_SCHEDULE = `<img src=x onerror="window.__xss=3"> nightly`;

/** Distinct colours among a sample of the screenshot's pixels, and how many of them are not white. */
function colourStats(png: Buffer): { colours: number; nonWhite: number } {
  const image = PNG.sync.read(png);
  const colours = new Set<number>();
  let nonWhite = 0;
  for (let i = 0; i < image.data.length; i += 4 * 53) {
    const rgb = ((image.data[i] ?? 0) << 16) | ((image.data[i + 1] ?? 0) << 8) | (image.data[i + 2] ?? 0);
    colours.add(rgb);
    if (rgb !== 0xffffff) nonWhite += 1;
  }
  return { colours: colours.size, nonWhite };
}

describe('slotwise dashboard in a browser', function () {
  this.timeout(90_000);
  const executable = findChromium();
  let schema = '';
  let dir = '';
  let runner: Runner | null = null;
  let dashboard: Dashboard | null = null;
  let browser: Browser | null = null;
  let page: Page;
  let origin = '';
  const problems: string[] = [];
  let failures = 0;
  const ids = { done: '', failed: '', waiting: '', busy: '' };
  const file = (name: string): string => joinPath(dir, name);
  const knex = (): Knex => postgres?.knex() as Knex;

  /** Resolves once the task of that execution is Running with that sub-state, by the database. */
  async function inSubState(id: string, taskId: string, subStatus: 'Active' | 'Deferred'): Promise<void> {
    await until(async () => {
      const rows = (await knex()
        .withSchema(schema)
        .table('task_executions')
        .where({ workflow_execution_id: id, task_id: taskId, status: 'Running', sub_status: subStatus })) as unknown[];
      return rows.length === 1;
    });
  }

  before(async function () {
    if (postgres === undefined || executable === null) {
      const reason =
        executable === null
          ? 'Chromium is not installed (Debian: apt-get install chromium; .ci/run does it)'
          : `PostgreSQL at ${TEST_DATABASE_URL} is unreachable`;
      if (process.env.SLOTWISE_REQUIRE_CHROMIUM === '1') throw new Error(reason);
      console.log(`dashboard browser test left out: ${reason}`);
      this.skip();
    }
    schema = freshSchema('dashboard');
    dir = mkdtempSync(joinPath(tmpdir(), 'slotwise-dashboard-'));
    const r = (runner = new Runner({ database: knex(), schema, threads: 2, maxConcurrentTasks: 2 }));
    await r.ready();
    await r.schedule(XSS_SCHEDULE, { workflow: dashboardPipeline, cron: '0 3 * * *', input: { flagFile: file('n') } });
    await r.schedule('hourly-upload', { workflow: failingUpload, cron: '0 * * * *', timezone: 'Europe/Paris' });

    // 1. A pipeline whose first task defers until its file exists, then completes.
    ids.done = await r.start(dashboardPipeline, { flagFile: file('done'), note: XSS.script, title: XSS.attribute });
    await inSubState(ids.done, 'fetch_data', 'Deferred');
    writeFileSync(file('done'), 'go');
    expect((await r.wait(ids.done)).status).to.equal('Completed');
    // 2. A workflow whose task fails both its attempts.
    const failed = await r.execute(failingUpload, {});
    expect(failed.status).to.equal('Failed');
    ids.failed = failed.id;
    // 3. One still deferred, and 4. one holding a slot, while the browser looks.
    ids.waiting = await r.start(dashboardPipeline, { flagFile: file('waiting') });
    await inSubState(ids.waiting, 'fetch_data', 'Deferred');
    ids.busy = await r.start(busyWorkflow, { releaseFile: file('release') });
    await inSubState(ids.busy, 'hold_slot', 'Active');

    dashboard = await startDashboard({ database: TEST_DATABASE_URL, schema, port: 0 });
    origin = new URL(dashboard.url).origin;
    browser = await chromium.launch({ executablePath: executable ?? '', args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('requestfailed', (request) => problems.push(`request failed: ${request.url()}`));
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (url.protocol !== 'data:' && url.origin !== origin) problems.push(`request elsewhere: ${request.url()}`);
    });
    page.on('response', (response) => {
      if (response.status() >= 400) problems.push(`HTTP ${String(response.status())}: ${response.url()}`);
    });
  });

  after(async () => {
    await browser?.close();
    await dashboard?.close();
    const r = runner;
    if (r !== null) {
      writeFileSync(file('waiting'), 'go');
      writeFileSync(file('release'), 'go');
      await Promise.all([ids.waiting, ids.busy].filter((id) => id !== '').map((id) => r.wait(id)));
      await r.close();
    }
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
    if (schema !== '') await dropSchema(knex(), schema, failures === 0);
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') failures += 1;
    expect(problems, 'console errors, failed requests, requests to other origins').to.deep.equal([]);
  });

  async function screenshot(name: string): Promise<void> {
    const png = await page.screenshot({ fullPage: true });
    const { colours, nonWhite } = colourStats(png);
    expect(colours, 'distinct colours in the screenshot').to.be.above(12);
    expect(nonWhite, 'pixels that are not white').to.be.above(1_000);
    const out = process.env.SLOTWISE_SCREENSHOT_DIR;
    if (out !== undefined && out !== '') {
      mkdirSync(out, { recursive: true });
      writeFileSync(joinPath(out, name), png);
    }
  }

  it('lists the executions, the runner with its slot in use, and the schedules, markup shown as text', async () => {
    const response = await page.goto(dashboard?.url ?? '');
    expect(response?.headers()['content-security-policy']).to.contain("default-src 'none'");
    await page.locator('[data-execution-row]').nth(3).waitFor();
    const attributes = (selector: string, name: string): Promise<(string | null)[]> =>
      page
        .locator(selector)
        .all()
        .then((all) => Promise.all(all.map((l) => l.getAttribute(name))));
    const rows = await attributes('[data-execution-row]', 'data-execution-row');
    expect(rows).to.have.members([ids.done, ids.failed, ids.waiting, ids.busy]);
    const statusOf = (id: string) => page.locator(`[data-execution-row="${id}"] [data-status]`).first().textContent();
    expect(await statusOf(ids.done)).to.equal('Completed');
    expect(await statusOf(ids.failed)).to.equal('Failed');
    expect(await statusOf(ids.waiting)).to.equal('Running');

    await page.locator('[data-runner] [data-slots-in-use="1"]').waitFor();
    expect(await page.locator('[data-runner]').count()).to.equal(1);
    expect(await page.locator('[data-runner]').textContent())
      .to.contain('1 of 2 slots in use')
      .and.contain('1 deferred');

    expect(await page.locator('[data-schedule]').count()).to.equal(2);
    expect(await page.locator('[data-panel="schedules"]').textContent()).to.contain(XSS_SCHEDULE);
    expect(await page.locator('img').count()).to.equal(0);
    expect(await page.evaluate('typeof window.__xss')).to.equal('undefined');

    // The status filter narrows the list (a new request with ?status=).
    await page.locator('select[data-filter="status"]').selectOption('Failed');
    await until(async () => (await page.locator('[data-execution-row]').count()) === 1);
    expect(await page.locator('[data-execution-row]').getAttribute('data-execution-row')).to.equal(ids.failed);
    await page.locator('select[data-filter="status"]').selectOption('');
    await page.locator('[data-execution-row]').nth(3).waitFor();
    await screenshot('dashboard-executions.png');
  });

  it("draws an execution's DAG and Gantt: a row per task, a deferred span for the task that deferred", async () => {
    await page.goto(`${dashboard?.url ?? ''}#/executions/${ids.done}`);
    await page.locator('[data-gantt-row]').nth(3).waitFor();
    expect(await page.locator('[data-gantt-row]').count()).to.equal(4);
    const spans = async (task: string, kind: string): Promise<number> =>
      page.locator(`[data-gantt-row="${task}"] rect[data-span="${kind}"]`).count();
    expect(await spans('fetch_data', 'deferred')).to.be.at.least(1);
    expect(await spans('fetch_data', 'active')).to.be.at.least(2); // before and after its deferral
    expect(await page.locator('rect[data-open="true"]').count(), 'spans still open in an ended execution').to.equal(0);
    for (const task of ['crunch', 'audit', 'report']) {
      expect(await spans(task, 'active'), task).to.equal(1);
      expect(await spans(task, 'deferred'), task).to.equal(0);
    }
    // (A string, evaluated in the page: the tests are compiled without the DOM's types.)
    const fills = await page.evaluate<string[]>(
      "Array.from(document.querySelectorAll('rect[data-span]'), (n) => n.dataset.span + ':' + getComputedStyle(n).fill)",
    );
    expect(new Set(fills).size, 'active and deferred spans in two colours').to.equal(2);
    expect(await page.locator('[data-dag-node]').count()).to.equal(4);
    expect(await page.locator('path[data-edge]').count()).to.equal(4);
    expect(await page.locator('[data-task-row="report"]').textContent()).to.contain('crunch, audit');

    // Markup in the input and in a task's output: text, never elements, never run. (Shown as
    // JSON, so the quotes of the attribute string are escaped as JSON escapes them.)
    const asJson = (text: string): string => JSON.stringify(text).slice(1, -1);
    const input = (await page.locator('pre[data-json="input"]').textContent()) ?? '';
    expect(input).to.contain(XSS.script).and.contain(asJson(XSS.attribute));
    const output = (await page.locator('pre[data-task-output="report"]').textContent()) ?? '';
    expect(output).to.contain(XSS.script).and.contain(asJson(XSS.attribute));
    expect(await page.locator('img').count()).to.equal(0);
    expect(await page.locator('script').count()).to.equal(1);
    expect(await page.evaluate('typeof window.__xss')).to.equal('undefined');
    await screenshot('dashboard-execution.png');
  });

  it("shows a failed execution's attempts and errors, each attempt's end marked", async () => {
    await page.goto(`${dashboard?.url ?? ''}#/executions/${ids.failed}`);
    await page.locator('[data-task-error="upload"]').waitFor();
    expect(await page.locator('[data-task-error="upload"]').textContent()).to.contain(
      'the storage service answered 503',
    );
    expect(await page.locator('[data-task-row="upload"]').textContent()).to.contain('2 of 2');
    expect(await page.locator('[data-task-row="notify"] [data-status]').textContent()).to.equal('Skipped');
    expect(await page.locator('[data-gantt-row="upload"] rect[data-span="active"]').count()).to.equal(2);
    const lines = await page.locator('[data-gantt-row="upload"] line[data-mark]').all();
    const marks = await Promise.all(lines.map((l) => l.getAttribute('data-mark')));
    expect(marks).to.deep.equal(['task_retry_scheduled', 'task_failed']);
    expect(await page.locator('[data-panel="execution"]').textContent()).to.contain('WorkflowFailedError');
  });

  it('refreshes by itself: a deferred task seen Running, then Completed once its file is there', async () => {
    await page.goto(`${dashboard?.url ?? ''}#/executions/${ids.waiting}`);
    const fetchState = page.locator('[data-task-row="fetch_data"] [data-status]');
    await fetchState.waitFor();
    expect(await fetchState.textContent()).to.equal('Running · Deferred');
    expect(
      await page.locator('[data-gantt-row="fetch_data"] rect[data-span="deferred"][data-open="true"]').count(),
    ).to.equal(1);
    writeFileSync(file('waiting'), 'go');
    await page.locator('[data-panel="execution"] [data-status="Completed"]').waitFor({ timeout: 20_000 });
    expect(await fetchState.textContent()).to.equal('Completed');
    expect(await page.locator('[data-gantt-row="fetch_data"] rect[data-open="true"]').count()).to.equal(0);
  });
});
