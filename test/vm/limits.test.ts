/**
 * Enforcement of cgroup v2 limits, proven where every controller is on
 * cgroup v2: a throwaway VM (scripts/vm) boots Debian's kernel with
 * cgroup_no_v1=all and runs test/vm/guest/limits.mts, which drives warren
 * there. One boot runs every scenario; each `it` checks one of them.
 */
import { beforeAll, describe, expect, inject, it } from "vitest";

import { runGuestScript, vmAvailable, type GuestReport } from "../helpers/vm.js";

const vm = await vmAvailable();
let guest: GuestReport | undefined;

beforeAll(async () => {
  if (!vm.ok) return;
  guest = await runGuestScript("limits", { timeoutMs: 240_000, env: { WARREN_TEST_ROOTFS: inject("rootfs") } });
}, 300_000);

const result = (name: string): any => guest!.result(name);

describe("cgroup v2 limits in a pure-v2 VM", () => {
  it("runs on a pure cgroup v2 host with every controller", (ctx) => {
    if (!vm.ok) ctx.skip(vm.reason);
    const h = result("host");
    expect(h.pureV2).toBe(true);
    expect(h.controllers).toEqual(expect.arrayContaining(["memory", "pids", "cpu", "cpuset", "io"]));
  });

  it("memory.max: an allocation above the limit is OOM-killed, reported, and fits after a live raise", (ctx) => {
    if (!vm.ok) ctx.skip(vm.reason);
    const m = result("memory");
    expect(m.limited).toEqual({ code: null, signal: "SIGKILL" });
    expect(m.oomKills).toBeGreaterThanOrEqual(1);
    expect(m.events).toContain("oom-kill");
    expect(m.stillRuns).toBe(0);
    expect(m.raised).toEqual({ code: 0, signal: null });
  });

  it("pids.max: a fork loop stops at the limit and the container stays usable", (ctx) => {
    if (!vm.ok) ctx.skip(vm.reason);
    const p = result("pids");
    expect(p.forkCode).not.toBe(0);
    expect(p.forkErr).toMatch(/can't fork/);
    // The sleeps it did start, the init and its sleep: right at the limit.
    expect(p.current.current).toBeLessThanOrEqual(32);
    expect(p.current.current).toBeGreaterThan(20);
    expect(p.current.max).toBe(32);
    expect(p.events).toMatch(/^max [1-9]/m);
    expect(p.afterCode).toBe(0);
    expect(p.afterOut).toBe("usable\n");
  });

  it("cpu.max: a busy loop is throttled to the configured share", (ctx) => {
    if (!vm.ok) ctx.skip(vm.reason);
    const c = result("cpu");
    expect(c.share).toBeLessThanOrEqual(0.3);
    expect(c.share).toBeGreaterThan(0.05);
    expect(c.throttled).toBeGreaterThan(0);
  });

  it("cpuset.cpus: the init and exec'd processes run on CPU 0 only", (ctx) => {
    if (!vm.ok) ctx.skip(vm.reason);
    expect(result("cpuset").out).toBe("Cpus_allowed_list:\t0\nCpus_allowed_list:\t0\n");
  });

  it("delegation: the container moves its init out, enables controllers and limits a child of its own", (ctx) => {
    if (!vm.ok) ctx.skip(vm.reason);
    const d = result("delegation");
    expect(d.err).toBe("");
    expect(d.code).toBe(0);
    expect(d.out).toBe("0::/svc\n33554432\n");
  });
});
