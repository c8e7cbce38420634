/**
 * Errors of loading a workflow package (`slotwise worker`, `slotwise pack`, `loadPackages`): one
 * class per mistake, each naming the package, the manifest field or module at fault, and what
 * was found there. Every one is raised before a runner starts, so nothing is claimed.
 */
import { ErrorCode, SlotwiseError, describeValue, messageOf } from '../errors.js';

/** What was given in the command line or the call: a folder, or the name of an installed package. */
export class PackageNotFoundError extends SlotwiseError {
  readonly given: string;
  /** Where it was looked for. */
  readonly searched: readonly string[];

  constructor(given: string, searched: readonly string[], options?: { cause?: unknown }) {
    super(
      ErrorCode.PackageNotFound,
      `No workflow package \`${given}\`: no package.json in ${searched.map((p) => `\`${p}\``).join(', ')}. ` +
        'Give a folder holding a package.json, or the name of a package installed under node_modules',
      options,
    );
    this.given = given;
    this.searched = searched;
  }
}

/** The package's `package.json` or its `slotwise` field is not a valid manifest. */
export class ManifestInvalidError extends SlotwiseError {
  /** The package's folder. */
  readonly packageDir: string;
  /** The field at fault, e.g. `slotwise.workflows[1]`. */
  readonly field: string;
  readonly value: unknown;

  constructor(packageDir: string, field: string, expected: string, value: unknown, options?: { cause?: unknown }) {
    super(
      ErrorCode.ManifestInvalid,
      `Invalid manifest in \`${packageDir}/package.json\`: expected \`${field}\` to be ${expected}, got ${shown(value)}`,
      options,
    );
    this.packageDir = packageDir;
    this.field = field;
    this.value = value;
  }
}

/** The manifest declares a `manifestVersion` this slotwise does not know (written for a newer one). */
export class ManifestVersionUnsupportedError extends SlotwiseError {
  readonly packageDir: string;
  readonly manifestVersion: number;
  readonly supported: readonly number[];

  constructor(packageDir: string, manifestVersion: number, supported: readonly number[]) {
    super(
      ErrorCode.ManifestVersionUnsupported,
      `The manifest of \`${packageDir}\` has \`slotwise.manifestVersion\` ${String(manifestVersion)}; this slotwise ` +
        `reads ${supported.join(', ')}: upgrade slotwise, or package the workflows for this version`,
    );
    this.packageDir = packageDir;
    this.manifestVersion = manifestVersion;
    this.supported = supported;
  }
}

/** A module the manifest lists is not there (often: the package was not built). */
export class PackageModuleNotFoundError extends SlotwiseError {
  readonly packageDir: string;
  /** The entry as the manifest gives it. */
  readonly module: string;
  readonly path: string;

  constructor(packageDir: string, module: string, path: string) {
    super(
      ErrorCode.PackageModuleNotFound,
      `Workflow module \`${module}\` of \`${packageDir}\` does not exist (looked for \`${path}\`): ` +
        'build the package (`npm run build`), or fix `slotwise.workflows`',
    );
    this.packageDir = packageDir;
    this.module = module;
    this.path = path;
  }
}

/** Importing a module the manifest lists threw (its `cause`): a syntax error, a missing import, a throw at load. */
export class PackageModuleImportError extends SlotwiseError {
  readonly packageDir: string;
  readonly module: string;

  constructor(packageDir: string, module: string, cause: unknown) {
    super(
      ErrorCode.PackageModuleImportFailed,
      `Workflow module \`${module}\` of \`${packageDir}\` failed to load: ${messageOf(cause)}`,
      { cause },
    );
    this.packageDir = packageDir;
    this.module = module;
  }
}

/** A module the manifest lists exports no workflow (a `defineWorkflow` result). */
export class PackageModuleEmptyError extends SlotwiseError {
  readonly packageDir: string;
  readonly module: string;
  /** The names it does export. */
  readonly exportNames: readonly string[];

  constructor(packageDir: string, module: string, exportNames: readonly string[]) {
    super(
      ErrorCode.PackageModuleEmpty,
      `Workflow module \`${module}\` of \`${packageDir}\` exports no workflow (its exports: ${
        exportNames.length === 0 ? 'none' : exportNames.map((n) => `\`${n}\``).join(', ')
      }): export the results of defineWorkflow()`,
    );
    this.packageDir = packageDir;
    this.module = module;
    this.exportNames = exportNames;
  }
}

/** Two different workflows share a name (in one package or across the packages loaded together). */
export class DuplicateWorkflowNameError extends SlotwiseError {
  readonly workflowName: string;
  /** Where each was exported: `package module#export`. */
  readonly places: readonly [string, string];

  constructor(workflowName: string, places: readonly [string, string]) {
    super(
      ErrorCode.DuplicateWorkflowName,
      `Two workflows are named \`${workflowName}\`: ${places[0]} and ${places[1]}. A runner stores executions ` +
        'by workflow name, so each name must be one workflow: rename one',
    );
    this.workflowName = workflowName;
    this.places = places;
  }
}

/** A manifest value as a message shows it: JSON for arrays and objects (they are JSON), cut at 80 characters. */
function shown(value: unknown): string {
  if (typeof value !== 'object' || value === null) return describeValue(value);
  const json = JSON.stringify(value);
  return `\`${json.length > 80 ? `${json.slice(0, 77)}...` : json}\` (${Array.isArray(value) ? 'array' : 'object'})`;
}
