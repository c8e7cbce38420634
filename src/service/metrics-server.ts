/**
 * The worker's HTTP endpoint: `GET /metrics` (Prometheus text format, from a prom-client
 * registry) and `GET /healthz` (200 `ok` while the runner holds its lease, 503 with the reason
 * otherwise: a runner that cannot renew its lease is claiming nothing and should be restarted or
 * looked at; one that is stopping is about to leave).
 * It binds to loopback unless told otherwise: metrics name workflows and limits.
 */
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface MetricsServerOptions {
  readonly registry: Registry;
  /** Null when `/healthz` answers 200; else why not, its 503 body (`lease not held`, `stopping`). */
  readonly unhealthy: () => string | null;
  readonly port: number;
  readonly host: string;
}

export interface MetricsServer {
  /** `http://host:port` with the port bound (the real one when 0 was asked for). */
  readonly url: string;
  close(): Promise<void>;
}

/** Starts the endpoint; rejects with the listen error (EADDRINUSE: the port is taken). */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
    } else if (path === '/metrics') {
      options.registry.metrics().then(
        (text) => response.writeHead(200, { 'content-type': options.registry.contentType }).end(text),
        (error: unknown) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`${String(error)}\n`),
      );
    } else if (path === '/healthz') {
      const problem = options.unhealthy();
      response
        .writeHead(problem === null ? 200 : 503, { 'content-type': 'text/plain', 'cache-control': 'no-store' })
        .end(`${problem ?? 'ok'}\n`);
    } else {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics or /healthz\n');
    }
  });
  await listen(server, options.port, options.host);
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${String(port)}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** `server.listen`, as a promise that rejects with the listen error instead of an 'error' event. */
export function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
