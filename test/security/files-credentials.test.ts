/**
 * Issue 11, item 2 (second half): the files API acts with the running
 * container's credentials, not host root's, inside a mount table the
 * container controls, and never reads or writes a kernel file (procfs,
 * sysfs) the container bound over a path.
 */
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

import { Container, HostError } from "../../src/index.js";
import { cleanupAll, runtime, uniqueName } from "../helpers/env.js";

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
