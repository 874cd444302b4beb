/**
 * Device measurements for bench/run.mjs (section 8):
 *
 * - addDevice: `await c.addDevice("fuse", {type: "unix-char", source:
 *   "/dev/fuse"})` into a running container (busybox, user namespace): the
 *   host node made, a detached copy of it injected into the container's
 *   mount namespace by a helper that joined it (goal ≤ 5 ms). removeDevice
 *   (untimed in that loop) is timed on its own.
 * - uevent → node: a `required: false` unix-block device on /dev/loopN;
 *   each run attaches an image as /dev/loopN (`losetup`, which makes the
 *   device: the kernel sends "add") and times until the node exists in the
 *   container's mount namespace (seen through /proc/<init>/root, polled on
 *   every turn of the event loop), then removes the device again (untimed).
 *   Goal ≤ 50 ms. Two figures: from the moment a second uevent socket of
 *   this process (the bench's own) has the kernel's "add" (a lower bound:
 *   libuv may serve it after warren's socket, when the work is done), and
 *   from starting `losetup` (an upper bound: losetup's own work until the
 *   kernel makes the device, 15-45 ms here, included).
 *
 * Needs root, losetup, mkfs.ext4 and perl (for LOOP_CTL_REMOVE); the
 * section is skipped with a note otherwise.
 * @module
 */
import { spawn, spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";

import { summarize } from "./stats.mjs";

const IDLE_INIT = ["/bin/sh", "-c", "trap 'exit 0' TERM; while :; do sleep 3600 & wait $!; done"];

function run(cmd, args) {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: "ignore" });
    p.on("error", reject);
    p.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(" ")}: exit ${code}`))));
  });
}

/** Detaches /dev/loopN and removes the device (LOOP_CTL_REMOVE, retried while the detach completes). */
function removeLoop(n) {
  spawnSync("losetup", ["-d", `/dev/loop${n}`], { stdio: "ignore" });
  const script = `open(my $f, "<", "/dev/loop-control") or exit 2; for (1..100) { exit 0 if ioctl($f, 0x4C81, ${n}); exit 0 if $!{ENODEV}; select(undef, undef, undef, 0.01) } exit 1`;
  spawnSync("perl", ["-e", script], { stdio: "ignore" });
}

function freeLoop() {
  for (let n = 400 + Math.floor(Math.random() * 100); ; n++) if (!existsSync(`/dev/loop${n}`)) return n;
}

function missingTool() {
  for (const t of ["losetup", "mkfs.ext4", "perl", "truncate"]) {
    if (spawnSync("sh", ["-c", `command -v ${t}`], { stdio: "ignore" }).status !== 0) return t;
  }
  return undefined;
}

/** Waits, yielding to the event loop each turn, until `check()`; the ms it took. */
async function until(check, timeoutMs = 5000) {
  const t0 = performance.now();
  while (!check()) {
    if (performance.now() - t0 > timeoutMs) throw new Error("timed out");
    await new Promise((r) => setImmediate(r));
  }
  return performance.now() - t0;
}

/** `runs` timed rounds of `step` after `warmup` untimed ones; `step` returns its samples ({name: ms}). */
async function rounds(label, runs, warmup, step, log, check) {
  const samples = {};
  for (let i = 0; i < warmup + runs; i++) {
    check();
    const got = await step();
    if (i < warmup) continue;
    for (const [k, v] of Object.entries(got)) (samples[k] ??= []).push(v);
  }
  log(`  ${label}: ${runs} runs`);
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, summarize(v)]));
}

/** uevent → node rounds on /dev/loopN with a `required: false` device "hot" (see the module's comment). */
async function hotplugRounds({ c, n, image, runs, log, check, repoRoot }) {
  // The bench's own view of the kernel's "add" for /dev/loopN.
  const addon = createRequire(join(repoRoot, "package.json"))("node-gyp-build")(repoRoot);
  let added = 0;
  const listener = new addon.UeventListener((m) => {
    const text = m?.toString("latin1") ?? "";
    // The first "add" of the round (the device's; later ones would be other objects of it).
    if (!added && text.startsWith("add@") && text.includes(`\0DEVNAME=loop${n}\0`)) added = performance.now();
  });
  try {
    await c.addDevice("hot", { type: "unix-block", source: `/dev/loop${n}`, path: "/dev/hot", required: false });
    const node = join(`/proc/${c.pid}/root`, "dev/hot");
    return await rounds("uevent → node inside (required: false)", runs, 3, async () => {
      added = 0;
      const t0 = performance.now();
      const attach = run("losetup", [`/dev/loop${n}`, image]);
      await until(() => existsSync(node));
      const t1 = performance.now();
      await attach;
      removeLoop(n);
      await until(() => !existsSync(node));
      if (!added) throw new Error(`no "add" uevent seen for /dev/loop${n}`);
      return { uevent_to_node: t1 - added, losetup_to_node: t1 - t0 };
    }, log, check);
  } finally {
    listener.close();
  }
}

export async function measureDevices({ Container, runtime, rootfs, runs, warmup, log, check, repoRoot }) {
  const out = { notes: [] };
  const c = await Container.create("bench-dev", { rootfs, init: IDLE_INIT, stopTimeout: 1000 }, runtime);
  try {
    await c.start();
    Object.assign(
      out,
      await rounds("addDevice / removeDevice (unix-char /dev/fuse)", runs, warmup, async () => {
        const t0 = performance.now();
        await c.addDevice("fuse", { type: "unix-char", source: "/dev/fuse" });
        const t1 = performance.now();
        await c.removeDevice("fuse");
        return { add_device: t1 - t0, remove_device: performance.now() - t1 };
      }, log, check),
    );
    const tool = missingTool();
    if (tool) {
      out.notes.push(`uevent → node skipped: ${tool} is missing`);
      return out;
    }
    const dir = mkdtempSync(join(os.tmpdir(), "warren-bench-dev-"));
    const n = freeLoop();
    try {
      const image = join(dir, "fs.img");
      spawnSync("truncate", ["-s", "4M", image]);
      spawnSync("mkfs.ext4", ["-q", "-F", image]);
      Object.assign(out, await hotplugRounds({ c, n, image, runs: Math.min(runs, 50), log, check, repoRoot }));
    } finally {
      removeLoop(n);
      rmSync(dir, { recursive: true, force: true });
    }
    return out;
  } finally {
    await c.stop({ timeout: 0 }).catch(() => undefined);
    await c.destroy({ force: true }).catch(() => undefined);
  }
}

/** The section's lines for bench/run.mjs's tables. */
export function devicesLines(d, fmt) {
  if (!d) return [];
  const lines = [
    `addDevice unix-char       ${fmt(d.add_device?.median_ms)} ms median (goal ≤ 5 ms), removeDevice ${fmt(d.remove_device?.median_ms)} ms`,
  ];
  if (d.uevent_to_node) {
    lines.push(`uevent → node inside     ${fmt(d.uevent_to_node.median_ms)} ms median after this process has the uevent, ${fmt(d.losetup_to_node.median_ms)} ms after starting losetup (goal ≤ 50 ms)`);
  }
  return [...lines, ...d.notes];
}
