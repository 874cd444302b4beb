/**
 * Reading /proc about a host process: its start time tells a live init from
 * an unrelated process that got the same pid later.
 * @module
 */
import { promises as fsp, readFileSync, writeFileSync } from "node:fs";

import { SetupError } from "../errors.js";

export interface ProcessInfo {
  /** Field 22 of /proc/<pid>/stat: clock ticks after boot. */
  startTime: number;
  /** Field 3: `R`, `S`, `Z` (exited, not yet reaped), … */
  state: string;
}

/** Start time and state of a process, or undefined if it is gone. */
export function processInfo(pid: number): ProcessInfo | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // comm (field 2) may contain spaces and parentheses: split after the last ')'.
  const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // rest[0] is field 3 (state); field 22 is rest[19].
  const v = Number(rest[19]);
  return Number.isFinite(v) ? { startTime: v, state: rest[0] ?? "?" } : undefined;
}

/** The namespace inode of /proc/<pid>/ns/<kind>, e.g. `pid:[4026531836]` -> 4026531836. */
export async function namespaceId(pid: number | "self", kind: string): Promise<number | undefined> {
  try {
    const link = await fsp.readlink(`/proc/${pid}/ns/${kind}`);
    const m = /\[(\d+)\]/.exec(link);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Sets a process's oom_score_adj from the host (proc(5)). Written by the
 * parent rather than by the child itself: inside its user namespace the
 * child lacks CAP_SYS_RESOURCE in the initial one, so it could never go
 * below the embedder's value, while a write by a holder of it may, and also
 * makes the value the floor (oom_score_adj_min) the container cannot go
 * below. Without it (some hosts drop it from root) lowering is EACCES.
 */
export function setOomScoreAdj(pid: number, value: number, container: string): void {
  try {
    writeFileSync(`/proc/${pid}/oom_score_adj`, String(value));
  } catch (e) {
    const errno = Math.abs((e as { errno?: number }).errno ?? 0) || 5; // EIO when Node gives none
    const hint = errno === 13 ? "going below the embedder's value needs CAP_SYS_RESOURCE, which this process lacks" : undefined;
    throw new SetupError("start", "oom-score-adj", errno, `write ${value} to \`/proc/${pid}/oom_score_adj\``, { container, ...(hint ? { hint } : {}) });
  }
}
