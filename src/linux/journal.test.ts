import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { Journal } from "./journal.js";

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "warren-journal-"))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const lines = (p: string) => readFileSync(p, "utf8").split("\n").filter(Boolean);

describe("journal", () => {
  it("replays appended changes, and another instance (another process) catches up on what was appended", async () => {
    const path = join(dir, "j.jsonl");
    const a = new Journal<number>(path);
    const b = new Journal<number>(path);
    await a.update((_, c) => (c.set("x", 1), c.set("y", 2)));
    expect([...(await b.read())]).toEqual([["x", 1], ["y", 2]]);
    await b.update((m, c) => c.set("x", m.get("x")! + 10));
    await a.update((_, c) => c.delete("y"));
    expect([...(await a.read())]).toEqual([["x", 11]]);
    expect([...(await b.read())]).toEqual([["x", 11]]);
    expect(lines(path)).toHaveLength(5); // the id line, then one per change
  });

  it("drops a line a crash cut short, and the next writer truncates it", async () => {
    const path = join(dir, "j.jsonl");
    await new Journal<string>(path).update((_, c) => c.set("a", "1"));
    appendFileSync(path, '{"k":"b","v":"cut sh');
    const fresh = new Journal<string>(path);
    expect([...(await fresh.read())]).toEqual([["a", "1"]]);
    await fresh.update((_, c) => c.set("c", "3"));
    expect(lines(path).slice(1)).toEqual(['{"k":"a","v":"1"}', '{"k":"c","v":"3"}']);
  });

  it("compacts when dead lines outnumber live ones, and readers follow the new file", async () => {
    const path = join(dir, "j.jsonl");
    const writer = new Journal<number>(path);
    const reader = new Journal<number>(path);
    const ino = () => statSync(path).ino;
    await writer.update((_, c) => c.set("keep", 0));
    const first = ino();
    for (let i = 0; i < 400; i++) await writer.update((_, c) => c.set("hot", i));
    expect(ino()).not.toBe(first);
    expect(lines(path).length).toBeLessThan(300);
    expect(Object.fromEntries(await reader.read())).toEqual({ keep: 0, hot: 399 });
  });

  it("takes over a record in an older whole-file format and rewrites it on the first change", async () => {
    const path = join(dir, "old.json");
    appendFileSync(path, JSON.stringify({ list: [["p", 1]] }, null, 2));
    const j = new Journal<number>(path, (old) => (old as { list: [string, number][] }).list);
    expect([...(await j.read())]).toEqual([["p", 1]]);
    await j.update((_, c) => c.set("q", 2));
    expect(lines(path).slice(1)).toEqual(['{"k":"p","v":1}', '{"k":"q","v":2}']);
    expect(lines(path)[0]).toMatch(/^{"journal":"[0-9a-f]{16}"}$/);
  });
});
