/**
 * Issue 11 item 1, the CVE-2024-21626 class: a working directory or a mount
 * target that resolves through `/proc/self/fd/N` while the child still holds
 * Node's fds lands on a host directory. The attacker here is a hostile
 * rootfs (links planted in it) and a careless embedder (the values passed
 * straight through); the host directory is one the Node process has open.
 */
import { closeSync, mkdtempSync, openSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { ConfigError, Container, SetupError } from "../../src/index.js";
import { busybox, cleanupAll, runtime, stateRoot, uniqueName } from "../helpers/env.js";
import { copyRootfs, type RootfsCopy } from "../helpers/rootfs-copy.js";

let hostDir: string;
let fd: number;
let root: RootfsCopy;

beforeAll(() => {
  hostDir = mkdtempSync(join(tmpdir(), "warren-hostdir-"));
  writeFileSync(join(hostDir, "HOST-MARKER"), "");
  fd = openSync(hostDir, "r");
  root = copyRootfs("cwd-escape");
  // The hostile rootfs: links that are harmless names inside the container
  // but lead to Node's fd N if resolved while the child still holds it.
  symlinkSync(`/proc/self/fd/${fd}`, join(root.path, "work"));
  symlinkSync(`/dev/fd/${fd}`, join(root.path, "opt2"));
});

afterAll(async () => {
  await cleanupAll();
  closeSync(fd);
  rmSync(hostDir, { recursive: true, force: true });
  root.remove();
});

const hostUntouched = () => expect(readdirSync(hostDir)).toEqual(["HOST-MARKER"]);
const hostile = (prefix: string, config: Parameters<typeof busybox>[1] = {}) =>
  busybox(prefix, { rootfs: { path: root.path, mode: "ro" }, ...config });

describe("a working directory outside the root", () => {
  it("is refused up front as /proc/self/fd/N or /dev/fd/N, for cwd, mount targets and exec, before anything is created", async () => {
    for (const bad of [`/proc/self/fd/${fd}`, `/dev/fd/${fd}`, `/proc/${process.pid}/cwd`]) {
      const name = uniqueName("cwd-upfront");
      const err = await Container.create(name, { cwd: bad }, runtime()).catch((e: unknown) => e);
      expect(err, bad).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).issues[0]?.path).toBe("cwd");
      const err2 = await Container.create(name, { mounts: [{ type: "tmpfs", target: `${bad}/x` }] }, runtime()).catch((e: unknown) => e);
      expect((err2 as ConfigError).issues[0]?.path).toBe("mounts[0].target");
      expect(readdirSync(stateRoot())).not.toContain(name);
    }
    const c = await busybox("cwd-exec");
    await c.start();
    await expect(c.execOutput(["pwd"], { cwd: `/proc/self/fd/${fd}` })).rejects.toBeInstanceOf(ConfigError);
    await c.stop();
  });

  it("through a rootfs link to /proc/self/fd/N: the init never starts, with a SetupError at chdir", async () => {
    for (const cwd of ["/work", "/opt2", "/work/sub"]) {
      const c = await hostile("cwd-init", { cwd, init: ["/bin/sh", "-c", "ls; ls ../../..; sleep 5"] });
      const err = await c.start({ stdio: ["ignore", "pipe", "pipe"] }).catch((e: unknown) => e);
      expect(err, cwd).toBeInstanceOf(SetupError);
      expect((err as SetupError).step).toBe("chdir");
      expect(["ENOENT", "ELOOP"]).toContain((err as SetupError).errno);
      expect(c.state).not.toBe("running");
    }
    hostUntouched();
  });

  it("through the same link as exec's cwd: refused at chdir, the running container unaffected", async () => {
    const c = await hostile("cwd-exec-link");
    await c.start();
    await expect(c.execOutput(["ls", "../../.."], { cwd: "/work" })).rejects.toMatchObject({ code: "ERR_WARREN_SETUP", step: "chdir" });
    expect((await c.execOutput(["pwd"], { cwd: "/tmp" })).stdout).toBe("/tmp\n");
    await c.stop();
    hostUntouched();
  });
});

describe("mount targets through a rootfs link", () => {
  it("create nothing on the host: a tmpfs target and a file bind target below /proc/self/fd/N fail the start", async () => {
    const file = join(tmpdir(), `warren-bindsrc-${process.pid}`);
    writeFileSync(file, "x");
    try {
      for (const mount of [
        { type: "tmpfs" as const, target: "/work/made-by-container/deep" },
        { type: "bind" as const, source: file, target: "/opt2/file-by-container" },
      ]) {
        const c = await hostile("mnt-escape", { mounts: [mount] });
        const err = await c.start().catch((e: unknown) => e);
        expect(err, mount.target).toBeInstanceOf(SetupError);
        expect(["ENOENT", "ELOOP"]).toContain((err as SetupError).errno);
        hostUntouched();
      }
    } finally {
      rmSync(file, { force: true });
    }
  });
});
