/**
 * What the scale suite and its child processes (scale-child.ts: a Runner; graphile-child.ts:
 * graphile-worker) say to each other over the IPC channel of `fork`. The parent passes the
 * config as JSON in argv[2]; the child starts, and once it can take work sends one
 * {@link ReadyMessage}; the parent sends `'close'` to end it (or SIGKILLs it). A child whose
 * parent goes away closes too.
 */

export interface ChildConfig {
  /** PostgreSQL connection string. */
  readonly database: string;
  readonly schema: string;
  /** Tasks (jobs) run at once: the runner's `maxConcurrentTasks`, graphile-worker's `concurrency`. */
  readonly concurrency: number;
  /** Runner worker threads (graphile-worker runs its jobs on the main thread). */
  readonly threads: number;
}

export interface ReadyMessage {
  readonly type: 'ready';
  /** The runner's `runnerId` (what it writes in `claimed_by`); graphile-worker: its pid. */
  readonly id: string;
  /** The settings it runs with, as it reports them (the runner's filled options, numbers only). */
  readonly settings: Record<string, number>;
}

export type ParentMessage = 'close';

export interface Started {
  readonly id: string;
  readonly settings: Record<string, number>;
  close(): Promise<void>;
}

/** The child side: starts what `start` starts, reports ready, and closes when told to. */
export function serve(start: (config: ChildConfig) => Promise<Started>): void {
  const config = JSON.parse(process.argv[2] ?? '{}') as ChildConfig;
  start(config).then(
    (started) => {
      let closing: Promise<void> | null = null;
      const close = (): void => {
        closing ??= started.close().then(
          () => process.disconnect(),
          (error: unknown) => {
            console.error(error);
            process.exit(1);
          },
        );
      };
      process.on('message', (message: ParentMessage) => {
        if (message === 'close') close();
      });
      process.on('disconnect', close);
      const ready: ReadyMessage = { type: 'ready', id: started.id, settings: started.settings };
      process.send?.(ready);
    },
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
