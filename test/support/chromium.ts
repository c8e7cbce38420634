// Chromium for the browser tests: Debian's package, which .ci/run installs.
import { execFileSync } from 'node:child_process';

/** Chromium's path ($CHROMIUM_PATH, or `chromium` on the PATH), or null; CI requires it (SLOTWISE_REQUIRE_CHROMIUM=1). */
export function findChromium(): string | null {
  for (const name of [process.env.CHROMIUM_PATH, 'chromium', 'chromium-browser']) {
    if (name === undefined) continue;
    try {
      return execFileSync('sh', ['-c', `command -v "${name}"`], { encoding: 'utf8' }).trim() || null;
    } catch {
      // not this one
    }
  }
  return null;
}
