/**
 * Idmapped mounts: a rootfs owned by host root, and host files owned by
 * uid 1000, appear with their own ids inside an unprivileged container,
 * without copying or chowning anything.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, chownSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

import { busybox, cleanupAll, rootfs } from "../helpers/env.js";

afterAll(cleanupAll);

describe("idmapped mounts", () => {
  it("shows a root-owned rootfs as the container root's, and writes land as host root", async () => {
    const dir = mkdtempSync(join(tmpdir(), "warren-idmap-rootfs-"));
    try {
      execFileSync("cp", ["-a", `${rootfs()}/.`, dir]);
      const plain = await busybox("idm-plain", { rootfs: { path: dir, mode: "rw" } });
      await plain.start();
      expect((await plain.execOutput(["stat", "-c", "%u:%g", "/bin/busybox"])).stdout).toBe("65534:65534\n");
      expect((await plain.execOutput(["sh", "-c", "touch /root/x"])).code).not.toBe(0);
      await plain.stop({ timeout: 0 });

      const c = await busybox("idm-root", { rootfs: { path: dir, mode: "rw", idmap: true } });
      await c.start();
      expect((await c.execOutput(["stat", "-c", "%u:%g", "/bin/busybox"])).stdout).toBe("0:0\n");
      const w = await c.execOutput(["sh", "-c", "echo hi > /root/made-inside && chown 1000:1000 /root/made-inside && stat -c %u /root/made-inside"]);
      expect(w).toMatchObject({ code: 0, stdout: "1000\n" });
      // On disk, through the mapping back: host uid 1000, not the container's host range.
      expect(statSync(join(dir, "root/made-inside")).uid).toBe(1000);
      await c.stop({ timeout: 0 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("lets an overlay over a root-owned directory change its files (idmapped lower layer), leaving the directory untouched", async () => {
    const before = execFileSync("sh", ["-c", `cd ${rootfs()} && ls -ln bin/busybox etc`], { encoding: "utf8" });
    const c = await busybox("idm-ovl", { rootfs: { path: rootfs(), mode: "overlay", idmap: true } });
    await c.start();
    expect((await c.execOutput(["stat", "-c", "%u:%g", "/bin/busybox"])).stdout).toBe("0:0\n");
    // Root-owned files are copied up with their owner: changing them works.
    const w = await c.execOutput(["sh", "-c", "echo changed >> /etc/passwd && touch /etc/new && stat -c %u:%g /etc/passwd /etc/new"]);
    expect(w).toMatchObject({ code: 0, stdout: "0:0\n0:0\n" });
    await c.stop({ timeout: 0 });
    expect(execFileSync("sh", ["-c", `cd ${rootfs()} && ls -ln bin/busybox etc`], { encoding: "utf8" })).toBe(before);
    // The changes lived in the run's tmpfs.
    await c.start();
    expect((await c.execOutput(["sh", "-c", "test -e /etc/new || echo gone"])).stdout).toBe("gone\n");
    await c.stop({ timeout: 0 });
  });

  it("keeps the owner of files in an idmapped bind mount", async () => {
    const dir = mkdtempSync(join(tmpdir(), "warren-idmap-bind-"));
    try {
      chmodSync(dir, 0o755); // the plain bind needs it: its owner is nobody inside
      writeFileSync(join(dir, "owned-by-1000"), "x");
      chownSync(join(dir, "owned-by-1000"), 1000, 1000);
      const c = await busybox("idm-bind", {
        mounts: [
          { type: "bind", source: dir, target: "/mnt", idmap: true, readonly: true },
          { type: "bind", source: dir, target: "/tmp", readonly: true },
        ],
      });
      await c.start();
      expect((await c.execOutput(["stat", "-c", "%u", "/mnt/owned-by-1000"])).stdout).toBe("1000\n");
      expect((await c.execOutput(["stat", "-c", "%u", "/tmp/owned-by-1000"])).stdout).toBe("65534\n");
      expect((await c.execOutput(["sh", "-c", "echo y > /mnt/new"])).code).not.toBe(0); // read-only
      await c.stop({ timeout: 0 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
