import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

import { native } from "../native/binding.js";
import { readJsonFilesIn } from "./json-file.js";
import { readFiles, readFilesInChunks } from "./read-files.js";

const base = mkdtempSync(join(tmpdir(), "warren-read-files-"));
afterAll(() => rmSync(base, { recursive: true, force: true }));

function dirs(n: number, prefix: string): string[] {
  return Array.from({ length: n }, (_, i) => {
    const d = join(base, `${prefix}${i}`);
    mkdirSync(d);
    writeFileSync(join(d, "a"), `a${i}`);
    mkdirSync(join(d, "sub"));
    if (i % 3 === 0) writeFileSync(join(d, "state.json"), JSON.stringify({ i }));
    if (i % 3 === 1) writeFileSync(join(d, "state.json"), "{ torn");
    return d;
  });
}

describe("readFiles (native, batched)", () => {
  it("gives each pair's text or errno, in order, across a split batch", async () => {
    const ds = dirs(600, "s");
    const out = await readFiles(ds, ["a", "missing", "sub"]);
    expect(out).toHaveLength(1800);
    for (let i = 0; i < 600; i++) {
      expect(out[i * 3]).toBe(`a${i}`);
      expect(out[i * 3 + 1]).toBe(2); // ENOENT
      expect(out[i * 3 + 2]).toBe(21); // EISDIR: a directory read()
    }
  });

  it("drops trailing whitespace (a state.json's padding), nothing else", async () => {
    const d = join(base, "padded");
    mkdirSync(d);
    writeFileSync(join(d, "p"), `  {"a": 1}` + " ".repeat(4000) + "\n");
    writeFileSync(join(d, "e"), "");
    expect(await native().readFiles([d], ["p", "e"])).toEqual([`  {"a": 1}`, ""]);
    // Mixed whitespace at the end, and a file past one read's buffer (8 KiB).
    writeFileSync(join(d, "m"), "x y" + " ".repeat(13) + "\n \t\r\n" + " ".repeat(7));
    const big = "z".repeat(9000);
    writeFileSync(join(d, "b"), big + " ".repeat(5000) + "\n");
    expect(await native().readFiles([d], ["m", "b"])).toEqual(["x y", big]);
  });

  it("reports a missing directory as the errno of each of its files", async () => {
    expect(await native().readFiles([join(base, "nope")], ["a", "b"])).toEqual([2, 2]);
  });

  it("reads directories of several parents in one batch, and paths with no parent to share", async () => {
    const one = join(base, "p1");
    const two = join(base, "p2");
    for (const [parent, names] of [[one, ["x", "y"]], [two, ["x"]]] as const) {
      for (const n of names) {
        mkdirSync(join(parent, n), { recursive: true });
        writeFileSync(join(parent, n, "f"), `${parent.slice(-2)}/${n}`);
      }
    }
    writeFileSync(join(one, "file"), "not a directory");
    const rel = join(base, "p1").slice(1); // relative to the root
    const got = await native().readFiles(
      [join(one, "x"), join(two, "x"), join(one, "y"), join(one, "gone"), join(one, "file"), `${join(two, "x")}/`, join(one, "x")],
      ["f", "g"],
    );
    expect(got).toEqual(["p1/x", 2, "p2/x", 2, "p1/y", 2, 2, 2, 20, 20, "p2/x", 2, "p1/x", 2]); // ENOENT 2, ENOTDIR 20
    const cwd = process.cwd();
    try {
      process.chdir("/");
      expect(await native().readFiles([`${rel}/x`, "."], ["f"])).toEqual(["p1/x", 2]);
    } finally {
      process.chdir(cwd);
    }
  });

  it("hands chunks over in order, each with its first index, while later ones are read", async () => {
    const ds = dirs(50, "c");
    const seen: [number, number][] = [];
    const texts: (string | number)[] = [];
    await readFilesInChunks(ds, ["a", "missing"], (t, from) => {
      seen.push([from, t.length]);
      texts.push(...t);
    }, { chunk: 7, inFlight: 3 });
    expect(seen).toEqual([0, 7, 14, 21, 28, 35, 42, 49].map((from) => [from, 2 * Math.min(7, 50 - from)]));
    expect(texts).toEqual(await readFiles(ds, ["a", "missing"]));
    // A caller's failure ends the sweep with it; reads still in flight are not left unhandled.
    await expect(readFilesInChunks(ds, ["a"], () => { throw new Error("parse"); }, { chunk: 5, inFlight: 4 })).rejects.toThrow("parse");
    let calls = 0;
    await readFilesInChunks([], ["a"], () => calls++);
    expect(calls).toBe(0);
  });

  it("refuses a name that is not one path component", () => {
    expect(() => native().readFiles([base], ["../x"])).toThrow(/one path component/);
    expect(() => native().readFiles([base], [".."])).toThrow(/one path component/);
    expect(() => native().readFiles([base], ["a\0b"])).toThrow(/NUL/);
  });

  it("reads JSON records in a batch, and a torn one again the careful way", async () => {
    const ds = dirs(40, "j");
    const got = await readJsonFilesIn<{ i: number }>(ds, "state.json").catch((e: Error) => e);
    // The torn ones are read again (and fail to parse again: HostError EINVAL).
    expect(got).toBeInstanceOf(Error);
    expect((got as Error).message).toMatch(/parse/);
    const good = ds.filter((_, i) => i % 3 !== 1);
    const recs = await readJsonFilesIn<{ i: number }>(good, "state.json");
    expect(recs.map((r) => r?.i)).toEqual(good.map((_, k) => { const i = Number(good[k]!.slice(good[k]!.lastIndexOf("j") + 1)); return i % 3 === 0 ? i : undefined; }));
  });
});
