// Progress of one benchmark suite on stderr: a cli-progress bar with the elapsed time on a
// terminal, plain start and end lines otherwise (CI logs).
import { Presets, SingleBar } from 'cli-progress';

export interface SuiteProgress {
  /** Ends the progress display; returns the elapsed seconds. */
  done(outcome: 'done' | 'failed' | 'skipped'): number;
}

const TICK_MS = 200;

export function startProgress(suite: string, index: number, count: number): SuiteProgress {
  const started = performance.now();
  const elapsed = (): number => (performance.now() - started) / 1000;
  const label = `[${String(index + 1)}/${String(count)}] ${suite}`;
  if (process.stderr.isTTY !== true) {
    process.stderr.write(`bench ${label}: started\n`);
    return {
      done(outcome) {
        const seconds = elapsed();
        process.stderr.write(`bench ${label}: ${outcome} in ${seconds.toFixed(1)} s\n`);
        return seconds;
      },
    };
  }
  const bar = new SingleBar(
    { format: `{bar} ${label} {state} {seconds} s`, hideCursor: true, clearOnComplete: false, stream: process.stderr },
    Presets.shades_classic,
  );
  bar.start(1, 0, { state: 'running', seconds: '0.0' });
  const timer = setInterval(() => bar.update({ seconds: elapsed().toFixed(1) }), TICK_MS);
  return {
    done(outcome) {
      clearInterval(timer);
      const seconds = elapsed();
      bar.update(outcome === 'done' ? 1 : 0, { state: outcome, seconds: seconds.toFixed(1) });
      bar.stop();
      return seconds;
    },
  };
}
