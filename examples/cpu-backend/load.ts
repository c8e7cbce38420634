// Loads the cpu-backend server with a mix of CPU requests and waiting requests, then prints the
// latency percentiles of each endpoint and whether every request succeeded.
//   node dist/examples/cpu-backend/load.js            starts server.js on a free port, loads it, stops it
//   node dist/examples/cpu-backend/load.js <url>      loads a server that is already running
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const CLIENTS = 8; // requests in flight at once
const REQUESTS = 80; // taken in turn from PATHS
const PATHS = ['/hash?rounds=100000', '/wait?ms=300'];

interface Server {
  readonly url: string;
  stop(): Promise<number | null>;
}

/** Starts server.js on a free port; its output is shown with a `[server]` prefix. */
async function startServer(): Promise<Server> {
  const entry = fileURLToPath(new URL('./server.js', import.meta.url));
  const child = spawn(process.execPath, [entry], {
    env: { ...process.env, PORT: '0' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      console.log(`[server] ${line}`);
      const url = /listening on (\S+)/.exec(line)?.[1];
      if (url !== undefined) resolve(url);
    });
    void exited.then((code) => reject(new Error(`the server exited (code ${code}) before it listened`)));
  });
  const stop = (): Promise<number | null> => {
    child.kill('SIGTERM'); // the server finishes what is in flight, closes its executor and exits
    return exited;
  };
  return { url, stop };
}

async function get(url: string): Promise<unknown> {
  const response = await fetch(url);
  const body: unknown = await response.json();
  if (!response.ok) throw new Error(`HTTP ${response.status}: ${JSON.stringify(body)}`);
  return body;
}

/** The `p`-th percentile of sorted values, by nearest rank. */
const percentile = (sorted: number[], p: number): number =>
  sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;

async function load(base: string): Promise<boolean> {
  await Promise.all([get(`${base}${PATHS[0]}`), get(`${base}${PATHS[0]}`)]); // warm-up: threads up, modules loaded
  const t0 = performance.now();
  await get(`${base}${PATHS[0]}`);
  console.log(`one ${PATHS[0]} alone: ${(performance.now() - t0).toFixed(0)} ms`);

  console.log(`\n${REQUESTS} requests, ${CLIENTS} at a time: ${PATHS.map((path) => `GET ${path}`).join(', ')} in turn`);
  const latencies = new Map<string, number[]>(PATHS.map((path) => [new URL(path, base).pathname, []]));
  const failures: string[] = [];
  let next = 0;
  const client = async (): Promise<void> => {
    while (next < REQUESTS) {
      const path = PATHS[next++ % PATHS.length] ?? '/';
      const started = performance.now();
      try {
        await get(`${base}${path}`);
        latencies.get(new URL(path, base).pathname)?.push(performance.now() - started);
      } catch (error) {
        failures.push(`${path}: ${String(error)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, client));

  console.log(
    `\n${'endpoint'.padEnd(10)}${'ok'.padStart(5)}${['p50', 'p90', 'p99', 'max'].map((p) => p.padStart(8)).join('')}  (ms)`,
  );
  for (const [endpoint, values] of latencies) {
    const sorted = values.sort((a, b) => a - b);
    const figures = [50, 90, 99, 100].map((p) => percentile(sorted, p).toFixed(0).padStart(8)).join('');
    console.log(`${endpoint.padEnd(10)}${String(sorted.length).padStart(5)}${figures}`);
  }
  const metrics = (await get(`${base}/metrics`)) as { peakDeferred: number; maxConcurrentTasks: number };
  console.log(
    `\nat most ${metrics.peakDeferred} /wait tasks were parked at once, holding none of the ${metrics.maxConcurrentTasks} slots`,
  );
  for (const failure of failures) console.log(`FAILED ${failure}`);
  console.log(
    failures.length === 0 ? `all ${REQUESTS} requests OK` : `${failures.length} of ${REQUESTS} requests failed`,
  );
  return failures.length === 0;
}

const server = process.argv[2] === undefined ? await startServer() : null;
let ok = false;
try {
  ok = await load(server?.url ?? process.argv[2] ?? '');
} finally {
  const code = await server?.stop();
  if (code !== undefined && code !== 0) console.log(`the server exited with code ${code}`);
  process.exitCode = ok && (code ?? 0) === 0 ? 0 : 1;
}
