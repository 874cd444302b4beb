/**
 * Runs commands in a throwaway VM with a pure cgroup v2 layout
 * (scripts/vm/run.sh), for tests that must see cgroup v2 limits enforced on
 * hosts whose own cgroups are hybrid or must not be touched.
 *
 * The guest sees the host's `/` read-only under a tmpfs overlay, so the
 * host's node, this repository and its build are at the same paths and the
 * guest may write anywhere without touching the host. Boots take about 5 s
 * (TCG, no KVM): batch several checks into one command where you can.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { StringDecoder } from "node:string_decoder";

import { QmpPump, type QmpExchange } from "./qmp.js";

const scripts = resolve(import.meta.dirname, "../../scripts/vm");

export type VmAvailability = { ok: true } | { ok: false; reason: string };

export interface RunInVmOptions {
  /** Kill the VM after this long (the call then rejects). Default 120 s. */
  timeoutMs?: number;
  /** Extra environment for the command (besides PATH, HOME, CI and WARREN_*). */
  env?: Record<string, string>;
  /** Guest memory, default 2048 MiB. */
  memMiB?: number;
  /** Guest CPUs, default 2. */
  cpus?: number;
  /** Stops the VM when aborted, e.g. the test context's `signal`. */
  signal?: AbortSignal;
  /**
   * Boot with a USB 3 controller (bus `xhci.0`) and a virtio GPU, their
   * drivers loaded (run.sh --hardware).
   */
  hardware?: boolean;
  /** Serve QMP on this unix socket (run.sh --qmp), to hot-add devices while the command runs. */
  qmpSocket?: string;
  /** Called with the command's output as it arrives (the result still has all of it). */
  onOutput?: (chunk: string) => void;
}

export interface VmResult {
  /** The command's exit status in the guest. */
  code: number;
  /** The command's stdout and stderr, interleaved as written. */
  output: string;
}

/** Thrown when the VM itself failed: no boot, died, timed out. */
export class VmError extends Error {
  override name = "VmError";
}

interface Exited {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function exec(file: string, args: string[], opts: { signal?: AbortSignal; killAfterMs?: number; onStdout?: (chunk: string) => void } = {}): Promise<Exited> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(file, args, {
      stdio: ["ignore", "pipe", "pipe"],
      // run.sh's traps stop qemu and remove the run directory on SIGTERM.
      signal: opts.signal,
      killSignal: "SIGTERM",
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const decoder = new StringDecoder("utf8"); // a chunk may end inside a character
    child.stdout.on("data", (b: Buffer) => {
      out.push(b);
      opts.onStdout?.(decoder.write(b));
    });
    child.stderr.on("data", (b: Buffer) => err.push(b));
    // Last resort if run.sh's own --timeout did not fire.
    const timer = opts.killAfterMs === undefined ? undefined : setTimeout(() => child.kill("SIGTERM"), opts.killAfterMs);
    child.on("error", (e) => {
      // An abort also closes the child: settle on "close" with its status.
      if ((e as NodeJS.ErrnoException).name !== "AbortError") {
        clearTimeout(timer);
        reject(e);
      }
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolvePromise({
        code,
        signal,
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
      });
    });
  });
}

let availability: Promise<VmAvailability> | undefined;

/**
 * Whether VMs can be run here: runs scripts/vm/prepare.sh (installs qemu,
 * downloads a kernel, builds the initramfs; fast once done) once per process.
 * `WARREN_SKIP_VM=1` says no without trying.
 */
export function vmAvailable(): Promise<VmAvailability> {
  availability ??= (async (): Promise<VmAvailability> => {
    if (process.env.WARREN_SKIP_VM === "1") return { ok: false, reason: "WARREN_SKIP_VM=1" };
    try {
      const r = await exec("bash", [resolve(scripts, "prepare.sh"), "-q"]);
      if (r.code === 0) return { ok: true };
      const why = (r.stderr + r.stdout).trim().split("\n").slice(-5).join("\n");
      return { ok: false, reason: `scripts/vm/prepare.sh failed (exit ${r.code ?? r.signal}): ${why}` };
    } catch (e) {
      return { ok: false, reason: `scripts/vm/prepare.sh could not run: ${(e as Error).message}` };
    }
  })();
  return availability;
}

/**
 * Boots a VM, runs `argv` in it as root in the current working directory
 * (see scripts/vm/run.sh) and resolves with its exit status and output.
 * Rejects with a {@link VmError} when the VM fails (does not boot, dies,
 * times out) rather than returning run.sh's 124/125.
 */
export async function runInVm(argv: string[], opts: RunInVmOptions = {}): Promise<VmResult> {
  if (argv.length === 0) throw new TypeError("runInVm: empty argv");
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const args = [resolve(scripts, "run.sh"), "--timeout", String(Math.max(1, Math.ceil(timeoutMs / 1000)))];
  if (opts.memMiB !== undefined) args.push("--mem", String(opts.memMiB));
  if (opts.cpus !== undefined) args.push("--cpus", String(opts.cpus));
  for (const [name, value] of Object.entries(opts.env ?? {})) args.push("--env", `${name}=${value}`);
  if (opts.hardware) args.push("--hardware");
  if (opts.qmpSocket !== undefined) args.push("--qmp", opts.qmpSocket);
  args.push("--", ...argv);

  const r = await exec("bash", args, { signal: opts.signal, killAfterMs: timeoutMs + 30_000, onStdout: opts.onOutput });
  // run.sh writes only its own diagnostics to stderr, prefixed "vm-run:";
  // the command's stderr comes with its stdout.
  const harness = r.stderr.trim();
  if (opts.signal?.aborted || r.code === null) {
    const how = opts.signal?.aborted ? "aborted" : `killed by ${r.signal}`;
    throw new VmError(`VM run ${how}: ${JSON.stringify(argv)}${harness ? `\n${harness}` : ""}`);
  }
  if ((r.code === 124 || r.code === 125) && /^vm-run: (?!warning:|exit \d+ after)/m.test(harness)) {
    throw new VmError(`VM run failed (exit ${r.code}): ${JSON.stringify(argv)}\n${harness}\noutput:\n${r.stdout}`);
  }
  return { code: r.code, output: r.stdout };
}

/** What a guest script under test/vm/guest reported: its `@@RESULT name json` lines, and all it printed. */
export interface GuestReport {
  output: string;
  /** The QMP commands the guest asked for (`hotplug`), with qemu's answers. */
  qmp: QmpExchange[];
  /** The value of scenario `name`; fails the test (with the guest's output) when it is missing or failed. */
  result(name: string): any;
}

/**
 * Bundles test/vm/guest/NAME.mts with esbuild and runs it with plain node in
 * the VM: tsx's esbuild service crashes now and then under TCG emulation,
 * plain node does not. The bundle sits in the repository (visible in the
 * guest through the 9p share) and finds the addon from there. The whole
 * output is also kept in .cache/vm-guest/NAME.log.
 */
export interface GuestScriptOptions extends RunInVmOptions {
  /**
   * Boot with the hardware of {@link RunInVmOptions.hardware} and serve the
   * guest's hot-plug requests (test/vm/guest/hotplug.mts) over QMP.
   */
  hotplug?: boolean;
}

export async function runGuestScript(name: string, options: GuestScriptOptions = {}): Promise<GuestReport> {
  const { writeFileSync } = await import("node:fs");
  const { expect } = await import("vitest");
  const { bundleGuestScript } = await import("../../scripts/vm/bundle-guest.mjs");
  const repo = resolve(import.meta.dirname, "../..");
  const bundle = await bundleGuestScript(repo, name);
  // A short path: a unix socket's must fit in 108 bytes.
  const qmpDir = options.hotplug ? mkdtempSync(join(tmpdir(), "warren-qmp-")) : undefined;
  const pump = qmpDir ? new QmpPump(join(qmpDir, "qmp.sock"), options.signal) : undefined;
  let r: VmResult;
  try {
    r = await runInVm([process.execPath, bundle], {
      ...options,
      ...(pump ? { hardware: true, qmpSocket: join(qmpDir!, "qmp.sock"), onOutput: (c: string) => (pump.output(c), options.onOutput?.(c)) } : {}),
    });
  } finally {
    await pump?.close();
    if (qmpDir) rmSync(qmpDir, { recursive: true, force: true });
  }
  const qmp = pump?.log ?? [];
  writeFileSync(resolve(repo, `.cache/vm-guest/${name}.log`), r.output + (qmp.length ? `\nQMP: ${JSON.stringify(qmp, null, 1)}\n` : ""));
  const results = new Map<string, { ok: boolean; value?: unknown; error?: string }>();
  for (const line of r.output.split("\n")) {
    const m = /^@@RESULT (\S+) (.*)$/.exec(line);
    if (m) results.set(m[1]!, JSON.parse(m[2]!));
  }
  const qmpNote = qmp.length ? `\nQMP exchanges: ${JSON.stringify(qmp)}` : "";
  return {
    output: r.output,
    qmp,
    result(scenario: string) {
      const got = results.get(scenario);
      expect(got, `no result for ${scenario}; guest output:\n${r.output}${qmpNote}`).toBeDefined();
      expect(got!.ok, `${got!.error}${qmpNote}`).toBe(true);
      return got!.value;
    },
  };
}
