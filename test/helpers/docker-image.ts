/**
 * The Debian image the Docker and podman tests run (test/nesting/docker.test.ts
 * on this host, test/vm/guest/docker.mts in the cgroup v2 VM), built into the
 * image cache by helpers/images.ts. Why each package: docs/nesting.md.
 */
import type { DistroSpec } from "../../src/image/debootstrap.js";

export const DOCKER_IMAGE = "debian/bookworm:docker";

export const DOCKER_IMAGE_SPEC: DistroSpec = {
  distro: "debian",
  release: "bookworm",
  // netavark: podman's network stack, named because debootstrap does not
  // resolve the virtual package containers-common depends on; dbus: podman's
  // systemd cgroup manager talks to systemd over it.
  packages: ["docker.io", "podman", "netavark", "iproute2", "dbus"],
};
