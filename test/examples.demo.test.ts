import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'chai';

const run = promisify(execFile);
const demo = fileURLToPath(new URL('../examples/demo.js', import.meta.url));

describe('examples: the demo', () => {
  it('runs to the end, shows parked runs and CPU runs sharing the slots, and frees every slot', async () => {
    const { stdout, stderr } = await run(process.execPath, [demo], { timeout: 60_000 });
    expect(stderr).to.equal('');
    expect(stdout).to.match(/deferred\s+fetch-report#1/);
    expect(stdout).to.match(/resumed\s+fetch-report#1/);
    expect(stdout).to.contain('Timeline');
    // The three fetch-reports take the slots first and defer at once, so at least the first
    // crunch run starts in a slot a parked report gave back; how many more is up to timing.
    const sharing = /(\d+) of 16 crunch runs had a slot while fetch-reports were parked/.exec(stdout);
    expect(Number(sharing?.[1])).to.be.at.least(1);
    expect(stdout).to.contain('at most 2 of 2 slots were in use');
    // Each resume's lag, in units of the CPU task whose slot it took back.
    expect(stdout.match(/slot taken back .*= \d+\.\d\d L, L = \d+ ms/g)).to.have.length(3);
    expect(stdout.trimEnd().endsWith('slots free: 2/2')).to.equal(true);
  });
});
