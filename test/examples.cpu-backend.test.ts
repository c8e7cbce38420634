import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'chai';

const run = promisify(execFile);
const load = fileURLToPath(new URL('../examples/cpu-backend/load.js', import.meta.url));

describe('examples: cpu-backend', () => {
  it('load.js starts the server, every request succeeds, both endpoints are measured, the server closes cleanly', async () => {
    // Rejects if load.js exits with a code other than 0 (a failed request, or the server's exit code).
    const { stdout, stderr } = await run(process.execPath, [load], { timeout: 60_000 });
    expect(stderr).to.equal('');
    expect(stdout).to.match(/\[server\] listening on http:\/\/127\.0\.0\.1:\d+ \(\d+ worker threads, \d+ slots\)/);
    const figures = String.raw`(\s+\d+){4}`; // p50, p90, p99, max
    expect(stdout).to.match(new RegExp(String.raw`^/hash\s+40${figures}$`, 'm'));
    expect(stdout).to.match(new RegExp(String.raw`^/wait\s+40${figures}$`, 'm'));
    expect(stdout).to.match(/at most [1-9]\d* \/wait tasks were parked at once/);
    expect(stdout).not.to.contain('FAILED');
    expect(stdout).to.contain('all 80 requests OK');
    expect(stdout).to.match(/\[server\] closed after \d+ tasks; slots free: (\d+)\/\1$/m);
  });
});
