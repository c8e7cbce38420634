import { getRandomValues } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';

/**
 * UUIDv7 ids for runs and rows: time-ordered, and ordered within this process even inside one
 * millisecond (a 32-bit sequence counts up, as RFC 9562's "monotonic random" method does), so
 * they index well and rows inserted in order read back in order.
 *
 * The `uuid` package draws 16 fresh random bytes from the OS-backed generator for every id,
 * which showed up as ~6% of the main thread's time when running no-op tasks. Here the random
 * bytes come from a pool refilled 256 ids at a time, and the millisecond/sequence state is kept
 * here because `uuid` keeps it only when it draws the bytes itself.
 */
const IDS_PER_REFILL = 256;
const pool = new Uint8Array(16 * IDS_PER_REFILL);
let offset = pool.length;
let lastMs = -Infinity;
let sequence = 0;

function pooledRandomBytes(): Uint8Array {
  if (offset === pool.length) {
    getRandomValues(pool);
    offset = 0;
  }
  const bytes = pool.subarray(offset, offset + 16);
  offset += 16;
  return bytes;
}

export function newExecutionId(): string {
  const random = pooledRandomBytes();
  const now = Date.now();
  if (now > lastMs) {
    lastMs = now;
    // A random start in the lower half leaves room to count up within the millisecond.
    sequence = ((random[6] ?? 0) << 23) | ((random[7] ?? 0) << 15) | ((random[8] ?? 0) << 7) | ((random[9] ?? 0) >> 1);
  } else {
    sequence = (sequence + 1) >>> 0;
    if (sequence > 0x7fffffff) {
      lastMs += 1; // the sequence ran out: borrow the next millisecond, as RFC 9562 allows
      sequence = 0;
    }
  }
  return uuidv7({ random, msecs: lastMs, seq: sequence });
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether `id` has the shape of an execution id (a UUID): one that has not can name no row. */
export function isUuid(id: string): boolean {
  return UUID.test(id);
}
