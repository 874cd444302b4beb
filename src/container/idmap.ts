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
 * allocated together, so both must be free). Marks the pool slots the used
 * intervals touch, then takes the first run of free ones: O(n) in the
 * ranges in use, no sort (a create on a host with thousands of containers
 * pays microseconds here).
 */
export function allocateIdRange(inUse: readonly IdMap[], size = ID_RANGE_SIZE): IdMap {
  const used = new Uint8Array(ID_POOL_SLOTS);
  const mark = (start: number, length: number) => {
    const first = Math.max(0, Math.floor((start - ID_POOL_START) / ID_RANGE_SIZE));
    const last = Math.min(ID_POOL_SLOTS, Math.ceil((start + length - ID_POOL_START) / ID_RANGE_SIZE));
    for (let i = first; i < last; i++) used[i] = 1;
  };
  for (const m of inUse) {
    mark(m.hostUid, m.size);
    mark(m.hostGid, m.size);
  }
  const slots = Math.ceil(size / ID_RANGE_SIZE);
  for (let s = 0, run = 0; s < ID_POOL_SLOTS; s++) {
    run = used[s] ? 0 : run + 1;
    if (run === slots) {
      const candidate = ID_POOL_START + (s - slots + 1) * ID_RANGE_SIZE;
      return { hostUid: candidate, hostGid: candidate, size };
    }
  }
  throw new StateError(`no free host id range left (${ID_POOL_SLOTS} ranges of ${ID_RANGE_SIZE} ids from ${ID_POOL_START} are in use)`, "create", "no-id-range");
}
