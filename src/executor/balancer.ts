import type { Piscina } from 'piscina';

type LoadBalancer = NonNullable<NonNullable<ConstructorParameters<typeof Piscina>[0]>['loadBalancer']>;

/**
 * A Piscina load balancer that sends new work to the worker with the least *active* work.
 *
 * Piscina's `currentUsage` counts every task in a worker, parked deferrals included, so its
 * default balancer would steer new CPU work away from a thread that is merely hosting idle
 * deferrals. `slotless` holds, per worker `threadId`, how many of its tasks hold no slot
 * (deferred, or waiting to reclaim); subtracting them leaves the tasks competing for the CPU.
 * Admission is the semaphore's job, so there is no per-thread cap: a run that holds a slot must
 * reach a thread, or a deferred run waiting to reclaim that slot would wait for ever. This
 * returns null (Piscina keeps the task queued) only while every worker is shutting down.
 * Between threads with as much active work, it picks the one with fewer parked runs, so that
 * CPU work does not delay the polls of deferred runs when another thread could take it.
 */
export function leastActiveBalancer(slotless: ReadonlyMap<number, number>): LoadBalancer {
  return (_task, workers) => {
    let best = null;
    let bestLoad = Infinity;
    let bestParked = Infinity;
    for (const worker of workers) {
      if (worker.terminating || worker.destroyed) continue;
      const parked = slotless.get(worker.id) ?? 0;
      const load = worker.currentUsage - parked;
      // Between equally loaded threads, the one hosting fewer parked runs: their conditions are
      // polled on their thread's event loop, which CPU work placed there would hold up.
      if (load < bestLoad || (load === bestLoad && parked < bestParked)) {
        best = worker;
        bestLoad = load;
        bestParked = parked;
        if (load === 0 && parked === 0) break;
      }
    }
    return best;
  };
}
