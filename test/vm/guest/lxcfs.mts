/**
 * Runs INSIDE the pure cgroup v2 VM (test/vm/lxcfs.test.ts boots it):
 * starts lxcfs as scripts/setup.sh does, then a container with a memory
 * limit and one CPU, and prints what `free -m`, cpuinfo and the CPU list
 * say inside (`@@RESULT lxcfs <json>`). The assertions are on the host side.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { resolve } from "node:path";

import { Container } from "../../../src/index.js";
import { runScenarios } from "./scenarios.mjs";

const root = mkdtempSync("/tmp/warren-vm-");

await runScenarios({
  async lxcfs() {
    const started = execFileSync("bash", [resolve("scripts/start-lxcfs.sh")], { env: { ...process.env, LXCFS_LOG: "/tmp/lxcfs.log" } }).toString();
    // The embedded rootfs (the host's /usr) for procps's free: busybox's
    // asks sysinfo(2), which lxcfs cannot answer.
    const c = await Container.create("lxcfs", { stopTimeout: 2000, limits: { memory: { max: "256MiB" }, cpu: { cpus: "0" } } }, { root });
    try {
      await c.start();
      const r = await c.execOutput(["sh", "-c", "free -m; grep -c ^processor /proc/cpuinfo; cat /sys/devices/system/cpu/online; cut -d' ' -f1 /proc/uptime"]);
      return { started, views: c.effectiveConfig().lxcfs, code: r.code, out: r.stdout, err: r.stderr };
    } finally {
      await c.stop({ timeout: 0 });
      await c.destroy();
    }
  },
});
