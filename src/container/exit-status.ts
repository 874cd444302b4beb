/**
 * Learning how an init ended from a process that is not its parent.
 *
 * Only the init's parent can wait(2) for it: the Node process that started
 * it, then (once that process is gone) whoever adopts orphans. Everyone
 * else reads the status the kernel keeps, once the init has been reaped,
 * for every holder of a pidfd to it (PIDFD_INFO_EXIT, Linux 6.15): a
 * handle in another process through its own pidfd, the container's monitor
 * through its own, which writes it to `<state>/exit` for whoever looks
 * later (native/monitor/monitor.c).
 * @module
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

import { signalName } from "../config/signals.js";
import { native } from "../native/binding.js";
import { processInfo } from "./proc.js";

/**
 * `<state>/stop-requested`: written with `stopRequested` by a stop or
 * destroy through warren, removed by the next start. The monitor then ends
 * without running the restart hook; only a hint (the state decides).
 */
export const STOP_MARK = "stop-requested";

/** An init's end as wait(2) tells it. */
export interface RawExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A wait(2) status word: exited with a code, or killed by a signal. */
export function decodeWaitStatus(status: number): RawExit {
  const sig = status & 0x7f;
  if (sig === 0) return { code: (status >> 8) & 0xff, signal: null };
  return { code: null, signal: (signalName(sig) ?? null) as NodeJS.Signals | null };
}

/**
 * The exit status of a process this one is not the parent of, through a
 * pidfd to it, once its parent has reaped it (polled for up to `waitMs`).
 * Undefined when it is not reaped by then, or on a kernel before 6.15.
 */
export async function pidfdExit(pidfd: number, waitMs = 2000): Promise<RawExit | undefined> {
  const until = Date.now() + waitMs;
  for (;;) {
    let status: number | null;
    try {
      status = native().pidfdExitStatus(pidfd);
    } catch {
      return undefined; // no PIDFD_GET_INFO on this kernel
    }
    if (status !== null) return decodeWaitStatus(status);
    if (Date.now() >= until) return undefined;
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** What the monitor wrote of the init `pid`'s end (`<state>/exit`); null when it did not know. */
function readMonitorExit(stateDir: string, pid: number): RawExit | null | undefined {
  let text: string;
  try {
    text = readFileSync(join(stateDir, "exit"), "utf8");
  } catch {
    return undefined;
  }
  const m = /^(\d+) (-|-?\d+)\n?$/.exec(text);
  if (!m || Number(m[1]) !== pid) return undefined;
  return m[2] === "-" ? null : decodeWaitStatus(Number(m[2]));
}

/**
 * How the monitor of the run of `pid` saw it end, waiting (up to 2 s) while
 * that monitor still runs: it writes the status as soon as the init's
 * parent has reaped it.
 */
export async function monitorExit(stateDir: string, pid: number, monitor: number | undefined): Promise<RawExit | undefined> {
  const until = Date.now() + 2000;
  for (;;) {
    const seen = readMonitorExit(stateDir, pid);
    if (seen !== undefined) return seen ?? undefined;
    if (monitor === undefined || processInfo(monitor) === undefined || Date.now() >= until) return undefined;
    await new Promise((r) => setTimeout(r, 10));
  }
}

