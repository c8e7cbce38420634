// `slotwise pack [folder]`: checks a workflow package's manifest, builds it when its package.json
// has a build script, loads it as a worker would (every module there, importing cleanly, each
// exporting workflows, no name twice), checks that npm's tarball would hold every workflow module
// (a `files` list can leave `dist/` out), and then has npm write the tarball.
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type LoadedPackage, findPackage, loadPackages } from '../package/loader.js';
import { isInside, readManifest } from '../package/manifest.js';
import { CliError, messageWithCode } from './errors.js';

const run = promisify(execFile);

export interface PackFlags {
  /** Where the tarball goes. Default: the package's folder. */
  readonly out?: string;
  readonly json?: boolean;
}

interface NpmPackEntry {
  readonly filename: string;
  readonly files: readonly { readonly path: string }[];
}

/** Runs npm in `dir`; its output goes to stderr (stdout is this command's) unless captured. */
async function npm(dir: string, args: readonly string[]): Promise<string> {
  // npm's own variables (of an outer `npm test`, say) would redirect it; leave them out.
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('npm_')));
  try {
    const { stdout, stderr } = await run('npm', [...args], { cwd: dir, env, maxBuffer: 64 << 20 });
    if (stderr !== '') process.stderr.write(stderr);
    return stdout;
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new CliError(`slotwise pack: \`npm ${args.join(' ')}\` failed in ${dir}:\n${stderr}${stdout}`.trimEnd(), 1);
  }
}

export async function packCommand(folder: string | undefined, flags: PackFlags): Promise<void> {
  const fail = (error: unknown): CliError => new CliError(`slotwise pack: ${messageWithCode(error)}`, 1);
  let dir: string;
  let manifest;
  try {
    dir = findPackage(folder ?? '.', process.cwd());
    manifest = readManifest(dir);
  } catch (error) {
    throw fail(error);
  }
  if (manifest.buildScript !== null) process.stderr.write(await npm(dir, ['run', 'build']));
  let loaded: LoadedPackage | undefined;
  try {
    [loaded] = await loadPackages([dir]);
  } catch (error) {
    throw fail(error);
  }
  const workflows = loaded?.workflows.map((w) => w.name) ?? [];
  // What worker threads import: the workflow modules, and every module defining one of their tasks.
  const modules = new Set(manifest.workflows.map((entry) => resolve(dir, entry)));
  for (const task of loaded?.workflows.flatMap((w) => w.tasks) ?? []) modules.add(fileURLToPath(task.moduleUrl));
  const [dryRun] = JSON.parse(await npm(dir, ['pack', '--dry-run', '--json'])) as NpmPackEntry[];
  const packed = new Set(dryRun?.files.map((f) => join(dir, f.path)) ?? []);
  // (Modules of dependencies come with the dependencies, not in this tarball.)
  const inside = (path: string): boolean => isInside(dir, path) && !isInside(join(dir, 'node_modules'), path);
  const missing = [...modules].filter((path) => inside(path) && !packed.has(path)).map((path) => relative(dir, path));
  if (missing.length > 0) {
    throw new CliError(
      `slotwise pack: the tarball would not hold ${missing.map((m) => `\`${m}\``).join(', ')}, which ` +
        'workers import: add it to `files` in package.json (or remove it from .npmignore)',
      1,
    );
  }
  const out = resolve(flags.out ?? dir);
  mkdirSync(out, { recursive: true });
  const [entry] = JSON.parse(await npm(dir, ['pack', '--json', '--pack-destination', out])) as NpmPackEntry[];
  const tarball = resolve(out, entry?.filename ?? '');
  if (flags.json === true) {
    const report = { tarball, name: manifest.name, version: manifest.version, workflows };
    process.stdout.write(`${JSON.stringify(report)}\n`);
  } else {
    process.stdout.write(`${tarball}\n  ${manifest.name}@${manifest.version ?? '?'}: ${workflows.join(', ')}\n`);
  }
}
