/**
 * A child process of the resume suite, read line by line: `spawnLineChild` starts it with
 * arguments, `line(pattern)` resolves with the first capture of a line matching `pattern`
 * that has not been taken yet, `send` writes a line to its stdin.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface LineChild {
  line(pattern: RegExp): Promise<string[]>;
  send(line: string): void;
  stop(): Promise<void>;
}

export function spawnLineChild(script: URL, args: readonly string[]): LineChild {
  const child = spawn(process.execPath, [script.pathname, ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  const waiters: (() => void)[] = [];
  let exited = false;
  createInterface({ input: child.stdout }).on('line', (text) => {
    lines.push(text);
    for (const wake of waiters.splice(0)) wake();
  });
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      for (const wake of waiters.splice(0)) wake();
      resolve();
    }),
  );
  return {
    async line(pattern) {
      for (;;) {
        const index = lines.findIndex((l) => pattern.test(l));
        if (index >= 0) {
          const [taken = ''] = lines.splice(index, 1);
          return (pattern.exec(taken) ?? []).slice(1);
        }
        if (exited) throw new Error(`${script.pathname} exited before printing ${String(pattern)}`);
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
    },
    send(line) {
      child.stdin.write(`${line}\n`);
    },
    async stop() {
      child.kill('SIGTERM');
      await exit;
    },
  };
}
