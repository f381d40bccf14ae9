import { randomFillSync } from 'node:crypto';
import { v7 } from 'uuid';

/** Random bytes for 256 ids, drawn from the system at once: one 16-byte draw per id cost more than the rest of the id. */
const pool = new Uint8Array(256 * 16);
let offset = pool.length;
/**
 * The monotonic state uuid's v7() keeps for itself, kept here because v7() keeps it only when
 * called without options, and the pooled bytes are an option: the same rule as uuid's own, so
 * ids made in one millisecond still sort in creation order.
 */
const state = { msecs: -Infinity, seq: 0 };

/** A new time-ordered UUID (v7): ids sort in creation order, which keeps indexes compact. */
export function newId(): string {
  if (offset === pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const random = pool.subarray(offset, (offset += 16));
  const now = Date.now();
  if (now > state.msecs) {
    state.msecs = now;
    state.seq = ((random[6]! & 0x7f) << 24) | (random[7]! << 16) | (random[8]! << 8) | random[9]!;
  } else {
    state.seq = (state.seq + 1) | 0;
    if (state.seq === 0) state.msecs++;
  }
  return v7({ random, msecs: state.msecs, seq: state.seq });
}
