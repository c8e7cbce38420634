// The benchmark report, opened in a real headless browser (Debian's Chromium, which .ci/run
// installs): it loads with no console error, its slot timeline has one lane per slot, and a
// screenshot of it is not blank.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect } from 'chai';
import { PNG } from 'pngjs';
import { chromium } from 'playwright-core';
import { renderReport } from '../benchmarks/html-report.js';
import { REPOSITORY_RESULTS, type SavedResult, readResults } from '../benchmarks/report.js';
import { type Timeline, TimelineRecorder } from '../src/index.js';
import { deferOnSignal, spin } from './fixtures/tasks.js';
import { createExecutor, createSignals, nextEvent, raise } from './helpers.js';
import { findChromium } from './support/chromium.js';

const SLOTS = 2;

/** A real timeline: CPU runs and a deferral on an executor of two slots. */
async function recordTimeline(): Promise<Timeline> {
  const executor = createExecutor({ threads: 2, maxConcurrentTasks: SLOTS });
  const recorder = TimelineRecorder.attach(executor);
  const signals = createSignals();
  const deferred = nextEvent(executor, 'taskDeferred');
  const parked = executor.run(deferOnSignal, { signals, release: 0 });
  await deferred;
  await Promise.all(Array.from({ length: 6 }, () => executor.run(spin, 3)));
  raise(signals, 0);
  await parked;
  recorder.detach();
  return recorder.timeline();
}

describe('the benchmark report in a browser', function () {
  const executable = findChromium();
  let dir = '';

  before(function () {
    if (executable === null) {
      const reason = 'Chromium is not installed (Debian: apt-get install chromium; .ci/run does it)';
      if (process.env.SLOTWISE_REQUIRE_CHROMIUM === '1') throw new Error(reason);
      console.log(`browser test left out: ${reason}`);
      this.skip();
    }
    dir = mkdtempSync(joinPath(tmpdir(), 'slotwise-report-'));
  });

  after(() => {
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('loads with no console error, one timeline lane per slot, and a screenshot that is not blank', async function () {
    this.timeout(60_000);
    const timeline = await recordTimeline();
    const saved = (await readResults(REPOSITORY_RESULTS)).filter((r) => r.suite !== 'defer');
    const defer: SavedResult = {
      suite: 'defer',
      machine: saved[0]?.machine ?? {},
      date: new Date().toISOString(),
      metrics: { cpu_done_ms_defer: 1000, cpu_done_ms_hold: 3000, cpu_done_ms_cpu_only: 1000 },
      targets: {},
      timeline,
    };
    const file = joinPath(dir, 'report.html');
    writeFileSync(file, renderReport([...saved, defer]));

    const browser = await chromium.launch({ executablePath: executable ?? '', args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
      const problems: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push(message.text());
      });
      page.on('pageerror', (error) => problems.push(error.message));
      page.on('requestfailed', (request) => problems.push(`request failed: ${request.url()}`));
      await page.goto(pathToFileURL(file).href);

      expect(problems).to.deep.equal([]);
      expect(await page.title()).to.equal('slotwise benchmark report');
      expect(await page.locator('[data-timeline] [data-lane]').count()).to.equal(SLOTS);
      expect(await page.locator('section[data-suite]').count()).to.equal(saved.length + 1);
      expect(await page.locator('text=baseline, measured in the same run').count()).to.equal(1);

      const png = PNG.sync.read(await page.screenshot({ fullPage: true }));
      const colours = new Set<number>();
      for (let i = 0; i < png.data.length; i += 4 * 97) {
        colours.add(((png.data[i] ?? 0) << 16) | ((png.data[i + 1] ?? 0) << 8) | (png.data[i + 2] ?? 0));
      }
      expect(colours.size, 'distinct colours in the screenshot').to.be.above(8);
    } finally {
      await browser.close();
    }
  });
});
