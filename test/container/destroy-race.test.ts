/**
 * A forced destroy interleaved with the monitor's last writes: a container
 * whose init floods its console (the monitor writing its ring and, as it
 * ends, console.log into the state directory) is destroyed with force at
 * once, many times over, at varying moments after its start. Each destroy
 * must succeed (no raw ENOTEMPTY from a directory the monitor is still
 * writing in) and leave no state directory, no monitor, no cgroup.
 */
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";

import { Container } from "../../src/index.js";
import { rootfs, runtime, uniqueName } from "../helpers/env.js";

const FLOOD = ["/bin/sh", "-c", "while :; do echo 0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz; done"];

/** Pids of live warren-monitor processes. */
function monitors(): number[] {
  return readdirSync("/proc")
    .filter((e) => /^\d+$/.test(e))
    .filter((e) => {
      try {
        return readFileSync(`/proc/${e}/comm`, "utf8").trim() === "warren-monitor" && !/^State:\s+Z/m.test(readFileSync(`/proc/${e}/status`, "utf8"));
      } catch {
        return false;
      }
    })
    .map(Number);
}

const made: Container[] = [];
afterAll(async () => {
  for (const c of made) await c.destroy({ force: true }).catch(() => undefined);
});

describe("destroy({force}) racing the monitor", () => {
  it("removes a console-flooding container every time, whenever it comes", { timeout: 120_000 }, async () => {
    const before = new Set(monitors());
    for (let i = 0; i < 12; i++) {
      const c = await Container.create(uniqueName("race"), { rootfs: { path: rootfs(), mode: "ro" }, init: FLOOD, console: true, consoleLogSize: 4096, stopTimeout: 0 }, runtime());
      made.push(c);
      await c.start();
      // 0 to ~55 ms of flooding first: the destroy meets the monitor at different points.
      await new Promise((r) => setTimeout(r, (i % 6) * 11));
      const dir = c.stateDir;
      const cgroup = c.cgroupPath;
      await c.destroy({ force: true });
      expect(existsSync(dir), `state directory of run ${i}`).toBe(false);
      expect(existsSync(cgroup), `cgroup of run ${i}`).toBe(false);
    }
    expect(monitors().filter((p) => !before.has(p))).toEqual([]);
  });
});
