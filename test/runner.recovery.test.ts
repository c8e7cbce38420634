import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import knexModule from 'knex';
import { Runner } from '../src/index.js';
import { TEST_DATABASE_URL, backends, dropSchema, freshSchema } from './db.js';
import { deferredPipeline } from './fixtures/runner-tasks.js';

const child = fileURLToPath(new URL('./fixtures/recovery-child.js', import.meta.url));
const hasPostgres = (await backends()).some((b) => b.name === 'postgres');

/** Starts the child runner and resolves with the id of its workflow once its task is Deferred. */
function startChild(
  schema: string,
  flagFile: string,
  counterFile: string,
): Promise<{ id: string; kill: () => Promise<void> }> {
  const process_ = spawn(process.execPath, [child, TEST_DATABASE_URL, schema, flagFile, counterFile], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => process_.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    let out = '';
    process_.once('exit', (code) => reject(new Error(`the child runner exited early (${String(code)})`)));
    process_.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /deferred (\S+)\n/.exec(out);
      if (match?.[1] !== undefined) {
        resolve({
          id: match[1],
          kill: async () => {
            process_.kill('SIGKILL');
            await exited;
          },
        });
      }
    });
  });
}

/**
 * Crashes a child runner mid-deferral, then runs `check` against a fresh runner on the same
 * schema; cleans up after, keeping the schema if the check failed.
 */
async function afterCrash(
  options: { maxRecoveryAttempts?: number; beforeRecovery?: (flagFile: string) => void },
  check: (runner: Runner, id: string) => Promise<void>,
): Promise<void> {
  const schema = freshSchema('recovery');
  const dir = mkdtempSync(joinPath(tmpdir(), 'slotwise-'));
  const flagFile = joinPath(dir, 'flag');
  const { id, kill } = await startChild(schema, flagFile, joinPath(dir, 'counter'));
  await kill();
  const runner = new Runner({
    database: TEST_DATABASE_URL,
    schema,
    threads: 1,
    workflows: [deferredPipeline],
    heartbeatIntervalMs: 100, // sweeps soon after the killed runner's 200 ms lease expires
    ...(options.maxRecoveryAttempts === undefined ? {} : { maxRecoveryAttempts: options.maxRecoveryAttempts }),
  });
  let passed = false;
  try {
    options.beforeRecovery?.(flagFile);
    await check(runner, id);
    passed = true;
  } finally {
    await runner.close();
    rmSync(dir, { recursive: true, force: true });
    const knex = knexModule.knex({ client: 'pg', connection: TEST_DATABASE_URL });
    await dropSchema(knex, schema, passed);
    await knex.destroy();
  }
}

if (hasPostgres) {
  describe('Runner recovery after a crash (postgres)', function () {
    it('a new runner completes the workflow of a runner killed with SIGKILL mid-deferral', async () => {
      await afterCrash(
        { beforeRecovery: (flagFile) => writeFileSync(flagFile, 'after the crash') },
        async (runner, id) => {
          const result = await runner.wait(id);
          expect(result.status).to.equal('Completed');
          expect(result.tasks[0]).to.include({
            taskId: 'wait_for_data',
            status: 'Completed',
            recoveryAttempts: 1,
            attempts: 2,
          });
          expect(result.output).to.deep.include({ processed: 'AFTER THE CRASH' });
        },
      );
    });

    it('marks a task Failed ("abandoned") once its recoveries are spent, and skips its dependents', async () => {
      await afterCrash({ maxRecoveryAttempts: 0 }, async (runner, id) => {
        const result = await runner.wait(id);
        expect(result.status).to.equal('Failed');
        expect(result.tasks.map((t) => [t.taskId, t.status])).to.deep.equal([
          ['wait_for_data', 'Failed'],
          ['process_data', 'Skipped'],
        ]);
        expect(result.tasks[0]?.error).to.deep.include({ code: 'SLOTWISE_TASK_ABANDONED', message: 'abandoned' });
      });
    });
  });
}
