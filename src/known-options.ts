/**
 * Refusing option names nobody reads. A misspelt option (`maxConcurentTasks`) would otherwise
 * run with the default and say nothing; instead it is an `InvalidArgumentError` that names it
 * and the closest known name.
 */
import leven from 'leven';
import { InvalidArgumentError } from './errors.js';

/** The option names of one options type, kept in step with it by `satisfies` at each use. */
export type KnownOptions<T> = Readonly<Record<keyof T, true>>;

/** Throws for the first own key of `options` that is not in `known`. `where`: e.g. `new Executor()`. */
export function rejectUnknownOptions(options: object, known: Readonly<Record<string, true>>, where: string): void {
  for (const key of Object.keys(options)) {
    if (Object.hasOwn(known, key)) continue;
    const closest = closestName(key, Object.keys(known));
    const hint =
      closest === null
        ? `one of ${Object.keys(known)
            .map((k) => `\`${k}\``)
            .join(', ')}`
        : `\`${closest}\``;
    throw new InvalidArgumentError(
      key,
      `an option of ${where} (no such option: did you mean ${hint}?)`,
      (options as Record<string, unknown>)[key],
    );
  }
}

/** The known name nearest to `name`, if one is near enough to be a typo (a third of its length, at least 2). */
function closestName(name: string, known: readonly string[]): string | null {
  const limit = Math.max(2, Math.floor(name.length / 3));
  let best: string | null = null;
  let bestDistance = limit + 1;
  for (const candidate of known) {
    const distance =
      candidate.toLowerCase() === name.toLowerCase() ? 0 : leven(name, candidate, { maxDistance: limit + 1 });
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}
