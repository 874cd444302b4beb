/**
 * The container half of scripts/gpu-check.sh, bundled by `gpu-check.sh pack`
 * (zod and warren's source included; the addon comes from build/Release
 * beside it). On a machine with an NVIDIA GPU it starts two warren
 * containers that share the GPU through one `gpu` device with
 * `nvidiaRuntime: true`, runs `nvidia-smi -L` and an NVML query in both at
 * the same time, and shows that the driver's libraries are there read-only.
 * Prints `gpu-check: PASS` or `gpu-check: FAIL: …` last (exit 0 / 1).
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

import { Container, type ContainerConfig } from "../src/index.js";
import { gpuDeviceSchema } from "../src/config/devices.js";
import { listGpus, resolveGpuDevice } from "../src/devices/gpu.js";

const busybox = process.env.WARREN_GPU_CHECK_BUSYBOX ?? "/bin/busybox";
const say = (...a: unknown[]) => console.log("gpu-check:", ...a);
const failures: string[] = [];
const check = (ok: boolean, what: string) => {
  say(`${ok ? "ok  " : "FAIL"} ${what}`);
  if (!ok) failures.push(what);
};

// --- What the host has --------------------------------------------------
const spec = gpuDeviceSchema.parse({ type: "gpu", vendor: "nvidia", nvidiaRuntime: true });
say("GPUs:", JSON.stringify(listGpus()));
const resolved = resolveGpuDevice("gpu", spec);
say("nodes:", resolved.nodes.map((n) => `${n.path} ${n.major}:${n.minor}`).join(" "));
say(`binds (${resolved.binds.length}):`, resolved.binds.map((b) => b.target).join(" "));
say("env:", JSON.stringify(resolved.env));
const smi = resolved.binds.find((b) => b.target.endsWith("/nvidia-smi"))?.target;
const nvml = resolved.binds.find((b) => /\/libnvidia-ml\.so\.1$/.test(b.target))?.target;
if (!smi || !nvml) throw new Error(`nvidia-smi (${smi}) or libnvidia-ml.so.1 (${nvml}) not among the binds`);

// --- A small glibc rootfs ------------------------------------------------
// busybox (static) for the shell tools, and the C library nvidia-smi links
// against, copied from the host; the driver's own files come in as binds,
// whose mount points are made here because the rootfs is read-only.
const work = mkdtempSync(join(tmpdir(), "warren-gpu-check-"));
process.on("exit", () => rmSync(work, { recursive: true, force: true }));
const rootfs = join(work, "rootfs");
// The layout of scripts/make-busybox-rootfs.sh (the kernel tests' rootfs).
for (const d of ["bin", "dev", "proc", "sys", "tmp", "etc", "root", "run", "var/tmp", "home", "mnt"]) mkdirSync(join(rootfs, d), { recursive: true });
copyFileSync(busybox, join(rootfs, "bin/busybox"));
for (const tool of ["sh", "ls", "cat", "grep", "touch", "stat", "sleep", "id", "head"]) symlinkSync("busybox", join(rootfs, "bin", tool));
writeFileSync(join(rootfs, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n");
writeFileSync(join(rootfs, "etc/group"), "root:x:0:\n");
const ldd = execFileSync("ldd", [smi], { encoding: "utf8", env: { ...process.env, ...resolved.env } });
for (const m of ldd.matchAll(/(?:=>\s*)?(\/\S+)\s+\(0x/g)) {
  const lib = m[1]!;
  if (/libnvidia|libcuda/.test(lib)) continue; // the device's binds bring these
  mkdirSync(dirname(join(rootfs, lib)), { recursive: true });
  copyFileSync(lib, join(rootfs, lib)); // follows the link: the soname holds the file
}
for (const b of resolved.binds) {
  mkdirSync(dirname(join(rootfs, b.target)), { recursive: true });
  writeFileSync(join(rootfs, b.target), "");
}

// --- Two containers, one GPU ---------------------------------------------
const IDLE = ["/bin/sh", "-c", "trap 'exit 0' TERM; while :; do sleep 3600 & wait $!; done"];
const config: ContainerConfig = {
  rootfs: { path: rootfs, mode: "ro" },
  init: IDLE,
  stopTimeout: 2000,
  devices: { gpu: { type: "gpu", vendor: "nvidia", nvidiaRuntime: true } },
};
const state = join(work, "state");
const containers: Container[] = [];
try {
  for (const name of ["gpu-a", "gpu-b"]) {
    const c = await Container.create(name, config, { root: state });
    containers.push(c);
    await c.start();
  }
  const script = [
    `${smi} -L`,
    `${smi} --query-gpu=name,memory.total --format=csv`,
    "echo --- mounts",
    "grep -E 'nvidia|libcuda' /proc/self/mountinfo",
    "echo --- nodes",
    "ls -l /dev/nvidia*",
    "echo --- write",
    `touch ${nvml} 2>&1 || echo "write refused: $?"`,
  ].join("; ");
  // Both at once: each container's nvidia-smi holds the GPU at the same
  // time. No env given: the device sets LD_LIBRARY_PATH for every exec.
  const outs = await Promise.all(containers.map((c) => c.execOutput(["/bin/sh", "-c", `echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"; ${script}`])));
  outs.forEach((o, i) => {
    const name = containers[i]!.name;
    console.log(`----- ${name} (exit ${o.code}) -----\n${o.stdout}${o.stderr ? `stderr:\n${o.stderr}` : ""}`);
    check(o.code === 0, `${name}: the commands ran`);
    check(o.stdout.includes(`LD_LIBRARY_PATH=${resolved.env?.LD_LIBRARY_PATH ?? "?"}\n`), `${name}: the device set LD_LIBRARY_PATH`);
    check(/^GPU 0: NVIDIA .*\(UUID: GPU-[0-9a-f-]+\)$/m.test(o.stdout), `${name}: nvidia-smi -L lists GPU 0`);
    check(/^name, memory\.total \[MiB\]\n.+, \d+ MiB$/m.test(o.stdout), `${name}: the NVML query answers name and memory`);
    // mountinfo's 6th field is the mount's own options: ro for every
    // library and tool (the device nodes, if bound, are rw).
    const files = (o.stdout.split("--- mounts\n")[1]?.split("--- nodes")[0] ?? "").split("\n").filter((l) => /\.so|nvidia-smi/.test(l));
    check(files.some((l) => l.includes("libnvidia-ml.so.1")) && files.every((l) => l.split(" ")[5]?.split(",").includes("ro")), `${name}: the driver's files are mounted read-only`);
    check(/write refused|Read-only file system/.test(o.stdout), `${name}: writing libnvidia-ml.so.1 is refused`);
  });
} catch (e) {
  failures.push(`containers: ${(e as Error).message}`);
  say("FAIL", (e as Error).stack ?? e);
} finally {
  for (const c of containers) {
    await c.stop({ timeout: 0 }).catch(() => undefined);
    await c.destroy().catch(() => undefined);
  }
}
say(failures.length ? `FAIL: ${failures.join("; ")}` : "PASS");
process.exitCode = failures.length ? 1 : 0;
