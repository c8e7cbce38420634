// The commands and their flags (commander). Usage errors (a bad flag, an unknown command or
// suite) print the message and the usage on stderr and throw a CommanderError with exit code 2.
import { readFileSync } from 'node:fs';
import { Argument, Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_JSON_DIR, benchCommand } from './bench.js';
import { demoCommand } from './demo.js';
import { migrateCommand } from './migrate.js';
import { statusCommand } from './status.js';
import { operateCommand } from './operate.js';
import { listCommand, parseDuration, pruneCommand, schedulesCommand } from './history.js';
import { CliError } from './errors.js';
import { SUITE_NAMES } from './suites.js';
import { parseLimits, workerCommand } from './worker.js';
import { startCommand } from './start.js';
import { packCommand } from './pack.js';
import { dashboardCommand } from './dashboard.js';
import { LOG_FORMATS } from '../service/log-lines.js';

const DEFAULT_SCHEMA = 'slotwise';

/** This package's version (package.json is at the root, three folders up from dist/src/cli/). */
function version(): string {
  const file = new URL('../../../package.json', import.meta.url);
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}
const DEFAULT_LIMIT = 20;

function duration(value: string): number {
  try {
    return parseDuration(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

/** A flag's parser from one that throws plain errors (their message becomes commander's usage error). */
function parsed<T>(parse: (value: string) => T): (value: string) => T {
  return (value) => {
    try {
      return parse(value);
    } catch (error) {
      throw new InvalidArgumentError((error as Error).message);
    }
  };
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) throw new InvalidArgumentError('expected a port, 0 to 65535');
  return n;
}

function integer(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError('expected a whole number');
  return n;
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
    .description(
      'Run packaged workflows as workers, start, watch and operate their executions, see them in a dashboard; benchmarks and the demo.',
    )
    .version(version(), '-V, --version', 'print the version of slotwise')
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
    .command('dashboard')
    .description(
      'Serve a read-only web dashboard of a schema until SIGTERM/SIGINT: executions, their DAGs and timelines, runners, schedules.',
    )
    .addOption(databaseOption())
    .addOption(schemaOption())
    .addOption(new Option('--port <port>', 'the port to serve on (0: any free one)').argParser(port).default(4280))
    .addOption(new Option('--host <host>', 'the address to bind').default('127.0.0.1'))
    .action(action(dashboardCommand));

  program
    .command('worker')
    .description(
      'Run the workflows of packages until SIGTERM/SIGINT: a runner on the schema, with a log and, with --metrics-port, /metrics and /healthz.',
    )
    .argument('<package...>', 'package folders, or names of packages installed under node_modules')
    .addOption(databaseOption())
    .addOption(schemaOption())
    .addOption(new Option('--threads <n>', 'worker threads (default: the cores)').argParser(positiveInteger))
    .addOption(new Option('--slots <n>', 'tasks active at once (default: --threads)').argParser(positiveInteger))
    .addOption(
      new Option('--limits <limits>', 'named limits held across runners: gpu=2,api=8 or JSON {"gpu":2}').argParser(
        parsed(parseLimits),
      ),
    )
    .addOption(
      new Option(
        '--lease <duration>',
        'how long a silent worker keeps its tasks before others take them (default: twice --heartbeat-interval)',
      ).argParser(duration),
    )
    .addOption(
      new Option('--heartbeat-interval <duration>', 'how often the lease is renewed (default: 5s)').argParser(duration),
    )
    .addOption(
      new Option('--poll-interval <duration>', 'how often an idle worker looks for due work (default: 1s)').argParser(
        duration,
      ),
    )
    .addOption(
      new Option('--metrics-port <port>', 'serve /metrics and /healthz on this port (0: any free one)').argParser(port),
    )
    .addOption(new Option('--metrics-host <host>', 'the address the metrics port binds').default('127.0.0.1'))
    .option('--metrics-keys', 'also a series per concurrency key in use (slotwise_key_units): not for many keys')
    .addOption(new Option('--log-format <format>', 'log lines as text or JSON').choices(LOG_FORMATS).default('text'))
    .addOption(
      new Option(
        '--shutdown-timeout <duration>',
        'on a signal, how long running tasks may finish before they are handed back',
      )
        .argParser(duration)
        .default(30_000, '30s'),
    )
    .action(action(workerCommand));

  program
    .command('start')
    .description(
      "Start an execution of a package's workflow and print its id; the schema's workers run it. Migrates the schema if need be.",
    )
    .argument('<workflow>', 'the workflow name')
    .addOption(
      new Option(
        '--package <package...>',
        'package folders or installed names holding the workflow',
      ).makeOptionMandatory(),
    )
    .addOption(databaseOption())
    .addOption(schemaOption())
    .option('--input <json>', 'the workflow input, a JSON object (default: {})')
    .option('--idempotency-key <key>', 'start at most once per key: a second start prints the first id')
    .addOption(new Option('--priority <n>', 'claimed before lower priorities (default: 0)').argParser(integer))
    .option('--json', 'print one JSON line: { id, created, workflow }')
    .action(action(startCommand));

  program
    .command('pack')
    .description(
      "Check a workflow package's manifest, build it (its build script), load its workflows, and write its tarball with npm.",
    )
    .argument('[folder]', 'the package folder (default: .)')
    .option('--out <dir>', 'where the tarball goes (default: the package folder)')
    .option('--json', 'print one JSON line: { tarball, name, version, workflows }')
    .action(action(packCommand));

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
