/**
 * Host id ranges for unprivileged containers: each gets 65536 ids that no
 * other container on the host uses (see id-ranges.ts for the host-wide
 * record), so a process escaping one container's user namespace owns
 * nothing of another's.
 * @module
 */
import { readFileSync } from "node:fs";

import type { IdMap } from "../config/schema.js";
import { StateError } from "../errors.js";

/** First host id handed out, above the ids of real users and of /etc/subuid's usual ranges' start. */
export const ID_POOL_START = 1_000_000;
export const ID_RANGE_SIZE = 65536;
/** Enough for 32768 containers below 2^31. */
export const ID_POOL_SLOTS = 32768;

/** Where ranges are taken from: `slots` ranges of {@link ID_RANGE_SIZE} ids from `start`. */
export interface IdPool {
  start: number;
  slots: number;
  /** Why the pool is what it is, for the error when it is full (a nested namespace's map). */
  describe?: string;
}

/** The pool of a host (the initial user namespace). */
export const HOST_ID_POOL: IdPool = { start: ID_POOL_START, slots: ID_POOL_SLOTS };

/** `inside outside count` lines of /proc/PID/{uid,gid}_map. */
function parseMap(text: string): { inside: number; outside: number; count: number }[] {
  return text
    .split("\n")
    .map((l) => l.trim().split(/\s+/).map(Number))
    .filter((f) => f.length === 3 && f.every(Number.isInteger))
    .map(([inside, outside, count]) => ({ inside: inside!, outside: outside!, count: count! }));
}

/** How many ids from 0 up a map covers without a gap (0 when id 0 is not mapped). */
function contiguousFromZero(text: string): number {
  const lines = parseMap(text).sort((x, y) => x.inside - y.inside);
  let end = 0;
  for (const l of lines) {
    if (l.inside > end) break;
    end = Math.max(end, l.inside + l.count);
  }
  return end;
}

/**
 * The pool of this process's user namespace, from its uid_map and gid_map.
 * On the host (the identity map of all 2^32 ids) it is {@link HOST_ID_POOL}.
 * Inside a container (warren inside warren) it is what the container was
 * given above its own first 65536 ids (root, users, nobody), in whole
 * ranges: a container with `idmap: {size: 1_000_000}` has 14 ranges for
 * nested containers, one with the default 65536 has none.
 */
export function idPoolOf(uidMap: string, gidMap: string): IdPool {
  const host = (t: string) => parseMap(t).some((l) => l.inside === 0 && l.outside === 0 && l.count === 0xffffffff);
  if (host(uidMap) && host(gidMap)) return HOST_ID_POOL;
  const have = Math.min(contiguousFromZero(uidMap), contiguousFromZero(gidMap));
  const slots = Math.max(0, Math.floor((have - ID_RANGE_SIZE) / ID_RANGE_SIZE));
  return {
    start: ID_RANGE_SIZE,
    slots,
    describe: `this user namespace maps ${have} ids (uid_map \`${uidMap.trim().replace(/\s+/g, " ")}\`); nested containers take whole ranges of ${ID_RANGE_SIZE} above its first ${ID_RANGE_SIZE}: give the outer container idmap: {size: N} with N at least ${ID_RANGE_SIZE} × (1 + the ranges its containers need)`,
  };
}

let ownPool: IdPool | undefined;

/** {@link idPoolOf} this process (read once: a process's user namespace does not change). */
export function ownIdPool(): IdPool {
  if (!ownPool) {
    try {
      ownPool = idPoolOf(readFileSync("/proc/self/uid_map", "utf8"), readFileSync("/proc/self/gid_map", "utf8"));
    } catch {
      ownPool = HOST_ID_POOL; // no procfs: assume a host
    }
  }
  return ownPool;
}

/**
 * Which slots of a pool the ranges in use touch, kept as ranges come and
 * go, and the lowest free run: O(1) to add or remove a range of one slot,
 * and to find a free one on a host that fills its pool from the bottom (a
 * fleet of thousands of creates), where a sweep of every range in use per
 * create would cost O(n). uid and gid ranges are allocated together, so a
 * slot is free only when neither touches it; each range counts, so two
 * explicit ranges on one slot free it only when both are gone.
 */
export class IdSlotIndex {
  readonly #users: Uint32Array;
  /** Every slot below this one is in use. */
  #low = 0;

  constructor(readonly pool: IdPool) {
    this.#users = new Uint32Array(pool.slots);
  }

  add(m: IdMap): void {
    this.#count(m.hostUid, m.size, 1);
    this.#count(m.hostGid, m.size, 1);
  }

  /** Takes back a range given to {@link add} before. */
  remove(m: IdMap): void {
    this.#count(m.hostUid, m.size, -1);
    this.#count(m.hostGid, m.size, -1);
  }

  /** The lowest free run of slots that holds `size` ids; a StateError that says why when there is none. */
  lowestFree(size = ID_RANGE_SIZE): IdMap {
    const { pool } = this;
    const users = this.#users;
    // The slots the scan passes over before its first free one stay in
    // use until a remove says otherwise: the next scan starts after them.
    while (this.#low < pool.slots && users[this.#low] !== 0) this.#low++;
    const slots = Math.ceil(size / ID_RANGE_SIZE);
    for (let s = this.#low, run = 0; s < pool.slots; s++) {
      run = users[s] !== 0 ? 0 : run + 1;
      if (run === slots) {
        const candidate = pool.start + (s - slots + 1) * ID_RANGE_SIZE;
        return { hostUid: candidate, hostGid: candidate, size };
      }
    }
    const what = `no free host id range of ${size} ids left (${pool.slots} ranges of ${ID_RANGE_SIZE} ids from ${pool.start}`;
    throw new StateError(`${what}${pool.describe ? `; ${pool.describe})` : " are in use)"}`, "create", "no-id-range");
  }

  #count(start: number, length: number, delta: 1 | -1): void {
    const { pool } = this;
    const users = this.#users;
    const first = Math.max(0, Math.floor((start - pool.start) / ID_RANGE_SIZE));
    const last = Math.min(pool.slots, Math.ceil((start + length - pool.start) / ID_RANGE_SIZE));
    for (let i = first; i < last; i++) {
      if (delta > 0) users[i]!++;
      else if (users[i]! > 0 && --users[i]! === 0 && i < this.#low) this.#low = i;
    }
  }
}

/**
 * The lowest free range given the ranges in use, as {@link IdSlotIndex}
 * finds it (for a one-off question; a record that lives keeps its index).
 */
export function allocateIdRange(inUse: readonly IdMap[], size = ID_RANGE_SIZE, pool: IdPool = HOST_ID_POOL): IdMap {
  const index = new IdSlotIndex(pool);
  for (const m of inUse) index.add(m);
  return index.lowestFree(size);
}
