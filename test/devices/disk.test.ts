/**
 * disk devices: host directories and files bound in live (read-only
 * enforced and locked, idmapped owners), a block device's filesystem
 * mounted at start and live; and a container without a user namespace,
 * whose device program allows exactly the nodes passed.
 */
import { chownSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

import { busybox, cleanupAll, rootfs } from "../helpers/env.js";
import { attach, detach, freeLoopNumber, makeImage, removeImage } from "./loop.js";

const host = mkdtempSync(join(tmpdir(), "warren-disk-"));
writeFileSync(join(host, "owned-by-root"), "data\n");
writeFileSync(join(host, "owned-by-1000"), "data\n");
chownSync(join(host, "owned-by-1000"), 1000, 1000);
const image = makeImage();
const used: number[] = [];

afterAll(async () => {
  await cleanupAll();
  for (const n of used) detach(n);
  removeImage(image.dir);
  rmSync(host, { recursive: true, force: true });
});

const sh = (script: string) => ["sh", "-c", script];

describe("disk", () => {
  it("binds a host directory live, read-only and idmapped, and takes it away", async () => {
    const c = await busybox("disk-dir", { rootfs: { path: rootfs(), mode: "overlay", idmap: true } });
    await c.start();
    await c.addDevice("data", { type: "disk", source: host, path: "/mnt/data", readonly: true, idmap: true });
    // Idmapped: host owners show as the container's own ids (0 is its root).
    expect((await c.execOutput(["stat", "-c", "%n %u", "/mnt/data/owned-by-root", "/mnt/data/owned-by-1000"])).stdout).toBe(
      "/mnt/data/owned-by-root 0\n/mnt/data/owned-by-1000 1000\n",
    );
    // Read-only, and the container's root cannot make it writable.
    // (A bind's own read-only flag is what `remount,bind,rw` changes; the kernel locked it.)
    const write = await c.execOutput(sh("echo x > /mnt/data/new 2>/dev/null && echo wrote; mount -o remount,bind,rw /mnt/data 2>/dev/null && echo remounted; echo x > /mnt/data/new 2>/dev/null && echo wrote || echo refused"));
    expect(write.stdout).toBe("refused\n");
    await c.addDevice("file", { type: "disk", source: join(host, "owned-by-1000"), path: "/etc/one-file" });
    expect((await c.execOutput(["cat", "/etc/one-file"])).stdout).toBe("data\n");
    await c.removeDevice("data");
    await c.removeDevice("file");
    expect((await c.execOutput(sh("ls /mnt/data 2>/dev/null | wc -l; cat /etc/one-file 2>/dev/null || echo no-file"))).stdout).toBe("0\nno-file\n");
    await c.stop({ timeout: 0 });
  });

  it("mounts a block device's filesystem, at start and live", async () => {
    const n = freeLoopNumber();
    used.push(n);
    const dev = attach(n, image.image);
    const overlay = { path: rootfs(), mode: "overlay" as const, idmap: true };
    const a = await busybox("disk-blk-a", { rootfs: overlay, devices: { img: { type: "disk", source: dev, path: "/srv/img", readonly: true } } });
    const b = await busybox("disk-blk-b", { rootfs: overlay });
    await b.start();
    await b.addDevice("img", { type: "disk", source: dev, path: "/srv/img", readonly: true, fstype: "ext4" });
    await a.start();
    for (const c of [a, b]) {
      expect((await c.execOutput(["cat", "/srv/img/hello.txt"])).stdout).toBe("hello from the image\n");
      expect((await c.execOutput(sh("touch /srv/img/x 2>&1 || true"))).stdout).toMatch(/Read-only file system/);
    }
    await b.removeDevice("img");
    expect((await b.execOutput(sh("test -e /srv/img/hello.txt && echo there || echo gone"))).stdout).toBe("gone\n");
    await a.stop({ timeout: 0 });
    await b.stop({ timeout: 0 });
  });
});

describe("devices of a container without a user namespace", () => {
  it("allows exactly the nodes passed in its device program, and denies them again on removal", async () => {
    // Its own rules let it make a node for 10:237, not open one.
    const c = await busybox("dev-priv", { namespaces: { user: false }, rootfs: { path: rootfs(), mode: "overlay" }, deviceRules: ["c 10:237 m"] });
    await c.start();
    // /dev/loop-control (10:237) is not among the standard devices.
    const probe = sh("(exec 3<>/dev/loopctl) 2>/dev/null && echo opened || echo denied");
    await c.addDevice("loopctl", { type: "unix-char", source: "/dev/loop-control", path: "/dev/loopctl" });
    expect((await c.execOutput(probe)).stdout).toBe("opened\n");
    // A node it makes itself for another device stays denied.
    expect((await c.execOutput(sh("mknod /dev/mem2 c 1 1 2>/dev/null; head -c1 /dev/mem2 >/dev/null 2>&1 && echo read || echo denied"))).stdout).toBe("denied\n");
    expect((await c.execOutput(sh("mknod /dev/loopctl2 c 10 237 && exec 3<>/dev/loopctl2 && echo opened"))).stdout).toBe("opened\n");
    await c.removeDevice("loopctl");
    expect((await c.execOutput(sh("(exec 3<>/dev/loopctl2) 2>/dev/null && echo opened || echo denied"))).stdout).toBe("denied\n");
    await c.stop({ timeout: 0 });
  });
});
