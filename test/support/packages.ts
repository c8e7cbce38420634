// Scratch copies of the fixture workflow package (test/packages/hello-workflows), each in its own
// temporary folder, built, with `node_modules/slotwise` linked to this repository as an install
// would provide it. A fresh folder per test also means fresh module URLs: Node caches an
// imported module by URL, so an edited copy is imported anew.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root (its package.json exports dist/src/index.js). */
export const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const FIXTURE = join(ROOT, 'test', 'packages', 'hello-workflows');

export interface ScratchPackage {
  /** The package's folder. */
  readonly dir: string;
  /** Its package.json, parsed. */
  readonly packageJson: Record<string, unknown>;
  /** Rewrites its package.json with `edit` applied. */
  editPackageJson(edit: (json: Record<string, unknown>) => void): void;
  /** Writes `text` to `path` inside the package. */
  write(path: string, text: string): void;
  remove(): void;
}

/** A built copy of the fixture package, inside a folder of its own (`parent/<name>`). */
export function scratchPackage(): ScratchPackage {
  const parent = mkdtempSync(join(tmpdir(), 'slotwise-pkg-'));
  const dir = join(parent, 'hello-workflows');
  cpSync(FIXTURE, dir, { recursive: true, filter: (source) => !source.includes(`${FIXTURE}/dist`) });
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(ROOT, join(dir, 'node_modules', 'slotwise'), 'dir');
  execFileSync(process.execPath, ['build.js'], { cwd: dir });
  const read = (): Record<string, unknown> =>
    JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, unknown>;
  return {
    dir,
    get packageJson() {
      return read();
    },
    editPackageJson(edit) {
      const json = read();
      edit(json);
      writeFileSync(join(dir, 'package.json'), JSON.stringify(json, null, 2));
    },
    write(path, text) {
      writeFileSync(join(dir, path), text);
    },
    remove() {
      rmSync(parent, { recursive: true, force: true });
    },
  };
}
