import { describe, expect, it } from "vitest";

import { allocateIdRange, ID_POOL_SLOTS, ID_POOL_START, ID_RANGE_SIZE } from "./idmap.js";

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
    expect(() => allocateIdRange(full)).toThrow(/no free host id range left/);
    expect(allocateIdRange(full.slice(1)).hostUid).toBe(ID_POOL_START);
  });
});
