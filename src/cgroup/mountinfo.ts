/**
 * Finding cgroup v2 in `/proc/self/mountinfo`. warren never assumes
 * `/sys/fs/cgroup`: on a hybrid host cgroup2 lives at
 * `/sys/fs/cgroup/unified` and the v1 hierarchies must not be touched.
 * @module
 */

export interface MountInfoEntry {
  mountId: number;
  parentId: number;
  /** Root of the mount within its filesystem. */
  root: string;
  mountPoint: string;
  fsType: string;
  source: string;
  superOptions: string;
}

/** Undo mountinfo's octal escapes (`\040` for a space). */
function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

export function parseMountInfo(text: string): MountInfoEntry[] {
  const out: MountInfoEntry[] = [];
  for (const line of text.split("\n")) {
    if (!line) continue;
    const sep = line.indexOf(" - ");
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(" ");
    const right = line.slice(sep + 3).split(" ");
    out.push({
      mountId: Number(left[0]),
      parentId: Number(left[1]),
      root: unescape(left[3] ?? ""),
      mountPoint: unescape(left[4] ?? ""),
      fsType: right[0] ?? "",
      source: unescape(right[1] ?? ""),
      superOptions: right[2] ?? "",
    });
  }
  return out;
}

/**
 * The cgroup2 mount warren uses: the one whose root is the hierarchy's root,
 * preferring `/sys/fs/cgroup`, then `/sys/fs/cgroup/unified`, then the first.
 */
export function findCgroup2(entries: readonly MountInfoEntry[]): MountInfoEntry | undefined {
  const v2 = entries.filter((e) => e.fsType === "cgroup2" && e.root === "/");
  return (
    v2.find((e) => e.mountPoint === "/sys/fs/cgroup") ??
    v2.find((e) => e.mountPoint === "/sys/fs/cgroup/unified") ??
    v2[0]
  );
}

/** Controllers bound to cgroup v1 hierarchies (the `cgroup` filesystem type). */
export function v1Controllers(entries: readonly MountInfoEntry[]): string[] {
  const known = new Set([
    "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "net_cls", "blkio",
    "perf_event", "net_prio", "hugetlb", "pids", "rdma", "misc",
  ]);
  const out = new Set<string>();
  for (const e of entries) {
    if (e.fsType !== "cgroup") continue;
    for (const opt of e.superOptions.split(",")) if (known.has(opt)) out.add(opt);
  }
  return [...out].sort();
}
