/**
 * /proc/sys and /sys as LXC's `proc:mixed sys:mixed` leave them (issue 12):
 * the container's own network namespace writable (/proc/sys/net,
 * /sys/devices/virtual/net), the rest read-only; the `proc`/`sys` modes;
 * and the `sysctls` config, written before the init runs. Every value
 * written inside is checked on the host before and after: it must not move.
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { ConfigError, Container, ImageStore, SetupError } from "../../src/index.js";
import { linkCachedImage } from "../helpers/images.js";
import { busybox, cleanupAll, debian, debianSkipReason, runtime, stateRoot } from "../helpers/env.js";

afterAll(async () => {
  await cleanupAll();
  if (!skipDebian) await new ImageStore(runtime().root).remove(PROCPS).catch(() => undefined);
});

const host = (key: string) => readFileSync(`/proc/sys/${key.replaceAll(".", "/")}`, "utf8").trim();
const sh = (c: Container, cmd: string) => c.execOutput(["sh", "-c", cmd]);
/** Writes `value` to a file inside: "ok", or the shell's complaint. */
const write = async (c: Container, path: string, value: string) => {
  const r = await sh(c, `echo '${value}' > ${path} && echo ok`);
  return r.code === 0 ? r.stdout.trim() : r.stderr.trim();
};
const read = async (c: Container, path: string) => (await c.execOutput(["cat", path], { check: true })).stdout.trim();

const IP_FORWARD = "/proc/sys/net/ipv4/ip_forward";
const IFALIAS = "/sys/devices/virtual/net/lo/ifalias";
/**
 * An interface made inside (a veth pair, gone with the namespace): its
 * sysfs files belong to the container's root. lo's stay the host root's
 * with a user namespace: the kernel picks a device's sysfs owner as it
 * registers it, and lo is registered at clone, before the id map exists.
 */
const VETH = "/sys/devices/virtual/net/v0/ifalias";
const addVeth = async (c: Container) => expect((await sh(c, "ip link add v0 type veth && echo ok")).stdout.trim()).toBe("ok");
/** A value inside the container that differs from the host's: proof the write landed in the container's namespace. */
const flipped = () => (host("net.ipv4.ip_forward") === "1" ? "0" : "1");

describe("proc and sys modes, with a user namespace", { timeout: 30_000 }, () => {
  it("mixed by default: the container's own network namespace writable, the rest of /proc/sys and /sys read-only", async () => {
    const before = [host("net.ipv4.ip_forward"), host("kernel.shmmax")];
    const c = await busybox("mixed");
    await c.start();
    const want = flipped();
    expect(await write(c, IP_FORWARD, want)).toBe("ok");
    expect(await read(c, IP_FORWARD)).toBe(want);
    expect(await write(c, "/proc/sys/net/ipv4/conf/lo/forwarding", want)).toBe("ok");
    await addVeth(c);
    expect(await write(c, VETH, "warren-test")).toBe("ok");
    expect(await read(c, "/sys/class/net/v0/ifalias")).toBe("warren-test");
    expect(await write(c, IFALIAS, "x")).toMatch(/Permission denied/);
    // The ipc namespace's own shmmax is the root's to write, yet read-only here;
    // /sys/kernel is read-only at the mount before any permission is checked.
    expect(await write(c, "/proc/sys/kernel/shmmax", before[1]!)).toMatch(/Read-only file system/);
    expect(await write(c, "/sys/kernel/uevent_seqnum", "1")).toMatch(/Read-only file system/);
    const mounts = (await read(c, "/proc/self/mountinfo")).split("\n").map((l) => l.split(" "));
    // The masks stay (those of the default list this kernel has).
    expect(await read(c, "/proc/timer_list")).toBe("");
    expect(mounts.filter((l) => ["/proc/timer_list", "/proc/keys", "/sys/firmware"].includes(l[4]!))).toHaveLength(3);
    const opts = (target: string) => mounts.filter((l) => l[4] === target).map((l) => l[5]!.split(",")[0]);
    expect(opts("/proc/sys")).toEqual(["ro"]);
    expect(opts("/proc/sys/net")).toEqual(["rw"]);
    expect(opts("/sys").at(-1)).toBe("ro");
    expect(opts("/sys/devices/virtual/net")).toEqual(["rw"]);
    await c.stop();
    expect([host("net.ipv4.ip_forward"), host("kernel.shmmax")]).toEqual(before);
  });

  it("writes the config's sysctls before the init runs, in the container's namespaces only", async () => {
    const before = [host("net.ipv4.ip_forward"), host("kernel.shmmax"), host("fs.mqueue.msg_max")];
    const want = flipped();
    const c = await busybox("sysctls", {
      sysctls: { "net.ipv4.ip_forward": want, "kernel.shmmax": 12345678, "fs.mqueue.msg_max": "17", "net.ipv4.conf.lo.rp_filter": "2" },
      // The init prints what it found at its very start.
      init: ["/bin/sh", "-c", "cat /proc/sys/kernel/shmmax /proc/sys/net/ipv4/ip_forward; trap 'exit 0' TERM; while :; do sleep 3600 & wait $!; done"],
    });
    await c.start({ stdio: ["ignore", "pipe", "ignore"] });
    const first = await new Promise<string>((resolve) => {
      let seen = "";
      c.stdout!.on("data", (b: Buffer) => {
        seen += b.toString();
        if (seen.split("\n").length > 2) resolve(seen);
      });
    });
    expect(first.split("\n").slice(0, 2)).toEqual(["12345678", want]);
    expect(await read(c, "/proc/sys/fs/mqueue/msg_max")).toBe("17");
    expect(await read(c, "/proc/sys/net/ipv4/conf/lo/rp_filter")).toBe("2");
    expect(c.effectiveConfig().sysctls).toEqual({ "net.ipv4.ip_forward": want, "kernel.shmmax": "12345678", "fs.mqueue.msg_max": "17", "net.ipv4.conf.lo.rp_filter": "2" });
    await c.stop();
    expect([host("net.ipv4.ip_forward"), host("kernel.shmmax"), host("fs.mqueue.msg_max")]).toEqual(before);
  });

  it("ro makes /proc/sys/net and /sys read-only again; rw leaves /proc/sys to the kernel's checks", async () => {
    const ro = await busybox("ro", { proc: "ro", sys: "ro" });
    await ro.start();
    expect(await write(ro, IP_FORWARD, flipped())).toMatch(/Read-only file system/);
    await addVeth(ro);
    expect(await write(ro, VETH, "x")).toMatch(/Read-only file system/);
    await ro.stop();

    const shmmax = host("kernel.shmmax");
    const rw = await busybox("rw", { proc: "rw", sys: "rw" });
    await rw.start();
    // The ipc namespace's value is its root's; a host-global one is not.
    expect(await write(rw, "/proc/sys/kernel/shmmax", "7654321")).toBe("ok");
    expect(await read(rw, "/proc/sys/kernel/shmmax")).toBe("7654321");
    // (kernel.pid_max is no example: since Linux 6.14 it is the pid namespace's.)
    expect(await write(rw, "/proc/sys/vm/swappiness", host("vm.swappiness"))).toMatch(/Permission denied/);
    await addVeth(rw);
    expect(await write(rw, VETH, "rw")).toBe("ok");
    await rw.stop();
    expect(host("kernel.shmmax")).toBe(shmmax);
  });

  it("refuses host-global keys and net.* without a network namespace at create; a key the container's namespace lacks fails its start", async () => {
    const global = await busybox("vm", { sysctls: { "vm.swappiness": "10" } }).catch((e) => e);
    expect(global).toBeInstanceOf(ConfigError);
    expect(global.issues.map((i: { path: string }) => i.path)).toEqual(["sysctls.vm.swappiness"]);
    const shared = await busybox("hostnet", { namespaces: { net: false }, sysctls: { "net.ipv4.ip_forward": "1" } }).catch((e) => e);
    expect(shared).toBeInstanceOf(ConfigError);
    expect(shared.message).toMatch(/sysctls\.net\.ipv4\.ip_forward: needs the container's own network namespace/);

    // net.core.rmem_max is one value for the machine: other network
    // namespaces see it read-only (0444).
    const c = await busybox("rmem", { sysctls: { "net.core.rmem_max": host("net.core.rmem_max") } });
    const e = await c.start().catch((x) => x);
    expect(e).toBeInstanceOf(SetupError);
    expect(e.message).toMatch(/failed at write-file: sysctl net\.core\.rmem_max: EACCES \(this kernel keeps it read-only/);
    expect(c.state).not.toBe("running");
  });
});

describe("proc and sys modes, without a user namespace", { timeout: 30_000 }, () => {
  it("confined: mixed leaves nothing writable (no CAP_NET_ADMIN), sysctls still set; rw refused", async () => {
    const before = host("net.ipv4.ip_forward");
    const want = flipped();
    const c = await busybox("confined", { namespaces: { user: false }, sysctls: { "net.ipv4.ip_forward": want } });
    await c.start();
    expect(await read(c, IP_FORWARD)).toBe(want);
    expect(await write(c, IP_FORWARD, before)).toMatch(/Read-only file system/);
    expect(await write(c, IFALIAS, "x")).toMatch(/Read-only file system/);
    await c.stop();
    expect(host("net.ipv4.ip_forward")).toBe(before);
    const rw = await busybox("confined-rw", { namespaces: { user: false }, proc: "rw" }).catch((x) => x);
    expect(rw).toBeInstanceOf(ConfigError);
    expect(rw.issues[0].path).toBe("proc");
  });

  it("privileged: its own network namespace writable in mixed, the rest read-only, the host untouched", async () => {
    const before = host("net.ipv4.ip_forward");
    const want = flipped();
    const c = await busybox("priv", { namespaces: { user: false }, privileged: true });
    await c.start();
    expect(await write(c, IP_FORWARD, want)).toBe("ok");
    expect(await read(c, IP_FORWARD)).toBe(want);
    expect(await write(c, IFALIAS, "priv")).toBe("ok");
    expect(await write(c, "/proc/sys/kernel/shmmax", host("kernel.shmmax"))).toMatch(/Read-only file system/);
    expect(await write(c, "/sys/kernel/uevent_seqnum", "1")).toMatch(/Read-only file system/);
    await c.stop();
    expect(host("net.ipv4.ip_forward")).toBe(before);
  });
});

const skipDebian = debianSkipReason();
/** bookworm with procps (sysctl), cached like the plain image. */
const PROCPS = "debian/bookworm:procps";

describe.skipIf(skipDebian !== undefined)(`Debian: sysctl(8)${skipDebian ? ` (skipped: ${skipDebian})` : ""}`, { timeout: 120_000 }, () => {
  beforeAll(async () => {
    await linkCachedImage(stateRoot(), { distro: "debian", release: "bookworm", packages: ["procps"] }, PROCPS, true);
  }, 600_000);

  it("sysctl -w net.ipv4.ip_forward works inside, the host's value unchanged; kernel.* is read-only", async () => {
    const before = host("net.ipv4.ip_forward");
    const want = flipped();
    const c = await debian("sysctl", { image: PROCPS, sysctls: { "net.core.somaxconn": "1234" } });
    await c.start({ wait: "ready", readyTimeout: 60_000 });
    const set = await c.execOutput(["sysctl", "-w", `net.ipv4.ip_forward=${want}`]);
    expect(set.stdout.trim()).toBe(`net.ipv4.ip_forward = ${want}`);
    expect((await c.execOutput(["sysctl", "-n", "net.ipv4.ip_forward"], { check: true })).stdout.trim()).toBe(want);
    expect((await c.execOutput(["sysctl", "-n", "net.core.somaxconn"], { check: true })).stdout.trim()).toBe("1234");
    // procps says "permission denied" for EROFS too; the shell names the errno.
    const denied = await c.execOutput(["sysctl", "-w", `kernel.shmmax=${host("kernel.shmmax")}`]);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toMatch(/kernel\.shmmax/);
    expect((await c.execOutput(["sh", "-c", "echo 1 > /proc/sys/kernel/shmmax"])).stderr).toMatch(/Read-only file system/);
    await c.stop();
    expect(host("net.ipv4.ip_forward")).toBe(before);
  });
});
