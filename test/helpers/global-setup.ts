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

import { linkCachedImage } from "./images.js";
import { leftovers, snapshot } from "./leftovers.js";

const repo = resolve(import.meta.dirname, "../..");

export default async function setup(project: TestProject) {
  const rootfs = process.env.WARREN_TEST_ROOTFS ?? join(repo, ".cache/rootfs/busybox");
  execFileSync("bash", [join(repo, "scripts/make-busybox-rootfs.sh"), rootfs], { stdio: "inherit" });
  const stateRoot = mkdtempSync(join(tmpdir(), "warren-test-"));
  project.provide("rootfs", rootfs);
  project.provide("stateRoot", stateRoot);
  project.provide("debian", await debianImage(stateRoot));
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

/**
 * The Debian bookworm image of the distro tests (~35 s the first time, then
 * cached; see helpers/images.ts). Without a mirror the tests that need it
 * skip with the reason.
 */
async function debianImage(stateRoot: string): Promise<{ id: string } | { skip: string }> {
  if (process.env.WARREN_TEST_DEBIAN === "0") return { skip: "WARREN_TEST_DEBIAN=0" };
  try {
    return { id: await linkCachedImage(stateRoot, "debian/bookworm", "debian/bookworm", true) };
  } catch (e) {
    return { skip: `no Debian image: ${(e as Error).message.split("\n").slice(0, 3).join(" / ")}` };
  }
}

declare module "vitest" {
  export interface ProvidedContext {
    /** The Debian bookworm image in the suite's store (tag `debian/bookworm`), or why there is none. */
    debian: { id: string } | { skip: string };
    rootfs: string;
    stateRoot: string;
    /** JSON of the leftovers snapshot taken before the suite. */
    baseline: string;
  }
}
