#!/usr/bin/env node
// The `slotwise` command (package.json `bin`). Exit codes: 0 done, 1 failed (e.g. an
// unreachable database), 2 bad usage (a bad flag, an unknown command or suite).
import { CommanderError } from 'commander';
import { CliError } from './errors.js';
import { buildProgram } from './program.js';

async function main(argv: readonly string[]): Promise<number> {
  let code = 0;
  const program = buildProgram((c) => {
    code = c;
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode; // commander printed it
    if (error instanceof CliError) {
      console.error(error.message);
      return error.exitCode;
    }
    console.error(error);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
