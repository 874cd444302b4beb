/**
 * cgroup v2 on this (hybrid) host: layout detection, limits refused or
 * skipped when their controller is bound to v1, a controller v2 does have
 * (hugetlb) applied and changed live, freezing, statistics, events and
 * delegation. Enforcement of memory/cpu/pids limits is proven in the pure-v2
 * VM tier (test/vm).
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, describe, expect, it } from "vitest";

import { CgroupControllerUnavailable, host, type ContainerEvent } from "../../src/index.js";
import { busybox, cleanupAll, startReady, trappingInit } from "../helpers/env.js";

afterAll(cleanupAll);

const cg = host().cgroup;
const memoryInV2 = cg.controllers.includes("memory");
const hugetlbInV2 = cg.controllers.includes("hugetlb") && existsSync("/sys/kernel/mm/hugepages/hugepages-2048kB");

describe("host detection", () => {
  it("finds the cgroup2 mount from mountinfo and tells the layout apart", () => {
    const mounts = readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter(Boolean);
    const v2 = mounts.filter((l) => / - cgroup2 /.test(l)).map((l) => l.split(" ")[4]);
    const v1 = mounts.filter((l) => / - cgroup /.test(l));
    expect(v2).toContain(cg.mount);
    expect(cg.pureV2).toBe(v1.length === 0);
    expect(cg.controllers).toEqual(readFileSync(join(cg.mount, "cgroup.controllers"), "utf8").trim().split(/\s+/).filter(Boolean));
    if (!cg.pureV2) expect(cg.v1Controllers.length).toBeGreaterThan(0);
    expect(cg.delegation.files).toContain("cgroup.procs");
  });
});

describe.skipIf(memoryInV2)("a limit whose controller is bound to v1", () => {
  it("is a typed error naming the controller, and nothing is left", async () => {
    const c = await busybox("memv1", { limits: { memory: { max: "64MiB" } } });
    const e = await c.start().catch((x) => x);
    expect(e).toBeInstanceOf(CgroupControllerUnavailable);
    expect(e.controller).toBe("memory");
    expect(String(e)).toMatch(/^CgroupControllerUnavailable: memory is bound to cgroup v1 on this host \(needed by memory.max\)$/);
    expect(c.state).toBe("created");
    expect(existsSync(c.cgroupPath)).toBe(false);
  });

  it("is skipped with a warning in best-effort mode", async () => {
    const c = await busybox("memv1be", { limits: { memory: { max: "64MiB" }, pids: { max: 50 } }, bestEffortLimits: true });
    await c.start();
    expect(c.warnings.join("\n")).toMatch(/limit memory.max not applied: memory is bound to cgroup v1/);
    expect(c.warnings.join("\n")).toMatch(/limit pids.max not applied/);
    expect(c.state).toBe("running");
    await c.stop({ timeout: 0 });
  });

  it("is refused by setLimits on a running container too, before writing anything", async () => {
    const c = await busybox("memv1live");
    await c.start();
    await expect(c.setLimits({ memory: { max: "1GiB" } })).rejects.toBeInstanceOf(CgroupControllerUnavailable);
    expect(c.config.limits).toBeUndefined();
    await c.stop({ timeout: 0 });
  });
});

describe.skipIf(!hugetlbInV2)("a controller cgroup v2 has here (hugetlb)", () => {
  it("is applied before the init runs, changed live, and kept for the next start", async () => {
    const c = await busybox("huge", { limits: { hugetlb: { "2MB": "64MiB" } } });
    await c.start();
    const file = join(c.cgroupPath, "hugetlb.2MB.max");
    expect(readFileSync(file, "utf8").trim()).toBe(String(64 * 2 ** 20));
    expect(await c.setLimits({ hugetlb: { "2MB": "32MiB" } })).toEqual([]);
    expect(readFileSync(file, "utf8").trim()).toBe(String(32 * 2 ** 20));
    expect(c.config.limits?.hugetlb).toEqual({ "2MB": "32MiB" });
    await c.stop({ timeout: 0 });
    await c.start();
    expect(readFileSync(file, "utf8").trim()).toBe(String(32 * 2 ** 20));
    await c.stop({ timeout: 0 });
  });
});

describe("bad limits", () => {
  it("name the field", async () => {
    await expect(busybox("badlim", { limits: { memory: { max: "lots" } } } as never)).rejects.toMatchObject({
      code: "ERR_WARREN_CONFIG",
      issues: [expect.objectContaining({ path: "limits.memory.max" })],
    });
    const c = await busybox("badlim2");
    await expect(c.setLimits({ cpu: { max: -1 } })).rejects.toMatchObject({ issues: [expect.objectContaining({ path: "limits.cpu.max" })] });
  });
});

/** A container counting in a tmpfs, with its count readable from the host. */
async function counter(prefix: string) {
  const c = await busybox(prefix, {
    // Appends, so the file's size counts progress: a rewrite could be frozen
    // between truncating and writing.
    init: ["/bin/sh", "-c", "trap 'exit 0' TERM; echo ready; while :; do echo x >> /run/n; done"],
    mounts: [{ type: "tmpfs", target: "/run" }],
  });
  await startReady(c);
  const read = () => statSync(`/proc/${c.pid}/root/run/n`).size;
  return { c, read };
}

describe("freeze", () => {
  it("stops and resumes every process, reports frozen/thawed events, and refuses exec while frozen", async () => {
    const { c, read } = await counter("freeze");
    const events: ContainerEvent[] = [];
    const iter = c.events();
    const collecting = (async () => {
      for await (const e of iter) events.push(e);
    })();
    await sleep(50);
    await c.freeze();
    expect(c.state).toBe("frozen");
    expect(readFileSync(join(c.cgroupPath, "cgroup.events"), "utf8")).toMatch(/^frozen 1$/m);
    const a = read();
    await sleep(200);
    expect(read()).toBe(a);
    await expect(c.exec(["true"])).rejects.toMatchObject({ code: "ERR_WARREN_STATE", state: "frozen" });
    await c.unfreeze();
    expect(c.state).toBe("running");
    await sleep(100);
    expect(read()).toBeGreaterThan(a);
    await c.stop();
    await collecting;
    expect(events.map((e) => e.type)).toEqual(["frozen", "thawed", "stopped"]);
    expect(events.at(-1)).toEqual({ type: "stopped", status: { code: 0, signal: null, reason: "halt" } });
  });

  it("stops a frozen container gracefully (it is thawed first)", async () => {
    const c = await busybox("frozenstop", { init: trappingInit("TERM", 5) });
    await startReady(c);
    await c.freeze();
    expect(await c.stop({ timeout: 5000 })).toEqual({ code: 5, signal: null, reason: "halt" });
  });
});

describe("stats", () => {
  it("reports the CPU a busy container uses", async () => {
    const { c } = await counter("stats");
    const before = await c.stats();
    await sleep(300);
    const after = await c.stats();
    expect(after.cpu.usageUsec).toBeGreaterThan(before.cpu.usageUsec + 50_000);
    expect(after.cpu.userUsec + after.cpu.systemUsec).toBeGreaterThan(0);
    if (memoryInV2) expect(after.memory?.current).toBeGreaterThan(0);
    else expect(after.memory).toBeUndefined();
    expect(after.pressure.cpu?.some.total).toBeGreaterThanOrEqual(0);
    await c.stop();
    await expect(c.stats()).rejects.toMatchObject({ code: "ERR_WARREN_STATE" });
  });
});

describe("delegation", () => {
  it("lets the container's root build its own cgroup tree under its cgroup namespace", async () => {
    const c = await busybox("deleg");
    await c.start();
    expect(readFileSync(`/proc/${c.pid}/cgroup`, "utf8")).toMatch(/^0::.*\/deleg-[0-9a-f]+$/m);
    const r = await c.execOutput([
      "sh",
      "-c",
      "cat /proc/self/cgroup | grep ^0::; mkdir /sys/fs/cgroup/inner && echo $$ > /sys/fs/cgroup/inner/cgroup.procs && grep ^0:: /proc/self/cgroup",
    ]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("0::/.exec\n0::/inner\n");
    // It cannot raise its own limits: those files stay the host's.
    const w = await c.execOutput(["sh", "-c", "echo max > /sys/fs/cgroup/cgroup.max.descendants"]);
    expect(w.code).not.toBe(0);
    await c.stop({ timeout: 0 });
    expect(existsSync(c.cgroupPath)).toBe(false);
  });
});
