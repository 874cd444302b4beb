/**
 * Docker and podman inside a system container: Debian bookworm with
 * `nesting: true` (the fully visible /dev/.lxc/{proc,sys}, keyctl answered
 * with ENOSYS), dockerd started by systemd, an image made locally with
 * `docker import` / `podman import` of the busybox rootfs (no registry), run
 * with `--rm` on the runtime's own bridge network inside the container.
 *
 * The image (helpers/docker-image.ts) is built once into the image cache
 * (helpers/images.ts; a few minutes the first time). Resource limits
 * (`docker run --memory`) need the memory controller in cgroup2, which this
 * tier's host does not have: test/vm/docker.test.ts checks them.
 */
import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { Container } from "../../src/index.js";
import { cleanupAll, debian, debianSkipReason, rootfs, runtime, stateRoot } from "../helpers/env.js";
import { DOCKER_IMAGE, DOCKER_IMAGE_SPEC } from "../helpers/docker-image.js";
import { linkCachedImage } from "../helpers/images.js";

/** Where the busybox rootfs is bound in (read-only, idmapped: its root-owned /root readable by root inside) to be imported. */
const BUSYBOX = "/opt/busybox";
/** The busybox rootfs as an image archive on stdout. */
const TAR = `tar -C ${BUSYBOX} --numeric-owner -c .`;

async function dockerImage(): Promise<string | undefined> {
  const skip = debianSkipReason();
  if (skip) return skip;
  try {
    await linkCachedImage(stateRoot(), DOCKER_IMAGE_SPEC, DOCKER_IMAGE, true);
    return undefined;
  } catch (e) {
    return `no Docker image: ${(e as Error).message.split("\n").slice(0, 3).join(" / ")}`;
  }
}

const skip = await dockerImage();

/** Runs a shell script in `c`; its output, or an error carrying all of it. */
async function sh(c: Container, script: string, seconds = 90): Promise<string> {
  // A hung runtime fails the test with its output rather than at the test's timeout.
  const r = await c.execOutput(["timeout", String(seconds), "/bin/sh", "-c", script], { check: false });
  if (r.code !== 0) throw new Error(`${script}: exit ${r.code ?? r.signal}\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** An IPv4 address (`a.b.c.d`) inside `cidr` (`a.b.c.d/n`). */
function inSubnet(address: string, cidr: string): boolean {
  const num = (a: string) => a.split(".").reduce((n, o) => n * 256 + Number(o), 0);
  const [net, bits] = cidr.split("/");
  const size = 2 ** (32 - Number(bits));
  return Math.floor(num(address) / size) === Math.floor(num(net!) / size);
}

/** The address of eth0 in a busybox container started by `engine` (docker or podman), and the subnet of its default network. */
async function addressAndSubnet(c: Container, engine: "docker" | "podman", image: string): Promise<{ address: string; subnet: string }> {
  const out = await sh(c, `${engine} run --rm ${image} ip -o -4 addr show dev eth0`);
  const address = /inet (\d+\.\d+\.\d+\.\d+)\//.exec(out)?.[1];
  expect(address, out).toBeDefined();
  const network = engine === "docker" ? "bridge" : "podman";
  const subnet = (await sh(c, `${engine} network inspect ${network} | grep -o '"[sS]ubnet": *"[0-9./]*"' | grep -o '[0-9][0-9./]*'`)).trim().split("\n")[0]!;
  return { address: address!, subnet };
}

describe.skipIf(skip !== undefined)(`Docker and podman inside a nesting container${skip ? ` (skipped: ${skip})` : ""}`, { timeout: 180_000 }, () => {
  let c: Container;

  beforeAll(async () => {
    c = await debian("docker", {
      image: DOCKER_IMAGE,
      nesting: true,
      nics: [{ type: "bridged" }],
      mounts: [
        { type: "bind", source: rootfs(), target: BUSYBOX, readonly: true, idmap: true },
        // The runtimes' layers on a filesystem of the container's own: the
        // root is itself an overlay, which overlayfs takes as no upper layer.
        { type: "tmpfs", target: "/var/lib/docker", size: "512m" },
        { type: "tmpfs", target: "/var/lib/containers", size: "512m" },
      ],
    });
    await c.start({ wait: "ready", readyTimeout: 120_000 });
    // dockerd is Type=notify: once the system is up it has either started or failed.
    const state = await c.execOutput(["systemctl", "is-active", "docker.service"], { check: false });
    if (state.stdout.trim() !== "active") {
      const log = await c.execOutput(["journalctl", "-u", "docker.service", "-u", "containerd.service", "--no-pager", "-n", "60"], { check: false });
      throw new Error(`docker.service is ${state.stdout.trim()}:\n${log.stdout}`);
    }
  }, 300_000);

  afterAll(async () => {
    await cleanupAll();
    // The managed bridge and its NAT go with the last container of the root.
    await Container.gc(runtime());
  });

  it("docker runs an imported image on its own bridge network", async () => {
    await sh(c, `${TAR} | docker import - warren/busybox`);
    expect(await sh(c, "docker run --rm warren/busybox echo hi")).toBe("hi\n");
    const { address, subnet } = await addressAndSubnet(c, "docker", "warren/busybox");
    expect(inSubnet(address, subnet), `${address} in ${subnet}`).toBe(true);
    // The bridge is docker's own, inside the container's network namespace.
    expect(await sh(c, "ip -o link show docker0")).toMatch(/docker0/);
    expect(existsSync("/sys/class/net/docker0")).toBe(false);
    // Nothing is left running: --rm removed the containers.
    expect((await sh(c, "docker ps -aq")).trim()).toBe("");
  });

  it("podman runs an imported image on its own bridge network, and in a user namespace of its own", async () => {
    // podman's default pids limit (2048, containers.conf) needs the pids
    // controller, which crun refuses to go without ("the requested cgroup
    // controller `pids` is not available"); a host whose cgroup2 lacks it
    // delegates none, so podman is told to set no limit there.
    await sh(c, "grep -qw pids /sys/fs/cgroup/cgroup.controllers || printf '[containers]\\npids_limit = 0\\n' > /etc/containers/containers.conf");
    await sh(c, `${TAR} | podman import - warren/busybox`);
    expect(await sh(c, "podman run --rm localhost/warren/busybox echo hi")).toBe("hi\n");
    const { address, subnet } = await addressAndSubnet(c, "podman", "localhost/warren/busybox");
    expect(inSubnet(address, subnet), `${address} in ${subnet}`).toBe(true);
    // With a user namespace of its own the kernel lets crun mount the
    // container's proc only because /dev/.lxc/proc is fully visible: its
    // mounts, copied into a namespace owned by another user namespace, are
    // locked, and the container's /proc has masks on it. (Without one they
    // are not, which is why plain `run` above needs only the keyring rule.)
    const userns = await sh(c, "podman run --rm --uidmap 0:1000:1000 --gidmap 0:1000:1000 localhost/warren/busybox cat /proc/self/uid_map");
    expect(userns.trim().split(/\s+/)).toEqual(["0", "1000", "1000"]);
    expect((await sh(c, "podman ps -aq")).trim()).toBe("");
  });
});
