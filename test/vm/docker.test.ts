/**
 * `docker run --memory` enforced inside a nesting container, proven where
 * the memory controller is on cgroup v2 to delegate: the throwaway VM
 * (scripts/vm) runs test/vm/guest/docker.mts, which starts the Docker image
 * of test/nesting/docker.test.ts (from the image cache: the VM has no
 * mirror) under systemd. On this tier's host the controller is on cgroup v1
 * and Docker discards the limit (docs/nesting.md).
 */
import { beforeAll, describe, expect, inject, it } from "vitest";

import { DOCKER_IMAGE, DOCKER_IMAGE_SPEC } from "../helpers/docker-image.js";
import { linkCachedImage } from "../helpers/images.js";
import { runGuestScript, vmAvailable, type GuestReport } from "../helpers/vm.js";

const vm = await vmAvailable();
/** Why not: no VM, or no image to give it (built here, where the mirror is). */
const skip = !vm.ok
  ? vm.reason
  : await linkCachedImage(inject("stateRoot"), DOCKER_IMAGE_SPEC, DOCKER_IMAGE).then(
      () => undefined,
      (e: Error) => `no Docker image: ${e.message.split("\n")[0]}`,
    );
let guest: GuestReport | undefined;

beforeAll(async () => {
  if (skip) return;
  // TCG: systemd, containerd and dockerd booting take minutes.
  guest = await runGuestScript("docker", { timeoutMs: 480_000, memMiB: 3072, env: { WARREN_TEST_ROOTFS: inject("rootfs") } });
}, 540_000);

describe("Docker inside a nesting container on a pure cgroup v2 host", () => {
  it("enforces docker run --memory", (ctx) => {
    if (skip) ctx.skip(skip);
    const r = guest!.result("memory");
    expect(r.docker.out.trim(), r.journal.out).toBe("active");
    // The controller reached the container: systemd can hand it to Docker's scopes.
    expect(r.controllers.out.split(/\s+/)).toContain("memory");
    expect(r.imported.code, r.imported.out).toBe(0);
    expect(r.max.out.trim()).toBe(String(64 * 1024 * 1024));
    // Killed by the OOM killer at the limit (docker run exits 128 + SIGKILL)...
    expect(r.limited.code, r.limited.out).toBe(137);
    // ...and the same copy fits under a larger one.
    expect(r.roomy.code, r.roomy.out).toBe(0);
  });
});
