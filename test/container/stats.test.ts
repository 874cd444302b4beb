/** Container.statsAll(): one sweep of the cgroup tree gives what stats() gives each running container. */
import { afterAll, describe, expect, it } from "vitest";

import { Container } from "../../src/index.js";
import { busybox, cleanupAll, runtime } from "../helpers/env.js";

afterAll(cleanupAll);

describe("statsAll", () => {
  it("equals per-container stats for running containers and leaves out stopped ones", { timeout: 60_000 }, async () => {
    const running = [await busybox("sa"), await busybox("sb"), await busybox("sc")];
    for (const c of running) await c.start();
    const stopped = await busybox("sd");
    const all = await Container.statsAll(runtime());
    for (const c of running) {
      const one = await c.stats();
      const batch = all[c.name];
      expect(batch, c.name).toBeDefined();
      // Idle containers: every count is the same; CPU time may have moved by a tick.
      const { cpu, pressure: _p1, ...rest } = one;
      const { cpu: bcpu, pressure: _p2, ...brest } = batch!;
      expect(brest).toEqual(rest);
      expect(Math.abs(bcpu.usageUsec - cpu.usageUsec)).toBeLessThan(50_000);
      expect(Object.keys(batch!.pressure).sort()).toEqual(Object.keys(one.pressure).sort());
    }
    expect(all[stopped.name]).toBeUndefined();
    // Without the PSI files: the same, with `pressure` empty.
    const lean = await Container.statsAll({ ...runtime(), pressure: false });
    for (const c of running) {
      expect(lean[c.name]!.pressure).toEqual({});
      const { cpu: _c1, pressure: _p1, ...rest } = all[c.name]!;
      const { cpu: _c2, pressure: _p2, ...lrest } = lean[c.name]!;
      expect(lrest).toEqual(rest);
    }
    // Only the names asked for.
    expect(Object.keys(await Container.statsAll({ ...runtime(), names: [running[0]!.name, stopped.name] }))).toEqual([running[0]!.name]);
    await expect(Container.statsAll({ ...runtime(), names: ["../etc"] })).rejects.toThrow(/name/);
  });
});
