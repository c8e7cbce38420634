import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { DatabaseUnavailableError, ErrorCode, InvalidArgumentError, Runner } from '../src/index.js';
import { flakyWorkflow } from './fixtures/runner-tasks.js';
import { caught, rejection } from './helpers.js';

const run = promisify(execFile);
const index = new URL('../src/index.js', import.meta.url).href;
const REFUSED = 'postgres://postgres@127.0.0.1:1/nowhere';

describe('Runner logging', () => {
  it('writes nothing to stdout or stderr by itself, even while a database refuses it', async () => {
    const script = `
      import { Runner } from ${JSON.stringify(index)};
      const runner = new Runner({ database: ${JSON.stringify(REFUSED)}, writeDeadlineMs: 400, threads: 1 });
      const error = await runner.ready().catch((e) => e);
      await runner.close();
      process.stdout.write('typed error: ' + error.code);
    `;
    const { stdout, stderr } = await run(process.execPath, ['--input-type=module', '-e', script], { timeout: 30_000 });
    expect(stdout).to.equal(`typed error: ${ErrorCode.DatabaseUnavailable}`);
    expect(stderr).to.equal('');
  });

  it('tells a logger of the retries and of the failure, with the runner id', async () => {
    const warnings: { message: string; details?: Record<string, unknown> }[] = [];
    const errors: string[] = [];
    const logger = {
      warn: (message: string, details?: Record<string, unknown>) =>
        warnings.push({ message, ...(details ? { details } : {}) }),
      error: (message: string) => errors.push(message),
    };
    const runner = new Runner({ database: REFUSED, writeDeadlineMs: 400, threads: 1, logger });
    try {
      await rejection(runner.ready(), DatabaseUnavailableError, ErrorCode.DatabaseUnavailable);
    } finally {
      await runner.close();
    }
    const retries = warnings.filter((w) => w.message.startsWith('slotwise: retrying migrating schema'));
    expect(retries.length).to.be.at.least(1);
    expect(retries[0]?.details).to.include({ runnerId: runner.runnerId });
  });

  it('logs a listener of claimed, taskRetryScheduled or tasksRecovered that throws, and runs on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'slotwise-listener-'));
    const warnings: string[] = [];
    const logger = { warn: (message: string) => warnings.push(message), error: () => undefined };
    const runner = new Runner({ threads: 1, logger });
    const thrower = (): never => {
      throw new Error('a listener bug');
    };
    runner.on('claimed', thrower);
    runner.on('taskRetryScheduled', thrower);
    runner.on('tasksRecovered', thrower);
    try {
      const result = await runner.execute(flakyWorkflow, { counterFile: join(dir, 'count') });
      expect(result.status).to.equal('Completed');
    } finally {
      await runner.close();
      rmSync(dir, { recursive: true, force: true });
    }
    expect(warnings).to.include('slotwise: a `claimed` listener threw: a listener bug');
    expect(warnings).to.include('slotwise: a `taskRetryScheduled` listener threw: a listener bug');
  });

  it('refuses a logger without warn and error', () => {
    for (const logger of [{ warn: () => undefined }, 'console', null]) {
      const error = caught(
        () => new Runner({ logger: logger as never }),
        InvalidArgumentError,
        ErrorCode.InvalidArgument,
      );
      expect(error.argument).to.equal('logger');
    }
  });
});
