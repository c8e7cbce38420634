// An HTTP server (node:http) that runs its CPU work on an Executor's worker threads:
//   GET /hash?rounds=N  N rounds of PBKDF2 in a task: it holds a slot while it computes.
//   GET /wait?ms=N      a task that waits for an outside event (here a timer of N ms; in real life
//                       a webhook, a message, a row in a table) in deferUntil, holding no slot,
//                       so waiting requests never keep /hash requests from the CPU.
//   GET /metrics        the executor's metrics, and the most tasks that were parked at once.
// The server's own thread only parses requests and writes replies. PORT (default 3000; 0: any
// free port). On SIGINT or SIGTERM it stops taking connections, lets the requests in flight
// finish, then closes the executor.
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Executor } from '../../src/index.js';
import { awaitReply, hash } from './tasks.js';

const executor = new Executor(); // one worker thread and one slot per core
let peakDeferred = 0;
executor.on('taskDeferred', () => {
  peakDeferred = Math.max(peakDeferred, executor.metrics().deferredTasks);
});

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function integer(url: URL, name: string, max: number): number {
  const value = Number(url.searchParams.get(name));
  if (!Number.isSafeInteger(value) || value < 1 || value > max) throw new HttpError(400, `${name}: 1 to ${max}`);
  return value;
}

async function respond(url: URL, signal: AbortSignal): Promise<unknown> {
  switch (url.pathname) {
    case '/hash': {
      const input = { password: 'hunter2', rounds: integer(url, 'rounds', 1_000_000) };
      return { hash: await executor.run(hash, input, { signal, timeoutMs: 30_000 }) };
    }
    case '/wait': {
      const replied = new Int32Array(new SharedArrayBuffer(4));
      const event = setTimeout(() => Atomics.store(replied, 0, 1), integer(url, 'ms', 60_000));
      try {
        return await executor.run(awaitReply, { replied }, { signal, timeoutMs: 90_000 });
      } finally {
        clearTimeout(event);
      }
    }
    case '/metrics':
      return { ...executor.metrics(), peakDeferred };
    default:
      throw new HttpError(404, 'not found');
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.destroyed) return; // the client is gone
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

const server = createServer((req, res) => {
  const cancel = new AbortController();
  res.on('close', () => cancel.abort()); // the client went away: cancel its task (no-op once it is done)
  respond(new URL(req.url ?? '/', 'http://localhost'), cancel.signal).then(
    (body) => send(res, 200, body),
    (error: unknown) =>
      send(res, error instanceof HttpError ? error.status : 500, {
        error: error instanceof Error ? error.message : String(error),
      }),
  );
});

server.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  const { threads, maxConcurrentTasks } = executor.options;
  console.log(`listening on http://127.0.0.1:${port} (${threads} worker threads, ${maxConcurrentTasks} slots)`);
});

async function shutDown(signal: string): Promise<void> {
  console.log(`${signal}: finishing the requests in flight`);
  await new Promise((resolve) => server.close(resolve));
  await executor.close({ timeoutMs: 10_000 });
  const { availableSlots, maxConcurrentTasks, totalExecuted } = executor.metrics();
  console.log(`closed after ${totalExecuted} tasks; slots free: ${availableSlots}/${maxConcurrentTasks}`);
}

for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => void shutDown(signal));
