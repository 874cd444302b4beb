/**
 * Kernel-test setup: builds the busybox rootfs once, gives the suite its own
 * state root (and so its own cgroup subtree), and takes a snapshot of the
 * host's mounts, cgroups and container processes. test/leftovers.test.ts,
 * run last, compares against it; the teardown repeats the check for runs of
 * single files.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { TestProject } from "vitest/node";

import { leftovers, snapshot } from "./leftovers.js";

const repo = resolve(import.meta.dirname, "../..");

export default async function setup(project: TestProject) {
  const rootfs = process.env.WARREN_TEST_ROOTFS ?? join(repo, ".cache/rootfs/busybox");
  execFileSync("bash", [join(repo, "scripts/make-busybox-rootfs.sh"), rootfs], { stdio: "inherit" });
  const stateRoot = mkdtempSync(join(tmpdir(), "warren-test-"));
  project.provide("rootfs", rootfs);
  project.provide("stateRoot", stateRoot);
  const before = snapshot();
  project.provide("baseline", JSON.stringify(before));

  return async () => {
    // Namespaces and cgroups of the last containers go away asynchronously.
    let left: string[] = [];
    for (let i = 0; i < 50; i++) {
      left = leftovers(before, snapshot());
      if (left.length === 0) break;
      await sleep(100);
    }
    rmSync(stateRoot, { recursive: true, force: true });
    if (left.length) {
      throw new Error(`the kernel tests left things behind on the host:\n  ${left.join("\n  ")}`);
    }
  };
}

declare module "vitest" {
  export interface ProvidedContext {
    rootfs: string;
    stateRoot: string;
    /** JSON of the leftovers snapshot taken before the suite. */
    baseline: string;
  }
}
