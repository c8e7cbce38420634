/**
 * The worker's log: one line per notable event, on stdout, as text
 * (`2026-12-02T10:00:00.000Z info  worker ready runner=… slots=4`) or as JSON lines
 * (`{"time":"…","level":"info","msg":"worker ready","runner":"…","slots":4}`) for a log shipper.
 * It is also a slotwise {@link Logger}, so the runner's own warnings land in the same stream.
 */
import type { Logger } from '../logger.js';

export type LogFormat = 'text' | 'json';
export const LOG_FORMATS: readonly LogFormat[] = ['text', 'json'];

export type Level = 'info' | 'warn' | 'error';

const LINE_KEYS = new Set(['time', 'level', 'msg']);

export interface LineLogger extends Logger {
  info(message: string, details?: Record<string, unknown>): void;
}

/** A logger writing lines in `format` to `write` (default: stdout). */
export function lineLogger(
  format: LogFormat,
  write: (line: string) => void = (line) => process.stdout.write(line),
  now: () => Date = () => new Date(),
): LineLogger {
  const emit = (level: Level, message: string, details: Record<string, unknown> = {}): void => {
    const time = now().toISOString();
    if (format === 'json') {
      // The line's own keys come first and stay its own: a detail of one of those names is dropped.
      const fields = Object.entries(plain(details)).filter(([key]) => !LINE_KEYS.has(key));
      write(`${JSON.stringify({ time, level, msg: message, ...Object.fromEntries(fields) })}\n`);
      return;
    }
    const fields = Object.entries(details).map(([key, value]) => ` ${key}=${textValue(value)}`);
    // One event, one line: a message with a stack (knex's warnings carry one) keeps its first line.
    write(`${time} ${level.padEnd(5)} ${message.split('\n', 1)[0] ?? ''}${fields.join('')}\n`);
  };
  return {
    info: (message, details) => emit('info', message, details),
    warn: (message, details) => emit('warn', message, details),
    error: (message, details) => emit('error', message, details),
  };
}

/** Details with errors turned into what a line can carry (their code and message). */
function plain(details: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(details)) {
    out[key] =
      value instanceof Error
        ? { name: value.name, message: value.message, ...('code' in value ? { code: value.code } : {}) }
        : value;
  }
  return out;
}

/** A value in a text line (an error as `code: message`): bare when it has no space or quote, else JSON-quoted. */
function textValue(value: unknown): string {
  const text =
    typeof value === 'string'
      ? value
      : value instanceof Error
        ? `${'code' in value ? String(value.code) : value.name}: ${value.message}`
        : JSON.stringify(value);
  return /^[^\s"=]*$/.test(text) ? text : JSON.stringify(text);
}
