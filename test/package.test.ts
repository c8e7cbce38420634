// The package as a user gets it: `npm pack` on a copy of this working tree (its prepare script
// builds a clean dist), the tarball installed into a scratch project with no TypeScript, and
// that project using it from plain ESM JavaScript, from CommonJS, from TypeScript (types
// checked), and through its `slotwise` command. Then the same package installed from a git URL.
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'chai';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CONSUMER_FILES = fileURLToPath(new URL('../../test/consumer/', import.meta.url));
/** npm from the cache that `npm ci` filled; a test must not depend on the network when it can help it. */
const NPM_INSTALL = ['install', '--prefer-offline', '--no-audit', '--no-fund'];
const STEP_TIMEOUT_MS = 180_000;

/** Runs a command in `cwd`, with npm's own variables of the outer `npm test` left out. */
async function sh(cwd: string, file: string, args: readonly string[]): Promise<string> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('npm_')));
  const { stdout } = await run(file, [...args], { cwd, env, timeout: STEP_TIMEOUT_MS, maxBuffer: 16 << 20 });
  return stdout;
}

/** Every file under `dir`, relative, sorted. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1))
    .sort();
}

/** A scratch project holding the consumer files, `type: module`, nothing installed. */
function scratchProject(base: string, name: string): string {
  const dir = join(base, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, private: true, type: 'module' }));
  cpSync(CONSUMER_FILES, dir, { recursive: true });
  return dir;
}

interface ConsumerOutput {
  readonly waited: { readonly doubled: number; readonly checks: number };
  readonly deferrals: number;
  readonly detached: number;
  readonly inverted: number[];
  readonly workflow: { readonly status: string; readonly output: Record<string, unknown> };
}

async function runConsumer(project: string): Promise<ConsumerOutput> {
  return JSON.parse(await sh(project, process.execPath, ['main.js'])) as ConsumerOutput;
}

describe('the installable package', function () {
  this.timeout(STEP_TIMEOUT_MS);
  let base = '';
  let tarball = '';
  let project = '';

  before(async function () {
    this.timeout(2 * STEP_TIMEOUT_MS);
    base = mkdtempSync(join(tmpdir(), 'slotwise-package-'));
    // The working tree as a clone would have it (tracked and new files, not what .gitignore
    // names), so the tarball is built from scratch, not from this checkout's dist.
    const source = join(base, 'source');
    const listed = await sh(ROOT, 'git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z']);
    for (const file of listed.split('\0').filter((name) => name !== '')) {
      cpSync(join(ROOT, file), join(source, file), { recursive: true });
    }
    symlinkSync(join(ROOT, 'node_modules'), join(source, 'node_modules'), 'dir');
    const packed = JSON.parse(await sh(source, 'npm', ['pack', '--json', '--pack-destination', base])) as {
      filename: string;
    }[];
    tarball = join(base, packed[0]?.filename ?? 'missing.tgz');
    project = scratchProject(base, 'consumer');
    await sh(project, 'npm', [...NPM_INSTALL, tarball]);
  });

  after(() => {
    if (base !== '') rmSync(base, { recursive: true, force: true });
  });

  it('holds the library, the worker entry, the migrations, the CLI and its suites; no tests, maps or examples', async () => {
    const files = (await sh(base, 'tar', ['-tzf', tarball])).split('\n').filter((line) => line !== '');
    for (const needed of [
      'package/dist/src/index.js',
      'package/dist/src/index.d.ts',
      'package/dist/workers/task-worker.js',
      'package/dist/migrations/001_create_tables.js',
      'package/dist/src/cli/main.js',
      'package/dist/benchmarks/transfer.js',
      'package/dist/examples/demo.js',
    ]) {
      expect(files).to.include(needed);
    }
    expect(files.filter((file) => /\/test\/|\.map$|\/benchmarks\/run\.js$/.test(file))).to.deep.equal([]);
    expect(files.filter((file) => file.includes('/examples/') && !/\/demo(-tasks)?\.js$/.test(file))).to.deep.equal([]);
  });

  it('runs a deferring task, a moved buffer and a workflow on the embedded database from plain ESM JavaScript', async () => {
    const output = await runConsumer(project);
    expect(output.waited).to.deep.equal({ doubled: 42, checks: 3 });
    expect(output.deferrals).to.equal(1);
    expect(output.detached).to.equal(0);
    expect(output.inverted).to.deep.equal([255, 240, 0]);
    expect(output.workflow).to.deep.include({ status: 'Completed' });
    expect(output.workflow.output).to.include({ n: 5, doubled: 10 });
  });

  it('is required from CommonJS on this Node (require of an ES module, Node >= 20.19)', async () => {
    const output = JSON.parse(await sh(project, process.execPath, ['require.cjs'])) as Record<string, string>;
    expect(output).to.deep.equal({ Executor: 'function', code: 'SLOTWISE_QUEUE_FULL' });
  });

  it('gives a TypeScript user its types (tsc --noEmit, strict, the misuses refused)', async () => {
    const tsconfig = {
      compilerOptions: {
        strict: true,
        noEmit: true,
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        target: 'ES2022',
        lib: ['ES2024', 'ESNext.Disposable'],
        types: ['node'],
        typeRoots: [join(ROOT, 'node_modules/@types')],
      },
      files: ['consumer.ts'],
    };
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify(tsconfig));
    await sh(project, process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json']);
    // And it can fail: a wrong input type is an error against these types.
    writeFileSync(
      join(project, 'wrong.ts'),
      "import { Executor } from 'slotwise';\nnew Executor({ threads: 'two' });\n",
    );
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({ ...tsconfig, files: ['wrong.ts'] }));
    const failed = await sh(project, process.execPath, [
      join(ROOT, 'node_modules/typescript/bin/tsc'),
      '-p',
      'tsconfig.json',
    ]).then(
      () => null,
      (error: { stdout?: string }) => error.stdout ?? '',
    );
    expect(failed).to.be.a('string').and.to.contain('wrong.ts');
  });

  it('writes bench results where it is run, nothing inside the installed package', async () => {
    const installed = join(project, 'node_modules/slotwise');
    const before = filesUnder(installed);
    const out = await sh(project, join(project, 'node_modules/.bin/slotwise'), ['bench', 'transfer']);
    expect(out).to.contain(join(project, 'bench-results', 'transfer.json'));
    expect(readdirSync(join(project, 'bench-results'))).to.deep.equal(['transfer.json']);
    expect(filesUnder(installed)).to.deep.equal(before);
  });

  it('installs from a git URL (its prepare script builds it) and runs the same project', async function () {
    this.timeout(2 * STEP_TIMEOUT_MS);
    const fromGit = scratchProject(base, 'from-git');
    await sh(fromGit, 'npm', [...NPM_INSTALL, `git+file://${ROOT}`]);
    const output = await runConsumer(fromGit);
    expect(output.waited.doubled).to.equal(42);
    expect(output.workflow.status).to.equal('Completed');
  });
});
