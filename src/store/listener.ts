/**
 * Wake-ups across processes: one dedicated PostgreSQL connection per runner (outside knex's
 * pool, which would hand it to queries) that `LISTEN`s on the schema's channels (tasks made
 * Ready, signals stored). When the connection drops it reconnects with backoff; meanwhile
 * `listening` is false and the runner polls at its fallback interval instead.
 */
import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import type { Client as PgClient, Notification } from 'pg';

/** knex's pg client opens connections outside its pool with this (the pool uses it too). */
interface RawConnectionSource {
  acquireRawConnection(): Promise<PgClient>;
}

const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 5_000;

/** What to do with a notification's payload, per channel (names validated: see `readyChannel`). */
export type ChannelHandlers = ReadonlyMap<string, (payload: string) => void>;

export class NotificationListener {
  readonly #knex: Knex;
  readonly #channels: ChannelHandlers;
  /** Called once listening starts or starts again: what was sent meanwhile was not heard. */
  readonly #onListening: () => void;
  #connection: PgClient | null = null;
  #retryTimer: NodeJS.Timeout | undefined;
  #retryDelay = RECONNECT_MIN_MS;
  #closed = false;

  constructor(knex: Knex, channels: ChannelHandlers, onListening: () => void) {
    this.#knex = knex;
    this.#channels = channels;
    this.#onListening = onListening;
  }

  /** True while notifications can arrive. */
  get listening(): boolean {
    return this.#connection !== null;
  }

  /** Connects and listens; failures are retried in the background, never thrown. */
  start(): void {
    void this.#connect();
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    const connection = this.#connection;
    this.#connection = null;
    if (connection !== null) await connection.end().catch(() => undefined);
  }

  async #connect(): Promise<void> {
    let connection: PgClient | null = null;
    try {
      connection = await (this.#knex.client as RawConnectionSource).acquireRawConnection();
      connection.on('error', () => this.#lost(connection));
      connection.on('end', () => this.#lost(connection));
      connection.on('notification', (message: Notification) => {
        this.#channels.get(message.channel)?.(message.payload ?? '');
      });
      for (const channel of this.#channels.keys()) {
        await connection.query(`LISTEN "${channel}"`); // a validated identifier: see readyChannel, signalChannel
      }
      if (this.#closed) {
        await connection.end();
        return;
      }
      this.#connection = connection;
      this.#retryDelay = RECONNECT_MIN_MS;
      // Work may have become Ready, or signals stored, while nobody listened.
      this.#onListening();
    } catch {
      await connection?.end().catch(() => undefined);
      this.#scheduleReconnect();
    }
  }

  #lost(connection: PgClient | null): void {
    if (connection === null || this.#connection !== connection) return;
    this.#connection = null;
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (this.#closed) return;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => void this.#connect(), this.#retryDelay);
    this.#retryTimer.unref();
    this.#retryDelay = Math.min(this.#retryDelay * 2, RECONNECT_MAX_MS);
  }
}

/**
 * The `NOTIFY` channel `slotwise_<kind>_<schema>` of one schema (`ready`, `signal`, `control`).
 * Channel names stop at 63 bytes: a long schema name is hashed (a collision costs another
 * schema's runners a wasted look, no more).
 */
export function channelName(kind: 'ready' | 'signal' | 'control', schema: string): string {
  const plain = `slotwise_${kind}_${schema}`;
  return plain.length <= 63
    ? plain
    : `slotwise_${kind}_${createHash('sha256').update(schema).digest('hex').slice(0, 32)}`;
}
