/**
 * Docker in a nesting container, timed (bench/run.mjs, section 10): a
 * Debian bookworm container with Docker and podman installed
 * (test/helpers/docker-image.ts, built once into the image cache), `nesting:
 * true`, a bridged NIC and tmpfs for Docker's layers, started from cold
 * RUNS times. Each run times: start → systemd ready (dockerd is
 * Type=notify, so it is up by then), → dockerd answering `docker info`,
 * and → the output of `docker run --rm` of a busybox image imported
 * locally (`docker import` of the busybox rootfs, timed apart: no
 * registry). Prints one JSON line.
 *
 *   node --import tsx bench/docker-guest.mts ROOT RUNS BUSYBOX_ROOTFS
 */
import { Container } from "../src/index.js";
import { DOCKER_IMAGE, DOCKER_IMAGE_SPEC } from "../test/helpers/docker-image.js";
import { linkCachedImage } from "../test/helpers/images.js";

const [root, runsArg, busybox] = process.argv.slice(2) as [string, string, string];
const runs = Number(runsArg);
const runtime = { root, cgroupParent: `warren-bench-docker-${process.pid}` };
await linkCachedImage(root, DOCKER_IMAGE_SPEC, DOCKER_IMAGE);

async function sh(c: Container, script: string): Promise<string> {
  const r = await c.execOutput(["timeout", "120", "/bin/sh", "-c", script], { check: false });
  if (r.code !== 0) throw new Error(`${script}: exit ${r.code ?? r.signal}\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

const out = { ready: [] as number[], dockerd: [] as number[], import: [] as number[], firstRun: [] as number[], total: [] as number[] };
for (let i = 0; i < runs; i++) {
  const c = await Container.create(
    `bench-docker-${i}`,
    {
      image: DOCKER_IMAGE,
      nesting: true,
      nics: [{ type: "bridged" }],
      stopTimeout: 10_000,
      mounts: [
        { type: "bind", source: busybox, target: "/opt/busybox", readonly: true, idmap: true },
        { type: "tmpfs", target: "/var/lib/docker", size: "512m" },
        { type: "tmpfs", target: "/var/lib/containers", size: "512m" },
      ],
    },
    runtime,
  );
  try {
    const t0 = performance.now();
    await c.start({ wait: "ready", readyTimeout: 180_000 });
    const tReady = performance.now();
    await sh(c, "until docker info >/dev/null 2>&1; do sleep 0.05; done");
    const tDockerd = performance.now();
    await sh(c, "tar -C /opt/busybox --numeric-owner -c . | docker import - warren/busybox >/dev/null");
    const tImport = performance.now();
    const said = await sh(c, "docker run --rm warren/busybox echo hi");
    const tRun = performance.now();
    if (said !== "hi\n") throw new Error(`docker run said ${JSON.stringify(said)}`);
    out.ready.push(tReady - t0);
    out.dockerd.push(tDockerd - tReady);
    out.import.push(tImport - tDockerd);
    out.firstRun.push(tRun - tImport);
    out.total.push(tRun - t0);
  } finally {
    await c.stop({ timeout: 10_000 }).catch(() => undefined);
    await c.destroy({ force: true });
  }
}
await Container.gc(runtime); // the managed bridge and its nft table go with the last container
console.log(JSON.stringify(out));
