/**
 * A runner's lease, kept by heartbeat, and the sweep of other runners' expired leases.
 *
 * Every `heartbeatIntervalMs` one statement renews this runner's lease for `leaseMs` (database
 * clock), reports which of the claims it believes it holds are no longer its own (their fencing
 * token moved on), and says whether a sweep is due. A sweep (any runner may run one; several at
 * once skip each other's locked rows) deletes the rows of runners whose lease expired and puts
 * their Running tasks back to Ready, or Failed "abandoned". Beats keep a fixed rate (a slow beat
 * does not push the next one back), and a beat comes early when another runner's lease expires
 * before the next one is due, so a runner dead at time T is detected soon after its lease runs
 * out (T + leaseMs), and by T + leaseMs + heartbeatIntervalMs at the latest.
 *
 * A runner that cannot renew (the database is away) for `leaseMs` by its own monotonic clock
 * assumes its lease lapsed: the others may sweep its claims, so it stops its runs (`onLapsed`)
 * before they could run twice.
 */
import type { HeldClaim, Leases } from '../store/leases.js';
import type { ClaimedTask } from '../store/rows.js';

export interface LeaseKeeperOptions {
  readonly runnerId: string;
  readonly heartbeatIntervalMs: number;
  readonly leaseMs: number;
  /** Names of the workflows this runner knows (it sweeps only their tasks). */
  readonly workflowNames: () => readonly string[];
  /** The claims of every run this runner has going, whatever their fate. */
  readonly held: () => readonly HeldClaim[];
  /** Claims the heartbeat found lost. */
  readonly onLost: (ids: readonly string[]) => void;
  /** Gives back claims this runner holds in the database but runs nothing for. */
  readonly releaseStrays: (claims: readonly HeldClaim[]) => Promise<void>;
  /** No renewal for `leaseMs`: every claim may be gone. */
  readonly onLapsed: () => void;
  /** Puts orphaned tasks back; resolves with how many became Ready. */
  readonly recover: (orphans: readonly ClaimedTask[]) => Promise<number>;
  /** Tasks became Ready (a sweep recovered some). */
  readonly onReady: () => void;
  /** A heartbeat or sweep failed with an error that is not a lost connection. */
  readonly onError: (error: unknown) => void;
}

/** How long after another runner's lease ends an early beat looks at it. */
const EXPIRY_MARGIN_MS = 20;

export class LeaseKeeper {
  readonly #leases: Leases;
  readonly #options: LeaseKeeperOptions;
  #timer: NodeJS.Timeout | undefined;
  /** performance.now() when the last successful heartbeat was sent. */
  #renewedAt = -Infinity;
  /** performance.now() when the last beat (successful or not) was sent. */
  #beatAt = 0;
  /** Ms from the last beat until another runner's lease expires, if sooner than the interval. */
  #expiryDueMs: number | null = null;
  #beating: Promise<void> | null = null;
  /** Strays of the last beat (`id:token`): released when the next beat finds them again. */
  #strays = new Set<string>();
  #stopped = false;

  constructor(leases: Leases, options: LeaseKeeperOptions) {
    this.#leases = leases;
    this.#options = options;
  }

  /** Takes the lease (the first heartbeat, and a sweep if one is due), then beats on. */
  async start(): Promise<void> {
    await this.#beat(true);
    this.#arm();
  }

  /** Stops beating (the runner's row stays until `remove`). */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#beating;
  }

  /** Runs one heartbeat now, and a sweep if it says one is due. */
  beat(): Promise<void> {
    this.#beating ??= this.#beat(false).finally(() => {
      this.#beating = null;
    });
    return this.#beating;
  }

  #arm(): void {
    if (this.#stopped) return;
    const due = Math.min(this.#options.heartbeatIntervalMs, this.#expiryDueMs ?? Infinity);
    const delay = Math.max(0, this.#beatAt + due - performance.now());
    this.#timer = setTimeout(() => {
      void this.beat().finally(() => this.#arm());
    }, delay);
    this.#timer.unref(); // an idle runner must not keep its process alive by beating
  }

  /** With `rethrow` (the first beat), failures are the caller's; later ones are reported. */
  async #beat(rethrow: boolean): Promise<void> {
    const options = this.#options;
    const sentAt = performance.now();
    this.#beatAt = sentAt;
    this.#expiryDueMs = null;
    try {
      const names = options.workflowNames();
      const beat = await this.#leases.heartbeat(options.runnerId, options.leaseMs, options.held(), names);
      this.#renewedAt = sentAt;
      // Look again just after the earliest other lease ends (a few ms past, so it has surely
      // ended by the database's clock). One already ended is this beat's own sweep to handle.
      if (beat.nextExpiryMs !== null && beat.nextExpiryMs > 0) this.#expiryDueMs = beat.nextExpiryMs + EXPIRY_MARGIN_MS;
      if (beat.lost.length > 0) options.onLost(beat.lost);
      await this.#releaseStrays(beat.strays);
      if (beat.sweepDue) await this.#sweep(names);
    } catch (error) {
      if (rethrow) throw error;
      if (performance.now() - this.#renewedAt >= options.leaseMs) options.onLapsed();
      options.onError(error);
    }
  }

  /**
   * A claim in flight as the beat was sent looks like a stray once; a real stray (its run ended
   * but its end was never written) still looks like one a beat later, and goes back to Ready.
   */
  async #releaseStrays(strays: readonly HeldClaim[]): Promise<void> {
    const key = (c: HeldClaim): string => `${c.id}:${c.claim_token}`;
    const confirmed = strays.filter((c) => this.#strays.has(key(c)));
    this.#strays = new Set(strays.map(key));
    if (confirmed.length > 0) await this.#options.releaseStrays(confirmed);
  }

  async #sweep(names: readonly string[]): Promise<void> {
    await this.#leases.expire();
    const readied = await this.#options.recover(await this.#leases.orphans(names));
    if (readied > 0) this.#options.onReady();
  }
}
