/**
 * A runner's lease, kept by heartbeat, and the sweep of other runners' expired leases.
 *
 * Every `heartbeatIntervalMs` one statement renews this runner's lease for `leaseMs` (database
 * clock), reports which of the claims it believes it holds are no longer its own (their fencing
 * token moved on), and says whether a sweep is due. A lease that has expired is never renewed:
 * a sweeper may already be taking its claims, so the runner gives up every claim it holds and
 * takes a fresh lease. A sweep (any runner may run one, apart from its beats; several at once
 * skip each other's locked rows) deletes the rows of runners whose lease expired and puts their
 * Running tasks back to Ready, or Failed "abandoned". Beats keep a fixed rate, and come early
 * when another runner's lease ends before the next one is due: a runner dead at time T is swept
 * soon after T + leaseMs, and by T + leaseMs + heartbeatIntervalMs at the latest.
 *
 * The safety margin: a runner that has not renewed for `leaseMs - margin` by its own monotonic
 * clock (the database is away, a beat hangs) stops its runs (`onLapsed`) before anyone may
 * sweep them, and a claim needs at least `margin` left on the lease. So one task does not run
 * on two runners at once unless a process stalls longer than the margin (fencing still keeps
 * the stalled one's writes out).
 */
import type { CancelledClaim, HeldClaim, Leases, Orphan } from '../store/leases.js';

export interface LeaseKeeperOptions {
  readonly runnerId: string;
  readonly heartbeatIntervalMs: number;
  readonly leaseMs: number;
  /** Names of the workflows this runner knows (it sweeps only their tasks). */
  readonly workflowNames: () => readonly string[];
  /** The claims of every run this runner has going, whatever their fate. */
  readonly held: () => readonly HeldClaim[];
  /** Claims another runner holds now (the heartbeat found them moved on, or the lease expired). */
  readonly onLost: (ids: readonly string[]) => void;
  /** Claims lost to a cancel of their workflow execution (reported before `onLost`, which lists them too). */
  readonly onCancelled: (claims: readonly CancelledClaim[]) => void;
  /** No renewal for `leaseMs - margin`: stop every run, and give its claim back when possible. */
  readonly onLapsed: () => void;
  /** Puts orphaned (or stray) claims back; resolves with how many became Ready. */
  readonly recover: (orphans: readonly Orphan[]) => Promise<number>;
  /** Tasks became Ready (a sweep recovered some). */
  readonly onReady: () => void;
  /** A heartbeat or sweep failed. */
  readonly onError: (error: unknown) => void;
}

/** How long after another runner's lease ends an early beat looks at it. */
const EXPIRY_MARGIN_MS = 20;

/** The time a lease must have left for a claim, and the watchdog's head start over expiry. */
export function leaseSafetyMargin(heartbeatIntervalMs: number, leaseMs: number): number {
  return Math.min(heartbeatIntervalMs, leaseMs - heartbeatIntervalMs) / 2;
}

export class LeaseKeeper {
  readonly #leases: Leases;
  readonly #options: LeaseKeeperOptions;
  readonly #margin: number;
  #timer: NodeJS.Timeout | undefined;
  #watchdog: NodeJS.Timeout | undefined;
  /** performance.now() when the last beat (successful or not) was sent. */
  #beatAt = 0;
  /** Ms from the last beat until another runner's lease expires, if sooner than the interval. */
  #expiryDueMs: number | null = null;
  #beating: Promise<void> | null = null;
  #sweeping: Promise<void> | null = null;
  /** Strays of the last beat (`id:token`): recovered when the next beat finds them again. */
  #strays = new Set<string>();
  #stopped = false;
  /** performance.now() until which the last renewal that landed keeps the lease safely held. */
  #heldUntil = -Infinity;

  constructor(leases: Leases, options: LeaseKeeperOptions) {
    this.#leases = leases;
    this.#options = options;
    this.#margin = leaseSafetyMargin(options.heartbeatIntervalMs, options.leaseMs);
  }

  /** Takes the lease, runs a first beat (and the sweep it calls for), then beats on. */
  async start(): Promise<void> {
    const sentAt = performance.now();
    await this.#leases.register(this.#options.runnerId, this.#options.leaseMs);
    this.#armWatchdog(sentAt);
    await this.#beat(true);
    await this.#sweeping;
    this.#arm();
  }

  /**
   * Whether the lease is held with its safety margin to spare: a renewal landed less than
   * `leaseMs - margin` ago (the watchdog's own bound) and the keeper has not stopped.
   */
  get held(): boolean {
    return !this.#stopped && performance.now() < this.#heldUntil;
  }

  /** Stops beating and sweeping (the runner's row stays until `remove`). */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#watchdog);
    await this.#beating;
    await this.#sweeping;
  }

  /** Runs one heartbeat now (and starts a sweep if it says one is due). */
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

  /** Fires `onLapsed` when no renewal sent after `sentAt` has landed by `leaseMs - margin`. */
  #armWatchdog(sentAt: number): void {
    clearTimeout(this.#watchdog);
    if (this.#stopped) return;
    this.#heldUntil = sentAt + this.#options.leaseMs - this.#margin;
    const delay = this.#heldUntil - performance.now();
    this.#watchdog = setTimeout(() => this.#options.onLapsed(), Math.max(0, delay));
    this.#watchdog.unref();
  }

  /** With `rethrow` (the first beat), failures are the caller's; later ones are reported. */
  async #beat(rethrow: boolean): Promise<void> {
    const options = this.#options;
    const sentAt = performance.now();
    this.#beatAt = sentAt;
    this.#expiryDueMs = null;
    try {
      const names = options.workflowNames();
      const held = options.held();
      const beat = await this.#leases.heartbeat(options.runnerId, options.leaseMs, held, names);
      if (!beat.renewed) {
        // Expired before this beat: a sweeper may be handing the claims to others right now.
        options.onLost(held.map((c) => c.id));
        await this.#leases.register(options.runnerId, options.leaseMs);
      }
      this.#armWatchdog(sentAt);
      // Look again just after the earliest other lease ends (a few ms past, so it has surely
      // ended by the database's clock). One already ended is this beat's sweep to handle.
      if (beat.nextExpiryMs !== null && beat.nextExpiryMs > 0) this.#expiryDueMs = beat.nextExpiryMs + EXPIRY_MARGIN_MS;
      if (beat.cancelled.length > 0) options.onCancelled(beat.cancelled);
      if (beat.lost.length > 0) options.onLost(beat.lost);
      const strays = this.#confirmStrays(beat.strays);
      if (beat.sweepDue || strays.length > 0) this.#sweep(names, strays);
    } catch (error) {
      if (rethrow) throw error;
      options.onError(error);
    }
  }

  /**
   * A claim in flight as the beat was sent looks like a stray once; a real stray (its run ended
   * but its end was never written) still looks like one a beat later. Returns those.
   */
  #confirmStrays(strays: readonly Orphan[]): Orphan[] {
    const key = (c: Orphan): string => `${c.id}:${c.claim_token}`;
    const confirmed = strays.filter((c) => this.#strays.has(key(c)));
    this.#strays = new Set(strays.map(key));
    return confirmed;
  }

  /** Starts a sweep (with these strays to recover too) unless one is still going. */
  #sweep(names: readonly string[], strays: readonly Orphan[]): void {
    if (this.#sweeping !== null || this.#stopped) return;
    this.#sweeping = (async () => {
      await this.#leases.expire();
      const orphans = await this.#leases.orphans(names);
      const readied = await this.#options.recover([...orphans, ...strays]);
      if (readied > 0) this.#options.onReady();
    })()
      .catch((error: unknown) => this.#options.onError(error))
      .finally(() => {
        this.#sweeping = null;
      });
  }
}
