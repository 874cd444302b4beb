/**
 * `warren device add/list/rm` run for real against a running container, and
 * the root's device follower that keeps hotplug devices following the host
 * after the CLI that started the container has exited.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { attach, detach, freeLoopNumber, makeImage, removeImage, within } from "../devices/loop.js";
import { cliFor, removeRoot } from "../helpers/cli.js";
import { uniqueName } from "../helpers/env.js";

/** Pids of `warren device follow` processes for `root`. */
function followers(root: string): number[] {
  let out = "";
  try {
    out = execFileSync("pgrep", ["-f", `device follow --root ${root}$`], { encoding: "utf8" });
  } catch {
    return []; // pgrep: none
  }
  return out.split("\n").filter(Boolean).map(Number);
}

let root: string;
let cli: ReturnType<typeof cliFor>;

beforeAll(() => {
  root = mkdtempSync("/tmp/warren-cli-device-");
  cli = cliFor(root);
});

afterAll(async () => {
  const cg = await removeRoot(root);
  expect(existsSync(cg), cg).toBe(false);
}, 60_000);

describe("warren device", () => {
  it("adds, lists and removes a device of a running container, and names a bad field", async () => {
    const name = uniqueName("cli-dev");
    expect((await cli("create", [name])).code).toBe(0);
    expect((await cli("start", [name])).code).toBe(0);
    const added = await cli("device", ["add", name, "fuse", "type=unix-char", "source=/dev/fuse", "mode=0666", "uid=1000"]);
    expect(added).toMatchObject({ code: 0, stdout: "fuse\n", stderr: "" });
    const stat = await cli("exec", [name, "--", "stat", "-c", "%F %a %t %T %u", "/dev/fuse"]);
    expect(stat.stdout).toBe("character special file 666 a e5 1000\n");
    const list = await cli("device", ["list", name]);
    expect(list.stdout.split("\n")[1]!.split(/\s+/)).toEqual(["fuse", "unix-char", "attached", "/dev/fuse", "/dev/fuse"]);
    const bad = await cli("device", ["add", name, "x", "type=unix-char", "source=/dev/fuse", "mode=0999"]);
    expect(bad.code).toBe(125);
    expect(bad.stderr).toMatch(/devices\.x\.mode: must be permission bits/);
    expect(await cli("device", ["add", name, "x", "type=unix-char", "major=q"])).toMatchObject({ code: 125, stderr: expect.stringMatching(/major="q": expected a number/) });
    expect((await cli("device", ["rm", name, "fuse"])).stdout).toBe("fuse\n");
    expect(JSON.parse((await cli("device", ["list", "--json", name])).stdout)).toEqual([]);
    expect((await cli("stop", ["--timeout", "0", name])).code).toBe(0);
  }, 60_000);

  it("keeps a required=false device following the host after the CLI that started the container exited", async () => {
    const image = makeImage();
    const n = freeLoopNumber();
    try {
      const name = uniqueName("cli-follow");
      expect((await cli("create", [name])).code).toBe(0);
      expect((await cli("start", [name])).code).toBe(0);
      // Added by a CLI process that exits at once: the follower it started
      // is what applies the attach and the detach below.
      const added = await cli("device", ["add", name, "later", "type=unix-block", `source=/dev/loop${n}`, "path=/dev/later", "required=false"]);
      expect(added).toMatchObject({ code: 0, stderr: "" });
      expect(followers(root)).toHaveLength(1);
      // It holds the root's follower lock with its pid in it (once it is up).
      expect(await within(10_000, async () => readFileSync(`${root}/.devices-follower`, "utf8") === String(followers(root)[0]))).toBeGreaterThanOrEqual(0);
      const present = async () => (await cli("exec", [name, "--", "sh", "-c", "test -b /dev/later && echo y || echo n"])).stdout === "y\n";
      expect(await present()).toBe(false);
      attach(n, image.image);
      expect(await within(5000, present)).toBeGreaterThanOrEqual(0);
      detach(n);
      expect(await within(5000, async () => !(await present()))).toBeGreaterThanOrEqual(0);
      // A second container with such a device shares the one follower.
      const other = uniqueName("cli-follow");
      expect((await cli("create", [other])).code).toBe(0);
      expect((await cli("start", [other])).code).toBe(0);
      expect((await cli("device", ["add", other, "later", "type=unix-block", `source=/dev/loop${n}`, "path=/dev/later", "required=false"])).code).toBe(0);
      expect(followers(root)).toHaveLength(1);
      expect((await cli("stop", ["--timeout", "0", name])).code).toBe(0);
      expect(followers(root)).toHaveLength(1); // the other still runs
      attach(n, image.image);
      expect(await within(5000, async () => (await cli("exec", [other, "--", "sh", "-c", "test -b /dev/later && echo y"])).stdout === "y\n")).toBeGreaterThanOrEqual(0);
      detach(n);
      // With nothing left to follow the follower leaves.
      expect((await cli("stop", ["--timeout", "0", other])).code).toBe(0);
      expect(await within(5000, async () => followers(root).length === 0)).toBeGreaterThanOrEqual(0);
    } finally {
      detach(n);
      removeImage(image.dir);
    }
  }, 90_000);
});
