/**
 * Issue 11, item 2 (second half): the files API acts with the container's
 * credentials, not host root's, running (inside a mount table the container
 * controls) or stopped (on a rootfs a hostile image or tenant filled), and
 * never reads or writes a kernel file (procfs, sysfs) the container bound
 * over a path.
 */
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

import { Container, HostError, NotFoundError } from "../../src/index.js";
import { busybox, cleanupAll, runtime, uniqueName } from "../helpers/env.js";
import { copyRootfs } from "../helpers/rootfs-copy.js";

afterAll(cleanupAll);

describe("the files API on a running container", () => {
  it("cannot write, re-own or make setuid a host file the container bound over a path", async () => {
    // A directory the embedder shares read-write: the container's root
    // reaches host-root-owned files there, and binds them over its own paths.
    const shared = mkdtempSync(join(tmpdir(), "warren-filecred-"));
    try {
      chmodSync(shared, 0o777);
      const locked = join(shared, "root-only");
      const open = join(shared, "world-writable");
      writeFileSync(locked, "host\n");
      chmodSync(locked, 0o644);
      writeFileSync(open, "host\n");
      chmodSync(open, 0o666);
      chownSync(locked, 0, 0);
      chownSync(open, 0, 0);
      await using c = await Container.create(
        uniqueName("filecred"),
        { stopTimeout: 3000, mounts: [{ type: "bind", source: shared, target: "/shared" }] },
        runtime(),
      );
      await c.start();
      const r = await c.execOutput([
        "sh",
        "-c",
        "touch /etc/a /etc/b && mount --bind /shared/root-only /etc/a && mount --bind /shared/world-writable /etc/b && echo bound",
      ]);
      expect(r.stdout).toBe("bound\n");

      // Host root could write this file; the container's root cannot.
      const e1 = await c.pushFile(Buffer.from("pwned\n"), "/etc/a", { mode: 0o4755 }).catch((e: unknown) => e);
      expect(e1).toBeInstanceOf(HostError);
      expect((e1 as HostError).errno).toBe("EACCES");
      expect(readFileSync(locked, "utf8")).toBe("host\n");

      // The container's root may write this one, but not re-own it or make it
      // setuid: its owner (host root) is not an id the container maps.
      const e2 = await c.pushFile(Buffer.from("#!/bin/sh\n"), "/etc/b", { mode: 0o4755 }).catch((e: unknown) => e);
      expect(e2).toBeInstanceOf(HostError);
      expect((e2 as HostError).errno).toBe("EPERM");
      const e3 = await c.pushFile(Buffer.from("#!/bin/sh\n"), "/etc/b", { uid: 0, gid: 0 }).catch((e: unknown) => e);
      expect((e3 as HostError).errno).toBe("EPERM");
      for (const f of [locked, open]) {
        const st = statSync(f);
        expect({ f, uid: st.uid, gid: st.gid, setuid: (st.mode & 0o6000) !== 0 }).toEqual({ f, uid: 0, gid: 0, setuid: false });
      }
      expect((statSync(open).mode & 0o7777).toString(8)).toBe("666");

      // What the container's root may do still works: its own files, any owner.
      await c.pushFile(Buffer.from("ok\n"), "/etc/own", { uid: 33, gid: 33, mode: 0o4750 });
      expect(await c.stat("/etc/own")).toMatchObject({ uid: 33, gid: 33, mode: 0o4750 });
      expect((await c.pullFile("/etc/own")).toString()).toBe("ok\n");
      await c.stop();
    } finally {
      rmSync(shared, { recursive: true, force: true });
    }
  });

  it("refuses procfs and sysfs files the container bound over a path, with a typed error", async () => {
    await using c = await Container.create(uniqueName("filekern"), { stopTimeout: 3000 }, runtime());
    await c.start();
    const r = await c.execOutput([
      "sh",
      "-c",
      "touch /etc/p /etc/s && mount --bind /proc/sys/kernel/hostname /etc/p && mount --bind /sys/kernel/uevent_seqnum /etc/s && cat /etc/p >/dev/null && echo bound",
    ]);
    expect(r.stdout).toBe("bound\n");
    for (const [path, fs] of [["/etc/p", "proc"], ["/etc/s", "sysfs"]] as const) {
      const read = await c.pullFile(path).catch((e: unknown) => e);
      expect(read, path).toBeInstanceOf(HostError);
      expect((read as HostError).errno).toBe("EINVAL");
      expect((read as HostError).message).toContain(`a ${fs} file`);
      const write = await c.pushFile(Buffer.from("x"), path).catch((e: unknown) => e);
      expect(write, path).toBeInstanceOf(HostError);
    }
    // The host's hostname is untouched (the container has its own UTS
    // namespace, but a host-root write through procfs would not care).
    expect(readFileSync("/proc/sys/kernel/hostname", "utf8").trim()).toBe(hostname());
    await c.stop();
  });
});

describe("the files API on a stopped container", () => {
  it("reads and writes a hostile rootfs as the container's root, not host root", async () => {
    // What a hostile image or an earlier tenant left: a host-root-only file,
    // a host-root file anyone may read, a link to a host path, and a
    // directory the container's root may write in.
    const copy = copyRootfs("filecred-stopped");
    const secret = join(copy.path, "etc/secret");
    const owned = join(copy.path, "etc/root-owned");
    const hostSecret = join(copy.path, "..", "host-secret");
    try {
      writeFileSync(secret, "host-secret\n", { mode: 0o600 });
      chmodSync(secret, 0o600);
      writeFileSync(owned, "host\n", { mode: 0o666 });
      chmodSync(owned, 0o644);
      writeFileSync(hostSecret, "outside\n");
      symlinkSync(hostSecret, join(copy.path, "etc/link"));
      mkdirSync(join(copy.path, "drop"), { mode: 0o777 });
      chmodSync(join(copy.path, "drop"), 0o777);
      const c = await busybox("filecred-stopped", { rootfs: { path: copy.path, mode: "rw" } });
      const base = c.idmap!.hostUid;

      // Host uid 0 is outside the container's range: its 0600 file is not the container's to read.
      const read = await c.pullFile("/etc/secret").catch((e: unknown) => e);
      expect(read).toBeInstanceOf(HostError);
      expect((read as HostError).errno).toBe("EACCES");
      // The link resolves inside the root, where there is no such file.
      expect(await c.pullFile("/etc/link").catch((e: unknown) => e)).toBeInstanceOf(NotFoundError);
      // A world-readable one it may read, not write, make setuid or remove.
      expect((await c.pullFile("/etc/root-owned")).toString()).toBe("host\n");
      const write = await c.pushFile(Buffer.from("pwned\n"), "/etc/root-owned", { mode: 0o4755 }).catch((e: unknown) => e);
      expect(write).toBeInstanceOf(HostError);
      expect((write as HostError).errno).toBe("EACCES");
      expect(await c.rm("/etc/root-owned").catch((e: unknown) => e)).toBeInstanceOf(HostError);
      expect(readFileSync(owned, "utf8")).toBe("host\n");
      expect(statSync(owned)).toMatchObject({ uid: 0, gid: 0, mode: 0o100644 });

      // What it creates is the container's: never a host-root file.
      await c.pushFile(Buffer.from("#!/bin/sh\n"), "/drop/tool", { mode: 0o4755 });
      await c.pushFile(Buffer.from("x\n"), "/drop/www", { uid: 33, gid: 33 });
      await c.mkdir("/drop/sub");
      expect(statSync(join(copy.path, "drop/tool"))).toMatchObject({ uid: base, gid: base, mode: 0o104755 });
      expect(statSync(join(copy.path, "drop/www"))).toMatchObject({ uid: base + 33, gid: base + 33 });
      expect(statSync(join(copy.path, "drop/sub")).uid).toBe(base);
      expect(await c.stat("/drop/www")).toMatchObject({ uid: 33, gid: 33 });
    } finally {
      copy.remove();
    }
  });
});
