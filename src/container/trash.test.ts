import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { moveToTrash, purgesDone, purgeTrash, trashDir } from "./trash.js";

let root: string;
let outside: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "warren-trash-"));
  outside = mkdtempSync(join(tmpdir(), "warren-outside-"));
  writeFileSync(join(outside, "keep"), "x");
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

/** A container directory with what a writable layer holds: nested directories, files, links. */
function containerDir(name: string): string {
  const dir = join(root, name);
  for (let i = 0; i < 50; i++) mkdirSync(join(dir, "upper/mnt", String(i)), { recursive: true });
  mkdirSync(join(dir, "upper/a/b/c"), { recursive: true });
  writeFileSync(join(dir, "upper/a/b/c/f"), "data");
  writeFileSync(join(dir, "container.json"), "{}");
  symlinkSync(outside, join(dir, "upper/link-to-outside"));
  symlinkSync("/nonexistent", join(dir, "upper/dangling"));
  return dir;
}

describe("the trash", () => {
  it("moves a directory in one rename and removes it afterwards, never following a link out", async () => {
    const dir = containerDir("box");
    const moved = await moveToTrash(root, dir, "box");
    expect(existsSync(dir)).toBe(false);
    expect(moved).toMatch(new RegExp(`/\\.trash/box\\.${process.pid}-\\d+\\.[0-9a-f]{8}$`));
    expect(statSync(trashDir(root)).mode & 0o777).toBe(0o700);
    await purgeTrash(root);
    expect(readdirSync(trashDir(root))).toEqual([]);
    expect(existsSync(join(outside, "keep"))).toBe(true);
  });

  it("is undefined for a directory it cannot move (the caller removes it in place)", async () => {
    expect(await moveToTrash(root, join(root, "missing"), "missing")).toBeUndefined();
  });

  it("finishes a dead process's entries and leaves a live one's", async () => {
    mkdirSync(trashDir(root), { mode: 0o700 });
    const gone = spawnSync("true").pid!;
    const dead = join(trashDir(root), `a.${gone}-1.00000000`);
    const stray = join(trashDir(root), "not-an-entry");
    const live = join(trashDir(root), `b.${process.ppid}-${startTimeOf(process.ppid)}.00000000`);
    for (const d of [dead, stray, live]) mkdirSync(join(d, "x/y"), { recursive: true });
    await purgeTrash(root);
    expect(readdirSync(trashDir(root))).toEqual([live.slice(trashDir(root).length + 1)]);
  });

  it("joins a purge under way and looks once more for entries moved meanwhile; purgesDone waits for all", async () => {
    const first = purgeTrash(root); // nothing there yet
    await moveToTrash(root, containerDir("one"), "one");
    const second = purgeTrash(root);
    await moveToTrash(root, containerDir("two"), "two");
    void purgeTrash(root);
    await purgesDone();
    await Promise.all([first, second]);
    expect(readdirSync(trashDir(root))).toEqual([]);
  });
});

function startTimeOf(pid: number): number {
  const text = spawnSync("cat", [`/proc/${pid}/stat`], { encoding: "utf8" }).stdout;
  return Number(text.slice(text.lastIndexOf(")") + 2).split(" ")[19]);
}
