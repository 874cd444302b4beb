import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { idRangesPath, listIdRanges, reclaimStaleIdRanges, releaseIdRange, reserveIdRange } from "./id-ranges.js";
import { ID_POOL_SLOTS, ID_POOL_START, ID_RANGE_SIZE } from "./idmap.js";

let tmp: string;
let saved: string | undefined;
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), "warren-id-ranges-"));
  saved = process.env.WARREN_ID_RANGES;
  process.env.WARREN_ID_RANGES = join(tmp, "ids", "ranges.json");
});
afterEach(() => {
  if (saved === undefined) delete process.env.WARREN_ID_RANGES;
  else process.env.WARREN_ID_RANGES = saved;
  rmSync(tmp, { recursive: true, force: true });
});

/** A state root with container directories (what makes an entry live). */
function root(name: string, containers: string[]): string {
  const r = join(tmp, name);
  for (const c of containers) mkdirSync(join(r, c), { recursive: true });
  return r;
}

const slot = (n: number) => ID_POOL_START + n * ID_RANGE_SIZE;

describe("host-wide id ranges", () => {
  it("gives two state roots disjoint ranges, and frees a range on release", async () => {
    const a = root("a", ["web"]);
    const b = root("b", ["web"]);
    const ra = await reserveIdRange(a, "web");
    const rb = await reserveIdRange(b, "web");
    expect([ra.hostUid, rb.hostUid]).toEqual([slot(0), slot(1)]);
    await releaseIdRange(a, "web");
    await releaseIdRange(a, "web"); // idempotent
    expect((await listIdRanges()).map((e) => [e.container, e.hostUid])).toEqual([["web", slot(1)]]);
    expect((await reserveIdRange(a, "web")).hostUid).toBe(slot(0));
    expect(idRangesPath()).toBe(join(tmp, "ids", "ranges.json"));
  });

  it("replaces a leftover entry of the same container, and keeps explicit ranges out of the pool", async () => {
    const a = root("a", ["x", "y"]);
    await reserveIdRange(a, "x");
    expect((await reserveIdRange(a, "x")).hostUid).toBe(slot(0));
    const explicit = { hostUid: slot(1) + 5, hostGid: slot(1) + 5, size: 10 };
    expect(await reserveIdRange(a, "y", explicit)).toEqual(explicit);
    const c = root("c", ["z"]);
    expect((await reserveIdRange(c, "z")).hostUid).toBe(slot(2));
    expect((await listIdRanges()).find((e) => e.container === "y")).toMatchObject({ explicit: true });
  });

  it("records the ranges a root's containers held before the record knew the root", async () => {
    const old = root("old", ["legacy"]);
    writeFileSync(join(old, "legacy", "container.json"), JSON.stringify({ name: "legacy", idmap: { hostUid: slot(0), hostGid: slot(0), size: ID_RANGE_SIZE } }));
    mkdirSync(join(old, "fresh"));
    expect((await reserveIdRange(old, "fresh")).hostUid).toBe(slot(1));
    // Another root now avoids both.
    expect((await reserveIdRange(root("other", ["n"]), "n")).hostUid).toBe(slot(2));
  });

  it("reclaims stale entries (container directory gone) when the pool is full", async () => {
    const gone = join(tmp, "gone");
    const ranges = Array.from({ length: ID_POOL_SLOTS }, (_, i) => ({ hostUid: slot(i), hostGid: slot(i), size: ID_RANGE_SIZE, root: gone, container: `c${i}` }));
    mkdirSync(join(tmp, "ids"));
    writeFileSync(idRangesPath(), JSON.stringify({ version: 1, ranges, roots: [gone] }));
    const live = root("live", ["c7"]);
    // Entry c7 of `gone` is stale like the others; a live root's container gets the lowest slot.
    expect((await reserveIdRange(live, "c7")).hostUid).toBe(slot(0));
    expect(await listIdRanges()).toHaveLength(1);
    rmSync(idRangesPath()); // a new file, as an upgrade finds it
    writeFileSync(idRangesPath(), JSON.stringify({ version: 1, ranges: [...ranges.slice(0, 2), { ...ranges[2]!, root: live, container: "c7" }], roots: [gone, live] }));
    expect((await reclaimStaleIdRanges()).map((e) => e.container)).toEqual(["c0", "c1"]);
    expect(await listIdRanges()).toHaveLength(1);
    // Rewritten as a journal: one JSON line per entry.
    expect(readFileSync(idRangesPath(), "utf8").split("\n").filter(Boolean).slice(1).every((l) => l.startsWith('{"k":'))).toBe(true);
  });

  it("appends one line per change instead of rewriting the record", async () => {
    const a = root("a", ["c0", "c1", "c2"]);
    await reserveIdRange(a, "c0");
    const size = () => readFileSync(idRangesPath(), "utf8").split("\n").filter(Boolean).length;
    const before = size();
    await reserveIdRange(a, "c1");
    expect(size()).toBe(before + 1);
    await releaseIdRange(a, "c1");
    expect(size()).toBe(before + 2);
    expect((await listIdRanges()).map((e) => e.container)).toEqual(["c0"]);
  });

  it("keeps its index of the slots in use as other processes append to the record or rewrite it", async () => {
    const a = root("a", ["c0", "c1", "c2", "c3"]);
    expect((await reserveIdRange(a, "c0")).hostUid).toBe(slot(0));
    const key = `range:${realpathSync(a)}\0other`;
    const other = { hostUid: slot(1), hostGid: slot(1), size: ID_RANGE_SIZE, root: realpathSync(a), container: "other" };
    // Another process takes slot 1, then gives it back.
    appendFileSync(idRangesPath(), `${JSON.stringify({ k: key, v: other })}\n`);
    expect((await reserveIdRange(a, "c1")).hostUid).toBe(slot(2));
    appendFileSync(idRangesPath(), `${JSON.stringify({ k: key, v: null })}\n`);
    expect((await reserveIdRange(a, "c2")).hostUid).toBe(slot(1));
    // Another process rewrites the record (a new journal id): replayed from the start, slot 0 alone in use.
    const c0 = (await listIdRanges()).find((e) => e.container === "c0")!;
    writeFileSync(idRangesPath(), `{"journal":"0123456789abcdef"}\n${JSON.stringify({ k: `range:${c0.root}\0c0`, v: c0 })}\n`);
    expect((await reserveIdRange(a, "c3")).hostUid).toBe(slot(1));
    expect((await listIdRanges()).map((e) => [e.container, e.hostUid])).toEqual([["c0", slot(0)], ["c3", slot(1)]]);
  });
});
