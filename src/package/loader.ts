/**
 * Loading workflow packages, as `slotwise worker` does before its runner starts: each argument is
 * a folder holding a package.json or the name of a package installed under a `node_modules` of
 * the working directory or a parent; each manifest module is imported on the main thread and its
 * exported workflows collected. Worker threads later import each task from the module that
 * defined it (its `file:` URL, inside the package), so a package's tasks resolve their own
 * imports from the package's own `node_modules`.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Workflow, isWorkflow } from '../workflow/define-workflow.js';
import {
  DuplicateWorkflowNameError,
  PackageModuleEmptyError,
  PackageModuleImportError,
  PackageNotFoundError,
} from './errors.js';
import { type PackageManifest, readManifest, workflowModulePaths } from './manifest.js';

export interface LoadedPackage {
  readonly manifest: PackageManifest;
  /** Its workflows, in manifest order, then by export name (a module namespace lists its exports so). */
  readonly workflows: readonly Workflow[];
}

/** The folder of the package `spec` names, seen from `cwd`. */
export function findPackage(spec: string, cwd: string): string {
  const asPath = resolve(cwd, spec);
  if (existsSync(join(asPath, 'package.json'))) return asPath;
  const searched = [asPath];
  // Not a folder: the name of an installed package, found as Node would find it from `cwd`.
  if (!spec.startsWith('.') && !spec.startsWith('/')) {
    for (let dir = resolve(cwd); ; dir = dirname(dir)) {
      const candidate = join(dir, 'node_modules', spec);
      if (existsSync(join(candidate, 'package.json'))) return candidate;
      searched.push(candidate);
      if (dirname(dir) === dir) break;
    }
  }
  throw new PackageNotFoundError(spec, searched);
}

/**
 * Finds, checks and imports the packages `specs` name. Rejects with a typed error for the first
 * mistake: a package not found, an invalid manifest, a module missing, failing to import or
 * exporting no workflow, or two different workflows of one name (the same workflow exported
 * twice, or by two modules, is one workflow).
 */
export async function loadPackages(specs: readonly string[], cwd: string = process.cwd()): Promise<LoadedPackage[]> {
  const seen = new Map<string, { workflow: Workflow; place: string }>();
  const loaded: LoadedPackage[] = [];
  for (const spec of specs) {
    const manifest = readManifest(findPackage(spec, cwd));
    const paths = workflowModulePaths(manifest);
    const workflows: Workflow[] = [];
    for (const [index, path] of paths.entries()) {
      const module = manifest.workflows[index] ?? path;
      let exports: Record<string, unknown>;
      try {
        exports = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
      } catch (error) {
        throw new PackageModuleImportError(manifest.dir, module, error);
      }
      const found = Object.entries(exports).filter((entry): entry is [string, Workflow] => isWorkflow(entry[1]));
      if (found.length === 0) throw new PackageModuleEmptyError(manifest.dir, module, Object.keys(exports));
      for (const [exportName, workflow] of found) {
        const place = `${manifest.name} ${module}#${exportName}`;
        const known = seen.get(workflow.name);
        if (known !== undefined && known.workflow !== workflow) {
          throw new DuplicateWorkflowNameError(workflow.name, [known.place, place]);
        }
        if (known !== undefined) continue;
        seen.set(workflow.name, { workflow, place });
        workflows.push(workflow);
      }
    }
    loaded.push({ manifest, workflows });
  }
  return loaded;
}
