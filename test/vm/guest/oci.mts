/**
 * Runs INSIDE the pure cgroup v2 VM (test/vm/oci.test.ts and the bench's
 * OCI section boot it): warren-oci driven by its real clients, podman
 * (Debian's 4.3, through conmon) and containerd (1.6, through its runc
 * shim), and runc's command-line contract compared with crun's on the same
 * bundle. podman and containerd never run on the hybrid host: they would
 * write cgroups into its v1 hierarchies. Prints `@@RESULT <name> <json>`;
 * the host side asserts.
 *
 * The guest's root is the host's `/` under a tmpfs overlay: the packages
 * setup.sh installed are here, and what podman and containerd store goes to
 * tmpfs mounts of their own (overlayfs cannot have an overlay as its upper
 * layer). The image is the busybox test rootfs, made an OCI layout here and
 * a docker archive by skopeo: no registry.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, closeSync, cpSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

import { ociLayoutFromDirectory } from "../../../src/image/from-directory.js";
import { runScenarios } from "./scenarios.mjs";

const rootfs = process.env.WARREN_TEST_ROOTFS ?? resolve(".cache/rootfs/busybox");
const repo = process.cwd(); // the VM runs the command in the caller's directory: the repository
const WARREN = "/usr/local/bin/warren-oci";
const IMAGE = "docker.io/warren/busybox:latest";

interface Ran {
  code: number | null;
  out: string;
  ms: number;
}

let outputs = 0;
/**
 * Runs argv to its end. `toFile`: its output goes to a file, not a pipe: a
 * runtime's `create` hands its stdio to the container's init, which would
 * hold a pipe open (and this wait) for as long as it runs, with runc too.
 */
function run(argv: string[], opts: { input?: string; timeoutMs?: number; toFile?: boolean } = {}): Ran {
  const t0 = performance.now();
  const file = opts.toFile ? `/run/oci-out.${outputs++}` : undefined;
  const fd = file ? openSync(file, "w+") : undefined;
  try {
    const r = spawnSync(argv[0]!, argv.slice(1), {
      encoding: "utf8",
      timeout: opts.timeoutMs ?? 120_000,
      ...(opts.input !== undefined ? { input: opts.input } : { stdio: ["ignore", fd ?? "pipe", fd ?? "pipe"] }),
    });
    const ms = performance.now() - t0;
    const out = file ? readFileSync(file, "utf8") : `${r.stdout ?? ""}${r.stderr ?? ""}`;
    return { code: r.status, out: `${out}${r.error ? String(r.error) : ""}`, ms };
  } finally {
    if (fd !== undefined) closeSync(fd);
    if (file) rmSync(file, { force: true });
  }
}

function must(argv: string[]): string {
  const r = run(argv);
  if (r.code !== 0) throw new Error(`${argv.join(" ")}: exit ${r.code}: ${r.out}`);
  return r.out;
}

/** The guest's side of the host: modules on demand, storage on tmpfs, the runtime on PATH, the image archive. */
function prepare(): string {
  // The guest kernel's modules (bridge, veth, nf_tables for podman's
  // network) are in the VM cache: modprobe finds them at the usual path.
  const kver = must(["uname", "-r"]).trim();
  const modules = join(repo, `.cache/vm/kernel/${kver}/lib/modules/${kver}`);
  mkdirSync(`/lib/modules/${kver}`, { recursive: true });
  must(["mount", "--bind", modules, `/lib/modules/${kver}`]);
  writeFileSync("/proc/sys/kernel/modprobe", "/sbin/modprobe\n");
  for (const dir of ["/var/lib/containers", "/var/lib/containerd"]) {
    mkdirSync(dir, { recursive: true });
    must(["mount", "-t", "tmpfs", "tmpfs", dir]);
  }
  // How a user installs it: the package's bin on PATH. The wrapper keeps the
  // node this runs under (the VM has the host's).
  writeFileSync(WARREN, `#!/bin/sh\nexec ${process.execPath} ${join(repo, "dist/oci/main.js")} "$@"\n`);
  chmodSync(WARREN, 0o755);
  return WARREN;
}

let archive: string | undefined;
async function imageArchive(): Promise<string> {
  if (archive) return archive;
  await ociLayoutFromDirectory(rootfs, "/run/oci-layout");
  must(["skopeo", "copy", "-q", "oci:/run/oci-layout", "docker-archive:/run/busybox.tar:warren/busybox:latest"]);
  archive = "/run/busybox.tar";
  return archive;
}

const podman = (runtime: string, ...args: string[]) => ["podman", "--cgroup-manager", "cgroupfs", "--runtime", runtime, ...args];

/** A bundle for the runc-contract comparison: the busybox rootfs (copied: each runtime may write /dev nodes into it) and one config.json. */
function bundle(dir: string, args: string[]): string {
  mkdirSync(dir, { recursive: true });
  cpSync(rootfs, join(dir, "rootfs"), { recursive: true, verbatimSymlinks: true });
  must([WARREN, "spec", "--bundle", dir]); // runc's default config.json, which crun takes too
  const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
  config.process.terminal = false;
  config.process.args = args;
  config.root = { path: "rootfs", readonly: false };
  writeFileSync(join(dir, "config.json"), JSON.stringify(config, null, 2));
  return dir;
}

/** One runtime's answers to runc's command line, as the host side compares them. */
function contract(runtime: string, root: string, dir: string): Record<string, unknown> {
  const rt = (...args: string[]) => run([runtime, "--root", root, ...args], { toFile: true });
  const status = (id: string) => {
    const r = rt("state", id);
    try {
      return JSON.parse(r.out).status as string;
    } catch {
      return `exit ${r.code}`;
    }
  };
  const seen: Record<string, unknown> = {};
  const step = (name: string, r: Ran, id?: string) => {
    seen[name] = { code: r.code, out: r.out.trim().slice(0, 300), ...(id ? { status: status(id) } : {}) };
  };
  step("stateMissing", rt("state", "nope"));
  step("createNoBundle", rt("create", "--bundle", "/run/no-such-bundle", "nb"));
  step("create", rt("create", "--bundle", dir, "c1"), "c1");
  const st = JSON.parse(rt("state", "c1").out || "{}");
  seen.stateFields = Object.keys(st).sort();
  seen.statePidAlive = typeof st.pid === "number" && st.pid > 0 && existsSync(`/proc/${st.pid}`);
  step("createDuplicate", rt("create", "--bundle", dir, "c1"), "c1");
  step("start", rt("start", "c1"), "c1");
  step("startTwice", rt("start", "c1"), "c1");
  step("deleteRunning", rt("delete", "c1"), "c1");
  step("pause", rt("pause", "c1"), "c1");
  step("resume", rt("resume", "c1"), "c1");
  step("kill", rt("kill", "c1", "KILL"));
  for (let i = 0; i < 50 && status("c1") !== "stopped"; i++) run(["sleep", "0.1"]);
  seen.afterKill = status("c1");
  step("startStopped", rt("start", "c1"), "c1");
  step("delete", rt("delete", "c1"));
  step("stateDeleted", rt("state", "c1"));
  return seen;
}

const scenarios: Record<string, () => Promise<unknown>> = {
  async podman() {
    prepare();
    must(["podman", "load", "-q", "-i", await imageArchive()]);
    const seen: Record<string, unknown> = {};
    const step = (name: string, argv: string[], opts?: { timeoutMs?: number }) => {
      const r = run(argv, opts);
      seen[name] = { code: r.code, out: r.out.trim().slice(-2000) };
      return r;
    };
    step("echo", podman(WARREN, "run", "--rm", "--network", "none", IMAGE, "echo", "hi"));
    step("detached", podman(WARREN, "run", "-d", "--name", "d1", "--network", "none", IMAGE, "sleep", "1000"));
    step("exec", podman(WARREN, "exec", "d1", "sh", "-c", "echo exec-ok; cat /proc/1/cmdline | tr '\\0' ' '"));
    step("ps", podman(WARREN, "ps", "--format", "{{.Names}} {{.Status}}"));
    step("stop", podman(WARREN, "stop", "-t", "1", "d1"));
    step("rm", podman(WARREN, "rm", "d1"));
    // -it: conmon's console socket; script(1) gives podman the terminal it wants.
    step("tty", ["script", "-qec", [...podman(WARREN, "run", "-it", "--rm", "--network", "none", IMAGE, "sh", "-c", "tty; echo tty-ok")].join(" "), "/dev/null"]);
    step("memoryMax", podman(WARREN, "run", "--rm", "--network", "none", "--memory", "64m", IMAGE, "cat", "/sys/fs/cgroup/memory.max"));
    // dd's 200 MiB buffer is filled by read(): 200 MiB touched, over the limit.
    const dd = [IMAGE, "dd", "if=/dev/zero", "of=/dev/null", "bs=200M", "count=1"];
    step("memoryLimited", podman(WARREN, "run", "--rm", "--network", "none", "--memory", "64m", "--memory-swap", "64m", ...dd));
    step("memoryRoomy", podman(WARREN, "run", "--rm", "--network", "none", "--memory", "512m", ...dd));
    step("networkNone", podman(WARREN, "run", "--rm", "--network", "none", IMAGE, "sh", "-c", "ip -o link | cut -d: -f2"));
    // podman's default network (CNI bridge 10.88.0.0/16): its netns, made by
    // podman, joined by path, with podman's sysctl written there, and the
    // VM (the bridge's 10.88.0.1) reached over it.
    mkdirSync("/run/www", { recursive: true });
    writeFileSync("/run/www/hello", "hello-from-the-host\n");
    const server = run(["sh", "-c", "python3 -m http.server 8080 --bind 0.0.0.0 --directory /run/www >/run/www.log 2>&1 & echo $!"]);
    try {
      step("networkDefault", podman(WARREN, "run", "--rm", IMAGE, "sh", "-c", "ip -4 -o addr show eth0; ip route; echo ping_group_range=$(cat /proc/sys/net/ipv4/ping_group_range); wget -qO- http://10.88.0.1:8080/hello"));
    } finally {
      run(["kill", server.out.trim()]);
    }
    step("crunDefault", podman("crun", "run", "--rm", IMAGE, "sh", "-c", "ip -4 -o addr show eth0"));
    step("leftovers", ["podman", "ps", "-a", "-q"]);
    return seen;
  },

  async containerd() {
    if (!existsSync(WARREN)) prepare();
    const tar = await imageArchive();
    const daemon = run(["sh", "-c", "containerd --root /var/lib/containerd --state /run/containerd >/run/containerd.log 2>&1 & echo $!"]);
    const pid = Number(daemon.out.trim());
    const seen: Record<string, unknown> = {};
    try {
      for (let i = 0; i < 100 && run(["ctr", "version"]).code !== 0; i++) run(["sleep", "0.2"]);
      const step = (name: string, argv: string[]) => {
        const r = run(argv);
        seen[name] = { code: r.code, out: r.out.trim().slice(-2000) };
        return r;
      };
      step("import", ["ctr", "image", "import", tar]);
      step("echo", ["ctr", "run", "--rm", "--runc-binary", WARREN, IMAGE, "c1", "echo", "hi-ctr"]);
      step("detached", ["ctr", "run", "-d", "--runc-binary", WARREN, IMAGE, "c2", "sleep", "1000"]);
      step("list", ["ctr", "task", "ls"]);
      step("exec", ["ctr", "task", "exec", "--exec-id", "e1", "c2", "sh", "-c", "echo exec-ctr; hostname"]);
      step("ps", ["ctr", "task", "ps", "c2"]);
      step("kill", ["ctr", "task", "kill", "-s", "SIGKILL", "c2"]);
      for (let i = 0; i < 50 && !run(["ctr", "task", "ls"]).out.includes("STOPPED"); i++) run(["sleep", "0.2"]);
      step("stopped", ["ctr", "task", "ls"]);
      step("rm", ["ctr", "task", "rm", "c2"]);
      step("crm", ["ctr", "container", "rm", "c2"]);
      step("leftovers", ["ctr", "task", "ls", "-q"]);
      return seen;
    } finally {
      if (pid > 0) run(["kill", String(pid)]);
    }
  },

  async contract() {
    if (!existsSync(WARREN)) prepare();
    const dir = bundle("/run/contract-bundle", ["sleep", "100"]);
    const warren = contract(WARREN, "/run/contract-warren", dir);
    const crun = contract("crun", "/run/contract-crun", dir);
    // update --resources, on a cgroup v2 host with memory and pids (the hybrid host has neither).
    const rt = (...args: string[]) => run([WARREN, "--root", "/run/contract-warren", ...args], { toFile: true });
    const made = rt("create", "--bundle", dir, "u1");
    if (made.code !== 0) throw new Error(`create u1: ${made.out}`);
    const res = JSON.stringify({ memory: { limit: 64 * 1024 * 1024 }, pids: { limit: 42 } });
    const update = run([WARREN, "--root", "/run/contract-warren", "update", "--resources", "-", "u1"], { input: res });
    const st = JSON.parse(rt("state", "u1").out);
    const cgroup = readFileSync(`/proc/${st.pid}/cgroup`, "utf8").trim().split("::")[1]!;
    const limits = {
      update: { code: update.code, out: update.out.trim() },
      memoryMax: readFileSync(join("/sys/fs/cgroup", cgroup, "memory.max"), "utf8").trim(),
      pidsMax: readFileSync(join("/sys/fs/cgroup", cgroup, "pids.max"), "utf8").trim(),
    };
    rt("delete", "--force", "u1");
    return { warren, crun, limits };
  },

  /**
   * The bench's OCI section (bench/oci.mjs, not a test): `podman run --rm
   * IMG true` with each runtime, and each runc-contract command, timed in
   * turns so that both see the same machine. Milliseconds per sample.
   */
  async bench() {
    if (!existsSync(WARREN)) prepare();
    must(["podman", "load", "-q", "-i", await imageArchive()]);
    const runs = Math.max(1, Number(process.env.WARREN_BENCH_RUNS ?? 5));
    const runtimes = { warren: WARREN, crun: "crun" } as const;
    const samples: Record<string, number[]> = {};
    const add = (key: string, r: Ran) => {
      if (r.code !== 0) throw new Error(`${key}: exit ${r.code}: ${r.out}`);
      (samples[key] ??= []).push(r.ms);
    };
    const dir = bundle("/run/bench-bundle", ["sleep", "100"]);
    for (let i = -1; i < runs; i++) {
      // The floor of every warren-oci command: Node's own start.
      const floor = run([process.execPath, "-e", "0"]);
      if (i >= 0) add("node.floor", floor);
      for (const [name, runtime] of Object.entries(runtimes)) {
        const podmanRun = run(podman(runtime, "run", "--rm", "--network", "none", IMAGE, "true"));
        const rt = (...args: string[]) => run([runtime, "--root", `/run/bench-${name}`, ...args], { toFile: true });
        const steps: [string, Ran][] = [
          ["create", rt("create", "--bundle", dir, `b${i + 1}`)],
          ["start", rt("start", `b${i + 1}`)],
          ["state", rt("state", `b${i + 1}`)],
        ];
        rt("kill", `b${i + 1}`, "KILL");
        for (let k = 0; k < 50 && !rt("state", `b${i + 1}`).out.includes('"stopped"'); k++) run(["sleep", "0.05"]);
        steps.push(["delete", rt("delete", `b${i + 1}`)]);
        if (i < 0) continue; // warm-up: page cache, podman's first-run work
        add(`${name}.podmanRun`, podmanRun);
        for (const [step, r] of steps) add(`${name}.${step}`, r);
      }
    }
    return { runs, samples };
  },
};

await runScenarios(scenarios);
