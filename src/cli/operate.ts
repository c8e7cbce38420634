// `slotwise cancel|pause|resume <id>`: operates one workflow execution in a schema, as
// `runner.cancel/pause/resume` do (the runners holding its tasks are told by NOTIFY).
import { isUuid } from '../executor/execution-id.js';
import { WorkflowCancelledError } from '../errors.js';
import { storedError } from '../runner/result.js';
import { ControlStore, type ControlResult } from '../store/control.js';
import { type DatabaseFlags, openFromFlags } from './database.js';
import { CliError } from './errors.js';

export interface OperateFlags extends DatabaseFlags {
  readonly reason?: string;
  readonly json?: boolean;
}

const DONE = { cancel: 'cancelled', pause: 'paused', resume: 'resumed' } as const;

export async function operateCommand(
  command: 'cancel' | 'pause' | 'resume',
  id: string,
  flags: OperateFlags,
): Promise<void> {
  const { database, schema } = await openFromFlags(flags, command);
  try {
    const control = new ControlStore(database.knex, schema, true);
    const notifier = `slotwise-${command}`;
    let outcome: ControlResult = { kind: 'not-found' };
    if (isUuid(id)) {
      if (command === 'cancel') {
        const reason = flags.reason ?? null;
        const error = new WorkflowCancelledError(id, reason);
        outcome = await control.cancel(id, { ...storedError(error), reason }, notifier);
      } else {
        outcome = command === 'pause' ? await control.pause(id) : await control.resume(id, notifier);
      }
    }
    if (outcome.kind === 'not-found')
      throw new CliError(`slotwise ${command}: no workflow execution ${id} in schema ${schema}`, 1);
    // Cancelling what has ended changes nothing and is no failure; pausing or resuming it is.
    if (outcome.kind === 'ended' && command !== 'cancel') {
      throw new CliError(`slotwise ${command}: workflow execution ${id} has ended (${outcome.status})`, 1);
    }
    const changed = outcome.kind === 'done' && outcome.changed;
    const text =
      outcome.kind === 'ended'
        ? `${id} had ended already (${outcome.status}): nothing to cancel`
        : `${id} ${changed ? DONE[command] : `was ${command === 'resume' ? 'not paused' : `${DONE[command]} already`}`}`;
    process.stdout.write(flags.json === true ? `${JSON.stringify({ id, [DONE[command]]: changed })}\n` : `${text}\n`);
  } finally {
    await database.close();
  }
}
