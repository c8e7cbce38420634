/**
 * The runner's claim loop: claims Ready tasks, never more than the slots free, and hands each to
 * the runs; runs again while it fills them, and falls back to a timer for work nobody announced.
 */
import type { ClaimedTask } from '../store/rows.js';
import type { Workflow } from '../workflow/define-workflow.js';
import type { Retry } from './retry.js';
import type { TaskRuns } from './task-runs.js';

/** What the loop needs of its runner. */
export interface ClaimLoopContext {
  readonly runs: TaskRuns;
  readonly workflows: ReadonlyMap<string, Workflow>;
  readonly retry: Retry;
  /** Claims Ready tasks of these workflows weighing up to `free` slots, leaving out `exclude`. */
  readonly claim: (free: number, workflowNames: string[], exclude: string[]) => Promise<ClaimedTask[]>;
  /** How long until the fallback look: the poll interval (longer while LISTEN works) or a local retry's due time. */
  readonly nextLookMs: () => number;
  /** Also done on each fallback look (a signal announced while the listener was away). */
  readonly onLook: () => void;
  /** Whether anything waits on this runner (then the timer keeps the process alive). */
  readonly busy: () => boolean;
  readonly reportWriteFailure: (error: unknown) => void;
  readonly closing: () => boolean;
}

export class ClaimLoop {
  #pumping = false;
  #again = false;
  /** The loop going on, if any. */
  #running: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;

  constructor(private readonly context: ClaimLoopContext) {}

  /** Whether a claim is in flight. */
  get pumping(): boolean {
    return this.#pumping;
  }

  /** Settles when the claim in flight (if any) has been handed on. */
  get running(): Promise<void> {
    return this.#running;
  }

  /** Claims and starts as many Ready tasks as there are free slots; runs again while it fills them. */
  pump(): void {
    if (this.context.closing()) return;
    if (this.#pumping) {
      this.#again = true;
      return;
    }
    this.#pumping = true;
    this.#running = this.#loop().finally(() => {
      this.#pumping = false;
      this.#arm();
    });
  }

  stop(): void {
    clearTimeout(this.#timer);
  }

  async #loop(): Promise<void> {
    const { runs, workflows, retry } = this.context;
    do {
      this.#again = false;
      const free = runs.freeSlots();
      if (free <= 0 || this.context.closing()) return;
      let claimed: ClaimedTask[];
      try {
        // Runs still stopping here are left out: another runner may take them.
        claimed = await retry('claiming ready tasks', () =>
          this.context.claim(free, [...workflows.keys()], runs.ids()),
        );
      } catch (error) {
        this.context.reportWriteFailure(error);
        return;
      }
      for (const claim of claimed) {
        const workflow = workflows.get(claim.workflow_name);
        if (workflow !== undefined) runs.run(claim, workflow); // claimed by name: it is there
      }
      // Every free slot taken: more may have freed meanwhile. (Fewer: nothing else fits now.)
      if (claimed.reduce((slots, claim) => slots + claim.slots, 0) >= free) this.#again = true;
    } while (this.#again);
  }

  /**
   * The fallback look for due work: Ready tasks nobody announced (retries falling due), or
   * announced while the listener was away.
   */
  #arm(): void {
    clearTimeout(this.#timer);
    if (this.context.closing()) return;
    this.#timer = setTimeout(
      () => {
        this.pump();
        this.context.onLook();
      },
      Math.max(this.context.nextLookMs(), 0),
    );
    // Idle polling alone must not keep the process alive; waiting callers and live runs do.
    if (!this.context.busy()) this.#timer.unref();
  }
}
