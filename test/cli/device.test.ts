/** `warren device add/list/rm` run for real against a running container. */
import { existsSync, mkdtempSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { cliFor, removeRoot } from "../helpers/cli.js";
import { uniqueName } from "../helpers/env.js";

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
});
