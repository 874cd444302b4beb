/**
 * lxcfs shows a container its memory limit (issue 12): on this hybrid host
 * lxcfs reads memory limits from the v1 hierarchy, where warren sets none,
 * so this runs where every controller is on cgroup v2: a throwaway VM
 * (scripts/vm) runs test/vm/guest/lxcfs.mts, which starts lxcfs there as
 * scripts/setup.sh does. One boot, one container.
 */
import { beforeAll, describe, expect, it } from "vitest";

import { runGuestScript, vmAvailable, type GuestReport } from "../helpers/vm.js";

const vm = await vmAvailable();
let guest: GuestReport | undefined;

beforeAll(async () => {
  if (!vm.ok) return;
  guest = await runGuestScript("lxcfs", { timeoutMs: 180_000, memMiB: 2048, cpus: 2 });
}, 240_000);

describe("lxcfs in a pure cgroup v2 VM", () => {
  it("free -m shows the container's 256 MiB limit, cpuinfo and the CPU list its one CPU", (ctx) => {
    if (!vm.ok) ctx.skip(vm.reason);
    const r = guest!.result("lxcfs");
    expect(r.started).toMatch(/^start-lxcfs: running at \/var\/lib\/lxcfs/);
    expect(r.views.mount).toBe("/var/lib/lxcfs");
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const lines: string[] = r.out.trim().split("\n");
    // procps free: "Mem:  total used free shared buff/cache available", in MiB.
    const mem = lines.find((l) => l.startsWith("Mem:"))!.split(/\s+/);
    expect(Number(mem[1])).toBe(256);
    // The guest has 2 CPUs and 2 GiB: without lxcfs both would show.
    const [processors, online, uptime] = lines.slice(-3);
    expect(processors).toBe("1");
    expect(online).toBe("0");
    expect(Number(uptime)).toBeLessThan(60);
  });
});
