/**
 * Stopping: the init's halt signal first, then, after the timeout (or at
 * once when the init has no handler for the signal, so it will never see
 * it), SIGKILL for every process of the container at once through cgroup.kill.
 * @module
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { ConfigError } from "../errors.js";
import { signalNumber } from "../config/signals.js";
import { native } from "../native/binding.js";
import type { ContainerHandle } from "./handle.js";
import { returnLentNics } from "./network.js";
import type { ExitStatus } from "./state.js";

export interface StopOptions {
  /** Milliseconds to wait for a graceful exit before killing (default: the config's `stopTimeout`). */
  timeout?: number;
  /** The halt signal (default: the config's `haltSignal`). */
  signal?: NodeJS.Signals | string | number;
}

export async function stopContainer(c: ContainerHandle, options: StopOptions): Promise<ExitStatus | null> {
  const sig = signalNumber(options.signal ?? c.effective().haltSignal);
  if (sig === undefined) throw new ConfigError([{ path: "signal", message: `unknown signal ${String(options.signal)}` }], { container: c.name });
  const timeout = options.timeout ?? c.config.stopTimeout;
  // Recorded before anything else, also when it is not running: a restart
  // its policy has under way must not bring it back (restart-policy.ts).
  await c.requestStop(timeout > 0 ? "halt" : "kill");
  await c.refresh();
  const run = c.run;
  if (!run) return c.state.exit ?? null;
  // Lent NICs go home while the namespace still exists: the kernel gives
  // a real NIC back when a namespace dies, but deletes a virtual one.
  await returnLentNics(c).catch((e) => c.warnings.push(`network: ${(e as Error).message}`));
  // A frozen init cannot handle its halt signal: thaw first (cgroup.kill
  // would work on frozen tasks, a graceful stop does not).
  if (c.status === "frozen") {
    try {
      writeFileSync(join(c.cgroupPath, "cgroup.freeze"), "0");
    } catch {
      /* gone already */
    }
  }
  const exited = c.exited; // refs the watcher while we wait

  if (timeout > 0) {
    c.stopping = "halt";
    // A pid namespace's init only receives the signals it handles, blocks
    // or waits for; any other is discarded when sent, and waiting for it is
    // pointless. Looked at before sending: right after it, a waiter being
    // woken by the signal looks like neither.
    const receives = !c.config.namespaces.pid || receivesSignal(run.pid, sig) !== false;
    signalInit(c, run, sig);
    if (receives) {
      let timer: NodeJS.Timeout | undefined;
      const graceful = await Promise.race([
        exited.then(() => true),
        new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeout))),
      ]);
      clearTimeout(timer);
      if (graceful) return exited;
    }
  }
  // Everything in the container's cgroup at once; the pidfd as well in case
  // the init is (still) outside it.
  c.stopping = "kill";
  await c.requestStop("kill");
  await c.cgroups.kill(c.name);
  signalInit(c, run, 9);
  return exited;
}

/** rt_sigtimedwait's number, as /proc/PID/syscall shows it. */
const RT_SIGTIMEDWAIT: Partial<Record<string, number>> = { x64: 128, arm64: 137 };

/**
 * Whether a pid namespace's init will see `sig` sent from outside: it has a
 * handler for it (SigCgt in /proc/PID/status) or blocks it (SigBlk: a
 * blocked signal is queued whatever its disposition, and systemd reads its
 * signals from a signalfd with all of them blocked), or sleeps in
 * rt_sigtimedwait for signals. Undefined when that
 * cannot be read (gone, or no procfs).
 */
export function receivesSignal(pid: number, sig: number): boolean | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return undefined;
  }
  const bit = (field: string): boolean | undefined => {
    const m = new RegExp(`^${field}:\\s*([0-9a-f]+)$`, "m").exec(status);
    return m ? ((BigInt(`0x${m[1]}`) >> BigInt(sig - 1)) & 1n) === 1n : undefined;
  };
  const caught = bit("SigCgt");
  const blocked = bit("SigBlk");
  if (caught === undefined || blocked === undefined) return undefined;
  if (caught || blocked) return true;
  // A task in rt_sigtimedwait has its waited-for signals taken out of
  // SigBlk while it sleeps (the kernel keeps them in real_blocked, which
  // /proc does not show) and receives them: busybox init waits so.
  try {
    const nr = Number(readFileSync(`/proc/${pid}/syscall`, "utf8").split(" ")[0]);
    if (nr === RT_SIGTIMEDWAIT[process.arch]) return true;
  } catch {
    return undefined;
  }
  return false;
}

/**
 * Sends `sig` to the init of `run` while it is still the container's run.
 * Once the init has ended its pidfd is closed, and the number may already
 * name another container's init (pidfds are parked at the lowest free
 * number above 1024): a stop that awaited in between must not use it.
 */
function signalInit(c: ContainerHandle, run: NonNullable<ContainerHandle["run"]>, sig: number): void {
  if (c.run !== run) return;
  try {
    native().pidfdSendSignal(run.pidfd, sig);
  } catch {
    /* ESRCH: already exiting */
  }
}
