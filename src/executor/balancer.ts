import { type Piscina, queueOptionsSymbol } from 'piscina';
import type { Execution } from './execution.js';
import type { Threads } from './threads.js';

type LoadBalancer = NonNullable<NonNullable<ConstructorParameters<typeof Piscina>[0]>['loadBalancer']>;

/**
 * A Piscina load balancer that places each new run by slotwise's own count of each thread's
 * work (`Threads`), and records where it went.
 *
 * Piscina's `currentUsage` counts every task in a worker, parked waits included, so it would
 * steer CPU work away from a thread that merely hosts idle waits. Instead, in this order:
 * a thread with no run back from a wait (new work posted to it would run ahead of that run,
 * which can only continue there), then the fewest active runs, then the fewest parked runs
 * (their polls run on that thread's event loop, which CPU work placed there would hold up).
 *
 * Admission is the semaphore's job, so there is no per-thread cap: a run that holds a slot must
 * reach a thread. This returns null (Piscina keeps the task queued) only while every worker is
 * shutting down. The run rides along with the task under Piscina's `queueOptionsSymbol`, which
 * Piscina hands to the balancer and does not send to the thread.
 */
export function threadAwareBalancer(threads: Threads): LoadBalancer {
  return (task, workers) => {
    let best = null;
    let bestScore = Infinity;
    for (const worker of workers) {
      if (worker.terminating || worker.destroyed) continue;
      const load = threads.load(worker.id);
      // Lexicographic (reclaimer, active, parked), packed: counts stay far below 2^20.
      const score = (load.reclaimers > 0 ? 2 ** 40 : 0) + load.active * 2 ** 20 + Math.min(load.parked, 2 ** 20 - 1);
      if (score < bestScore) {
        best = worker;
        bestScore = score;
        if (score === 0) break;
      }
    }
    const execution = (task as { [queueOptionsSymbol]?: Execution | null })[queueOptionsSymbol];
    if (best !== null && execution != null) threads.place(execution, best.id);
    return best;
  };
}
