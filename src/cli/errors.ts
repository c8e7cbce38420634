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
