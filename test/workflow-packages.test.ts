// Workflow packages: finding one, reading its manifest, loading its workflows, and every
// mistake a package can hold, each a typed error; `slotwise pack` on the fixture package.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import {
  DuplicateWorkflowNameError,
  ErrorCode,
  ManifestInvalidError,
  ManifestVersionUnsupportedError,
  PackageModuleEmptyError,
  PackageModuleImportError,
  PackageModuleNotFoundError,
  PackageNotFoundError,
  findPackage,
  isWorkflow,
  loadPackages,
  readManifest,
} from '../src/index.js';
import { caught, rejection } from './helpers.js';
import { ROOT, type ScratchPackage, scratchPackage } from './support/packages.js';

const run = promisify(execFile);
const MAIN = join(ROOT, 'dist', 'src', 'cli', 'main.js');

describe('workflow packages', function () {
  this.timeout(60_000);
  let pkg: ScratchPackage;

  beforeEach(() => {
    pkg = scratchPackage();
  });
  afterEach(() => pkg.remove());

  describe('loading', () => {
    it("loads the manifest's modules and their exported workflows, in manifest order, then by export name", async () => {
      const [loaded] = await loadPackages([pkg.dir]);
      expect(loaded?.manifest).to.deep.include({
        dir: pkg.dir,
        name: 'hello-workflows',
        version: '1.2.0',
        manifestVersion: 1,
        workflows: ['./dist/workflows.js'],
        buildScript: 'node build.js',
      });
      expect(loaded?.workflows.map((w) => w.name)).to.deep.equal(['busy', 'failing', 'held', 'hello']);
      for (const workflow of loaded?.workflows ?? []) expect(isWorkflow(workflow)).to.equal(true);
      // Task modules are the package's own files: what worker threads import.
      const hello = loaded?.workflows.find((w) => w.name === 'hello');
      expect(hello?.tasks.map((t) => t.moduleUrl)).to.deep.equal([
        `file://${pkg.dir}/dist/workflows.js`,
        `file://${pkg.dir}/dist/workflows.js`,
      ]);
    });

    it('finds a package by name under the node_modules of the folder or of a parent', async () => {
      const app = mkdtempSync(join(tmpdir(), 'slotwise-app-'));
      try {
        mkdirSync(join(app, 'node_modules'));
        symlinkSync(pkg.dir, join(app, 'node_modules', 'hello-workflows'), 'dir');
        mkdirSync(join(app, 'src', 'deep'), { recursive: true });
        expect(findPackage('hello-workflows', join(app, 'src', 'deep'))).to.equal(
          join(app, 'node_modules', 'hello-workflows'),
        );
        const [loaded] = await loadPackages(['hello-workflows'], app);
        expect(loaded?.manifest.name).to.equal('hello-workflows');
      } finally {
        rmSync(app, { recursive: true, force: true });
      }
    });

    it('takes one workflow exported twice, or by two modules, as one', async () => {
      pkg.write('dist/again.js', "export { hello, hello as greeting } from './workflows.js';\n");
      pkg.editPackageJson((json) => {
        json.slotwise = { workflows: ['./dist/workflows.js', './dist/again.js'] };
      });
      const [loaded] = await loadPackages([pkg.dir]);
      expect(loaded?.workflows.map((w) => w.name)).to.deep.equal(['busy', 'failing', 'held', 'hello']);
    });
  });

  describe('mistakes, each its own typed error', () => {
    it('a folder or name that holds no package', async () => {
      const error = await rejection(
        loadPackages(['no-such-package'], pkg.dir),
        PackageNotFoundError,
        ErrorCode.PackageNotFound,
      );
      expect(error.given).to.equal('no-such-package');
      expect(error.searched).to.include(join(pkg.dir, 'node_modules', 'no-such-package'));
      expect(error.message).to.contain('`no-such-package`');
      await rejection(loadPackages(['./nowhere'], pkg.dir), PackageNotFoundError, ErrorCode.PackageNotFound);
    });

    const invalid: [string, (json: Record<string, unknown>) => void, string, RegExp][] = [
      ['no slotwise field', (json) => delete json.slotwise, 'slotwise', /got `undefined`/],
      ['a slotwise field that is an array', (json) => (json.slotwise = ['./dist/workflows.js']), 'slotwise', /array/],
      [
        'an unknown manifest field',
        (json) => (json.slotwise = { workflows: ['./dist/workflows.js'], entry: 'x' }),
        'slotwise.entry',
        /the fields are manifestVersion, workflows/,
      ],
      ['no workflows', (json) => (json.slotwise = {}), 'slotwise.workflows', /non-empty array/],
      ['empty workflows', (json) => (json.slotwise = { workflows: [] }), 'slotwise.workflows', /non-empty array/],
      [
        'a workflow entry that is not a path',
        (json) => (json.slotwise = { workflows: [3] }),
        'slotwise.workflows[0]',
        /got `3` \(number\)/,
      ],
      [
        'a workflow module outside the package',
        (json) => (json.slotwise = { workflows: ['./dist/workflows.js', '../elsewhere.js'] }),
        'slotwise.workflows[1]',
        /inside the package/,
      ],
      [
        'a manifestVersion of null',
        (json) => (json.slotwise = { manifestVersion: null, workflows: ['./dist/workflows.js'] }),
        'slotwise.manifestVersion',
        /got `null`/,
      ],
      [
        'a manifestVersion that is not a whole number',
        (json) => (json.slotwise = { manifestVersion: '1', workflows: ['./dist/workflows.js'] }),
        'slotwise.manifestVersion',
        /whole number/,
      ],
    ];
    for (const [what, edit, field, message] of invalid) {
      it(`an invalid manifest: ${what}`, async () => {
        pkg.editPackageJson(edit);
        const error = await rejection(loadPackages([pkg.dir]), ManifestInvalidError, ErrorCode.ManifestInvalid);
        expect(error.field).to.equal(field);
        expect(error.packageDir).to.equal(pkg.dir);
        expect(error.message).to.contain(`\`${field}\``).and.match(message);
      });
    }

    it('a package.json that is not JSON', () => {
      pkg.write('package.json', '{ "name": "hello-workflows", ');
      const error = caught(() => readManifest(pkg.dir), ManifestInvalidError, ErrorCode.ManifestInvalid);
      expect(error.field).to.equal('package.json');
      expect(error.cause).to.be.instanceOf(SyntaxError);
    });

    it('a manifest of a newer format', async () => {
      pkg.editPackageJson((json) => (json.slotwise = { manifestVersion: 2, workflows: ['./dist/workflows.js'] }));
      const error = await rejection(
        loadPackages([pkg.dir]),
        ManifestVersionUnsupportedError,
        ErrorCode.ManifestVersionUnsupported,
      );
      expect(error.manifestVersion).to.equal(2);
      expect(error.supported).to.deep.equal([1]);
      expect(error.message).to.contain('upgrade slotwise');
    });

    it('a missing module (a package not built)', async () => {
      rmSync(join(pkg.dir, 'dist'), { recursive: true });
      const error = await rejection(
        loadPackages([pkg.dir]),
        PackageModuleNotFoundError,
        ErrorCode.PackageModuleNotFound,
      );
      expect(error.module).to.equal('./dist/workflows.js');
      expect(error.path).to.equal(join(pkg.dir, 'dist', 'workflows.js'));
      expect(error.message).to.contain('npm run build');
    });

    it('a module that throws as it loads', async () => {
      pkg.write('dist/workflows.js', "throw new Error('no config at load');\n");
      const error = await rejection(
        loadPackages([pkg.dir]),
        PackageModuleImportError,
        ErrorCode.PackageModuleImportFailed,
      );
      expect(error.message).to.contain('no config at load');
      expect(error.cause).to.be.instanceOf(Error);
    });

    it('a module that exports no workflow', async () => {
      pkg.write('dist/workflows.js', 'export const answer = 42;\n');
      const error = await rejection(loadPackages([pkg.dir]), PackageModuleEmptyError, ErrorCode.PackageModuleEmpty);
      expect(error.exportNames).to.deep.equal(['answer']);
      expect(error.message).to.contain('`answer`');
    });

    it('two different workflows under one name, in one package', async () => {
      pkg.write(
        'dist/again.js',
        "import { defineWorkflow } from 'slotwise';\nimport { spin } from './workflows.js';\n" +
          "export const other = defineWorkflow('hello', spin);\n",
      );
      pkg.editPackageJson((json) => (json.slotwise = { workflows: ['./dist/workflows.js', './dist/again.js'] }));
      const error = await rejection(
        loadPackages([pkg.dir]),
        DuplicateWorkflowNameError,
        ErrorCode.DuplicateWorkflowName,
      );
      expect(error.workflowName).to.equal('hello');
      expect(error.places).to.deep.equal([
        'hello-workflows ./dist/workflows.js#hello',
        'hello-workflows ./dist/again.js#other',
      ]);
    });

    it('two different workflows under one name, across packages', async () => {
      const second = scratchPackage();
      try {
        await rejection(
          loadPackages([pkg.dir, second.dir]),
          DuplicateWorkflowNameError,
          ErrorCode.DuplicateWorkflowName,
        );
      } finally {
        second.remove();
      }
    });
  });

  describe('slotwise pack', () => {
    it('builds the package and writes its tarball, which holds the workflow module', async () => {
      rmSync(join(pkg.dir, 'dist'), { recursive: true });
      const out = join(pkg.dir, '..', 'out');
      const { stdout } = await run(process.execPath, [MAIN, 'pack', pkg.dir, '--out', out, '--json']);
      const report = JSON.parse(stdout) as { tarball: string; name: string; version: string; workflows: string[] };
      expect(report).to.deep.equal({
        tarball: join(out, 'hello-workflows-1.2.0.tgz'),
        name: 'hello-workflows',
        version: '1.2.0',
        workflows: ['busy', 'failing', 'held', 'hello'],
      });
      const { stdout: listing } = await run('tar', ['-tzf', report.tarball]);
      expect(listing.split('\n')).to.include.members(['package/package.json', 'package/dist/workflows.js']);
      expect(existsSync(join(pkg.dir, 'dist', 'workflows.js'))).to.equal(true);
    });

    it('refuses a package whose tarball would leave a workflow module out (exit 1)', async () => {
      pkg.editPackageJson((json) => (json.files = ['src']));
      const outcome = await exitOf(run(process.execPath, [MAIN, 'pack', pkg.dir]));
      expect(outcome.code).to.equal(1);
      expect(outcome.stderr).to.contain('the tarball would not hold `dist/workflows.js`, which workers import');
      expect(existsSync(join(pkg.dir, 'hello-workflows-1.2.0.tgz'))).to.equal(false);
    });

    it('refuses a package whose tarball would leave a task module out (exit 1)', async () => {
      // Workflows in one module, their task in another: worker threads import the task's.
      pkg.write(
        'src/tasks.js',
        "import { defineTask } from 'slotwise';\nexport const nap = defineTask('nap', () => 1);\n",
      );
      pkg.write(
        'src/flows.js',
        "import { defineWorkflow } from 'slotwise';\nimport { nap } from './tasks.js';\n" +
          "export const napping = defineWorkflow('napping', nap);\n",
      );
      pkg.editPackageJson((json) => {
        json.files = ['dist/flows.js'];
        json.slotwise = { workflows: ['./dist/flows.js'] };
      });
      const outcome = await exitOf(run(process.execPath, [MAIN, 'pack', pkg.dir]));
      expect(outcome.code).to.equal(1);
      expect(outcome.stderr).to.contain('the tarball would not hold `dist/tasks.js`, which workers import');
      pkg.editPackageJson((json) => (json.files = ['dist/flows.js', 'dist/tasks.js']));
      const packed = await run(process.execPath, [MAIN, 'pack', pkg.dir, '--json']);
      expect((JSON.parse(packed.stdout) as { workflows: string[] }).workflows).to.deep.equal(['napping']);
    });

    it('refuses an invalid manifest before building (exit 1, the error)', async () => {
      pkg.editPackageJson((json) => (json.slotwise = { workflows: [] }));
      const outcome = await exitOf(run(process.execPath, [MAIN, 'pack', pkg.dir]));
      expect(outcome.code).to.equal(1);
      expect(outcome.stderr)
        .to.contain('slotwise pack: SLOTWISE_MANIFEST_INVALID: Invalid manifest')
        .and.contain('`slotwise.workflows`');
    });

    it('reports a failing build with its output (exit 1)', async () => {
      pkg.write('build.js', "console.error('tsc: 3 errors'); process.exit(3);\n");
      const outcome = await exitOf(run(process.execPath, [MAIN, 'pack', pkg.dir]));
      expect(outcome.code).to.equal(1);
      expect(outcome.stderr).to.contain('`npm run build` failed').and.contain('tsc: 3 errors');
    });
  });
});

async function exitOf(child: Promise<unknown>): Promise<{ code: number; stderr: string }> {
  try {
    await child;
    return { code: 0, stderr: '' };
  } catch (error) {
    const { code, stderr } = error as { code: number; stderr: string };
    return { code, stderr };
  }
}
