/**
 * Issue 11, item 2 (first half): the read-only host binds of a
 * user-namespaced container are locked by the kernel, so the container's
 * root cannot make them writable and write through them to the host.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

import { Container } from "../../src/index.js";
import { busybox, cleanupAll, runtime, uniqueName } from "../helpers/env.js";
import { copyRootfs, type RootfsCopy } from "../helpers/rootfs-copy.js";

afterAll(cleanupAll);

/** Tries every way a root with CAP_SYS_ADMIN in its namespaces has to make `dir` writable, then writes into it. */
const attack = (dir: string) => [
  "sh",
  "-c",
  `mount -o remount,bind,rw ${dir} 2>/dev/null && echo remount-bind-ok
   mount -o remount,rw ${dir} 2>/dev/null && echo remount-ok
   echo pwned > ${dir}/warren-locked-probe 2>/dev/null && echo wrote
   echo pwned > ${dir}/existing 2>/dev/null && echo overwrote
   awk -v d=${dir} '$5 == d { o = $6 } END { print o }' /proc/self/mountinfo | grep -q '^ro' && echo still-ro
   true`,
];

/** A writable-by-anyone copy of the busybox rootfs with an `existing` file at its root: only the mount's flag protects it. */
function openRootfs(prefix: string): RootfsCopy {
  const copy = copyRootfs(prefix);
  chmodSync(copy.path, 0o777);
  writeFileSync(join(copy.path, "existing"), "original\n", { mode: 0o666 });
  chmodSync(join(copy.path, "existing"), 0o666);
  return copy;
}

function untouched(dir: string): void {
  expect(existsSync(join(dir, "warren-locked-probe"))).toBe(false);
  expect(readFileSync(join(dir, "existing"), "utf8")).toBe("original\n");
}

describe("mounts the container cannot change", () => {
  it("keeps the embedded default's host /usr and a configured read-only bind read-only against the container's root", async () => {
    const host = mkdtempSync(join(tmpdir(), "warren-locked-"));
    try {
      // Writable by anyone: only the mount's read-only flag stands between
      // the container's root (an unprivileged host uid) and these files.
      chmodSync(host, 0o777);
      writeFileSync(join(host, "existing"), "original\n", { mode: 0o666 });
      chmodSync(join(host, "existing"), 0o666);
      await using c = await Container.create(
        uniqueName("locked"),
        { stopTimeout: 3000, mounts: [{ type: "bind", source: host, target: "/data", readonly: true }] },
        runtime(),
      );
      await c.start();
      // The attempts are made as root of the container, which has
      // CAP_SYS_ADMIN over its own mount namespace.
      const caps = await c.execOutput(["sh", "-c", "grep CapEff /proc/self/status"]);
      const capEff = BigInt(`0x${/CapEff:\s+([0-9a-f]+)/.exec(caps.stdout)![1]}`);
      expect(capEff & (1n << 21n)).not.toBe(0n); // CAP_SYS_ADMIN

      for (const dir of ["/usr", "/data"]) {
        const r = await c.execOutput(attack(dir));
        expect(r.stdout, dir).toBe("still-ro\n");
      }
      // The kernel's answer to the remount itself is EPERM (not EROFS or
      // EINVAL): the flag is locked, not merely set.
      const eperm = await c.execOutput(["mount", "-o", "remount,bind,rw", "/data"]);
      expect(eperm.code).not.toBe(0);
      expect(eperm.stderr).toMatch(/permission denied|not permitted/i);

      expect(existsSync("/usr/warren-locked-probe")).toBe(false);
      expect(existsSync(join(host, "warren-locked-probe"))).toBe(false);
      expect(readFileSync(join(host, "existing"), "utf8")).toBe("original\n");
      // The locking took nothing away from the container itself.
      expect((await c.execOutput(["sh", "-c", "echo ok > /etc/w && cat /etc/w && ls /data"])).stdout).toBe("ok\nexisting\n");
      await c.stop();
    } finally {
      rmSync(host, { recursive: true, force: true });
    }
  });

  it("keeps a read-only idmapped bind read-only against the container's root", async () => {
    // Idmapped, the container's root is the files' owner (host root here):
    // the read-only flag is all that stands between it and the host's files.
    const host = mkdtempSync(join(tmpdir(), "warren-locked-idmap-"));
    try {
      chmodSync(host, 0o755);
      writeFileSync(join(host, "existing"), "original\n", { mode: 0o644 });
      const c = await busybox("locked-idm", { mounts: [{ type: "bind", source: host, target: "/mnt", readonly: true, idmap: true }] });
      await c.start();
      expect((await c.execOutput(["stat", "-c", "%u", "/mnt/existing"])).stdout).toBe("0\n");
      expect((await c.execOutput(attack("/mnt"))).stdout).toBe("still-ro\n");
      untouched(host);
      await c.stop({ timeout: 0 });
    } finally {
      rmSync(host, { recursive: true, force: true });
    }
  });

  for (const idmap of [false, true]) {
    it(`keeps a read-only directory rootfs${idmap ? " (idmapped)" : ""} read-only against the container's root`, async () => {
      const copy = openRootfs(idmap ? "locked-root-idm" : "locked-root");
      try {
        const c = await busybox(idmap ? "locked-root-idm" : "locked-root", { rootfs: { path: copy.path, mode: "ro", idmap } });
        await c.start();
        expect((await c.execOutput(attack("/"))).stdout).toBe("still-ro\n");
        untouched(copy.path);
        // Its mounts were still made (targets that exist in the rootfs).
        expect((await c.execOutput(["sh", "-c", "test -c /dev/null && test -e /proc/self && echo ok"])).stdout).toBe("ok\n");
        await c.stop({ timeout: 0 });
      } finally {
        copy.remove();
      }
    });
  }

  it("makes a writable idmapped rootfs no less writable", async () => {
    const copy = openRootfs("locked-rw-idm");
    try {
      const c = await busybox("locked-rw-idm", { rootfs: { path: copy.path, mode: "rw", idmap: true } });
      await c.start();
      expect((await c.execOutput(["sh", "-c", "echo changed > /existing && stat -c %u /existing"])).stdout).toBe("0\n");
      expect(readFileSync(join(copy.path, "existing"), "utf8")).toBe("changed\n");
      await c.stop({ timeout: 0 });
    } finally {
      copy.remove();
    }
  });
});
