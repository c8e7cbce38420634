// `slotwise demo`: runs the compiled demo (examples/demo.ts) in a child process of its own,
// on the embedded database, its output passed through.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const DEMO = fileURLToPath(new URL('../../examples/demo.js', import.meta.url));

/** Resolves with the demo's exit code. */
export function demoCommand(): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [DEMO], { stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code) => resolve(code ?? 1));
  });
}
