/**
 * Runs INSIDE the pure cgroup v2 VM (test/vm/limits.test.ts boots it): each
 * scenario drives warren against real memory, pids, cpu and cpuset
 * controllers and prints one line `@@RESULT <name> <json>` with what it saw.
 * The assertions are on the host side; this script only measures.
 */
import { mkdtempSync } from "node:fs";
import { resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

import { Container, host, type ContainerConfig, type ContainerEvent } from "../../../src/index.js";
import { runScenarios } from "./scenarios.mjs";

// Set by test/vm/limits.test.ts (this file runs as a bundle elsewhere).
const rootfs = process.env.WARREN_TEST_ROOTFS ?? resolve(".cache/rootfs/busybox");
const root = mkdtempSync("/tmp/warren-vm-");
const IDLE = ["/bin/sh", "-c", "trap 'exit 0' TERM; while :; do sleep 3600 & wait $!; done"];


async function container(name: string, config: ContainerConfig): Promise<Container> {
  const c = await Container.create(name, { rootfs: { path: rootfs, mode: "ro" }, init: IDLE, stopTimeout: 2000, ...config }, { root });
  await c.start();
  return c;
}

async function done(c: Container): Promise<void> {
  await c.stop({ timeout: 0 });
  await c.destroy();
}

const scenarios: Record<string, () => Promise<unknown>> = {
  async host() {
    const cg = host().cgroup;
    return { pureV2: cg.pureV2, controllers: cg.controllers, mount: cg.mount };
  },

  async memory() {
    const c = await container("mem", { limits: { memory: { max: "64MiB", swapMax: 0 } } });
    const events: ContainerEvent[] = [];
    const collecting = (async () => {
      for await (const e of c.events()) events.push(e);
    })();
    // dd's 200 MiB buffer is filled by read(): 200 MiB touched.
    const big = ["dd", "if=/dev/zero", "of=/dev/null", "bs=200M", "count=1"];
    const limited = await c.execOutput(big);
    await sleep(200);
    const stats = await c.stats();
    const stillRuns = (await c.execOutput(["true"])).code;
    await c.setLimits({ memory: { max: "512MiB" } });
    const raised = await c.execOutput(big);
    await done(c);
    await collecting;
    return {
      limited: { code: limited.code, signal: limited.signal },
      oomKills: stats.memory?.events.oomKill,
      events: events.map((e) => e.type),
      stillRuns,
      raised: { code: raised.code, signal: raised.signal },
    };
  },

  async pids() {
    const c = await container("pids", { limits: { pids: { max: 32 } } });
    // busybox sh gives up ("can't fork") when the kernel refuses a fork.
    const fork = await c.execOutput(["sh", "-c", "i=0; while [ $i -lt 100 ]; do sleep 3 >/dev/null 2>&1 & i=$((i+1)); done"]);
    const stats = await c.stats();
    await sleep(3500); // the sleeps end
    const after = await c.execOutput(["echo", "usable"]);
    const events = (await c.execOutput(["cat", "/sys/fs/cgroup/pids.events"])).stdout;
    await done(c);
    return { forkCode: fork.code, forkErr: fork.stderr, current: stats.pids, afterCode: after.code, afterOut: after.stdout, events };
  },

  async cpu() {
    const c = await container("cpu", { limits: { cpu: { max: 0.2 } } });
    const busy = await c.exec(["sh", "-c", "while :; do :; done"], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
    await sleep(500);
    const a = await c.stats();
    const t0 = Date.now();
    await sleep(2000);
    const b = await c.stats();
    const wall = (Date.now() - t0) * 1000;
    busy.kill("SIGKILL");
    await busy.exited;
    await done(c);
    return { share: (b.cpu.usageUsec - a.cpu.usageUsec) / wall, throttled: b.cpu.throttledPeriods ?? 0 };
  },

  async cpuset() {
    const c = await container("cpuset", { limits: { cpu: { cpus: "0" } } });
    const r = await c.execOutput(["sh", "-c", "grep Cpus_allowed_list /proc/1/status; grep Cpus_allowed_list /proc/self/status"]);
    await done(c);
    return { out: r.stdout };
  },

  async delegation() {
    // What systemd does in a container: move itself out of the root, enable
    // controllers for its children, give a child a limit.
    const c = await container("deleg", {});
    const r = await c.execOutput([
      "sh",
      "-c",
      [
        "set -e",
        "mkdir /sys/fs/cgroup/init.scope",
        // Every process of the root (the init and its children), as systemd does.
        "for p in $(cat /sys/fs/cgroup/cgroup.procs); do echo $p > /sys/fs/cgroup/init.scope/cgroup.procs; done",
        "echo +memory +pids > /sys/fs/cgroup/cgroup.subtree_control",
        "mkdir /sys/fs/cgroup/svc",
        "echo 32M > /sys/fs/cgroup/svc/memory.max",
        "echo $$ > /sys/fs/cgroup/svc/cgroup.procs",
        "cat /proc/self/cgroup",
        "cat /sys/fs/cgroup/svc/memory.max",
      ].join("; "),
    ]);
    await done(c);
    return { code: r.code, out: r.stdout, err: r.stderr };
  },
};

await runScenarios(scenarios);
