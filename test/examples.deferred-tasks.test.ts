import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'chai';

const run = promisify(execFile);
const main = fileURLToPath(new URL('../examples/deferred-tasks/main.js', import.meta.url));

/** The index of the first line matching `pattern`, or -1. */
const lineOf = (lines: string[], pattern: RegExp): number => lines.findIndex((line) => pattern.test(line));

describe('examples: deferred-tasks', () => {
  it('runs on the embedded database to the end: wait_for_data defers, the file appears, process_data sums it', async () => {
    const { stdout, stderr } = await run(process.execPath, [main], { timeout: 60_000 });
    expect(stderr).to.equal('');
    const lines = stdout.split('\n');
    const order = [
      /runner ready/,
      /started workflow \S+; wait_for_data waits for \S+sales\.csv/,
      /wait_for_data\s+Running\/Deferred \(gave its slot back\)/,
      /wrote \S+sales\.csv/,
      /wait_for_data\s+Running\/Active \(took a slot again\)/,
      /workflow Completed/,
    ].map((pattern) => lineOf(lines, pattern));
    expect(order.every((index) => index >= 0)).to.equal(true, stdout);
    expect(order).to.deep.equal(
      [...order].sort((a, b) => a - b),
      stdout,
    );
    expect(stdout).to.contain('"rows":3,"total":242');
    expect(stdout).to.match(/wait_for_data\s+Completed\s+attempts 1, deferred 1 time\(s\)/);
    expect(stdout).to.match(/process_data\s+Completed\s+attempts 1, deferred 0 time\(s\)/);
  });
});
