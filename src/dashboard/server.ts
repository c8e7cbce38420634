/**
 * `startDashboard`: the read-only web dashboard of a schema, served by `node:http`. One HTML
 * page, its script and its style sheet (all served from here: the page makes no request to
 * any other origin), and the JSON API of `api.ts`. Every answer carries a Content-Security-
 * Policy that allows scripts and styles from this origin only, and `fetch` to it; the page
 * puts data into the DOM as text only, so a value from the database can never become markup.
 */
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Knex } from 'knex';
import { InvalidArgumentError } from '../errors.js';
import { type KnownOptions, rejectUnknownOptions } from '../known-options.js';
import { type Database, openDatabase, validateSchema } from '../store/database.js';
import { listen } from '../service/metrics-server.js';
import { hidePassword } from '../cli/database.js';
import { answerApi, failure } from './api.js';
import { ASSETS, pageHtml } from './page.js';
import { schemaProblem } from './queries.js';

export interface DashboardOptions {
  /** A PostgreSQL connection string, or a knex instance the caller owns (not destroyed by `close`). */
  readonly database: string | Knex;
  /** Slotwise's schema in that database. Default: `slotwise`. */
  readonly schema?: string;
  /** The port to serve on; 0 picks a free one. Default: 4280. */
  readonly port?: number;
  /** The address to bind. Default: `127.0.0.1` (the dashboard shows inputs and outputs: keep it local). */
  readonly host?: string;
}

export interface Dashboard {
  /** `http://host:port/`, with the port bound (the real one when 0 was asked for). */
  readonly url: string;
  /** Stops serving and, if it opened the database, closes it. */
  close(): Promise<void>;
}

export const DASHBOARD_DEFAULTS = { schema: 'slotwise', port: 4280, host: '127.0.0.1' } as const;

const KNOWN = {
  database: true,
  schema: true,
  port: true,
  host: true,
} as const satisfies KnownOptions<DashboardOptions>;

/** A statement slower than this fails the request (500) rather than hold the page. */
const STATEMENT_TIMEOUT_MS = 10_000;

export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  'img-src data:',
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-resource-policy': 'same-origin',
} as const;

/**
 * Serves the dashboard of `schema`. Rejects when the schema is not migrated to this version
 * (`InvalidArgumentError` naming `schema`), when the database does not answer, and with the
 * listen error when the port cannot be bound (`code` `EADDRINUSE`: it is in use).
 */
export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options', 'an object', options);
  rejectUnknownOptions(options, KNOWN, '`startDashboard()`');
  const schema = validateSchema(options.schema ?? DASHBOARD_DEFAULTS.schema);
  const port = options.port ?? DASHBOARD_DEFAULTS.port;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new InvalidArgumentError('port', 'a whole number from 0 to 65535', port);
  }
  const host = options.host ?? DASHBOARD_DEFAULTS.host;
  if (typeof host !== 'string' || host === '') throw new InvalidArgumentError('host', 'an address to bind', host);
  const url = typeof options.database === 'string' ? options.database : null;
  const database: Database = openDatabase(options.database, 4, 'slotwise-dashboard', STATEMENT_TIMEOUT_MS);
  try {
    const problem = await schemaProblem(database.knex, schema);
    if (problem !== null) {
      throw new InvalidArgumentError('schema', `a schema slotwise has migrated (this one ${problem})`, schema);
    }
    const server = createServer((request, response) => {
      handle(database.knex, schema, host, request, response).catch((error: unknown) => {
        // Database errors and the like: say what failed, never the connection's password.
        const message = url === null ? String((error as Error).message) : hidePassword(error, url);
        if (!response.headersSent) send(response, 500, failure(500, `the dashboard could not read: ${message}`).body);
        else response.destroy();
      });
    });
    await listen(server, port, host);
    const bound = (server.address() as AddressInfo).port;
    return {
      url: `http://${host.includes(':') ? `[${host}]` : host}:${String(bound)}/`,
      close: async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        await database.close();
      },
    };
  } catch (error) {
    await database.close();
    throw error;
  }
}

async function handle(
  knex: Knex,
  schema: string,
  host: string,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  if (!hostAllowed(request.headers.host, host)) {
    send(response, 421, failure(421, 'this dashboard answers to its own address only').body);
    return;
  }
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.setHeader('allow', 'GET, HEAD');
    send(response, 405, failure(405, 'the dashboard is read-only: GET only').body);
    return;
  }
  const target = new URL(request.url ?? '/', 'http://dashboard.invalid');
  const path = target.pathname;
  if (path === '/') {
    sendText(response, 200, 'text/html; charset=utf-8', pageHtml(schema));
    return;
  }
  const asset = ASSETS.get(path);
  if (asset !== undefined) {
    sendText(response, 200, asset.type, asset.body);
    return;
  }
  if (path.startsWith('/api/')) {
    const answer = await answerApi(knex, schema, path, target.searchParams);
    const { status, body } = answer ?? failure(404, `no such API path: ${path}`);
    send(response, status, body);
    return;
  }
  send(response, 404, failure(404, `not found: ${path} (the dashboard is at /)`).body);
}

/**
 * Whether the request names this server. Bound to loopback, it answers only to loopback names,
 * so that a web page elsewhere cannot point a DNS name of its own at 127.0.0.1 and read the
 * dashboard with the browser's help (DNS rebinding). Bound elsewhere, any name may be in use.
 */
function hostAllowed(header: string | undefined, bound: string): boolean {
  if (!isLoopback(bound)) return true;
  if (header === undefined) return false;
  const name = header
    .replace(/:\d+$/, '')
    .replace(/^\[(.*)\]$/, '$1')
    .toLowerCase();
  return isLoopback(name) || name === 'localhost';
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

function send(response: ServerResponse, status: number, body: unknown): void {
  sendText(response, status, 'application/json; charset=utf-8', `${JSON.stringify(body)}\n`);
}

function sendText(response: ServerResponse, status: number, type: string, body: string): void {
  response.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  response.end(response.req.method === 'HEAD' ? undefined : body);
}
