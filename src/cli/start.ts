// `slotwise start <workflow> --package <spec>...`: starts one execution of a packaged workflow
// and prints its id, without running anything here: the workers of the schema pick it up (woken
// by NOTIFY). The package is loaded for the workflow's definition (its tasks, dependencies and
// needs), which the execution's rows are planned from, as `runner.start` plans them.
import { SlotwiseError } from '../errors.js';
import { loadPackages } from '../package/loader.js';
import { keyOf } from '../slots/needs.js';
import { checkStartOptions } from '../runner/start-needs.js';
import { Transitions, planExecutions } from '../runner/transitions.js';
import { migrate } from '../store/migrate.js';
import { Store } from '../store/store.js';
import { assertStorable } from '../workflow/context.js';
import { type DatabaseFlags, hidePassword, openFromFlags } from './database.js';
import { CliError, messageWithCode } from './errors.js';

export interface StartFlags extends DatabaseFlags {
  readonly package: string[];
  readonly input?: string;
  readonly idempotencyKey?: string;
  readonly priority?: number;
  readonly json?: boolean;
}

/** Identifies this command's `NOTIFY`s (runners ignore only their own). */
const NOTIFIER = 'slotwise-start';

export async function startCommand(name: string, flags: StartFlags): Promise<void> {
  const usage = (message: string): CliError => new CliError(`slotwise start: ${message}`, 2);
  let input: Record<string, unknown> = {};
  try {
    if (flags.input !== undefined) input = JSON.parse(flags.input) as Record<string, unknown>;
  } catch (error) {
    throw usage(`--input is not JSON: ${(error as Error).message}`);
  }
  let options: ReturnType<typeof checkStartOptions>;
  try {
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      throw usage(`--input must be a JSON object, got ${JSON.stringify(input)}`);
    }
    assertStorable(input, 'input');
    options = checkStartOptions({
      ...(flags.priority === undefined ? {} : { priority: flags.priority }),
      ...(flags.idempotencyKey === undefined ? {} : { idempotencyKey: flags.idempotencyKey }),
    });
  } catch (error) {
    if (error instanceof SlotwiseError) throw usage(error.message);
    throw error;
  }
  let workflows;
  try {
    workflows = (await loadPackages(flags.package)).flatMap((p) => p.workflows);
  } catch (error) {
    throw new CliError(`slotwise start: ${messageWithCode(error)}`, 1);
  }
  const workflow = workflows.find((w) => w.name === name);
  if (workflow === undefined) {
    throw usage(
      `no workflow \`${name}\` in ${flags.package.join(', ')} (it has: ${workflows.map((w) => w.name).join(', ')})`,
    );
  }
  try {
    for (const task of workflow.tasks) keyOf(task.needs, input); // a key its function cannot make from this input
  } catch (error) {
    if (error instanceof SlotwiseError) throw usage(error.message);
    throw error;
  }
  const { database, schema, url } = await openFromFlags(flags, 'start');
  try {
    await migrate(database.knex, schema);
    const transitions = new Transitions(new Store(database.knex, schema, true), {
      maxRecoveryAttempts: 0, // (recovery is the runners' business)
      notifier: NOTIFIER,
    });
    const [started] = await transitions.writeExecutions(planExecutions([{ workflow, input, ...options }]));
    if (started === undefined) throw new Error('the start wrote no execution');
    if (flags.json === true) {
      process.stdout.write(`${JSON.stringify({ id: started.id, created: started.created, workflow: name })}\n`);
    } else {
      process.stdout.write(`${started.id}${started.created ? '' : ' (started before with this idempotency key)'}\n`);
    }
  } catch (error) {
    throw new CliError(`slotwise start: ${hidePassword(messageWithCode(error), url)}`, 1);
  } finally {
    await database.close();
  }
}
