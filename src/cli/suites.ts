// The benchmark suites `slotwise bench` runs, loaded from the compiled benchmarks/ only when
// run (scale needs graphile-worker, a development dependency).
import type { SuiteResult } from '../../benchmarks/report.js';

export const SUITES = {
  overhead: async () => (await import('../../benchmarks/overhead.js')).overhead(),
  handshake: async () => (await import('../../benchmarks/handshake.js')).handshake(),
  defer: async () => (await import('../../benchmarks/defer.js')).defer(),
  resume: async () => (await import('../../benchmarks/resume.js')).resume(),
  persist: async () => (await import('../../benchmarks/persist.js')).persist(),
  scale: async () => (await import('../../benchmarks/scale.js')).scale(),
  parked: async () => (await import('../../benchmarks/parked.js')).parked(),
  memory: async () => (await import('../../benchmarks/memory.js')).memory(),
  transfer: async () => (await import('../../benchmarks/transfer.js')).transferSuite(),
  limits: async () => (await import('../../benchmarks/limits.js')).limits(),
} satisfies Record<string, () => Promise<SuiteResult>>;

export type SuiteName = keyof typeof SUITES;

export const SUITE_NAMES = Object.keys(SUITES) as SuiteName[];
