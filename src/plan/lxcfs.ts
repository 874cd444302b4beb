/**
 * lxcfs: a FUSE filesystem (Debian's `lxcfs` package, run as a host service)
 * whose `/proc/meminfo`, `/proc/uptime`, … answer with the values of the
 * process reading them: its cgroup's limits and usage, its pid namespace's
 * start time. Bound over a container's own, they make `free`, `top` and
 * `uptime` show the container rather than the host (what LXD and Incus do).
 * warren runs no daemon of its own: it finds the mount in the host's
 * mountinfo and binds what is there. Pure: the caller reads the host.
 * @module
 */
import { parseMountInfo } from "../cgroup/mountinfo.js";

/** The files and directories lxcfs may serve, as paths in the container (and under its mount). */
export const LXCFS_PATHS: readonly string[] = [
  "/proc/meminfo",
  "/proc/cpuinfo",
  "/proc/stat",
  "/proc/uptime",
  // Without lxcfs's --enable-loadavg it passes the host's through: what the
  // container's own /proc/loadavg says anyway.
  "/proc/loadavg",
  "/proc/diskstats",
  "/proc/swaps",
  // Only when lxcfs was built with it (5.0 is): CPUs online per cpuset.
  "/sys/devices/system/cpu",
];

/** The lxcfs views a container gets: the mount they come from and the container paths bound from it. */
export interface LxcfsViews {
  /** Where lxcfs is mounted on the host (from mountinfo, usually `/var/lib/lxcfs`). */
  mount: string;
  /** Container paths bound read-only from the same path under `mount`. */
  paths: string[];
}

/** What the host has: an answering lxcfs mount and what it serves, or why there is none. */
export type LxcfsProbe = { ok: true; views: LxcfsViews } | { ok: false; reason: string; errno: string };

/** The mount point of the first whole lxcfs mount (`fuse.lxcfs`, root `/`) in mountinfo text. */
export function findLxcfsMount(mountinfo: string): string | undefined {
  return parseMountInfo(mountinfo).find((e) => e.fsType === "fuse.lxcfs" && e.root === "/")?.mountPoint;
}

/**
 * Probes the host: `stat` says whether a path under the mount exists
 * (`true`), is absent (`false`) or fails otherwise (its errno: ENOTCONN
 * when the daemon died and left its mount behind).
 */
export function probeLxcfs(mountinfo: string, stat: (path: string) => boolean | string): LxcfsProbe {
  const mount = findLxcfsMount(mountinfo);
  if (mount === undefined) {
    return { ok: false, errno: "ENOENT", reason: "no lxcfs mount (fs type fuse.lxcfs) in the host's mountinfo; is the lxcfs service running?" };
  }
  // One probe that answers: a dead daemon's mount fails every lookup.
  const alive = stat(`${mount}/proc`);
  if (alive !== true) {
    const errno = alive === false ? "ENOENT" : alive;
    return { ok: false, errno, reason: `the lxcfs mount \`${mount}\` does not answer (\`${mount}/proc\`: ${errno})` };
  }
  return { ok: true, views: { mount, paths: LXCFS_PATHS.filter((p) => stat(mount + p) === true) } };
}

/**
 * The views a container with setting `setting` gets, given the probe;
 * `false` when none. The caller turns `true` without lxcfs into an error
 * (see {@link lxcfsMissing}): the effective config itself stays computable.
 */
export function resolveLxcfs(setting: boolean | "auto", probe: LxcfsProbe | undefined): LxcfsViews | false {
  if (setting === false || !probe?.ok) return false;
  return probe.views;
}

/** Why a container asking for `lxcfs: true` cannot start, or undefined when it can. */
export function lxcfsMissing(setting: boolean | "auto", probe: LxcfsProbe): { reason: string; errno: string } | undefined {
  return setting === true && !probe.ok ? { reason: probe.reason, errno: probe.errno } : undefined;
}

/** The read-only binds of a container's lxcfs views: host source, container target, and whether it is a directory. */
export function lxcfsBinds(views: LxcfsViews): { source: string; target: string; isDir: boolean }[] {
  return views.paths.map((p) => ({ source: views.mount + p, target: p, isDir: !p.startsWith("/proc/") }));
}
