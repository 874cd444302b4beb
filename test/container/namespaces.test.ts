/**
 * What a process inside a container sees: its own pid, mount, uts, network
 * and user namespaces, on the real kernel.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, chownSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

import { namespaceId } from "../../src/container/proc.js";
import { busybox, cleanupAll } from "../helpers/env.js";

afterAll(cleanupAll);

describe("pid and uts namespaces", () => {
  it("runs the init as PID 1, hides the host's processes and has its own hostname", async () => {
    const c = await busybox("pidns", { hostname: "inner-host" });
    await c.start();
    const ps = await c.execOutput(["sh", "-c", "echo $$; cat /proc/1/cmdline | tr '\\0' ' '; echo; ls /proc | grep -E '^[0-9]+$' | sort -n | tr '\\n' ' '"]);
    expect(ps.code).toBe(0);
    const [, init, pids] = ps.stdout.split("\n");
    expect(init?.trim()).toBe(`/bin/sh -c ${IDLE_SCRIPT}`);
    // Only the container's few processes: the host's (this Node process) are not there.
    const visible = pids!.trim().split(" ").map(Number);
    expect(visible).toContain(1);
    expect(visible.length).toBeLessThan(10);
    expect(visible).not.toContain(process.pid);
    expect((await c.execOutput(["hostname"])).stdout).toBe("inner-host\n");
    // The host's hostname is untouched.
    expect(readFileSync("/proc/sys/kernel/hostname", "utf8").trim()).not.toBe("inner-host");
    await c.stop();
  });
});

const IDLE_SCRIPT = "trap 'exit 0' TERM; while :; do sleep 3600 & wait $!; done";

describe("mount namespace", () => {
  it("keeps mounts made inside invisible on the host and the host's paths invisible inside", async () => {
    const c = await busybox("mntns", { rootfs: { path: (await import("../helpers/env.js")).rootfs(), mode: "overlay" } });
    await c.start();
    const before = readFileSync("/proc/self/mountinfo", "utf8");
    const r = await c.execOutput(["sh", "-c", "mount -t tmpfs inner-marker /mnt && grep -c inner-marker /proc/self/mountinfo"]);
    expect(r).toMatchObject({ code: 0, stdout: "1\n" });
    expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toContain("inner-marker");
    expect(readFileSync("/proc/self/mountinfo", "utf8")).toBe(before);

    // This repository exists on the host, not in the container.
    const repo = resolve(import.meta.dirname, "../..");
    expect(statSync(repo).isDirectory()).toBe(true);
    expect((await c.execOutput(["ls", repo])).code).not.toBe(0);

    // The container's / is its rootfs: mountinfo's root entry is the overlay.
    const mi = (await c.execOutput(["cat", "/proc/self/mountinfo"])).stdout.split("\n").filter(Boolean);
    const rootLine = mi.find((l) => l.split(" ")[4] === "/");
    expect(rootLine).toMatch(/ - overlay /);
    expect(mi.some((l) => l.split(" ")[4] === "/proc")).toBe(true);
    await c.stop();
  });

  it("masks sensitive /proc files and makes /proc/sys read-only", async () => {
    const c = await busybox("masks");
    await c.start();
    expect((await c.execOutput(["cat", "/proc/kcore"])).stdout).toBe("");
    expect((await c.execOutput(["sh", "-c", "echo 1 > /proc/sys/kernel/ns_last_pid"])).code).not.toBe(0);
    const ro = await c.execOutput(["sh", "-c", "grep ' /proc/sys ' /proc/self/mountinfo"]);
    expect(ro.stdout).toMatch(/ \/proc\/sys ro,/);
    await c.stop();
  });
});

describe("network namespace", () => {
  it("has only lo, and lo is up", async () => {
    const c = await busybox("netns");
    await c.start();
    const links = await c.execOutput(["ip", "-o", "link"]);
    const lines = links.stdout.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^1: lo: <LOOPBACK,UP,LOWER_UP>/);
    await c.stop();
  });
});

describe("user namespace", () => {
  it("maps uid 0 to the allocated host id, owns files it creates with that id, and gives containers disjoint ranges", async () => {
    const shared = mkdtempSync(join(tmpdir(), "warren-bind-"));
    chmodSync(shared, 0o755);
    try {
      const a = await busybox("userns-a", { mounts: [{ type: "bind", source: shared, target: "/mnt" }] });
      const b = await busybox("userns-b");
      expect(a.idmap).not.toBeNull();
      expect(b.idmap).not.toBeNull();
      const ra = a.idmap!;
      const rb = b.idmap!;
      expect(ra.size).toBe(65536);
      const disjoint = ra.hostUid + ra.size <= rb.hostUid || rb.hostUid + rb.size <= ra.hostUid;
      expect(disjoint).toBe(true);

      // The bind target must be writable by the container's root.
      chownSync(shared, ra.hostUid, ra.hostGid);
      await a.start();
      expect(readFileSync(`/proc/${a.pid}/uid_map`, "utf8").trim().split(/\s+/)).toEqual(["0", String(ra.hostUid), "65536"]);
      expect(readFileSync(`/proc/${a.pid}/gid_map`, "utf8").trim().split(/\s+/)).toEqual(["0", String(ra.hostGid), "65536"]);
      const id = await a.execOutput(["id", "-u"]);
      expect(id.stdout).toBe("0\n");
      expect((await a.execOutput(["sh", "-c", "echo hi > /mnt/made-inside"])).code).toBe(0);
      const st = statSync(join(shared, "made-inside"));
      expect(st.uid).toBe(ra.hostUid);
      expect(st.gid).toBe(ra.hostGid);

      // A file owned by host root appears unmapped (nobody) inside.
      const ls = await a.execOutput(["stat", "-c", "%u", "/bin/busybox"]);
      expect(ls.stdout).toBe("65534\n");
      await a.stop();
    } finally {
      rmSync(shared, { recursive: true, force: true });
    }
  });

  it("runs without a user namespace when asked (a privileged container)", async () => {
    const c = await busybox("nouserns", { namespaces: { user: false } });
    await c.start();
    expect(c.idmap).toBeNull();
    expect(await namespaceId(c.pid!, "user")).toBe(await namespaceId("self", "user"));
    expect(await namespaceId(c.pid!, "pid")).not.toBe(await namespaceId("self", "pid"));
    // Without a user namespace /dev nodes are made with mknod, not bound.
    const r = await c.execOutput(["sh", "-c", "echo x > /dev/null && head -c 4 /dev/zero | wc -c"]);
    expect(r).toMatchObject({ code: 0, stdout: "4\n" });
    await c.stop();
  });
});
