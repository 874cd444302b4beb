/**
 * Host id ranges for unprivileged containers: each gets 65536 ids that no
 * other container on the host uses (see id-ranges.ts for the host-wide
 * record), so a process escaping one container's user namespace owns
 * nothing of another's.
 * @module
 */
import type { IdMap } from "../config/schema.js";
import { StateError } from "../errors.js";

/** First host id handed out, above the ids of real users and of /etc/subuid's usual ranges' start. */
export const ID_POOL_START = 1_000_000;
export const ID_RANGE_SIZE = 65536;
/** Enough for 32768 containers below 2^31. */
export const ID_POOL_SLOTS = 32768;

/**
 * The lowest free range given the ranges in use (uid and gid ranges are
 * allocated together, so both must be free). Sorts the used intervals once
 * and sweeps the slots past them: O(n log n) in the ranges in use.
 */
export function allocateIdRange(inUse: readonly IdMap[], size = ID_RANGE_SIZE): IdMap {
  const used = inUse
    .flatMap((m) => [
      { start: m.hostUid, end: m.hostUid + m.size },
      { start: m.hostGid, end: m.hostGid + m.size },
    ])
    .sort((a, b) => a.start - b.start);
  const slots = Math.ceil(size / ID_RANGE_SIZE);
  let candidate = ID_POOL_START;
  for (const u of used) {
    if (u.end <= candidate) continue;
    if (u.start >= candidate + size) break; // sorted: nothing later overlaps the candidate either
    // Overlaps: the next candidate is the first slot at or after its end.
    candidate = ID_POOL_START + Math.ceil((u.end - ID_POOL_START) / ID_RANGE_SIZE) * ID_RANGE_SIZE;
  }
  if (candidate + slots * ID_RANGE_SIZE > ID_POOL_START + ID_POOL_SLOTS * ID_RANGE_SIZE) {
    throw new StateError(`no free host id range left (${ID_POOL_SLOTS} ranges of ${ID_RANGE_SIZE} ids from ${ID_POOL_START} are in use)`, "create", "no-id-range");
  }
  return { hostUid: candidate, hostGid: candidate, size };
}
