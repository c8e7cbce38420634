/**
 * Baselines that are development dependencies of slotwise, not dependencies: a suite that
 * compares against one runs only where it is installed (a clone of the repository, or a
 * project that added it). Elsewhere the suite, or its part, is skipped with a line that says
 * what to install.
 */

/** graphile-worker, the job queue the scale and resume suites compare against. */
export const GRAPHILE_WORKER = 'graphile-worker';

/** True when `name` can be imported from the benchmarks. */
export function installed(name: string): boolean {
  try {
    import.meta.resolve(name);
    return true;
  } catch {
    return false;
  }
}

/** A suite cannot run here: it needs a baseline that is not installed. */
export class SuiteSkipped extends Error {
  constructor(suite: string, baseline: string) {
    super(`${suite}: skipped, it compares against ${baseline}; install ${baseline}@0.16.6 beside slotwise to run it`);
    this.name = 'SuiteSkipped';
  }
}
