#!/usr/bin/env node
/**
 * warren benchmarks: `npm run bench` (= `node bench/run.mjs`).
 *
 *   node bench/run.mjs [--runs N] [--fleet N] [--fleet-routed N] [--fleet-debian N] [--json] [--no-peers] [--no-distro] [--no-oci] [--no-cli | --only cli]
 *
 * Prints medians (and p10, p90, min) in ms; it never asserts anything. All of
 * warren's numbers come from one warm Node process, N timed runs each
 * (default 200, or env BENCH_RUNS) after 10 untimed warm-up runs:
 *
 * 1. start: `await c.start(); await c.exited` of a container whose init is
 *    `/bin/true`, on the static busybox rootfs (read-only), with every
 *    default namespace (user and net included) and its own cgroup v2
 *    directory. The container is created once; each start is a fresh set of
 *    namespaces, a fresh cgroup, and the cgroup's removal once the init
 *    exited. This is what "starting a container" costs a caller that already
 *    has a Node process: the point of a daemon-less library.
 *    Second line: create + start + exit + destroy of a new container per run
 *    (runs/4 of them), i.e. with the state directory and id-range bookkeeping.
 * 2. exec: `await (await c.exec(["/bin/true"], {stdio: ignore})).exited`
 *    into a running container (a shell idling in `sleep` as init): joining
 *    the namespaces through the init's pidfd, the `.exec` cgroup leaf, and
 *    the extra fork into the pid namespace.
 * 3. start with a 2 GiB heap: measurement 1 again while this process holds
 *    ~2 GiB of touched memory (1 MiB Buffers, plus some JS objects). A
 *    fork()-based spawn copies the page tables of the whole RSS, so it slows
 *    down with the caller's heap; warren's native spawn clones with CLONE_VM
 *    and should not. Reported as the ratio to measurement 1 (goal ≤ 1.2×).
 * *    Then once more with the heap released; the ratio is to the mean of the
 *    two small-heap measurements, so drift over the run does not count.
 * 1c. start with one NIC on warren's managed bridge (veth made, moved into
 *    the namespace while the first process waits, addressed, routed; gone
 *    with the namespace): reported as ms above measurement 1 (goal ≤ +2 ms).
 * 4. The fleet (default 500, --fleet / env BENCH_FLEET; 5000 for the goals):
 *    idle busybox containers from one image, no NIC, 8 started at a time
 *    (bench/fleet.mjs): time to start all, host memory each, the event-loop
 *    delay while starting, the last 500's start rate against the first 500's,
 *    list(), a statsAll() sweep, stop+destroy all, with the host's limits.
 *    And the freeze + unfreeze round trip of one container (each resolves
 *    when cgroup.events reports the transition).
 *    --fleet-routed N: the same with a routed NIC each (2000 for the goals);
 *    --fleet-debian N: Debian systemd containers booted to ready (300 for
 *    the goals), with the memory of the first alone beside the mean.
 *
 * 5. Images: create-to-running of a container from an imported image
 *    (overlay on an idmapped image layer; goal ≤ 50 ms whatever the image's
 *    size), snapshot and clone times, and the disk the containers' own
 *    layers use next to the image.
 * 6. A distro (skip with --no-distro): the Debian bookworm image the store
 *    builds (cached in .cache/images): create-to-running from it, the disk
 *    100 containers from it use, and systemd booting to `running` (READY=1)
 *    then powering off cleanly, medians of 10 boots (the first, cold, not
 *    counted). nspawn and lxc are not run here (see NSPAWN_REFERENCE).
 *
 * 8. Devices (bench/devices.mjs): addDevice of a unix-char node into a
 *    running container (goal ≤ 5 ms), and a host uevent (a loop device
 *    attached) to the node present inside (goal ≤ 50 ms).
 *
 * 12. Destroy with many mounts (bench/mounts.mjs, with the image section):
 *    a container from an image whose processes made 5,000 mount points in
 *    its writable layer and 4,096 mounts; stop, destroy and the files gone
 *    (gc), medians of 5.
 *
 * 10. Docker inside (bench/docker.mjs, with the distro section): a
 *    nesting Debian container with Docker, started cold, to the output of
 *    `docker run --rm` of a locally imported busybox image; medians of 3.
 *
 * 11. OCI runtime (bench/oci.mjs; skip with --no-oci): in the pure
 *    cgroup v2 VM, `podman run --rm IMG true` with warren-oci and with crun,
 *    and runc's create/start/state/delete with each on one bundle; medians
 *    of min(N, 5) and the ratios. Needs podman and crun (setup.sh) and the
 *    VM; a few minutes under TCG.
 *
 * 9. Nesting (bench/nesting.mjs): start→exit of a `/bin/true` container
 *    from inside a `nesting: true` container (level 2) against the same
 *    from the host (level 1), each from a Node process of its own: the
 *    ratio (goal ≤ 1.3×).
 *
 * 7. CLI cold start (bench/cli.mjs; first, before anything else runs;
 *    alone with `--only cli`, skipped with `--no-cli`): whole invocations of
 *    `warren list` and `warren run --rm -- /bin/true` from dist/cli/main.js,
 *    interleaved with `node -e 0` and `node empty.mjs`, medians and ratios to
 *    `node -e 0` (goal: `list` ≤ 1.5×). min(N, 30) runs each.
 *
 * Peers: when `../shared/peers/compare.sh` exists next to the repository (or
 * env WARREN_PEERS names it), it is run after warren's measurements with
 * `--json --runs min(N, 50)`: crun, lxc, bubblewrap, unshare and nsenter on
 * the same machine and the same busybox tree, timed by `hyperfine -N`. Its
 * numbers are whole CLI invocations (the runtimes' own create/delete work
 * included), so the ratios warren/peer compare what a caller waits for.
 * `unshare-all` and `nsenter-a` are the floors: bare namespace creation and
 * namespace joining, without rootfs, mounts or cgroups. Without the peers
 * script (a user's machine) the unshare floor is timed here with
 * spawnSync(), which adds Node's own spawn cost (also shown, as `/bin/true`).
 *
 * Between sections the bench pauses 1 s: network namespaces are torn down
 * asynchronously by the kernel, and a backlog would bleed into the next
 * section (compare.sh pauses 2 s for the same reason).
 *
 * The library comes from dist/index.js when built, else from src/ through
 * tsx. Everything lives under a temporary root in /tmp and a private cgroup
 * subtree; both are removed at the end, also on error or Ctrl-C.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import v8 from "node:v8";
import vm from "node:vm";

import { measureCliStartup, printCliStartup } from "./cli.mjs";
import { fleetBench, fleetLines } from "./fleet.mjs";
import { devicesLines, measureDevices } from "./devices.mjs";
import { dockerLines, measureDocker } from "./docker.mjs";
import { measureOci, ociLines } from "./oci.mjs";
import { measureNesting, nestingLines } from "./nesting.mjs";
import { measureMountsDestroy, mountsLines } from "./mounts.mjs";
import { num, ratio, round2, summarize, times } from "./stats.mjs";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const WARMUP = 10;
const SETTLE_MS = 1000;
const PEER_RUNS_MAX = 50;
const CLI_RUNS_MAX = 30;
const GOALS = { start_ms: 2.5, exec_ms: 1.6, heap_ratio: 1.2 };
const BUSYBOX = process.env.BENCH_ROOTFS ?? join(repoRoot, ".cache/rootfs/busybox");
/** The bench root's managed bridge: a /22, room for the fleet. */
const BENCH_SUBNET = "10.249.0.0/22";

/** MemAvailable from /proc/meminfo, in bytes. */
function memAvailable() {
  const m = /^MemAvailable:\s+(\d+) kB/m.exec(readFileSync("/proc/meminfo", "utf8"));
  return m ? Number(m[1]) * 1024 : 0;
}

const sleepMs = (ms) => new Promise((r) => setTimeout(r, ms));

const IDLE_INIT = ["/bin/sh", "-c", "trap 'exit 0' TERM; while :; do sleep 3600 & wait $!; done"];
const IGNORE = { stdin: "ignore", stdout: "ignore", stderr: "ignore" };
/**
 * systemd-nspawn and lxc are not run by this bench: as installed they make
 * cgroups in every v1 hierarchy here, and ../shared/peers/compare.sh has no
 * boot measurement. Their figures on this machine kind, from the project's
 * brief, are printed as references.
 */
const NSPAWN_REFERENCE = "reference on this machine kind: systemd-nspawn 243 ms, lxc 251 ms (not re-run here)";
const START_PEERS = ["crun-run", "lxc-start-F", "bwrap-unshare-all", "unshare-all"];
const EXEC_PEERS = ["crun-exec", "lxc-attach", "nsenter-a"];

// ---------------------------------------------------------------- options

function usage(code) {
  (code ? process.stderr : process.stdout).write(
    "usage: node bench/run.mjs [--runs N] [--fleet N] [--json] [--no-peers] [--no-distro] [--no-cli | --only cli]\n" +
      "  --runs N     timed runs per measurement (default 200, env BENCH_RUNS)\n" +
      "  --fleet N    idle containers for the density section (default 500, env BENCH_FLEET; 0 skips it; 5000 for the goals)\n" +
      "  --fleet-routed N  also N idle busybox containers with a routed NIC each (2000 for the goals; default 0)\n" +
      "  --fleet-debian N  also N idle Debian systemd containers, booted to ready (300 for the goals; default 0)\n" +
      "  --json       print one JSON object instead of the tables\n" +
      "  --no-peers   skip ../shared/peers/compare.sh (env WARREN_PEERS: another path to it)\n" +
      "  --no-distro  skip the Debian section (it builds the image once, ~35 s, into .cache/images)\n" +
      "  --no-cli     skip the CLI cold-start section (it needs dist/: npm run build)\n" +
      "  --no-oci     skip warren-oci vs crun under podman in the cgroup v2 VM (a few minutes)\n" +
      "  --only cli   only the CLI cold-start section (npm run bench -- --only cli)\n" +
      "  env BENCH_ROOTFS: the busybox tree (default .cache/rootfs/busybox, built by scripts/make-busybox-rootfs.sh)\n",
  );
  process.exit(code);
}

function parseArgs(argv) {
  const o = { runs: Number(process.env.BENCH_RUNS ?? 200), json: false, peers: true, distro: true, cli: true, oci: true, only: null, fleet: Number(process.env.BENCH_FLEET ?? 500), fleetRouted: 0, fleetDebian: 0 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--json") o.json = true;
    else if (a === "--no-peers") o.peers = false;
    else if (a === "--no-distro") o.distro = false;
    else if (a === "--no-cli") o.cli = false;
    else if (a === "--no-oci") o.oci = false;
    else if (a === "--only" || a.startsWith("--only=")) {
      o.only = a === "--only" ? argv[++i] : a.slice(7);
      if (o.only !== "cli") {
        process.stderr.write(`bench: --only takes cli (the one section that runs alone), got ${JSON.stringify(o.only ?? "")}\n`);
        usage(2);
      }
    }
    else if (a === "--runs") o.runs = Number(argv[++i]);
    else if (a.startsWith("--runs=")) o.runs = Number(a.slice(7));
    else if (a === "--fleet") o.fleet = Number(argv[++i]);
    else if (a === "--fleet-routed") o.fleetRouted = Number(argv[++i]);
    else if (a === "--fleet-debian") o.fleetDebian = Number(argv[++i]);
    else if (a.startsWith("--fleet=")) o.fleet = Number(a.slice(8));
    else if (a === "-h" || a === "--help") usage(0);
    else {
      process.stderr.write(`bench: unknown argument ${a}\n`);
      usage(2);
    }
  }
  if (o.only === "cli" && !o.cli) {
    process.stderr.write("bench: --only cli and --no-cli contradict each other\n");
    usage(2);
  }
  if (!Number.isInteger(o.runs) || o.runs < 1) {
    process.stderr.write("bench: --runs (or BENCH_RUNS) must be a positive integer\n");
    usage(2);
  }
  return o;
}

const opts = parseArgs(process.argv.slice(2));
const log = (msg) => process.stderr.write(`${msg}\n`);

// ---------------------------------------------------------------- interruption and cleanup

class Interrupted extends Error {}
let interrupted = 0; // the exit code once a signal came
let peersChild = null;
const live = new Set(); // containers to stop and destroy at the end
let tempRoot = null;
let cliRoot = null; // the CLI cold-start section's state root
let ContainerClass = null; // for the final gc
let cgroupDir = null;

function onSignal(sig, code) {
  if (interrupted) {
    // Second signal: kill what we know of, synchronously, and go.
    for (const c of live) {
      try {
        writeFileSync(join(c.cgroupPath, "cgroup.kill"), "1");
      } catch {
        /* gone */
      }
    }
    process.exit(code);
  }
  interrupted = code;
  log(`\nbench: ${sig}, cleaning up (again to quit at once)`);
  // A terminal's Ctrl-C reaches compare.sh too; a signal sent to us alone is passed on.
  const child = peersChild;
  if (child) setTimeout(() => child.exitCode === null && child.signalCode === null && child.kill("SIGINT"), 1000).unref();
}
process.on("SIGINT", () => onSignal("SIGINT", 130));
process.on("SIGTERM", () => onSignal("SIGTERM", 143));

function checkInterrupted() {
  if (interrupted) throw new Interrupted("interrupted");
}

async function cleanup() {
  for (const c of [...live]) {
    await c.stop({ timeout: 0 }).catch(() => undefined);
    await c.destroy({ force: true }).catch((e) => log(`bench: destroy ${c.name}: ${e.message}`));
    live.delete(c);
  }
  // The bench root's managed bridge and its nftables table.
  if (tempRoot && ContainerClass) await ContainerClass.gc({ root: tempRoot, cgroupParent: `warren-bench-${process.pid}` }).catch((e) => log(`bench: gc: ${e.message}`));
  if (cgroupDir && existsSync(cgroupDir)) {
    try {
      rmdirSync(cgroupDir); // normally gone with its last container already
    } catch (e) {
      log(`bench: could not remove cgroup \`${cgroupDir}\`: ${e.code ?? e.message}`);
    }
  }
  if (tempRoot) rmSync(tempRoot, { recursive: true, force: true });
  if (cliRoot) {
    // A `run --rm` cut short by Ctrl-C may leave its container behind.
    spawnSync(process.execPath, [join(repoRoot, "dist/cli/main.js"), "gc", "--root", cliRoot], { stdio: "ignore" });
    rmSync(cliRoot, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- setup

async function loadWarren() {
  const dist = join(repoRoot, "dist/index.js");
  if (existsSync(dist)) return { lib: await import(pathToFileURL(dist).href), from: "dist/index.js" };
  let register;
  try {
    ({ register } = await import("tsx/esm/api"));
  } catch {
    throw new Error("dist/index.js is missing and tsx is not installed: run `npm run build` first");
  }
  register();
  return { lib: await import(pathToFileURL(join(repoRoot, "src/index.ts")).href), from: "src/ (through tsx)" };
}

function ensureRootfs() {
  const args = [join(repoRoot, "scripts/make-busybox-rootfs.sh")];
  if (process.env.BENCH_ROOTFS) args.push(BUSYBOX);
  const r = spawnSync("bash", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  const complete = existsSync(join(BUSYBOX, "bin/busybox")) && existsSync(join(BUSYBOX, ".complete"));
  if (r.status === 0 && complete) return;
  const why = (r.stderr || r.stdout || r.error?.message || `exit ${r.status}`).trim();
  if (complete) log(`bench: make-busybox-rootfs.sh failed (${why}); using the existing ${BUSYBOX}`);
  else throw new Error(`no busybox rootfs at ${BUSYBOX}: make-busybox-rootfs.sh: ${why}`);
}

// ---------------------------------------------------------------- timing

/** Runs `fn` WARMUP times untimed, then `runs` times timed; returns the samples in ms. */
async function timeRuns(label, runs, fn, warmup = WARMUP) {
  const tty = process.stderr.isTTY;
  for (let i = 0; i < warmup; i++) {
    checkInterrupted();
    await fn();
  }
  const samples = [];
  for (let i = 0; i < runs; i++) {
    checkInterrupted();
    const t0 = performance.now();
    await fn();
    samples.push(performance.now() - t0);
    if (tty && (i % 10 === 9 || i === runs - 1)) process.stderr.write(`\r  ${label}: ${i + 1}/${runs}`);
  }
  process.stderr.write(tty ? "\n" : `  ${label}: ${runs} runs\n`);
  return samples;
}

async function settle() {
  checkInterrupted();
  await sleep(SETTLE_MS);
}

/**
 * `c.exited` is documented to resolve once the init exited and the container
 * was cleaned up (cgroup removed, state "stopped"). When it resolves earlier
 * (seen with an init that exits before start() returned: it then resolves at
 * once with {code: null, signal: null}), wait here until the handle says
 * "stopped", so every timed run covers the whole exit, and count it.
 * Returns true when it had to wait.
 */
async function untilStopped(c) {
  if (c.state !== "running") return false;
  const deadline = performance.now() + 10_000;
  while (c.state === "running") {
    if (performance.now() > deadline) throw new Error(`container ${c.name} still "running" 10 s after its init exited`);
    await new Promise((r) => setImmediate(r));
  }
  return true;
}

/** Tallies of how the timed starts ended, to report rather than assert. */
function exitTally() {
  return {
    total: 0,
    early: 0,
    bad: 0,
    note(st, early) {
      this.total++;
      if (early) this.early++;
      else if (st.code !== 0) this.bad++;
    },
  };
}

// ---------------------------------------------------------------- measurements

async function startOnce(c, tally) {
  await c.start();
  const st = await c.exited;
  tally.note(st, await untilStopped(c));
}

function holdHeap() {
  // 2 GiB of Buffers (outside V8's heap but in the RSS, every page touched
  // by the fill) and ~1M small JS objects in the V8 heap.
  const buffers = [];
  for (let i = 0; i < 2048; i++) buffers.push(Buffer.alloc(1 << 20, 1));
  const objects = [];
  for (let i = 0; i < 1_000_000; i++) objects.push({ i, s: `o${i}`, next: objects[i - 1] ?? null });
  return { buffers, objects };
}

/** A full GC (through --expose-gc set at run time), or nothing where that is not possible. */
function collectGarbage() {
  try {
    v8.setFlagsFromString("--expose-gc");
    vm.runInNewContext("gc")();
  } catch {
    /* the next natural GC does it */
  }
}

/** The unshare floor without peers, as spawnSync() from Node; plus Node's own spawnSync of /bin/true. */
async function measureFloor(runs) {
  const unshareArgs = ["--fork", "--pid", "--mount", "--uts", "--ipc", "--net", "--user", "--map-root-user", "/bin/true"];
  const probe = spawnSync("unshare", unshareArgs, { stdio: "ignore" });
  const result = {};
  if (probe.status === 0) {
    result.unshare = summarize(await timeRuns("unshare-all (spawnSync)", runs, async () => void spawnSync("unshare", unshareArgs, { stdio: "ignore" })));
  } else {
    result.unshare_error = probe.error?.message ?? `unshare exited with ${probe.status}`;
  }
  await settle();
  result.node_spawn_true = summarize(await timeRuns("/bin/true (spawnSync)", runs, async () => void spawnSync("/bin/true", { stdio: "ignore" })));
  return result;
}

function peersScript() {
  const p = process.env.WARREN_PEERS ?? resolve(repoRoot, "../shared/peers/compare.sh");
  if (existsSync(p)) return p;
  if (process.env.WARREN_PEERS) log(`bench: WARREN_PEERS=${p} does not exist; measuring the unshare floor here`);
  return null;
}

/** Runs compare.sh --json; resolves to its parsed output (or {error}). */
function runPeers(script, runs) {
  return new Promise((resolvePeers) => {
    log(`\npeers: ${script} --json --runs ${runs} (about 20 s)`);
    const child = spawn(script, ["--json", "--runs", String(runs)], { stdio: ["ignore", "pipe", "inherit"] });
    peersChild = child;
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (d) => (out += d));
    child.on("error", (e) => {
      peersChild = null;
      resolvePeers({ error: e.message });
    });
    child.on("close", (code, signal) => {
      peersChild = null;
      let parsed = null;
      try {
        parsed = JSON.parse(out);
      } catch {
        /* no JSON */
      }
      if (parsed && Array.isArray(parsed.results)) {
        // Exit 1 with JSON: some benchmark failed and was left out; 3: something was left behind.
        if (code !== 0) parsed.warning = `compare.sh exited with ${code}`;
        resolvePeers(parsed);
      } else resolvePeers({ error: `compare.sh ${signal ? `was killed by ${signal}` : `exited with ${code}`} without JSON results` });
    });
  });
}

// ---------------------------------------------------------------- main

async function main() {
  const runs = opts.runs;
  const report = {
    machine: {
      node: process.version,
      kernel: os.release(),
      cpus: os.cpus().length,
      mem_gib: round2(os.totalmem() / 2 ** 30),
    },
    runs,
    warmup: WARMUP,
    goals: GOALS,
    warren: {},
    notes: [],
  };

  // 7. CLI cold start, first: whole processes, so nothing this one holds
  // (containers, the 2 GiB heap) is around to disturb them.
  if (opts.cli) {
    cliRoot = mkdtempSync(join(os.tmpdir(), "warren-bench-cli-"));
    report.cli = await measureCliStartup({ repoRoot, root: cliRoot, runs: Math.min(runs, CLI_RUNS_MAX), check: checkInterrupted, log });
    if (opts.only === "cli") return report;
    await settle();
  }

  const { lib, from } = await loadWarren();
  const { Container } = lib;
  ContainerClass = Container;
  ensureRootfs();
  tempRoot = mkdtempSync(join(os.tmpdir(), "warren-bench-"));
  const runtime = { root: tempRoot, cgroupParent: `warren-bench-${process.pid}` };
  cgroupDir = join(lib.host().cgroup.mount, runtime.cgroupParent);
  const rootfs = { path: BUSYBOX, mode: "ro" };
  const lifeRuns = Math.max(1, Math.round(runs / 4));
  Object.assign(report.machine, { library: from, rootfs: BUSYBOX });
  const w = report.warren;
  log(`warren bench: ${runs} runs per measurement after ${WARMUP} warm-up runs; library from ${from}`);

  // 1. start→exit, one container, restarted.
  const tTrue = await Container.create("bench-true", { rootfs, init: ["/bin/true"] }, runtime);
  live.add(tTrue);
  const t1 = exitTally();
  w.start = summarize(await timeRuns("start", runs, () => startOnce(tTrue, t1)));
  await settle();

  // 1c. The same with one NIC on warren's managed bridge: a veth made and
  // moved into the namespace while the first process waits, addressed and
  // routed from outside, torn down with the namespace.
  const tNic = await Container.create("bench-nic", { rootfs, init: ["/bin/true"], nics: [{ type: "bridged", subnet: BENCH_SUBNET }] }, runtime);
  live.add(tNic);
  const tn = exitTally();
  // Interleaved with plain starts, so drift over the run (namespaces the
  // kernel is still tearing down, other load) hits both alike.
  const plainSamples = [];
  const nicSamples = await timeRuns("start with a bridged NIC (interleaved with plain starts)", runs, async () => {
    const t0 = performance.now();
    await startOnce(tTrue, t1);
    plainSamples.push(performance.now() - t0);
    await startOnce(tNic, tn);
  });
  // timeRuns timed both; take the plain part out.
  const nicOnly = nicSamples.map((t, i) => t - (plainSamples[i + (plainSamples.length - nicSamples.length)] ?? 0));
  w.start_nic = summarize(nicOnly);
  const plainMedian = summarize(plainSamples.slice(plainSamples.length - nicSamples.length)).median_ms;
  w.start_nic.plain_median_ms = plainMedian;
  w.start_nic.above_start_ms = Math.round((w.start_nic.median_ms - plainMedian) * 100) / 100;
  await tNic.destroy({ force: true });
  live.delete(tNic);
  await settle();

  // 1d. What staging locked mounts costs (native/lock-mounts.cc): the same
  // start with a writable rootfs (nothing staged, no lock thread), the
  // read-only one of measurement 1 (a lock thread, one read-only bind), and
  // that plus a read-only idmapped bind (a throwaway user namespace cloned
  // for its idmap). Interleaved, so drift hits all three alike; reported as
  // ms above the writable one.
  const tRw = await Container.create("bench-rw", { rootfs: { path: BUSYBOX, mode: "rw" }, init: ["/bin/true"] }, runtime);
  const tIdm = await Container.create(
    "bench-idm",
    { rootfs, init: ["/bin/true"], mounts: [{ type: "bind", source: BUSYBOX, target: "/mnt", readonly: true, idmap: true }] },
    runtime,
  );
  live.add(tRw);
  live.add(tIdm);
  const lockSamples = { rw: [], ro: [], idmap: [] };
  await timeRuns("start: rw rootfs, ro rootfs, ro rootfs + ro idmapped bind (interleaved)", Math.max(20, Math.round(runs / 2)), async () => {
    for (const [k, c] of [["rw", tRw], ["ro", tTrue], ["idmap", tIdm]]) {
      const t0 = performance.now();
      await startOnce(c, t1);
      lockSamples[k].push(performance.now() - t0);
    }
  });
  const lockMedian = Object.fromEntries(Object.entries(lockSamples).map(([k, v]) => [k, summarize(v.slice(WARMUP)).median_ms]));
  w.start_locked = {
    rw_median_ms: lockMedian.rw,
    ro_median_ms: lockMedian.ro,
    ro_idmap_median_ms: lockMedian.idmap,
    ro_above_rw_ms: Math.round((lockMedian.ro - lockMedian.rw) * 100) / 100,
    ro_idmap_above_rw_ms: Math.round((lockMedian.idmap - lockMedian.rw) * 100) / 100,
  };
  for (const c of [tRw, tIdm]) {
    await c.destroy({ force: true });
    live.delete(c);
  }
  await settle();

  // 1b. create + start + exit + destroy.
  let seq = 0;
  const tLife = exitTally();
  w.lifecycle = summarize(
    await timeRuns("create+start+exit+destroy", lifeRuns, async () => {
      const c = await Container.create(`bench-life-${seq++}`, { rootfs, init: ["/bin/true"] }, runtime);
      live.add(c);
      await startOnce(c, tLife);
      await c.destroy();
      live.delete(c);
    }),
  );
  await settle();

  // 2. exec into a running container.
  const idle = await Container.create("bench-exec", { rootfs, init: IDLE_INIT }, runtime);
  live.add(idle);
  await idle.start();
  let execBad = 0;
  w.exec = summarize(
    await timeRuns("exec", runs, async () => {
      const p = await idle.exec(["/bin/true"], IGNORE);
      if ((await p.exited).code !== 0) execBad++;
    }),
  );
  await idle.stop({ timeout: 2000 });
  await idle.destroy({ force: true });
  live.delete(idle);
  await settle();

  // 8. Devices (bench/devices.mjs): addDevice into a running container, and
  // a host uevent to the node inside.
  w.devices = await measureDevices({ Container, runtime, rootfs, runs, warmup: WARMUP, log, check: checkInterrupted, repoRoot });
  await settle();

  // 9. Nesting (bench/nesting.mjs): /bin/true started from inside a
  // nesting container against the same from the host.
  try {
    w.nesting = await measureNesting({ Container, runtime, runs, log, repoRoot });
  } catch (e) {
    w.nesting = { error: String(e?.message ?? e).split("\n")[0] };
  }
  checkInterrupted();
  await settle();

  // 10. Docker inside (bench/docker.mjs): a nesting Debian container's start
  // to `docker run` output (with the distro section: it needs the image).
  if (opts.distro) {
    try {
      w.docker = measureDocker({ runs, log, repoRoot, busybox: BUSYBOX });
    } catch (e) {
      w.docker = { error: String(e?.message ?? e).split("\n")[0] };
    }
    checkInterrupted();
    await settle();
  }

  // 11. warren-oci against crun, under podman and on runc's command line, in the cgroup v2 VM (bench/oci.mjs).
  if (opts.oci) {
    try {
      w.oci = await measureOci({ runs, log, repoRoot, busybox: BUSYBOX });
    } catch (e) {
      w.oci = { error: String(e?.message ?? e).split("\n")[0] };
    }
    checkInterrupted();
  }

  // 4. Density: a fleet of idle containers from one image (bench/fleet.mjs),
  // and a freeze/unfreeze round trip.
  if (opts.fleet > 0 && lib.ImageStore) {
    log(`  the fleet: ${opts.fleet} idle containers from one image`);
    await new lib.ImageStore(tempRoot).importDirectory(rootfs.path, { tag: "bench:fleet" });
    w.fleet = await fleetBench({ lib, runtime, image: "bench:fleet", init: IDLE_INIT, n: opts.fleet, live, log, checkInterrupted });
    await settle();
  }
  if (opts.fleetRouted > 0 && lib.ImageStore) {
    // Routed NICs: no bridge and so no port cap; each a veth, its /32 route
    // and the container's default route through the link-local gateway.
    log(`  the routed fleet: ${opts.fleetRouted} idle containers with a routed NIC each`);
    if (!w.fleet) await new lib.ImageStore(tempRoot).importDirectory(rootfs.path, { tag: "bench:fleet" });
    // 254 hosts per /24 (no .0, no .255), /24 after /24 from 10.200.0.0.
    const address = (i) => {
      const net = Math.floor(i / 254);
      return `10.${200 + (net >> 8)}.${net & 255}.${(i % 254) + 1}`;
    };
    w.fleet_routed = await fleetBench({
      lib, runtime, image: "bench:fleet", init: IDLE_INIT, n: opts.fleetRouted, live, log, checkInterrupted,
      kind: "busybox, routed NIC", extra: (i) => ({ nics: [{ type: "routed", ipv4: address(i) }] }),
    });
    await settle();
  }
  if (opts.fleetDebian > 0) {
    const debian = await debianImage(lib, tempRoot, report.notes);
    if (debian) {
      log(`  the Debian fleet: ${opts.fleetDebian} idle systemd containers`);
      w.fleet_debian = await fleetBench({
        lib, runtime, image: "debian/bookworm", init: undefined, n: opts.fleetDebian, live, log, checkInterrupted,
        kind: "Debian systemd", startOptions: { wait: "ready", readyTimeout: 300_000 },
      });
      await settle();
    }
  }
  {
    const frozen = await Container.create("bench-freeze", { rootfs, init: IDLE_INIT }, runtime);
    live.add(frozen);
    await frozen.start();
    w.freeze_roundtrip = summarize(
      await timeRuns("freeze+unfreeze", Math.max(20, Math.round(runs / 4)), async () => {
        await frozen.freeze();
        await frozen.unfreeze();
      }, 3),
    );
    await frozen.stop({ timeout: 0 });
    await frozen.destroy({ force: true });
    live.delete(frozen);
    await settle();
  }

  // 5. Containers from an image: create-to-running (overlay on an idmapped
  // image layer, nothing copied), snapshot and clone, and the disk that 100
  // containers from one image use (only their own changes).
  if (lib.ImageStore) {
    const store = new lib.ImageStore(tempRoot);
    const img = await store.importDirectory(rootfs.path, { tag: "bench:busybox" });
    let n = 0;
    const made = [];
    w.image_create_running = summarize(
      await timeRuns("create-to-running from an image", Math.max(20, Math.min(100, Math.round(runs / 2))), async () => {
        const c = await Container.create(`bench-img-${n++}`, { image: "bench:busybox", init: IDLE_INIT }, runtime);
        live.add(c);
        await c.start();
        made.push(c);
      }, 2),
    );
    const first = made[0];
    await first.execOutput(["sh", "-c", "echo changed > /root/file"]);
    let s = 0;
    w.snapshot = summarize(await timeRuns("snapshot", 20, () => first.snapshot(`s${s++}`), 1));
    let k = 0;
    w.clone = summarize(
      await timeRuns("clone", 20, async () => {
        const c = await first.clone(`bench-clone-${k++}`);
        live.add(c);
        made.push(c);
      }, 1),
    );
    const du = spawnSync("du", ["-sk", ...made.map((c) => join(c.stateDir, "upper"))], { encoding: "utf8" });
    const kib = du.stdout.split("\n").filter(Boolean).map((l) => Number(l.split("\t")[0]));
    const imageKib = Number(spawnSync("du", ["-sk", img.rootfs], { encoding: "utf8" }).stdout.split("\t")[0]);
    w.image_disk = { containers: kib.length, image_kib: imageKib, upper_kib_total: kib.reduce((a, b) => a + b, 0) };
    for (const c of made) {
      await c.stop({ timeout: 0 });
      await c.destroy();
      live.delete(c);
    }
    await store.remove("bench:busybox");
    await settle();

    // 12. Destroy with many mounts (bench/mounts.mjs): a container whose
    // processes made thousands of mounts and mount points in its writable layer.
    await store.importDirectory(rootfs.path, { tag: "bench:mounts" });
    try {
      w.mounts = await measureMountsDestroy({ lib, runtime, image: "bench:mounts", live, log, check: checkInterrupted });
    } catch (e) {
      if (e instanceof Interrupted) throw e;
      w.mounts = { error: String(e?.message ?? e).split("\n")[0] };
    }
    await store.remove("bench:mounts");
    await settle();
  }

  // 6. A real distro: Debian bookworm built by the store (cached in
  // .cache/images between runs). Create-to-running of a container from it
  // (its init started), the disk 100 of them use, then systemd booting to
  // `running` (READY=1 through $NOTIFY_SOCKET) and powering off, 10 times.
  if (lib.ImageStore && opts.distro) {
    const debian = await debianImage(lib, tempRoot, report.notes);
    if (debian) {
      let n = 0;
      const made = [];
      const sleeper = { image: "debian/bookworm", init: ["/bin/sleep", "infinity"], haltSignal: "SIGKILL", console: false };
      w.debian_create_running = summarize(
        await timeRuns("create-to-running from the Debian image", 30, async () => {
          const c = await Container.create(`bench-deb-${n++}`, sleeper, runtime);
          live.add(c);
          await c.start();
          made.push(c);
        }, 2),
      );
      while (made.length < 100) {
        const c = await Container.create(`bench-deb-${n++}`, sleeper, runtime);
        live.add(c);
        await c.start();
        made.push(c);
      }
      const du = spawnSync("du", ["-sk", ...made.map((c) => join(c.stateDir, "upper"))], { encoding: "utf8" });
      const kib = du.stdout.split("\n").filter(Boolean).map((l) => Number(l.split("\t")[0]));
      w.debian_disk = { containers: kib.length, image_kib: debian.kib, upper_kib_total: kib.reduce((a, b) => a + b, 0) };
      for (const c of made) {
        await c.stop({ timeout: 0 });
        await c.destroy();
        live.delete(c);
      }
      await settle();
      const boot = await Container.create("bench-boot", { image: "debian/bookworm" }, runtime);
      live.add(boot);
      const boots = [];
      const offs = [];
      let state = "";
      for (let i = 0; i < 11; i++) {
        checkInterrupted();
        const t0 = performance.now();
        await boot.start({ wait: "ready", readyTimeout: 60_000 });
        const t1 = performance.now();
        if (i === 1) state = (await boot.execOutput(["systemctl", "is-system-running"], { check: false })).stdout.trim();
        const t2 = performance.now();
        await boot.stop();
        const t3 = performance.now();
        // The first boot warms the page cache; it is not counted.
        if (i > 0) {
          boots.push(t1 - t0);
          offs.push(t3 - t2);
        }
      }
      w.debian_boot = { ...summarize(boots), state };
      w.debian_poweroff = summarize(offs);
      await boot.destroy();
      live.delete(boot);
      await settle();
    }
  }

  // Without peers, the floor is measured here, before the big heap (Node's spawnSync forks).
  const script = opts.peers ? peersScript() : null;
  if (!script) {
    report.floor = await measureFloor(runs);
    await settle();
  }

  // 3. start→exit while holding ~2 GiB.
  log("  allocating ~2 GiB");
  let heap = holdHeap();
  collectGarbage(); // the major GC the allocation would cause, before the timed runs rather than in them
  const rss = process.memoryUsage().rss;
  const t3 = exitTally();
  w.start_2gib = summarize(await timeRuns("start (2 GiB heap)", runs, () => startOnce(tTrue, t3)));
  w.start_2gib.rss_mib = Math.round(rss / 2 ** 20);
  w.start_2gib.heap_objects = heap.objects.length;
  heap = null;
  collectGarbage();
  await settle();

  // 3b. The small-heap start once more: the 2 GiB figure is compared with the
  // mean of the runs before and after it, so drift over the run (network
  // namespaces still being torn down by the kernel, other load) does not
  // read as an effect of the heap.
  const t4 = exitTally();
  w.start_after = summarize(await timeRuns("start (heap released)", runs, () => startOnce(tTrue, t4)));
  w.start_2gib.ratio_to_start = ratio(w.start_2gib.median_ms, (w.start.median_ms + w.start_after.median_ms) / 2);

  await tTrue.destroy({ force: true });
  live.delete(tTrue);

  for (const [label, t] of [["start", t1], ["create+start+exit+destroy", tLife], ["start (2 GiB heap)", t3], ["start (heap released)", t4]]) {
    if (t.early) {
      report.notes.push(
        `${label}: in ${t.early} of ${t.total} runs (warm-up included) c.exited resolved before the exit was recorded ` +
          `(with {code: null, signal: null}, state still "running"); those runs were timed until c.state became "stopped"`,
      );
    }
    if (t.bad) report.notes.push(`${label}: /bin/true exited non-zero in ${t.bad} of ${t.total} runs`);
  }
  if (execBad) report.notes.push(`exec: /bin/true exited non-zero in ${execBad} runs`);

  // Peers, after warren's own measurements.
  if (script) {
    await settle();
    const peerRuns = Math.max(2, Math.min(runs, PEER_RUNS_MAX)); // compare.sh wants 2 or more
    const peers = await runPeers(script, peerRuns);
    checkInterrupted();
    report.peers = { script, runs: peerRuns, ...peers };
    if (peers.error) {
      report.notes.push(`peers: ${peers.error}; measured the unshare floor here instead`);
      report.floor = await measureFloor(runs);
    } else {
      const median = (name) => peers.results.find((r) => r.name === name)?.median_ms ?? null;
      report.ratios = {
        start: Object.fromEntries(START_PEERS.map((n) => [n, ratio(w.start.median_ms, median(n))])),
        exec: Object.fromEntries(EXEC_PEERS.map((n) => [n, ratio(w.exec.median_ms, median(n))])),
      };
    }
  }
  if (report.floor?.unshare) {
    report.ratios = { ...report.ratios, start_vs_unshare_spawnsync: ratio(w.start.median_ms, report.floor.unshare.median_ms) };
  }
  return report;
}

/**
 * The Debian bookworm image, built once into .cache/images by the store's
 * own `build` and linked into the bench's store (never written). Null, with
 * a note, where it cannot be built (no mirror, no debootstrap).
 */
async function debianImage(lib, root, notes) {
  const cache = join(repoRoot, ".cache/images");
  try {
    log("  Debian bookworm image (built once, cached in .cache/images)");
    const img = await new lib.ImageStore(cache).build("debian/bookworm");
    const images = join(root, ".images");
    mkdirSync(images, { recursive: true, mode: 0o711 });
    if (!existsSync(join(images, img.id))) symlinkSync(join(cache, ".images", img.id), join(images, img.id));
    const tagsFile = join(images, "tags.json");
    const tags = existsSync(tagsFile) ? JSON.parse(readFileSync(tagsFile, "utf8")) : {};
    writeFileSync(tagsFile, JSON.stringify({ ...tags, "debian/bookworm": img.id }) + "\n");
    const kib = Number(spawnSync("du", ["-sk", img.rootfs], { encoding: "utf8" }).stdout.split("\t")[0]);
    return { id: img.id, kib };
  } catch (e) {
    notes.push(`no Debian image, distro section skipped: ${String(e?.message ?? e).split("\n")[0]}`);
    return null;
  }
}

// ---------------------------------------------------------------- output

function printTables(r) {
  const w = r.warren;
  const m = r.machine;
  const out = [];
  const line = (s = "") => out.push(s);
  const goal = (value, limit, unit) =>
    value == null ? "" : `goal ≤ ${limit.toFixed(unit === "×" ? 1 : 2)}${unit === "×" ? "×" : " ms"}: ${value <= limit ? "met" : "not met"}`;
  const row = (label, s, extra = "") =>
    line(`${label.padEnd(34)}${num(s.median_ms)}${num(s.p10_ms)}${num(s.p90_ms)}${num(s.min_ms)}   ${extra}`);

  line();
  line(`warren bench: node ${m.node}, linux ${m.kernel}, ${m.cpus} CPUs, ${m.mem_gib} GiB${m.library ? `; library from ${m.library}` : ""}`);
  // Without it only the CLI section ran (--only cli).
  if (w.start) {
    line(`rootfs ${relative(repoRoot, m.rootfs) || m.rootfs} (read-only); ${r.runs} timed runs after ${r.warmup} warm-up runs, times in ms`);
    line();
    line(`${"warren".padEnd(34)}${"median".padStart(8)}${"p10".padStart(8)}${"p90".padStart(8)}${"min".padStart(8)}`);
    row("start→exit /bin/true", w.start, goal(w.start.median_ms, r.goals.start_ms, "ms"));
    row(`create+start+exit+destroy (${w.lifecycle.runs})`, w.lifecycle);
    row("exec /bin/true", w.exec, goal(w.exec.median_ms, r.goals.exec_ms, "ms"));
    row(
      `start→exit, ${(w.start_2gib.rss_mib / 1024).toFixed(2)} GiB RSS`,
      w.start_2gib,
      `${times(w.start_2gib.ratio_to_start, 0)} of start; ${goal(w.start_2gib.ratio_to_start, r.goals.heap_ratio, "×")}`,
    );
    row("start→exit again, heap released", w.start_after, "(the 2 GiB ratio is against the mean of both small-heap starts)");
    row("start→exit with a bridged NIC", w.start_nic, `${w.start_nic.above_start_ms >= 0 ? "+" : ""}${w.start_nic.above_start_ms.toFixed(2)} ms over the plain starts run between them (median ${w.start_nic.plain_median_ms.toFixed(2)}); goal ≤ +2.00 ms: ${w.start_nic.above_start_ms <= 2 ? "met" : "not met"}`);
    if (w.start_locked) {
      const l = w.start_locked;
      line(`start with locked mounts (medians, interleaved): rw rootfs ${l.rw_median_ms.toFixed(2)} ms, ro rootfs ${l.ro_above_rw_ms >= 0 ? "+" : ""}${l.ro_above_rw_ms.toFixed(2)} ms, + ro idmapped bind ${l.ro_idmap_above_rw_ms >= 0 ? "+" : ""}${l.ro_idmap_above_rw_ms.toFixed(2)} ms`);
    }
    if (w.fleet) for (const l of fleetLines(w.fleet)) line(l);
    if (w.fleet_routed) for (const l of fleetLines(w.fleet_routed)) line(l);
    if (w.fleet_debian) for (const l of fleetLines(w.fleet_debian)) line(l);
    if (w.image_create_running) {
      row("create-to-running from an image", w.image_create_running, "goal ≤ 50 ms: " + (w.image_create_running.median_ms <= 50 ? "met" : "not met"));
      row("snapshot (busybox, small change)", w.snapshot);
      row("clone", w.clone);
      line(`disk: ${w.image_disk.containers} containers from one ${w.image_disk.image_kib} KiB image use ${w.image_disk.upper_kib_total} KiB of their own (upper layers)`);
    }
    for (const l of mountsLines(w.mounts)) line(l);
    if (w.debian_create_running) {
      row("create-to-running, Debian image", w.debian_create_running, "goal ≤ 50 ms: " + (w.debian_create_running.median_ms <= 50 ? "met" : "not met"));
      line(`disk: ${w.debian_disk.containers} containers from the ${Math.round(w.debian_disk.image_kib / 1024)} MiB Debian image use ${w.debian_disk.upper_kib_total} KiB of their own`);
    }
    if (w.debian_boot) {
      row("Debian boot to running (systemd)", w.debian_boot, `goal ≤ 200 ms: ${w.debian_boot.median_ms <= 200 ? "met" : "not met"}; state ${w.debian_boot.state}; ${NSPAWN_REFERENCE}`);
      row("Debian clean poweroff", w.debian_poweroff);
    }
    for (const l of devicesLines(w.devices, (x) => (x == null ? "-" : x.toFixed(2)))) line(l);
    for (const l of nestingLines(w.nesting, (x) => (x == null ? "-" : x.toFixed(2)))) line(l);
    if (w.docker?.error) line(`docker in a nesting container: ${w.docker.error}`);
    else if (w.docker) for (const l of dockerLines(w.docker)) line(l);
    if (w.oci?.error) line(`warren-oci vs crun: ${w.oci.error}`);
    else if (w.oci) for (const l of ociLines(w.oci)) line(l);
    if (w.freeze_roundtrip) row("freeze + unfreeze round trip", w.freeze_roundtrip);

    if (r.peers && !r.peers.error) {
      const p = r.peers;
      const median = (name) => p.results.find((x) => x.name === name)?.median_ms ?? null;
      line();
      line(`peers: ${p.script} --runs ${p.runs} (hyperfine -N, whole CLI invocations)${p.warning ? `; ${p.warning}` : ""}`);
      if (p.versions) line(`  versions: ${typeof p.versions === "string" ? p.versions : Object.entries(p.versions).map(([k, v]) => `${k} ${v}`).join(", ")}`);
      line(`${"".padEnd(34)}${"peer".padStart(8)}${"warren".padStart(8)}${"warren/peer".padStart(13)}`);
      const cmp = (kind, warren, names) => {
        for (const n of names) line(`${`${kind} vs ${n}${n === "unshare-all" || n === "nsenter-a" ? " (floor)" : ""}`.padEnd(34)}${num(median(n))}${num(warren)}${times(ratio(warren, median(n)), 13)}`);
      };
      cmp("start", w.start.median_ms, START_PEERS);
      cmp("exec", w.exec.median_ms, EXEC_PEERS);
      const others = p.results.filter((x) => !START_PEERS.includes(x.name) && !EXEC_PEERS.includes(x.name));
      for (const x of others) line(`${`(${x.name}, ${x.kind})`.padEnd(34)}${num(x.median_ms)}`);
    }
    if (r.floor) {
      const f = r.floor;
      line();
      line("floor, timed here with Node's spawnSync() (includes Node's own spawn cost):");
      line(`${"".padEnd(34)}${"median".padStart(8)}${"p10".padStart(8)}${"p90".padStart(8)}${"min".padStart(8)}`);
      if (f.unshare) row("unshare --fork --pid ... --user", f.unshare, `warren start / unshare: ${times(r.ratios?.start_vs_unshare_spawnsync, 0)}`);
      else line(`unshare: ${f.unshare_error}`);
      row("/bin/true (Node's spawn cost)", f.node_spawn_true);
    }
  }
  if (r.cli) printCliStartup(r.cli, line);
  if (r.notes.length) {
    line();
    for (const n of r.notes) line(`note: ${n}`);
  }
  process.stdout.write(out.join("\n") + "\n");
}

let exitCode = 0;
try {
  const report = await main();
  if (opts.json) process.stdout.write(JSON.stringify(report, null, 2) + "\n");
  else printTables(report);
} catch (e) {
  if (e instanceof Interrupted) exitCode = interrupted;
  else {
    log(`bench: ${e?.stack ?? e}`);
    exitCode = 1;
  }
} finally {
  await cleanup();
}
process.exit(interrupted || exitCode);
