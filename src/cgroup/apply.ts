/**
 * Making limits real: checking that each controller is usable on this host,
 * enabling controllers down to the container's cgroup, writing the
 * interface files, and delegating the cgroup to an unprivileged container.
 * @module
 */
import { chownSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { CgroupControllerUnavailable, HostError } from "../errors.js";
import { codeOf } from "../linux/errno.js";
import type { CgroupHost, CgroupTree } from "./cgroup2.js";
import { limitWrites, type CgroupWrite } from "./limit-writes.js";
import type { ResolvedLimits } from "./limits.js";

/** Controllers warren enables for its containers when the host has them. */
export const MANAGED_CONTROLLERS = ["cpu", "cpuset", "io", "memory", "pids", "hugetlb"] as const;

/** v2 controllers whose v1 counterpart has another name. */
const V1_NAMES: Record<string, string> = { io: "blkio" };

/** Why `controller` cannot be used here, or undefined when it can. */
export function unavailableReason(controller: string, host: CgroupHost, enableFailures: ReadonlyMap<string, string> = new Map()): string | undefined {
  const failed = enableFailures.get(controller);
  if (failed) return failed;
  if (host.controllers.includes(controller)) return undefined;
  const v1Name = V1_NAMES[controller] ?? controller;
  if (host.v1Controllers.includes(v1Name)) {
    return `${controller} is bound to cgroup v1 on this host${v1Name !== controller ? ` (as ${v1Name})` : ""}`;
  }
  return `${controller} is not available in cgroup v2 on this host (cgroup.controllers at \`${host.mount}\` lists: ${host.controllers.join(" ") || "nothing"})`;
}

function readList(path: string): string[] {
  try {
    return readFileSync(path, "utf8").trim().split(/\s+/).filter(Boolean);
  } catch {
    return [];
  }
}

/**
 * Enables every managed controller the host has in `cgroup.subtree_control`
 * of the cgroup2 root and of warren's subtree, so the container's cgroup gets
 * their interface files (and their statistics). Controllers are enabled one
 * by one: one refused (cpu with real-time tasks in other cgroups, say) does
 * not keep the others away. Returns the ones that could not be enabled, with
 * the reason.
 */
export function enableControllers(tree: CgroupTree, host: CgroupHost): Map<string, string> {
  const failures = new Map<string, string>();
  tree.ensureRoot();
  const wanted = MANAGED_CONTROLLERS.filter((c) => host.controllers.includes(c));
  for (const dir of [tree.mount, tree.root]) {
    const file = join(dir, "cgroup.subtree_control");
    const enabled = readList(file);
    let evacuated = false;
    for (const c of wanted) {
      if (enabled.includes(c) || failures.has(c)) continue;
      try {
        writeFileSync(file, `+${c}`);
      } catch (e) {
        // EBUSY at the top: warren runs inside a container (nesting), at
        // the root of its cgroup namespace, which holds the container's
        // own processes, and a cgroup with processes cannot hand
        // controllers to children. They move to a leaf beside warren's
        // tree (as systemd's init.scope and Docker's dind do), once.
        if (codeOf(e) === "EBUSY" && dir === tree.mount && !evacuated) {
          evacuated = true;
          try {
            evacuate(dir);
            writeFileSync(file, `+${c}`);
            continue;
          } catch (again) {
            failures.set(c, `${c} could not be enabled in \`${file}\`: ${codeOf(again)} (after moving its processes to \`${join(dir, EVACUATION_LEAF)}\`)`);
            continue;
          }
        }
        failures.set(c, `${c} could not be enabled in \`${file}\`: ${codeOf(e)}`);
      }
    }
  }
  return failures;
}

/** The leaf the processes of a nested warren's cgroup namespace root move to. */
export const EVACUATION_LEAF = "warren.init";

/** Moves every process of cgroup `dir` into its child {@link EVACUATION_LEAF} (made if missing). */
function evacuate(dir: string): void {
  const leaf = join(dir, EVACUATION_LEAF);
  try {
    mkdirSync(leaf);
  } catch (e) {
    if (codeOf(e) !== "EEXIST") throw e;
  }
  // New processes may be forked meanwhile: until none is left.
  for (let round = 0; round < 10; round++) {
    const pids = readFileSync(join(dir, "cgroup.procs"), "utf8").split("\n").filter(Boolean);
    if (pids.length === 0) return;
    for (const pid of pids) {
      try {
        writeFileSync(join(leaf, "cgroup.procs"), pid);
      } catch (e) {
        if (codeOf(e) !== "ESRCH") throw e; // exited meanwhile
      }
    }
  }
}

export interface ApplyOptions {
  host: CgroupHost;
  /** Skip limits whose controller is unavailable, returning warnings, instead of failing. */
  bestEffort?: boolean;
  /** Controllers enableControllers() could not enable. */
  enableFailures?: ReadonlyMap<string, string>;
  container?: string;
}

function deviceNumber(path: string): string {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    throw new HostError(`io.max: stat \`${path}\``, codeOf(e), { path, syscall: "stat" });
  }
  if (!st.isBlockDevice()) throw new HostError(`io.max: \`${path}\` is not a block device`, "ENOTBLK", { path });
  const rdev = st.rdev;
  const major = Number((BigInt(rdev) >> 8n) & 0xfffn);
  const minor = Number((BigInt(rdev) & 0xffn) | ((BigInt(rdev) >> 12n) & 0xfff00n));
  return `${major}:${minor}`;
}

/**
 * The writes `limits` needs on this host, checked against it: throws
 * CgroupControllerUnavailable for the first limit whose controller is not
 * usable, or (best effort) leaves such limits out with a warning.
 */
export function checkLimits(limits: ResolvedLimits, options: ApplyOptions): { writes: CgroupWrite[]; warnings: string[] } {
  const writes = limitWrites(limits, { deviceNumber });
  const warnings: string[] = [];
  const usable: CgroupWrite[] = [];
  for (const w of writes) {
    const reason = unavailableReason(w.controller, options.host, options.enableFailures);
    if (!reason) {
      usable.push(w);
      continue;
    }
    if (!options.bestEffort) {
      throw new CgroupControllerUnavailable(w.controller, reason, w.field, options.container === undefined ? undefined : { container: options.container });
    }
    warnings.push(`limit ${w.field} not applied: ${reason}`);
  }
  return { writes: usable, warnings };
}

/**
 * Checks every limit against the host first (nothing is written when one is
 * refused), then writes them into `dir`. Returns warnings for limits skipped
 * in best-effort mode.
 */
export function applyLimits(dir: string, limits: ResolvedLimits, options: ApplyOptions): string[] {
  const { writes: usable, warnings } = checkLimits(limits, options);
  for (const w of usable) {
    const path = join(dir, w.file);
    try {
      writeFileSync(path, w.value);
    } catch (e) {
      throw new HostError(`${w.field}: write ${JSON.stringify(w.value)} to \`${path}\``, codeOf(e), {
        path,
        syscall: "write",
        ...(options.container === undefined ? {} : { container: options.container }),
      });
    }
  }
  return warnings;
}

/**
 * Hands the container's cgroup to its root user (cgroup v2 delegation): the
 * directory and the delegatable files are chowned to the host ids the
 * container's root maps to, so the container can build its own tree below
 * (systemd does) but cannot change its own limits.
 */
export function delegate(dir: string, uid: number, gid: number, files: readonly string[]): void {
  chownSync(dir, uid, gid);
  for (const f of files) {
    try {
      chownSync(join(dir, f), uid, gid);
    } catch (e) {
      if (codeOf(e) !== "ENOENT") throw new HostError(`delegate \`${join(dir, f)}\``, codeOf(e), { path: join(dir, f), syscall: "chown" });
    }
  }
}
