import fc from 'fast-check';
import type { Executor } from '../src/index.js';
import { createExecutor } from './helpers.js';
import { type Coverage, type ExecutorConfig, program, runProgram } from './support/executor-programs.js';

/** Programs per `npm test` run; `npm run soak` runs them for minutes. */
const PROGRAMS = 1_000;

describe('executor properties (fast-check)', function () {
  it(`keeps every invariant over ${String(PROGRAMS)} random programs of returns, throws, polled, promise and signal waits, timeouts, aborts and dying threads`, async function () {
    this.timeout(180_000); // about 20 s here; a shrinking failure takes longer
    // One executor per configuration, reused by every program that draws it (and checked,
    // closed, after the test by the helpers: nothing parked, every slot back).
    const executors = new Map<string, Executor>();
    const executorFor = (config: ExecutorConfig): Executor => {
      const key = `${String(config.threads)}/${String(config.maxConcurrentTasks)}`;
      let executor = executors.get(key);
      if (executor === undefined) {
        executor = createExecutor(config);
        executors.set(key, executor);
      }
      return executor;
    };
    const coverage: Coverage = new Map();
    await fc.assert(
      fc.asyncProperty(program, (p) => runProgram(executorFor(p.config), p, coverage)),
      { numRuns: PROGRAMS },
    );
  });
});
