// A runner child process of the multi-process tests, and the lines it prints.
import { type ChildProcess, spawn } from 'node:child_process';

/** A runner child process and the lines it printed. */
export class ChildRunner {
  readonly process: ChildProcess;
  readonly lines: string[] = [];
  readonly exited: Promise<void>;
  #exitCode: number | null | undefined = undefined;
  readonly #waiters: {
    match: (line: string) => boolean;
    resolve: (line: string) => void;
    reject: (e: Error) => void;
  }[] = [];

  /** What it wrote to stderr, when made with `captureStderr` (else stderr is the test's). */
  stderr = '';

  /**
   * Runs `script` with `args` under Node, with `SCALE_RUNNER` (its name) in its environment,
   * and stderr the test's own unless `captureStderr` (to check what a failing child says).
   */
  constructor(
    readonly name: string,
    script: string,
    args: readonly string[],
    options: { readonly captureStderr?: boolean } = {},
  ) {
    this.process = spawn(process.execPath, [script, ...args], {
      env: { ...process.env, SCALE_RUNNER: name },
      stdio: ['pipe', 'pipe', options.captureStderr === true ? 'pipe' : 'inherit'],
    });
    this.process.stderr?.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    let pending = '';
    this.process.stdout?.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) this.#onLine(line);
    });
    this.exited = new Promise((resolve) =>
      this.process.once('exit', (code) => {
        this.#exitCode = code;
        for (const waiter of this.#waiters.splice(0)) {
          waiter.reject(new Error(`runner ${name} exited (${String(code)}) before printing the line awaited`));
        }
        resolve();
      }),
    );
  }

  /** Its exit code once it has exited (null when a signal ended it), undefined before. */
  get exitCode(): number | null | undefined {
    return this.#exitCode;
  }

  /** The first line, printed already or to come, that `match`es; rejects if the child exits first. */
  line(match: (line: string) => boolean): Promise<string> {
    const found = this.lines.find(match);
    if (found !== undefined) return Promise.resolve(found);
    if (this.#exitCode !== undefined) return Promise.reject(new Error(`runner ${this.name} has exited`));
    return new Promise((resolve, reject) => this.#waiters.push({ match, resolve, reject }));
  }

  send(line: string): void {
    this.process.stdin?.write(`${line}\n`);
  }

  async kill(): Promise<void> {
    if (this.#exitCode === undefined) this.process.kill('SIGKILL');
    await this.exited;
  }

  #onLine(line: string): void {
    this.lines.push(line);
    for (const waiter of [...this.#waiters]) {
      if (!waiter.match(line)) continue;
      this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
      waiter.resolve(line);
    }
  }
}

/** A line matcher that matches the `n`-th line `match` matches (each line is offered once, in order). */
export function nth(n: number, match: (line: string) => boolean): (line: string) => boolean {
  let seen = 0;
  return (line) => match(line) && ++seen === n;
}
