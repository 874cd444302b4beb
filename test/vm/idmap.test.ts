/**
 * The idmapped-mount probe and its fallback where a kernel really lacks the
 * support: Debian's 6.1 kernel in the test VM (scripts/vm), on which tmpfs
 * and overlayfs cannot be idmapped (both came in 6.3) and ext4 can. The
 * guest (test/vm/guest/idmap.mts) imports the busybox image into a store on
 * a tmpfs and on an ext4 loop mount and makes two unprivileged containers
 * from each; test/image/idmap-fallback.test.ts is the host-side version,
 * which can only force the fallback. One boot runs every scenario.
 */
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, inject, it } from "vitest";

import { runGuestScript, vmAvailable, type GuestReport } from "../helpers/vm.js";

const repo = resolve(import.meta.dirname, "../..");

const vm = await vmAvailable();
let guest: GuestReport | undefined;

beforeAll(async () => {
  if (!vm.ok) return;
  guest = await runGuestScript("idmap", {
    timeoutMs: 300_000,
    env: {
      WARREN_TEST_ROOTFS: inject("rootfs"),
      // Where the guest finds its kernel's ext4 and loop modules.
      WARREN_TEST_VM_CACHE: process.env.WARREN_VM_CACHE ?? resolve(repo, ".cache/vm"),
    },
  });
}, 360_000);

const result = (name: string): any => guest!.result(name);

/** What holds for both containers whichever path they took: the same view inside, writes owned by their range. */
function expectSameInside(s: any): void {
  expect(s.containers).toHaveLength(2);
  const [a, b] = s.containers;
  expect(a.idmap.hostUid).not.toBe(b.idmap.hostUid);
  expect(a.idmap.hostGid).not.toBe(b.idmap.hostGid);
  for (const c of s.containers) {
    expect(c.storage).toBe("overlay");
    expect(c.inside, c.name).toEqual({ code: 0, out: "0:0\n0:0\n", err: "" });
    expect(c.write, c.name).toEqual({ code: 0, out: "0:0\n0:0\n", err: "" });
    // In the upper layer on the host, a new file and a copied-up one belong to the range.
    expect(c.noteOwner, c.name).toEqual([c.idmap.hostUid, c.idmap.hostGid]);
    expect(c.copiedUpOwner, c.name).toEqual([c.idmap.hostUid, c.idmap.hostGid]);
  }
  // The shared image is never shifted.
  expect(s.imageBusyboxOwner).toEqual([0, 0]);
  expect(s.leftMounts).toEqual([]);
  expect(s.leftDirs).toEqual([]);
}

describe("idmapped mounts and the shifted-copy fallback on Linux 6.1", () => {
  it("boots Debian's 6.1 kernel", (ctx) => {
    if (!vm.ok) ctx.skip(vm.reason);
    const k = result("kernel");
    expect(k.release).toMatch(/^6\.1\.\d+/);
    expect(k.forcedIdmap).toBeNull();
  });

  it("overlayfs (the guest's /) cannot be idmapped", (ctx) => {
    if (!vm.ok) ctx.skip(vm.reason);
    const o = result("overlay");
    expect(o.fs).toBe("overlayfs");
    expect(o.probe).toBe(false);
  });

  it("tmpfs: each container gets its own copy shifted to its range, says so, and sees 0:0", (ctx) => {
    if (!vm.ok) ctx.skip(vm.reason);
    const s = result("tmpfs");
    expect(s.imageFs).toBe("tmpfs");
    expectSameInside(s);
    for (const c of s.containers) {
      expect(c.shifted, c.name).toBe(true);
      expect(c.lower, c.name).toBe(join(c.stateDir, "lower"));
      expect(c.lowerFs).toBe("tmpfs");
      // Said at create, and still after a start.
      expect(c.warnings.join("\n"), c.name).toMatch(/cannot be idmapped.*own copy/);
      expect(c.warningsAfterStart.join("\n"), c.name).toMatch(/cannot be idmapped.*own copy/);
      expect(c.lowerBusyboxOwner, c.name).toEqual([c.idmap.hostUid, c.idmap.hostGid]);
      expect(c.probe, c.name).toBe(false);
    }
  });

  it("ext4: containers share the image through idmapped mounts, with no copy", (ctx) => {
    if (!vm.ok) ctx.skip(vm.reason);
    const s = result("ext4");
    if (s.skipped) ctx.skip(`ext4 in the VM: ${s.skipped}`);
    expect(s.imageFs).toBe("ext4");
    expect(s.mountSource).toMatch(/^\/dev\/loop\d+ ext4$/);
    expectSameInside(s);
    for (const c of s.containers) {
      expect(c.shifted, c.name).toBe(false);
      expect(c.lower, c.name).toBe(s.imageRootfs);
      expect(c.warnings.join("\n"), c.name).not.toMatch(/idmapped/);
      expect(c.lowerBusyboxOwner, c.name).toEqual([0, 0]);
      expect(c.probe, c.name).toBe(true);
    }
  });

  it("the guest unmounts what it mounted", (ctx) => {
    if (!vm.ok) ctx.skip(vm.reason);
    const c = result("cleanup");
    for (const [mnt, how] of Object.entries(c.unmounted)) expect(how, mnt).toBe("ok");
    if (c.loopDevices !== null) expect(c.loopDevices).toBe("0");
  });
});
