/**
 * The manifest of a workflow package: the `slotwise` field of its `package.json`.
 *
 * ```json
 * { "name": "billing-workflows", "version": "1.4.0", "type": "module",
 *   "slotwise": { "manifestVersion": 1, "workflows": ["./dist/workflows.js"] } }
 * ```
 *
 * - `workflows` (required): the modules, relative to the package's folder and inside it, whose
 *   exported workflows the package provides. Task modules are whatever those import: worker
 *   threads import each task from the file that defined it.
 * - `manifestVersion` (optional, default 1): the manifest's format, so that a newer format is
 *   refused by name instead of misread.
 *
 * Every mistake is its own typed error, naming the field and what was found there.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import {
  ManifestInvalidError,
  ManifestVersionUnsupportedError,
  PackageModuleNotFoundError,
  PackageNotFoundError,
} from './errors.js';

/** The manifest formats this version reads. */
export const MANIFEST_VERSIONS = [1] as const;

const MANIFEST_FIELDS = new Set(['manifestVersion', 'workflows']);

export interface PackageManifest {
  /** The package's folder, absolute. */
  readonly dir: string;
  /** `name` of its package.json (the folder's name when it has none). */
  readonly name: string;
  /** `version` of its package.json, or null. */
  readonly version: string | null;
  readonly manifestVersion: number;
  /** The manifest's `workflows` entries, as written. */
  readonly workflows: readonly string[];
  /** The package.json's `scripts.build`, if any (`slotwise pack` runs it). */
  readonly buildScript: string | null;
}

/** Reads and checks the manifest of the package in `dir` (which must hold a package.json). */
export function readManifest(dir: string): PackageManifest {
  const file = join(dir, 'package.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new PackageNotFoundError(dir, [dir], { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ManifestInvalidError(dir, 'package.json', 'a JSON object', text.slice(0, 80), { cause: error });
  }
  if (!isObject(json)) throw new ManifestInvalidError(dir, 'package.json', 'a JSON object', json);
  const field = json.slotwise;
  if (!isObject(field)) {
    throw new ManifestInvalidError(
      dir,
      'slotwise',
      'an object such as `{ "workflows": ["./dist/workflows.js"] }`',
      field,
    );
  }
  for (const key of Object.keys(field)) {
    if (!MANIFEST_FIELDS.has(key)) {
      throw new ManifestInvalidError(
        dir,
        `slotwise.${key}`,
        `absent (the fields are ${[...MANIFEST_FIELDS].join(', ')})`,
        field[key],
      );
    }
  }
  const manifestVersion = field.manifestVersion === undefined ? 1 : field.manifestVersion;
  if (typeof manifestVersion !== 'number' || !Number.isInteger(manifestVersion) || manifestVersion < 1) {
    throw new ManifestInvalidError(dir, 'slotwise.manifestVersion', 'a whole number >= 1', manifestVersion);
  }
  if (!(MANIFEST_VERSIONS as readonly number[]).includes(manifestVersion)) {
    throw new ManifestVersionUnsupportedError(dir, manifestVersion, MANIFEST_VERSIONS);
  }
  const workflows = field.workflows;
  if (!Array.isArray(workflows) || workflows.length === 0) {
    throw new ManifestInvalidError(dir, 'slotwise.workflows', 'a non-empty array of module paths', workflows);
  }
  workflows.forEach((entry: unknown, index) => {
    const at = `slotwise.workflows[${String(index)}]`;
    if (typeof entry !== 'string' || entry === '') throw new ManifestInvalidError(dir, at, 'a module path', entry);
    if (isAbsolute(entry) || !isInside(dir, resolve(dir, entry))) {
      throw new ManifestInvalidError(dir, at, 'a path inside the package, relative to its package.json', entry);
    }
  });
  const name = typeof json.name === 'string' && json.name !== '' ? json.name : (dir.split(/[\\/]/).pop() ?? dir);
  const scripts = isObject(json.scripts) ? json.scripts : {};
  return {
    dir,
    name,
    version: typeof json.version === 'string' ? json.version : null,
    manifestVersion,
    workflows: workflows as string[],
    buildScript: typeof scripts.build === 'string' ? scripts.build : null,
  };
}

/** The absolute path of each of the manifest's workflow modules; throws for one that is not a file. */
export function workflowModulePaths(manifest: PackageManifest): string[] {
  return manifest.workflows.map((entry) => {
    const path = resolve(manifest.dir, entry);
    if (!existsSync(path) || !statSync(path).isFile()) throw new PackageModuleNotFoundError(manifest.dir, entry, path);
    return path;
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Whether `path` is `dir` or below it (`..cache/x.js` is below; `../x.js` is not). */
export function isInside(dir: string, path: string): boolean {
  return !/^\.\.([\\/]|$)/.test(relative(dir, path));
}
