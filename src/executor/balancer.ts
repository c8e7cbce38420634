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
 */
export function leastActiveBalancer(slotless: ReadonlyMap<number, number>): LoadBalancer {
  return (_task, workers) => {
    let best = null;
    let bestLoad = Infinity;
    for (const worker of workers) {
      if (worker.terminating || worker.destroyed) continue;
      const load = worker.currentUsage - (slotless.get(worker.id) ?? 0);
      if (load < bestLoad) {
        best = worker;
        bestLoad = load;
        if (load === 0) break;
      }
    }
    return best;
  };
}
