/**
 * What a host needs to run N containers: the kernel features warren uses
 * and the sysctls that cap how many of anything a host can hold. The
 * sysctl values follow LXD/Incus's production-setup guide, scaled with N
 * where the limit is host-wide (pids, neighbour entries, namespaces) and
 * fixed where it is per user (every container's root is its own host uid,
 * so a per-user limit such as `kernel.keys.maxkeys` is per container).
 * Pure data and arithmetic: src/doctor/doctor.ts reads the host against it.
 * @module
 */

export interface SysctlRequirement {
  key: string;
  /** The least value that serves `containers` containers. */
  min: (containers: number) => number;
  /** What runs out when the value is too low. */
  why: string;
}

/** Processes an idle system container holds (systemd, journald, logind, dbus, a getty or two, with room to exec). */
const PIDS_PER_CONTAINER = 32;
/**
 * inotify instances and watches of an idle systemd container, with room
 * (measured: systemd 5 instances, a Debian container's services together
 * under 10; watches below). The kernel charges them to every user namespace
 * up to the host's, so host root's limit is the host-wide one: a host at
 * the default 128 instances stops booting Debian containers at about 24.
 */
const INOTIFY_INSTANCES_PER_CONTAINER = 16;
const INOTIFY_WATCHES_PER_CONTAINER = 256;

export const SYSCTLS: readonly SysctlRequirement[] = [
  {
    key: "kernel.pid_max",
    min: (n) => Math.max(65_536, 32_768 + n * PIDS_PER_CONTAINER),
    why: "every process of every container takes a host pid; fork fails with EAGAIN when they run out",
  },
  {
    key: "kernel.threads-max",
    min: (n) => Math.max(65_536, 32_768 + n * PIDS_PER_CONTAINER),
    why: "threads are counted host-wide as well",
  },
  {
    key: "kernel.keys.maxkeys",
    min: () => 2_000,
    why: "per host uid, so per container: systemd gives each service a session keyring (LXD: 2000)",
  },
  {
    key: "kernel.keys.maxbytes",
    min: () => 2_000_000,
    why: "per host uid, the bytes those keys hold (LXD: 2000000)",
  },
  {
    key: "fs.inotify.max_user_instances",
    min: (n) => Math.max(1_024, n * INOTIFY_INSTANCES_PER_CONTAINER),
    why: "host-wide in effect: an inotify instance made in a container counts against host root too, who made its user namespace; systemd alone keeps about five per container (LXD: 1048576)",
  },
  {
    key: "fs.inotify.max_user_watches",
    min: (n) => Math.max(65_536, n * INOTIFY_WATCHES_PER_CONTAINER),
    why: "host-wide in effect, as instances are: the watches of systemd and its services in every container, and warren's cgroup events watches",
  },
  {
    key: "fs.inotify.max_queued_events",
    min: () => 16_384,
    why: "events queued per inotify instance before they are dropped",
  },
  {
    key: "net.ipv4.neigh.default.gc_thresh3",
    min: (n) => Math.max(1_024, n * 2),
    why: "the host's ARP table holds an entry per container address on a managed bridge; past it, neighbours are dropped (\"neighbour table overflow\")",
  },
  {
    key: "net.ipv6.neigh.default.gc_thresh3",
    min: (n) => Math.max(1_024, n * 2),
    why: "the same for IPv6 neighbours",
  },
  {
    key: "vm.max_map_count",
    min: () => 262_144,
    why: "memory maps per process; large workloads in containers (Elasticsearch, JVMs) need more than the default (LXD: 262144)",
  },
  {
    key: "fs.aio-max-nr",
    min: (n) => Math.max(65_536, n * 128),
    why: "asynchronous I/O contexts host-wide (databases in containers; LXD: 524288)",
  },
  {
    key: "user.max_user_namespaces",
    min: (n) => n * 2 + 64,
    why: "one user namespace per container, more with nesting",
  },
  {
    key: "user.max_net_namespaces",
    min: (n) => n * 2 + 64,
    why: "one network namespace per container, more with nesting",
  },
  {
    key: "user.max_mnt_namespaces",
    min: (n) => n * 2 + 64,
    why: "one mount namespace per container, one more for each file operation in flight",
  },
  {
    key: "user.max_pid_namespaces",
    min: (n) => n * 2 + 64,
    why: "one pid namespace per container, more with nesting",
  },
];

/** A kernel feature warren relies on, with the release that brought it. */
export interface KernelFeature {
  id: string;
  since: [number, number];
  what: string;
  /** Whether a missing feature stops warren (`fail`) or only a feature of it (`warn`). */
  required: boolean;
}

export const KERNEL_FEATURES: readonly KernelFeature[] = [
  { id: "pidfd", since: [5, 3], what: "pidfd_open and pidfd_send_signal: containers are tracked without pid-reuse races", required: true },
  { id: "openat2", since: [5, 6], what: "openat2(RESOLVE_IN_ROOT): every path inside a container is resolved inside its root", required: true },
  { id: "clone3-into-cgroup", since: [5, 7], what: "clone3 with CLONE_INTO_CGROUP: the init starts inside its cgroup", required: true },
  { id: "close-range", since: [5, 9], what: "close_range: no host descriptor reaches a container", required: true },
  { id: "idmapped-mounts", since: [5, 12], what: "mount_setattr(MOUNT_ATTR_IDMAP): images shared between containers without copies", required: true },
  { id: "time-namespace", since: [5, 6], what: "time namespaces (`namespaces.time`)", required: false },
  { id: "fchmodat2", since: [6, 6], what: "fchmodat2(AT_EMPTY_PATH): the files API sets a mode on the file it opened inside the root (pushFile, chmod)", required: false },
];

/** `major.minor` of a `uname -r` string such as `6.18.44-fc-v1045`. */
export function parseKernelRelease(release: string): [number, number] | undefined {
  const m = /^(\d+)\.(\d+)/.exec(release);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

export function atLeast(have: [number, number], want: [number, number]): boolean {
  return have[0] > want[0] || (have[0] === want[0] && have[1] >= want[1]);
}
