// A TCP proxy for fault-injection tests, on loopback only: the code under test connects to the
// proxy's port instead of PostgreSQL's, and the test cuts or stalls the traffic between them.
//
//   const proxy = await FaultProxy.start({ target: { host: '127.0.0.1', port: 5432 } });
//   const url = `postgres://postgres@127.0.0.1:${proxy.port}/test`;
//   proxy.cut();                              // destroy every connection, both ends, now
//   proxy.hold({ newConnections: 'reset' });  // stall traffic; new connections are reset
//   proxy.resume();                           // forward again (what was held goes through)
//   await proxy.cutOn('SKIP LOCKED');         // cut everything when a packet carries this text
//   await proxy.cutOn('COMMIT', { when: 'answered' }); // ... once the server has answered it
//   await proxy.close();
//
// How `cutOn` finds a statement: the PostgreSQL wire protocol carries query text as plain bytes
// in its 'Q' (simple query) and 'P' (parse) messages, so a substring search of what the client
// sends is enough. The text of a chunk's tail is kept for the next search, so a message split
// across TCP chunks is still found. By default (`when: 'sent'`) the matching chunk is dropped
// and every connection cut before anything after it is forwarded: the statement never reaches
// the server (a message cut in half is discarded with the connection). With `when: 'answered'`
// the chunk goes through, and the cut comes with the server's first answer on that connection,
// which is dropped: the statement ran (and, outside a transaction, committed), but the client
// never hears so.
import { type Server, type Socket, createConnection, createServer } from 'node:net';

export interface FaultProxyOptions {
  /** Where the proxy forwards to (PostgreSQL). */
  readonly target: { readonly host: string; readonly port: number };
}

export interface HoldOptions {
  /**
   * What happens to connections opened while held: `'reset'` closes them at once (as a database
   * that is down: connecting fails), `'hang'` keeps them waiting, unanswered, until `resume`
   * (as a network that drops packets). Default: `'hang'`.
   */
  readonly newConnections?: 'reset' | 'hang';
}

/** One proxied connection: the client's socket and ours to the server. */
interface Pair {
  readonly client: Socket;
  server: Socket | null;
  /** The end of the client's last chunk, searched again with the next one. */
  tail: string;
  /** A trigger that fires on the server's next answer on this connection. */
  onAnswer: Trigger | null;
}

export interface CutOnOptions {
  /** Cut as the statement is sent (it never runs), or once the server answered it. Default: 'sent'. */
  readonly when?: 'sent' | 'answered';
  /** Cut at the `occurrence`th packet (counted from now, on every connection) carrying it. Default: 1. */
  readonly occurrence?: number;
}

interface Trigger {
  readonly fragment: string;
  readonly when: 'sent' | 'answered';
  /** Matching packets still to let through before this one fires. */
  skip: number;
  readonly fired: () => void;
}

export class FaultProxy {
  readonly #server: Server;
  readonly #target: FaultProxyOptions['target'];
  readonly #pairs = new Set<Pair>();
  #held: HoldOptions | null = null;
  #trigger: Trigger | null = null;
  #cuts = 0;

  private constructor(server: Server, target: FaultProxyOptions['target']) {
    this.#server = server;
    this.#target = target;
    server.on('connection', (client) => this.#accept(client));
  }

  /** Starts a proxy on an ephemeral port of 127.0.0.1. */
  static async start(options: FaultProxyOptions): Promise<FaultProxy> {
    const server = createServer();
    const proxy = new FaultProxy(server, options.target);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    return proxy;
  }

  /** The port clients connect to. */
  get port(): number {
    const address = this.#server.address();
    if (address === null || typeof address === 'string') throw new Error('the proxy is not listening');
    return address.port;
  }

  /** Connections open through the proxy now. */
  get connections(): number {
    return this.#pairs.size;
  }

  /** How many times every connection was cut (by `cut` or a `cutOn` trigger). */
  get cuts(): number {
    return this.#cuts;
  }

  /** Destroys every connection now, both sockets: clients see them drop mid-whatever. */
  cut(): void {
    this.#cuts += 1;
    for (const pair of [...this.#pairs]) this.#close(pair);
  }

  /**
   * Cuts every connection once, when a client sends a packet containing `fragment` (see the
   * head of this file for `when`). Resolves when it has. Replaces a trigger not fired yet.
   */
  cutOn(fragment: string, options: CutOnOptions = {}): Promise<void> {
    return new Promise((resolve) => {
      this.#trigger = { fragment, when: options.when ?? 'sent', skip: (options.occurrence ?? 1) - 1, fired: resolve };
    });
  }

  /** Stops forwarding in both directions (nothing is lost: it goes through on `resume`). */
  hold(options: HoldOptions = {}): void {
    this.#held = { newConnections: options.newConnections ?? 'hang' };
    for (const pair of this.#pairs) {
      pair.client.pause();
      pair.server?.pause();
    }
  }

  /** Forwards again, and connects the connections that waited meanwhile. */
  resume(): void {
    this.#held = null;
    for (const pair of this.#pairs) {
      if (pair.server === null) this.#connect(pair);
      else pair.server.resume();
      pair.client.resume();
    }
  }

  /** Cuts every connection and stops listening. */
  async close(): Promise<void> {
    this.#trigger = null;
    for (const pair of [...this.#pairs]) this.#close(pair);
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: Socket): void {
    if (this.#held?.newConnections === 'reset') {
      client.resetAndDestroy();
      return;
    }
    const pair: Pair = { client, server: null, tail: '', onAnswer: null };
    this.#pairs.add(pair);
    client.on('error', () => this.#close(pair));
    client.on('close', () => this.#close(pair));
    client.on('data', (chunk: Buffer) => this.#fromClient(pair, chunk));
    if (this.#held === null) this.#connect(pair);
    else client.pause();
  }

  #connect(pair: Pair): void {
    const server = createConnection(this.#target);
    pair.server = server;
    server.on('error', () => this.#close(pair));
    server.on('close', () => this.#close(pair));
    server.on('data', (chunk: Buffer) => {
      const trigger = pair.onAnswer;
      if (trigger !== null) {
        this.cut();
        trigger.fired();
        return;
      }
      if (!pair.client.destroyed) pair.client.write(chunk);
    });
  }

  #fromClient(pair: Pair, chunk: Buffer): void {
    const trigger = this.#trigger;
    if (trigger !== null) {
      // latin1: one char per byte, so the tail keeps exactly the last bytes.
      const text = pair.tail + chunk.toString('latin1');
      if (text.includes(trigger.fragment) && trigger.skip-- === 0) {
        this.#trigger = null;
        if (trigger.when === 'answered' && pair.server !== null) {
          pair.onAnswer = trigger;
          pair.server.write(chunk);
        } else {
          this.cut();
          trigger.fired();
        }
        return;
      }
      pair.tail = text.slice(text.length - (trigger.fragment.length - 1));
    }
    // Connected at once, or on resume: until then the client is paused and sends nothing here.
    pair.server?.write(chunk);
  }

  #close(pair: Pair): void {
    if (!this.#pairs.delete(pair)) return;
    pair.client.destroy();
    pair.server?.destroy();
  }
}
