/**
 * Host id ranges for unprivileged containers: each gets 65536 ids that no
 * other container under the same root uses, so a process escaping one
 * container's user namespace owns nothing of another's.
 * @module
 */
import type { IdMap } from "../config/schema.js";

/** First host id handed out, above the ids of real users and of /etc/subuid's usual ranges' start. */
export const ID_POOL_START = 1_000_000;
export const ID_RANGE_SIZE = 65536;
/** Enough for 32768 containers below 2^31. */
export const ID_POOL_SLOTS = 32768;

function overlaps(a: { start: number; size: number }, b: { start: number; size: number }): boolean {
  return a.start < b.start + b.size && b.start < a.start + a.size;
}

/** The lowest free range given the ranges in use (uid and gid ranges are allocated together). */
export function allocateIdRange(inUse: readonly IdMap[], size = ID_RANGE_SIZE): IdMap {
  const used = inUse.flatMap((m) => [
    { start: m.hostUid, size: m.size },
    { start: m.hostGid, size: m.size },
  ]);
  const slots = Math.ceil(size / ID_RANGE_SIZE);
  for (let slot = 0; slot + slots <= ID_POOL_SLOTS; slot++) {
    const cand = { start: ID_POOL_START + slot * ID_RANGE_SIZE, size };
    if (!used.some((u) => overlaps(u, cand))) return { hostUid: cand.start, hostGid: cand.start, size };
  }
  throw new Error("no free host id range left");
}
