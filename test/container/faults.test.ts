/**
 * A full filesystem under the state root (a small tmpfs the test mounts):
 * every failure is a WarrenError with the real errno (ENOSPC), and nothing
 * it took is kept: no lease, no id range, no container directory.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { resolveRuntime } from "../../src/config/runtime.js";
import { listIdRanges } from "../../src/container/id-ranges.js";
import { Container, ImageStore, WarrenError } from "../../src/index.js";
import { LeaseStore } from "../../src/network/ipam.js";
import { managedNetwork } from "../../src/network/manager.js";
import { IDLE, rootfs } from "../helpers/env.js";

const root = mkdtempSync("/var/tmp/warren-full-");
const runtime = resolveRuntime({ root });

/** Fills the filesystem of `root` to the last block. */
function fill(): void {
  try {
    execFileSync("dd", ["if=/dev/zero", `of=${join(root, ".filler")}`, "bs=64k"], { stdio: "ignore" });
  } catch {
    /* ENOSPC: full */
  }
  // And the last inodes' worth of small files.
  for (let i = 0; i < 10_000; i++) {
    try {
      writeFileSync(join(root, `.f${i}`), "x");
    } catch {
      break;
    }
  }
}

beforeAll(async () => {
  execFileSync("mount", ["-t", "tmpfs", "-o", "size=48m,mode=0711", "tmpfs", root]);
  await new ImageStore(root).importDirectory(rootfs(), { tag: "busybox" });
});
afterAll(async () => {
  for (const c of await Container.list({ root }).catch(() => [])) await c.destroy({ force: true }).catch(() => undefined);
  await Container.gc({ root }).catch(() => undefined);
  execFileSync("umount", [root]);
  rmSync(root, { recursive: true, force: true });
});

async function leases(): Promise<string[]> {
  const store = new LeaseStore(managedNetwork(runtime).leaseDir);
  const out: string[] = [];
  for (const n of await store.networks()) out.push(...Object.keys((await store.network(n))?.leases ?? {}));
  return out;
}

describe("a full filesystem", () => {
  it("fails creates, snapshots and clones with ENOSPC and keeps nothing they took", { timeout: 120_000 }, async () => {
    // Made while there is room: a lease file, and a container with a change to snapshot.
    const first = await Container.create("roomy", { image: "busybox", init: IDLE, nics: [{ type: "bridged", subnet: "10.232.9.0/24" }] }, { root });
    await first.start();
    await first.execOutput(["sh", "-c", "head -c 200000 /dev/zero > /root/blob"]);
    await first.stop({ timeout: 0 });
    fill();

    const cases: [string, () => Promise<unknown>][] = [
      ["create with a bridged NIC", () => Container.create("nic", { rootfs: { path: rootfs(), mode: "ro" }, nics: [{ type: "bridged", subnet: "10.232.9.0/24" }] }, { root })],
      ["create of the embedded default", () => Container.create("embedded", {}, { root })],
      ["snapshot", () => first.snapshot("s1")],
      ["clone", () => first.clone("copy")],
    ];
    for (const [what, run] of cases) {
      const e = await run().then(
        () => undefined,
        (x: unknown) => x,
      );
      expect(e, what).toBeInstanceOf(WarrenError);
      expect((e as { errno?: string }).errno, `${what}: ${(e as Error).message}`).toBe("ENOSPC");
    }
    expect((await Container.list({ root })).map((c) => c.name)).toEqual(["roomy"]);
    expect(await first.listSnapshots()).toEqual([]);
    expect(await leases()).toEqual(["roomy/eth0"]);
    const real = realpathSync(root);
    expect((await listIdRanges()).filter((e) => e.root === real).map((e) => e.container)).toEqual(["roomy"]);
    // Destroy still works on a full filesystem, lease and all.
    await first.destroy();
    expect(await leases()).toEqual([]);
  });
});
