import { describe, expect, it } from "vitest";

import { allocateIdRange, ID_POOL_START, ID_RANGE_SIZE } from "./idmap.js";

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
