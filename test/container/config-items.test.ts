/**
 * Smaller config and setup behaviours (issue 12): the capability bounding
 * set from `capabilities.keep`/`drop`, `oomScoreAdj`, umount2(MNT_FORCE)
 * refused by the default filter, a rootfs without /proc and /sys, mount
 * targets through symlinks refused, a clone's own machine id, and unknown
 * system calls in `seccomp.deny` refused at create.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

import { ConfigError, Container, ImageStore, SetupError } from "../../src/index.js";
import { ociLayoutFromDirectory } from "../../src/image/from-directory.js";
import { CAPABILITIES, capabilityMask } from "../../src/linux/caps.js";
import { DEFAULT_CAP_DROP } from "../../src/config/defaults.js";
import { busybox, cleanupAll, IDLE, runtime, stateRoot, uniqueName } from "../helpers/env.js";
import { copyRootfs, type RootfsCopy } from "../helpers/rootfs-copy.js";

const copies: RootfsCopy[] = [];
const extra: Container[] = [];
afterAll(async () => {
  for (const c of extra) {
    await c.stop({ timeout: 0 }).catch(() => undefined);
    await c.destroy({ force: true }).catch(() => undefined);
  }
  await cleanupAll();
  for (const r of copies) r.remove();
});

function copy(prefix: string): RootfsCopy {
  const r = copyRootfs(prefix);
  copies.push(r);
  return r;
}

/** The init's bounding set, as the kernel reports it. */
async function boundingSet(c: Container): Promise<bigint> {
  const status = (await c.execOutput(["cat", "/proc/1/status"], { check: true })).stdout;
  return BigInt(`0x${/^CapBnd:\s*([0-9a-f]+)$/m.exec(status)![1]}`);
}
const all = capabilityMask(CAPABILITIES);

describe("capabilities and oomScoreAdj", () => {
  it("adds capabilities.drop to the default drops (dropping CAP_MKNOD gives nothing back)", async () => {
    const c = await busybox("capdrop", { capabilities: { drop: ["mknod"] } });
    await c.start();
    expect(await boundingSet(c)).toBe(all & ~capabilityMask([...DEFAULT_CAP_DROP, "CAP_MKNOD"]));
  });

  it("keeps exactly capabilities.keep, a default drop included when named", async () => {
    const keep = ["CAP_CHOWN", "CAP_SETUID", "CAP_SETGID", "CAP_SYS_TIME"];
    const c = await busybox("capkeep", { capabilities: { keep } });
    await c.start();
    expect(await boundingSet(c)).toBe(capabilityMask(keep));
  });

  it("refuses keep with drop at create, naming capabilities.keep", async () => {
    const e = await busybox("capboth", { capabilities: { keep: ["chown"], drop: ["mknod"] } }).catch((x) => x);
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.issues[0].path).toBe("capabilities.keep");
  });

  it("sets the init's oom_score_adj before it runs; below the embedder's only with CAP_SYS_RESOURCE", async () => {
    const c = await busybox("oom", { oomScoreAdj: 321 });
    await c.start();
    expect(readFileSync(`/proc/${c.pid}/oom_score_adj`, "utf8").trim()).toBe("321");
    expect((await c.execOutput(["cat", "/proc/1/oom_score_adj"], { check: true })).stdout.trim()).toBe("321");
    // What the init starts inherits it, and so do exec'd processes.
    expect((await c.execOutput(["sh", "-c", "sh -c 'cat /proc/self/oom_score_adj'"], { check: true })).stdout.trim()).toBe("321");

    // Lower than the process may go (the kernel's floor, oom_score_adj_min,
    // is not visible from userspace): either set, or a typed EACCES with
    // the reason, and nothing left running.
    const low = await busybox("oom-low", { oomScoreAdj: -999 });
    const e = await low.start().catch((x) => x);
    if (e === undefined) {
      expect(readFileSync(`/proc/${low.pid}/oom_score_adj`, "utf8").trim()).toBe("-999");
    } else {
      expect(e).toBeInstanceOf(SetupError);
      expect({ step: e.step, errno: e.errno }).toEqual({ step: "oom-score-adj", errno: "EACCES" });
      expect(e.message).toContain("needs CAP_SYS_RESOURCE");
      expect(low.state).toBe("created"); // never ran: the paused child was told to exit
    }
  });
});

describe("the default seccomp filter", () => {
  it("refuses umount -f (MNT_FORCE) with EPERM and lets a plain umount through", async () => {
    const c = await busybox("umountf");
    await c.start();
    const script = "mkdir /dev/m && mount -t tmpfs t /dev/m && { umount -f /dev/m; echo rc=$?; } && grep -c ' /dev/m ' /proc/self/mounts && umount /dev/m && ! grep ' /dev/m ' /proc/self/mounts";
    const out = await c.execOutput(["sh", "-c", script]);
    expect(out.stderr).toContain("Operation not permitted");
    expect(out.stdout).toBe("rc=1\n1\n");
    expect(out.code).toBe(0);
  });

  it("refuses an unknown system call in seccomp.deny at create, naming its index", async () => {
    const e = await busybox("sysnope", { seccomp: { deny: ["mount", "kexec_lod"] } }).catch((x) => x);
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.issues).toEqual([{ path: "seccomp.deny[1]", message: 'unknown system call "kexec_lod"' }]);
  });
});

describe("rootfs and mount targets", () => {
  it("makes /proc and /sys in a rootfs without them", async () => {
    const r = copy("noproc");
    rmSync(join(r.path, "proc"), { recursive: true, force: true });
    rmSync(join(r.path, "sys"), { recursive: true, force: true });
    // Idmapped, so the container's root may write its root directory.
    const c = await busybox("noproc", { rootfs: { path: r.path, idmap: true } });
    await c.start();
    const out = await c.execOutput(["sh", "-c", "cat /proc/1/comm; ls /sys/kernel >/dev/null && echo sys"], { check: true });
    expect(out.stdout).toBe("sh\nsys\n");
  });

  it("says the rootfs lacks /proc when it cannot be made there", async () => {
    const r = copy("noproc-ro");
    rmSync(join(r.path, "proc"), { recursive: true, force: true });
    // Not idmapped: the root directory belongs to host root, which the container's root is not.
    const c = await busybox("noproc-ro", { rootfs: { path: r.path, mode: "ro" } });
    const e = await c.start().catch((x) => x);
    expect(e).toBeInstanceOf(SetupError);
    expect(e.step).toBe("mount");
    expect(e.message).toContain("the rootfs has no `/proc` directory and it cannot be made there");
  });

  it("refuses a mount target with a symlink on its way or at its end, naming the component", async () => {
    const r = copy("symtarget");
    mkdirSync(join(r.path, "real/sub"), { recursive: true });
    symlinkSync("/real", join(r.path, "lnk"));
    symlinkSync("sub", join(r.path, "real/inner"));
    writeFileSync(join(r.path, "real/file"), "");
    for (const [mounts, target, link, step] of [
      [[{ type: "tmpfs", target: "/lnk/x" }], "/lnk/x", "/lnk", "mount"],
      [[{ type: "tmpfs", target: "/lnk" }], "/lnk", "/lnk", "mount"],
      [[{ type: "tmpfs", target: "/real/inner/z" }], "/real/inner/z", "/real/inner", "mount"],
      [[{ type: "bind", source: r.path + "/real", target: "/lnk/y" }], "/lnk/y", "/lnk", "move-mount"],
      // A file bound onto a final symlink: ELOOP naming it, not move_mount's EINVAL.
      [[{ type: "bind", source: r.path + "/real/file", target: "/real/inner" }], "/real/inner", "/real/inner", "move-mount"],
    ] as const) {
      const c = await busybox("symtarget", { rootfs: { path: r.path, mode: "ro" }, mounts: [...mounts] });
      const e = await c.start().catch((x) => x);
      expect(e, target).toBeInstanceOf(SetupError);
      expect({ step: e.step, errno: e.errno, path: e.path }).toEqual({ step, errno: "ELOOP", path: target });
      expect(e.message).toContain(`mount target \`${target}\`: \`${link}\` is a symlink in the container`);
    }
    // The path it leads to is fine.
    const ok = await busybox("symtarget", { rootfs: { path: r.path, mode: "ro" }, mounts: [{ type: "tmpfs", target: "/real" }] });
    await ok.start();
  });
});

describe("clone", () => {
  it("gives a clone its own machine id at its first start", async () => {
    const r = copy("mid");
    writeFileSync(join(r.path, "etc/machine-id"), "");
    const layout = mkdtempSync(join(tmpdir(), "warren-oci-"));
    const tag = `busybox:mid-${process.pid}`;
    const store = new ImageStore(stateRoot());
    try {
      await ociLayoutFromDirectory(r.path, layout);
      await store.importOci(layout, { tag });
      const a = await Container.create(uniqueName("mid-a"), { image: tag, init: IDLE, stopTimeout: 2000 }, runtime());
      extra.push(a);
      const id = async (c: Container) => (await c.execOutput(["cat", "/etc/machine-id"], { check: true })).stdout.trim();
      await a.start();
      const first = await id(a);
      expect(first).toMatch(/^[0-9a-f]{32}$/);
      await a.stop({ timeout: 0 });
      const b = await a.clone(uniqueName("mid-b"));
      extra.push(b);
      await b.start();
      const cloned = await id(b);
      expect(cloned).toMatch(/^[0-9a-f]{32}$/);
      expect(cloned).not.toBe(first);
      // The source keeps its own, and the clone keeps its new one.
      await a.start();
      expect(await id(a)).toBe(first);
      await b.stop({ timeout: 0 });
      await b.start();
      expect(await id(b)).toBe(cloned);
      for (const c of [a, b]) {
        await c.stop({ timeout: 0 });
        await c.destroy();
      }
      extra.length = 0;
      await store.remove(tag);
    } finally {
      rmSync(layout, { recursive: true, force: true });
    }
  });
});
