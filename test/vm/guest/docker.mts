/**
 * Runs INSIDE the pure cgroup v2 VM (test/vm/docker.test.ts boots it):
 * Docker inside a nesting Debian container, where the memory controller is
 * there to delegate, and `docker run --memory` is enforced. Prints
 * `@@RESULT <name> <json>`; the host side asserts.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";

import { Container } from "../../../src/index.js";
import { DOCKER_IMAGE, DOCKER_IMAGE_SPEC } from "../../helpers/docker-image.js";
import { linkCachedImage } from "../../helpers/images.js";
import { runScenarios } from "./scenarios.mjs";

const rootfs = process.env.WARREN_TEST_ROOTFS!;
// /run is a tmpfs: the container's upper layer must not be on the guest's
// root, an overlayfs.
const root = mkdtempSync("/run/warren-vm-");
chmodSync(root, 0o755); // the container's root reads daemon.json in it

const scenarios: Record<string, () => Promise<unknown>> = {
  async memory() {
    await linkCachedImage(root, DOCKER_IMAGE_SPEC, DOCKER_IMAGE);
    // The VM's kernel has nf_tables and the bridge as modules the guest
    // does not load (and a container cannot): dockerd would fail ("iptables:
    // Failed to initialize nft: Protocol not supported", then "Error creating
    // default \"bridge\" network: package not installed") and systemd give
    // up after its restarts. The networks are test/nesting/docker.test.ts's
    // part; the limits are this one's, so no network here.
    const daemonJson = `${root}/daemon.json`;
    writeFileSync(daemonJson, '{"iptables": false, "bridge": "none"}\n', { mode: 0o644 });
    const c = await Container.create("docker", {
      image: DOCKER_IMAGE,
      nesting: true,
      stopTimeout: 20_000,
      mounts: [
        { type: "tmpfs", target: "/var/lib/docker", size: "256m" },
        { type: "bind", source: daemonJson, target: "/etc/docker/daemon.json", readonly: true },
      ],
    }, { root });
    // Filled as it goes: a failed step's output is in the result.
    const seen: Record<string, unknown> = {};
    try {
      const t0 = Date.now();
      await c.start({ wait: "ready", readyTimeout: 240_000 });
      seen.bootMs = Date.now() - t0;
      const run = async (name: string, argv: string[], input?: Buffer) => {
        const r = await c.execOutput(argv, { check: false, ...(input ? { input } : {}) });
        seen[name] = { code: r.code, signal: r.signal, out: r.stdout + r.stderr };
      };
      await run("docker", ["systemctl", "is-active", "docker.service"]);
      await run("journal", ["journalctl", "-u", "docker.service", "--no-pager", "-n", "30"]);
      await run("controllers", ["cat", "/sys/fs/cgroup/cgroup.controllers"]);
      // The archive is made here, as the guest's root (the container's root could not read /root).
      const tar = execFileSync("tar", ["-C", rootfs, "--numeric-owner", "--owner=0", "--group=0", "-c", "."], { maxBuffer: 64 << 20 });
      await run("imported", ["docker", "import", "-", "warren/busybox"], tar);
      await run("max", ["docker", "run", "--rm", "--network", "none", "--memory", "64m", "--memory-swap", "64m", "warren/busybox", "cat", "/sys/fs/cgroup/memory.max"]);
      // dd's 200 MiB buffer is filled by read(): 200 MiB touched.
      const dd = ["warren/busybox", "dd", "if=/dev/zero", "of=/dev/null", "bs=200M", "count=1"];
      await run("limited", ["docker", "run", "--rm", "--network", "none", "--memory", "64m", "--memory-swap", "64m", ...dd]);
      await run("roomy", ["docker", "run", "--rm", "--network", "none", "--memory", "512m", ...dd]);
      return seen;
    } catch (e) {
      throw new Error(`${(e as Error).stack}\nso far: ${JSON.stringify(seen)}`);
    } finally {
      await c.stop().catch(() => undefined);
      await c.destroy({ force: true });
    }
  },
};

await runScenarios(scenarios);
