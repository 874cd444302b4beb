/**
 * kill -9 of the embedding process at any moment: a worker process runs
 * random creates, starts, execs, snapshots, clones, stops and destroys
 * (image-based, directory and embedded-default containers, half with a
 * bridged NIC) and is killed with SIGKILL at a random point; after all
 * cycles one gc() from this process must leave only whole containers, and
 * destroying those must leave the state root, its leases and the host's
 * id-range record empty. The suite's leftover check then holds the host
 * to no mount, cgroup, veth, nft rule or process of it.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, describe, expect, it } from "vitest";

import { CgroupTree, detectCgroupHost } from "../../src/cgroup/cgroup2.js";
import { resolveRuntime } from "../../src/config/runtime.js";
import { listIdRanges } from "../../src/container/id-ranges.js";
import { Container, ImageStore } from "../../src/index.js";
import { LeaseStore } from "../../src/network/ipam.js";
import { managedNetwork } from "../../src/network/manager.js";
import { rootfs } from "../helpers/env.js";
import { repo } from "../helpers/cli.js";

const CYCLES = Number(process.env.WARREN_CHAOS_CYCLES ?? 16);
const root = mkdtempSync("/var/tmp/warren-chaos-");
const runtime = resolveRuntime({ root });

/** Runs the worker until it has begun `steps` steps plus a random few ms, then SIGKILL. */
async function killMidway(seed: number, steps: number): Promise<string> {
  const child = spawn(process.execPath, ["--import", "tsx", join(repo, "test/helpers/chaos-worker.ts"), root, String(seed), rootfs()], {
    cwd: repo,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
  const exited = new Promise<void>((r) => child.on("close", () => r()));
  await new Promise<void>((resolve) => {
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      out += d;
      if (out.split("\n").filter((l) => l && !l.startsWith("error")).length >= steps) resolve();
    });
    child.on("close", () => resolve());
  });
  // Somewhere inside the step just begun (a create's rootfs, a start's clone, a snapshot's copy…).
  await sleep(seed % 60);
  child.kill("SIGKILL");
  await exited;
  if (err.trim()) throw new Error(`worker failed (seed ${seed}): ${err}`);
  return out.trim().split("\n").pop() ?? "";
}

afterAll(async () => {
  for (const c of await Container.list({ root }).catch(() => [])) await c.destroy({ force: true }).catch(() => undefined);
  await Container.gc({ root }).catch(() => undefined);
  rmSync(root, { recursive: true, force: true });
});

describe("crash safety", () => {
  it(`leaves nothing gc() cannot finish after ${CYCLES} kill -9s at random points`, { timeout: 600_000 }, async () => {
    await new ImageStore(root).importDirectory(rootfs(), { tag: "busybox" });
    const killedAt: string[] = [];
    for (let i = 0; i < CYCLES; i++) {
      const seed = 1000 + i * 7919;
      killedAt.push(`${seed}: ${await killMidway(seed, 1 + (seed % 5))}`);
    }
    await Container.gc({ root });

    const names = readdirSync(root).filter((n) => !n.startsWith("."));
    const problems: string[] = [];
    const cgroups = new CgroupTree(detectCgroupHost().mount, runtime.cgroupParent);
    for (const n of names) {
      const dir = join(root, n);
      if (!existsSync(join(dir, "container.json"))) problems.push(`${n}: no container.json`);
      if (existsSync(join(dir, "intent.json"))) problems.push(`${n}: an intent is left`);
      for (const e of readdirSync(dir)) if (e.startsWith("partial-snapshot.")) problems.push(`${n}: ${e} is left`);
      for (const s of existsSync(join(dir, "snapshots")) ? readdirSync(join(dir, "snapshots")) : []) {
        if (!existsSync(join(dir, "snapshots", s, "snapshot.json"))) problems.push(`${n}: half-made snapshot ${s}`);
      }
      const freeze = join(cgroups.path(n), "cgroup.freeze");
      if (existsSync(freeze) && readFileSync(freeze, "utf8").trim() === "1") problems.push(`${n}: still frozen`);
    }
    const leaseStore = new LeaseStore(managedNetwork(runtime).leaseDir);
    for (const net of await leaseStore.networks()) {
      for (const key of Object.keys((await leaseStore.network(net))?.leases ?? {})) {
        if (!names.includes(key.split("/")[0]!)) problems.push(`lease ${key} without its container`);
      }
    }
    const realRoot = (await import("node:fs")).realpathSync(root);
    for (const e of await listIdRanges()) if (e.root === realRoot && !names.includes(e.container)) problems.push(`id range of ${e.container} without its container`);
    expect(problems, `killed at:\n${killedAt.join("\n")}`).toEqual([]);

    // What is left is whole: a fresh look can use and remove all of it.
    for (const c of await Container.list({ root })) {
      if (c.state === "running") {
        // An init may still end on its own now: a stop killed after its
        // halt signal (or one a frozen init gets on its thaw). Then it must
        // start again: whole is usable, not necessarily still running.
        const r = await c.execOutput(["true"]).catch(async (e: Error) => {
          await c.refresh();
          if (c.state === "running") throw new Error(`${c.name}: ${e.message}; killed at:\n${killedAt.join("\n")}`);
          await c.start();
          return c.execOutput(["true"]);
        });
        expect(r.code).toBe(0);
      }
      await c.destroy({ force: true });
    }
    await Container.gc({ root });
    expect(readdirSync(root).filter((n) => !n.startsWith("."))).toEqual([]);
    // Directories a killed destroy had moved into the trash are gone too.
    expect(existsSync(join(root, ".trash")) ? readdirSync(join(root, ".trash")) : []).toEqual([]);
    for (const net of await leaseStore.networks()) expect(Object.keys((await leaseStore.network(net))?.leases ?? {})).toEqual([]);
    expect((await listIdRanges()).filter((e) => e.root === realRoot)).toEqual([]);
  });
});
