import { describe, expect, it } from "vitest";

import { allocateIdRange, HOST_ID_POOL, ID_POOL_SLOTS, ID_POOL_START, ID_RANGE_SIZE, IdSlotIndex, idPoolOf } from "./idmap.js";

describe("allocateIdRange", () => {
  it("hands out the lowest free 65536-id slot", () => {
    expect(allocateIdRange([])).toEqual({ hostUid: ID_POOL_START, hostGid: ID_POOL_START, size: ID_RANGE_SIZE });
    const first = allocateIdRange([]);
    const second = allocateIdRange([first]);
    expect(second.hostUid).toBe(ID_POOL_START + ID_RANGE_SIZE);
    // A freed slot is reused.
    expect(allocateIdRange([second]).hostUid).toBe(ID_POOL_START);
  });

  it("never overlaps an explicit range that straddles slots", () => {
    const odd = { hostUid: ID_POOL_START + 1000, hostGid: 5, size: 65536 };
    const got = allocateIdRange([odd]);
    expect(got.hostUid).toBe(ID_POOL_START + 2 * ID_RANGE_SIZE);
  });
});

describe("allocateIdRange, sweeping many ranges", () => {
  it("finds the first gap in an unsorted list, and refuses when the pool is full", () => {
    const at = (slot: number) => ({ hostUid: ID_POOL_START + slot * ID_RANGE_SIZE, hostGid: ID_POOL_START + slot * ID_RANGE_SIZE, size: ID_RANGE_SIZE });
    const used = [5, 0, 2, 1, 4].map(at);
    expect(allocateIdRange(used).hostUid).toBe(at(3).hostUid);
    // A gid range alone also blocks its slot.
    expect(allocateIdRange([...used, { hostUid: 5, hostGid: at(3).hostGid + 10, size: 100 }]).hostUid).toBe(at(6).hostUid);
    const full = Array.from({ length: ID_POOL_SLOTS }, (_, i) => at(i));
    expect(() => allocateIdRange(full)).toThrow(/no free host id range of 65536 ids left/);
    expect(allocateIdRange(full.slice(1)).hostUid).toBe(ID_POOL_START);
  });
});

describe("IdSlotIndex", () => {
  it("answers as a sweep of the ranges in use would, through any order of adds and removes", () => {
    const pool = { start: ID_POOL_START, slots: 64 };
    const index = new IdSlotIndex(pool);
    const live: { hostUid: number; hostGid: number; size: number }[] = [];
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let step = 0; step < 2000; step++) {
      const size = random(4) === 0 ? 3 * ID_RANGE_SIZE : ID_RANGE_SIZE;
      if (live.length > 0 && random(3) === 0) {
        const [gone] = live.splice(random(live.length), 1);
        index.remove(gone!);
      } else if (random(10) === 0) {
        // An explicit range: not slot-aligned, uid and gid apart, sometimes on a slot others hold too.
        const m = { hostUid: ID_POOL_START + random(64 * ID_RANGE_SIZE), hostGid: ID_POOL_START + random(64 * ID_RANGE_SIZE), size: 1 + random(2 * ID_RANGE_SIZE) };
        live.push(m);
        index.add(m);
      } else {
        let want: unknown;
        try {
          want = allocateIdRange(live, size, pool);
        } catch (e) {
          want = (e as Error).message;
        }
        let got: unknown;
        try {
          got = index.lowestFree(size);
        } catch (e) {
          got = (e as Error).message;
        }
        expect(got).toEqual(want);
        if (typeof got === "object") {
          live.push(got as (typeof live)[number]);
          index.add(got as (typeof live)[number]);
        }
      }
    }
  });

  it("reuses a slot freed below the ones it has handed out", () => {
    const index = new IdSlotIndex(HOST_ID_POOL);
    const taken = Array.from({ length: 5 }, () => {
      const m = index.lowestFree();
      index.add(m);
      return m;
    });
    expect(taken.map((m) => (m.hostUid - ID_POOL_START) / ID_RANGE_SIZE)).toEqual([0, 1, 2, 3, 4]);
    index.remove(taken[1]!);
    expect(index.lowestFree().hostUid).toBe(taken[1]!.hostUid);
    // Two ranges on one slot: free only when both are gone.
    const explicit = { hostUid: taken[3]!.hostUid + 7, hostGid: taken[3]!.hostGid + 7, size: 9 };
    index.add(explicit);
    index.remove(taken[3]!);
    index.add(taken[1]!);
    expect(index.lowestFree().hostUid).toBe(ID_POOL_START + 5 * ID_RANGE_SIZE);
    index.remove(explicit);
    expect(index.lowestFree().hostUid).toBe(taken[3]!.hostUid);
  });
});

describe("idPoolOf", () => {
  it("is the host pool in the initial user namespace", () => {
    expect(idPoolOf("         0          0 4294967295\n", "         0          0 4294967295\n")).toBe(HOST_ID_POOL);
  });

  it("inside a container, is the whole ranges above its own first 65536 ids", () => {
    const pool = idPoolOf("0 1000000 1000000\n", "0 1000000 1000000\n");
    expect(pool).toMatchObject({ start: 65536, slots: 14 });
    expect(allocateIdRange([], 65536, pool)).toEqual({ hostUid: 65536, hostGid: 65536, size: 65536 });
    // A nesting container inside takes several ranges at once.
    expect(allocateIdRange([{ hostUid: 65536, hostGid: 65536, size: 65536 }], 300_000, pool)).toEqual({ hostUid: 131072, hostGid: 131072, size: 300_000 });
    // gid_map smaller than uid_map: the smaller decides.
    expect(idPoolOf("0 1000000 1000000\n", "0 1000000 200000\n").slots).toBe(2);
    // Split lines that together cover 0..N count as one.
    expect(idPoolOf("0 1000000 65536\n65536 2000000 131072\n", "0 1000000 196608\n").slots).toBe(2);
  });

  it("has no room in a container with the default 65536 ids, and says what to do", () => {
    const pool = idPoolOf("0 1000000 65536\n", "0 1000000 65536\n");
    expect(pool.slots).toBe(0);
    expect(() => allocateIdRange([], 65536, pool)).toThrow(/no free host id range of 65536 ids left .*this user namespace maps 65536 ids .*idmap: \{size: N\}/);
  });
});
