// `slotwise worker <package-or-folder>...`: a Runner for the packages' workflows until SIGTERM
// or SIGINT. The first signal stops it gracefully (stop claiming, let running tasks finish within
// --shutdown-timeout, then abort them and hand their claims back) and it exits 0; a second signal
// exits at once (128 + the signal's number, as a shell reports it). Start-up failures (a package
// that does not load, a port in use, an unreachable database) exit 1 before anything is claimed.
import type { LimitsOption } from '../slots/needs.js';
import { validateSchema } from '../store/database.js';
import { type LogFormat, lineLogger } from '../service/log-lines.js';
import { Worker } from '../service/worker.js';
import { databaseUrl, hidePassword } from './database.js';
import { CliError, messageWithCode } from './errors.js';

export interface WorkerFlags {
  readonly database?: string;
  readonly schema: string;
  readonly threads?: number;
  readonly slots?: number;
  readonly limits?: LimitsOption;
  readonly lease?: number;
  readonly heartbeatInterval?: number;
  readonly pollInterval?: number;
  readonly metricsPort?: number;
  readonly metricsHost: string;
  readonly metricsKeys?: boolean;
  readonly logFormat: LogFormat;
  readonly shutdownTimeout: number;
}

const SIGNAL_NUMBERS = { SIGINT: 2, SIGTERM: 15 } as const;

/**
 * `--limits` as `name=max,name=max` or as the Runner's JSON (`{"gpu":2,"api":{"max":8,"includeDeferred":true}}`);
 * commander calls it with the flag's text. Values are checked by the runner's own rules later.
 */
export function parseLimits(text: string): LimitsOption {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    try {
      return JSON.parse(trimmed) as LimitsOption;
    } catch (error) {
      throw new Error(`expected JSON limits such as {"gpu":2}: ${(error as Error).message}`);
    }
  }
  const limits: Record<string, number> = Object.create(null) as Record<string, number>; // `__proto__=2` is a name too
  for (const pair of trimmed.split(',')) {
    const match = /^\s*([^=\s]+)\s*=\s*(\d+)\s*$/.exec(pair);
    if (match === null) throw new Error(`expected name=max pairs such as gpu=2,api=8, got ${JSON.stringify(pair)}`);
    limits[match[1] ?? ''] = Number(match[2]);
  }
  return limits;
}

export async function workerCommand(packages: string[], flags: WorkerFlags): Promise<void> {
  const database = databaseUrl(flags, 'worker');
  let schema: string;
  try {
    schema = validateSchema(flags.schema);
  } catch (error) {
    throw new CliError(`slotwise worker: ${(error as Error).message}`, 2);
  }
  const log = lineLogger(flags.logFormat);
  const worker = new Worker({
    packages,
    database,
    schema,
    metrics:
      flags.metricsPort === undefined
        ? null
        : { port: flags.metricsPort, host: flags.metricsHost, keys: flags.metricsKeys === true },
    shutdownTimeoutMs: flags.shutdownTimeout,
    log,
    ...(flags.threads === undefined ? {} : { threads: flags.threads }),
    ...(flags.slots === undefined ? {} : { slots: flags.slots }),
    ...(flags.limits === undefined ? {} : { limits: flags.limits }),
    ...(flags.lease === undefined ? {} : { leaseMs: flags.lease }),
    ...(flags.heartbeatInterval === undefined ? {} : { heartbeatIntervalMs: flags.heartbeatInterval }),
    ...(flags.pollInterval === undefined ? {} : { pollIntervalMs: flags.pollInterval }),
  });
  let stopped: Promise<void> | null = null;
  let signalled = (): void => undefined;
  const signal = new Promise<void>((resolve) => (signalled = resolve));
  const onSignal = (name: keyof typeof SIGNAL_NUMBERS): void => {
    if (stopped === null) {
      log.info('signal received: stopping', { signal: name });
      stopped = worker.stop();
      signalled();
      return;
    }
    log.warn('second signal: exiting now', { signal: name });
    process.exit(128 + SIGNAL_NUMBERS[name]);
  };
  const listeners = Object.keys(SIGNAL_NUMBERS).map((name) => {
    const listener = (): void => onSignal(name as keyof typeof SIGNAL_NUMBERS);
    process.on(name, listener);
    return [name, listener] as const;
  });
  try {
    try {
      await worker.start();
    } catch (error) {
      await worker.stop().catch(() => undefined); // (the start's error is the one to tell)
      throw new CliError(`slotwise worker: ${startFailure(error, flags.metricsHost, database)}`, 1);
    }
    await signal;
    await worker.stop(); // the stop the signal began: stop() returns the same promise each time
  } finally {
    for (const [name, listener] of listeners) process.off(name, listener);
  }
}

/** The one line a failed start prints: a taken port said plainly, a library error as its message. */
function startFailure(error: unknown, host: string, database: string): string {
  const code = (error as { code?: unknown }).code;
  const port = (error as { port?: unknown }).port;
  if (code === 'EADDRINUSE' || code === 'EACCES') {
    const why = code === 'EADDRINUSE' ? 'is in use' : 'may not be bound by this user';
    return `metrics port ${host}:${String(port)} ${why}: pick another --metrics-port (0 picks a free one)`;
  }
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') {
    return `cannot bind ${host}:${String(port)}: no such address on this machine (see --metrics-host)`;
  }
  return hidePassword(messageWithCode(error), database);
}
