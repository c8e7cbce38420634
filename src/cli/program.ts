// The commands and their flags (commander). Usage errors (a bad flag, an unknown command or
// suite) print the message and the usage on stderr and throw a CommanderError with exit code 2.
import { Argument, Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_JSON_DIR, benchCommand } from './bench.js';
import { demoCommand } from './demo.js';
import { migrateCommand } from './migrate.js';
import { statusCommand } from './status.js';
import { operateCommand } from './operate.js';
import { listCommand, parseDuration, pruneCommand, schedulesCommand } from './history.js';
import { CliError } from './errors.js';
import { SUITE_NAMES } from './suites.js';

const DEFAULT_SCHEMA = 'slotwise';
const DEFAULT_LIMIT = 20;

function duration(value: string): number {
  try {
    return parseDuration(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number >= 1');
  return n;
}

/** A command's action whose usage errors (CliError with exit code 2) print that command's usage. */
function action<A extends unknown[]>(run: (...args: A) => Promise<void>) {
  return async function (this: Command, ...args: A): Promise<void> {
    try {
      await run(...args);
    } catch (error) {
      if (error instanceof CliError && error.exitCode === 2) this.error(error.message, { exitCode: 2 });
      throw error;
    }
  };
}

const databaseOption = (): Option =>
  new Option('--database <url>', 'PostgreSQL connection string (default: $DATABASE_URL)');
const schemaOption = (): Option =>
  new Option('--schema <name>', "slotwise's schema in that database").default(DEFAULT_SCHEMA);

/** Builds the `slotwise` program; `setExitCode` receives the outcome of a command that ran. */
export function buildProgram(setExitCode: (code: number) => void): Command {
  const program = new Command('slotwise')
    .description('Benchmarks, the demo, and the state of workflows in a slotwise database.')
    .exitOverride((error) => {
      throw error.exitCode === 0 ? error : new CommanderError(2, error.code, error.message);
    })
    .showHelpAfterError()
    .allowExcessArguments(false);

  program
    .command('migrate')
    .description("Apply slotwise's migrations to a schema (or list applied and pending ones).")
    .addOption(databaseOption())
    .addOption(schemaOption())
    .option('--status', 'list applied and pending migrations; change nothing')
    .action(action(migrateCommand));

  program
    .command('status')
    .description('Show the newest workflow executions in a schema and their tasks.')
    .addOption(databaseOption())
    .addOption(schemaOption())
    .option('--workflow <id>', 'only this workflow execution')
    .addOption(
      new Option('--limit <n>', 'at most this many workflow executions')
        .argParser(positiveInteger)
        .default(DEFAULT_LIMIT),
    )
    .addOption(new Option('--json', 'print one JSON document').conflicts('watch'))
    .option('--watch', 'redraw every second until Ctrl-C')
    .action(action(statusCommand));

  for (const [name, description] of [
    ['cancel', 'Cancel a workflow execution: its queued tasks are skipped, its running ones aborted.'],
    ['pause', 'Pause a workflow execution: it starts no new task until resumed.'],
    ['resume', 'Resume a paused workflow execution.'],
  ] as const) {
    const command = program
      .command(name)
      .description(description)
      .argument('<id>', 'the workflow execution id')
      .addOption(databaseOption())
      .addOption(schemaOption())
      .option('--json', 'print one JSON line');
    if (name === 'cancel') command.option('--reason <text>', 'why: stored with the execution and given to its tasks');
    command.action(
      action((id: string, flags: Parameters<typeof operateCommand>[2]) => operateCommand(name, id, flags)),
    );
  }

  program
    .command('list')
    .description('List workflow executions, newest first, a page at a time.')
    .addOption(databaseOption())
    .addOption(schemaOption())
    .option('--status <status>', 'only executions in this state (Running, Completed, Failed, Cancelled)')
    .option('--workflow <name>', 'only executions of this workflow')
    .addOption(
      new Option('--limit <n>', 'at most this many (up to 1000)').argParser(positiveInteger).default(DEFAULT_LIMIT),
    )
    .option('--after <cursor>', 'the page after this cursor (printed at the end of a full page)')
    .option('--json', 'print one JSON document: { executions, next }')
    .action(action(listCommand));

  program
    .command('prune')
    .description('Delete finished workflow executions (with their tasks, events and signals) older than a duration.')
    .addOption(databaseOption())
    .addOption(schemaOption())
    .addOption(
      new Option('--older-than <duration>', 'ended longer ago than this: 500ms, 30s, 15m, 12h, 7d')
        .argParser(duration)
        .makeOptionMandatory(),
    )
    .option('--status <status...>', 'only executions that ended so (Completed, Failed, Cancelled)')
    .option('--json', 'print one JSON line: { pruned }')
    .action(action(pruneCommand));

  program
    .command('schedules')
    .description('List the cron schedules in a schema, with their next and last ticks.')
    .addOption(databaseOption())
    .addOption(schemaOption())
    .option('--json', 'print one JSON document: { schedules }')
    .action(action(schedulesCommand));

  program
    .command('bench')
    .description('Run benchmark suites (all when none is named), print their tables, write their JSON results.')
    .addArgument(new Argument('[suite...]', 'suites to run').choices(SUITE_NAMES))
    .option('--json-dir <dir>', `write each JSON result into this folder (default: ./${DEFAULT_JSON_DIR})`)
    .option('--report <file>', 'then write a self-contained HTML report of every saved result')
    .option('--compare <path>', 'show each figure beside an earlier run (a result JSON, or a folder of them)')
    .addOption(new Option('--database <url>', 'PostgreSQL for the persist and scale suites (default: $DATABASE_URL)'))
    .action(action(benchCommand));

  program
    .command('demo')
    .description('Run the demo: deferred tasks give their slots back while CPU work uses them.')
    .action(async () => setExitCode(await demoCommand()));

  return program;
}
