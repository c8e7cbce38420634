import { SlotwiseError } from '../errors.js';

/** A failure the command reports in one line and ends with `exitCode` (1: it failed, 2: bad usage). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** An error as a command's one line says it: a slotwise error with its stable code first. */
export function messageWithCode(error: unknown): string {
  if (error instanceof SlotwiseError) return `${error.code}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}
