/**
 * lxcfs views (issue 12): with the host's lxcfs running (scripts/setup.sh
 * starts it), a container's /proc/uptime, meminfo, cpuinfo… and
 * /sys/devices/system/cpu come from it, read-only and locked; `lxcfs:
 * false` keeps the kernel's own. Memory limits shown by `free` are checked
 * in the pure cgroup v2 VM (test/vm/lxcfs.test.ts): on a hybrid host lxcfs
 * reads the v1 memory and cpuset hierarchies, where warren sets nothing.
 */
import { readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";

import { hostLxcfs } from "../../src/container/lxcfs.js";
import { Container } from "../../src/index.js";
import { busybox, cleanupAll, runtime, uniqueName } from "../helpers/env.js";

const probe = hostLxcfs();
const skip = probe.ok ? undefined : `lxcfs is not running here (${probe.reason}); scripts/start-lxcfs.sh starts it`;

afterAll(cleanupAll);

/** Seconds since boot as the host's kernel counts them. */
const hostUptime = () => Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]);

describe.skipIf(skip)("lxcfs", () => {
  it("shows the container's own uptime through read-only lxcfs mounts", async () => {
    // The embedded rootfs, for procps's uptime: busybox's asks sysinfo(2),
    // which lxcfs cannot answer (the host's uptime, memory).
    await using c = await Container.create(uniqueName("lxcfs"), { stopTimeout: 3000 }, runtime());
    await c.start();
    const views = c.effectiveConfig().lxcfs;
    expect(views).toMatchObject({ mount: probe.ok ? probe.views.mount : "" });
    const paths = views ? views.paths : [];
    expect(paths).toEqual(expect.arrayContaining(["/proc/meminfo", "/proc/uptime", "/proc/cpuinfo", "/proc/stat"]));

    const r = await c.execOutput(["sh", "-c", "cat /proc/uptime; /usr/bin/uptime; grep ' - fuse.lxcfs ' /proc/self/mountinfo"], { check: true });
    const [uptimeLine, uptimeCmd, ...mounts] = r.stdout.trim().split("\n");
    // Started a moment ago; the host has been up far longer.
    expect(Number(uptimeLine!.split(" ")[0])).toBeLessThan(30);
    expect(hostUptime()).toBeGreaterThan(60);
    expect(uptimeCmd).toMatch(/ up\s+0 min,/);
    // Each view is a read-only mount of lxcfs at its own path.
    for (const p of paths) expect(mounts.find((m) => m.split(" ")[4] === p), p).toMatch(/^\S+ \S+ \S+ \S+ \S+ ro,/);

  });

  it("counts in cpuinfo the CPUs the container may run on; the views are locked read-only", async () => {
    // lxcfs takes the CPUs from the reader's cpuset; on this hybrid host
    // that is the v1 hierarchy (warren's cpuset limits need cgroup v2's),
    // so this checks agreement with the kernel's affinity, not a limit.
    const c = await busybox("lxcfs-cpu");
    await c.start();
    const r = await c.execOutput(["sh", "-c", "grep -c ^processor /proc/cpuinfo; nproc"], { check: true });
    const [cpuinfo, nproc] = r.stdout.trim().split("\n").map(Number);
    expect(cpuinfo).toBe(nproc);
    expect(cpuinfo).toBeGreaterThan(0);

    // Locked: the container's root (CAP_SYS_ADMIN over its own mounts)
    // cannot make them writable, nor write a CPU's online switch through
    // lxcfs, which would pass it on to the host's as host root.
    const remount = await c.execOutput(["mount", "-o", "remount,bind,rw", "/proc/meminfo"]);
    expect(remount.stderr).toMatch(/permission denied/); // busybox's words for EPERM
    // …which it may do to a mount of its own.
    const own = await c.execOutput(["sh", "-c", "mount -o remount,bind,ro /dev/shm && mount -o remount,bind,rw /dev/shm"]);
    expect(own).toMatchObject({ code: 0, stderr: "" });
    const write = await c.execOutput(["sh", "-c", "echo 1 > /sys/devices/system/cpu/cpu0/online"]);
    expect(write.stderr).toMatch(/Read-only file system/);
  });

  it("lxcfs: false keeps the kernel's own files, with the host's uptime", async () => {
    const c = await busybox("lxcfs-off", { lxcfs: false });
    await c.start();
    expect(c.effectiveConfig().lxcfs).toBe(false);
    const before = hostUptime();
    const r = await c.execOutput(["sh", "-c", "cat /proc/uptime; grep -c ' - fuse.lxcfs ' /proc/self/mountinfo"]);
    const [uptimeLine, count] = r.stdout.trim().split("\n");
    expect(Number(uptimeLine!.split(" ")[0])).toBeGreaterThanOrEqual(Math.floor(before));
    expect(count).toBe("0");
  });

  it("lxcfs: true starts when lxcfs runs, without a user namespace too", async () => {
    const c = await busybox("lxcfs-on", { lxcfs: true, namespaces: { user: false } });
    await c.start();
    const r = await c.execOutput(["sh", "-c", "cat /proc/uptime; grep ' /proc/uptime ' /proc/self/mountinfo"], { check: true });
    const [uptimeLine, mount] = r.stdout.trim().split("\n");
    expect(Number(uptimeLine!.split(" ")[0])).toBeLessThan(30);
    expect(mount).toMatch(/ \/proc\/uptime ro,.* - fuse\.lxcfs /);
  });
});
