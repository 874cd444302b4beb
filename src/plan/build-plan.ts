/**
 * ResolvedConfig -> the ordered list of operations the native child runs.
 * Pure: no file system, no kernel. The order is the container's setup
 * sequence, and each ordering constraint is explained where it matters.
 * @module
 */
import { DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS, RLIMIT_NUMBERS } from "../config/constants.js";
import type { IdMap, ResolvedConfig } from "../config/schema.js";
import type { RootfsRecord } from "../rootfs/record.js";
import { idMapLine } from "../linux/ids.js";
import type { EffectiveConfig } from "./effective.js";
import { capabilitiesDropped, HOST_ROOT_CAP_DROP } from "../config/defaults.js";
import { capabilityMask } from "../linux/caps.js";
import type { SpawnLock } from "../native/binding.js";
import { CLONE, MOUNT_ATTR, MS, type Op } from "./ops.js";
import { lxcfsBinds } from "./lxcfs.js";
import { procSysOps, sysctlOps, sysfsReadonly } from "./proc-sys.js";
import { rootfsPlan } from "./rootfs.js";
import { buildSeccompFilter, type SeccompArch } from "./seccomp.js";
import { buildInterceptFilter } from "./seccomp-notify.js";
import { compileSeccompProfile } from "./seccomp-profile.js";

export interface InitPlanInput {
  name: string;
  config: EffectiveConfig;
  rootfs: RootfsRecord;
  stateDir: string;
  /** The id range, when the container has a user namespace. */
  idmap: IdMap | null;
  /** Host fds that become the init's stdin, stdout, stderr. */
  stdio: [number, number, number];
  /** Host fds passed through at the same number. */
  keepFds?: number[];
  /**
   * A host fd (the hold fifo, container/hold.ts) on which the init waits
   * for a byte right before its program's execve: set up, not yet started.
   * Open in the child until then, and never passed to the program.
   */
  holdFd?: number;
  /** Binds warren adds (a generated /etc/resolv.conf): optional, read-write files. */
  extraBinds?: { source: string; target: string }[];
  /**
   * The host path of the pty slave the init has as stdin, bound as
   * `/dev/console` (from the host's devpts, like LXC does).
   */
  console?: string;
  /**
   * A host directory bound read-only at `/run/host` on a fresh tmpfs `/run`
   * (systemd's container interface: `container-manager`, and the `notify`
   * socket named by $NOTIFY_SOCKET when `notify` is set).
   */
  runHost?: { dir: string; notify: boolean };
  /**
   * Block devices whose filesystem is mounted at `target` (`disk` devices):
   * the parent mounts each detached and passes it with "go", after the
   * config's mounts.
   */
  fsMounts?: { source: string; fstype: string; target: string; readonly: boolean }[];
  /** Whether each bind source is a directory (else a file); missing optional sources are left out. */
  bindSourceIsDir: (source: string) => boolean | undefined;
  arch?: SeccompArch;
  /** With `security.intercept`: a host fd connected to the monitor, for the listener. */
  interceptSocket?: number;
  /** A connected unix socket (host fd): the init's stdio is a pty of the container's own devpts, whose master goes there. */
  terminalSocket?: number;
}

/** A plan as a container keeps it between starts: its steps may be gone, its encoding stays. */
export type CachedPlan = Omit<SpawnPlan, "ops"> & { ops: Op[] | undefined };

export interface SpawnPlan {
  ops: Op[];
  cloneFlags: number;
  uidMap?: string;
  gidMap?: string;
  /**
   * Read-only and idmapped host binds the parent mounts where the kernel
   * locks them (`SpawnOptions.lock`); the plan's open-tree ops take them
   * from there.
   */
  lock?: SpawnLock;
}

const UNLIMITED = 0xffffffffffffffffn;


/** The keyring's calls (not namespaced: denied by default). */
const KEYRING_CALLS: readonly string[] = ["keyctl", "add_key", "request_key"];

/** Filters by profile: containers of one host mostly share a profile, and building one costs ~0.2 ms. */
const seccompCache = new Map<string, Buffer>();
function seccompFilter(deny: readonly string[], errno: number, enosys: readonly string[], arch?: SeccompArch): Buffer {
  const key = `${arch ?? process.arch}:${errno}:${deny.join(",")}:${enosys.join(",")}`;
  let f = seccompCache.get(key);
  if (!f) {
    f = buildSeccompFilter({ deny, errno, enosys }, arch);
    if (seccompCache.size > 64) seccompCache.clear();
    seccompCache.set(key, f);
  }
  return f;
}

/** Calls denied whatever the seccomp config says, for a container whose root is the host's. */
function hostRootGuard(hostRoot: boolean, confined: boolean): string[] {
  return [
    // Without a user namespace root could detach the eBPF device program
    // from its own cgroup: bpf(2) is denied there, privileged or not.
    ...(hostRoot ? ["bpf"] : []),
    // The kernel log and system-wide perf events are refused without
    // CAP_SYSLOG/CAP_PERFMON only while the host's dmesg_restrict and
    // perf_event_paranoid say so; Docker's profile denies both outright.
    ...(confined ? ["syslog", "perf_event_open"] : []),
  ];
}

/** The standard character devices of a container's /dev. */
export const STANDARD_DEVICES: readonly { path: string; major: number; minor: number }[] = [
  { path: "/dev/null", major: 1, minor: 3 },
  { path: "/dev/zero", major: 1, minor: 5 },
  { path: "/dev/full", major: 1, minor: 7 },
  { path: "/dev/random", major: 1, minor: 8 },
  { path: "/dev/urandom", major: 1, minor: 9 },
  { path: "/dev/tty", major: 5, minor: 0 },
];

/** The namespaces a container makes of its own (a shared one is joined, see `sharedNamespaces`). */
export function cloneFlagsOf(ns: ResolvedConfig["namespaces"]): number {
  return (
    CLONE.NEWNS |
    (ns.user ? CLONE.NEWUSER : 0) |
    (ns.pid ? CLONE.NEWPID : 0) |
    (ns.net === true ? CLONE.NEWNET : 0) |
    (ns.uts === true ? CLONE.NEWUTS : 0) |
    (ns.ipc === true ? CLONE.NEWIPC : 0) |
    (ns.cgroup ? CLONE.NEWCGROUP : 0) |
    (ns.time ? CLONE.NEWTIME : 0)
  );
}


export type SharedNamespace = Exclude<ResolvedConfig["namespaces"]["net"], boolean>;

/** The namespaces a container joins (`namespaces.net: {container: "a"}` …), with their CLONE_NEW* flag. */
export function sharedNamespaces(ns: ResolvedConfig["namespaces"]): { kind: "net" | "ipc" | "uts"; flag: number; target: SharedNamespace }[] {
  const out: ReturnType<typeof sharedNamespaces> = [];
  for (const [kind, flag] of [["net", CLONE.NEWNET], ["ipc", CLONE.NEWIPC], ["uts", CLONE.NEWUTS]] as const) {
    const v = ns[kind];
    if (typeof v === "object") out.push({ kind, flag, target: v });
  }
  return out;
}

function makedev(major: number, minor: number): number {
  return ((major & 0xfff) << 8) | (minor & 0xff) | ((minor & ~0xff) << 12);
}

function rlimitValue(v: number | "unlimited"): bigint {
  return v === "unlimited" ? UNLIMITED : BigInt(v);
}

/** The tail every process started in a container shares: privileges, credentials, stdio, exec. */
export function processTail(p: {
  config: Pick<ResolvedConfig, "capabilities" | "noNewPrivileges" | "seccomp" | "rlimits" | "privileged" | "nesting" | "security">;
  user: { uid: number; gid: number; groups: number[] };
  cwd: string;
  argv: string[];
  env: string[];
  stdio: [number, number, number];
  keepFds: number[];
  controllingTerminal: boolean;
  parentDeathSignal?: number;
  /** See InitPlanInput.holdFd (kept open by close-fds; warren-exec closes it). */
  holdFd?: number;
  arch?: SeccompArch;
  /** No user namespace: the container's root is the host's. */
  hostRoot: boolean;
  /** A host fd connected to the container's monitor: where the intercept filter's listener goes. */
  interceptSocket?: number;
  /** A host fd, a connected unix socket: the process gets a pty of the container's (the `terminal` step) instead of `stdio`, and the master goes there. */
  terminalSocket?: number;
}): Op[] {
  const ops: Op[] = [];
  for (const [name, value] of Object.entries(p.config.rlimits)) {
    if (!value) continue;
    ops.push({
      kind: "setrlimit",
      name,
      resource: RLIMIT_NUMBERS[name as keyof typeof RLIMIT_NUMBERS],
      soft: rlimitValue(value.soft),
      hard: rlimitValue(value.hard),
    });
  }
  // Root without a user namespace is the host's root: unless the config
  // says `privileged`, it keeps only what Docker gives a container's root
  // (docs/security.md, "Containers without a user namespace").
  const confined = p.hostRoot && !p.config.privileged;
  const drop = [...new Set([...capabilitiesDropped(p.config.capabilities), ...(confined ? HOST_ROOT_CAP_DROP : [])])];
  if (drop.length) ops.push({ kind: "drop-capabilities", mask: capabilityMask(drop), names: drop });
  if (p.config.noNewPrivileges) ops.push({ kind: "no-new-privileges" });
  // The filters go in while still root in the namespace (CAP_SYS_ADMIN
  // there allows them without no_new_privs); they deny nothing setup needs.
  // The intercept filter first: its calls wait for the monitor unless the
  // deny list refuses them (the kernel takes ERRNO over USER_NOTIF,
  // whatever the order).
  const intercept = buildInterceptFilter(p.config.security?.intercept ?? {}, p.arch);
  if (intercept) {
    if (p.interceptSocket === undefined) throw new Error("security.intercept needs the monitor's socket");
    ops.push({ kind: "seccomp-listener", filter: intercept, socket: p.interceptSocket });
  }
  const seccomp = p.config.seccomp;
  let profile: Op | undefined;
  if (seccomp && "profile" in seccomp) {
    // An OCI profile replaces the deny list. Without a user namespace the
    // guard calls below still go in, as a filter of their own: the kernel
    // runs both and the stricter answer wins.
    const guard = hostRootGuard(p.hostRoot, confined);
    if (guard.length) ops.push({ kind: "seccomp", filter: seccompFilter(guard, 1, [], p.arch) });
    const compiled = compileSeccompProfile(seccomp.profile, { at: "seccomp.profile", ...(p.arch ? { arch: p.arch } : {}) });
    profile = { kind: "seccomp", filter: compiled.filter, flags: compiled.flags };
    // A profile may deny what the steps after it need (setresuid, chdir,
    // dup3…), so like runc it goes in as late as it can: right before the
    // exec with no_new_privs (which lets an unprivileged task install a
    // filter), else here, while root still has CAP_SYS_ADMIN.
    if (!p.config.noNewPrivileges) {
      ops.push(profile);
      profile = undefined;
    }
  } else if (seccomp) {
    const deny = [...seccomp.deny, ...hostRootGuard(p.hostRoot, confined)].filter((name, i, all) => all.indexOf(name) === i);
    // A nested runtime (runc) goes on without a session keyring when the
    // keyring calls are "not implemented", but fails on EPERM (LXC's rule).
    const enosys = p.config.nesting ? KEYRING_CALLS : [];
    ops.push({ kind: "seccomp", filter: seccompFilter(deny, seccomp.errno, enosys, p.arch) });
  }
  ops.push({ kind: "set-credentials", uid: p.user.uid, gid: p.user.gid, groups: p.user.groups });
  // After the credentials: changing them clears the parent-death signal.
  if (p.parentDeathSignal) ops.push({ kind: "parent-death-signal", signal: p.parentDeathSignal });
  ops.push({ kind: "chdir", path: p.cwd });
  ops.push(p.terminalSocket !== undefined ? { kind: "terminal", socket: p.terminalSocket } : { kind: "stdio", fds: p.stdio });
  // A session of its own: a terminal's ^C for Node must not reach the container.
  ops.push({ kind: "setsid", controllingTerminal: p.controllingTerminal || p.terminalSocket !== undefined });
  ops.push({ kind: "close-fds", keep: p.keepFds });
  if (profile) ops.push(profile);
  ops.push({ kind: "exec", file: p.argv[0]!, argv: p.argv, env: p.env, ...(p.holdFd !== undefined ? { holdFd: p.holdFd } : {}) });
  return ops;
}

function inheritedFds(keep: number[]): Op {
  return { kind: "close-inherited-fds", keep: [...new Set(keep.filter((fd) => fd > 2))] };
}

/** `KEY=value` strings from a config's env with warren's defaults below it. */
export function environment(env: Record<string, string>, extra?: Record<string, string>): string[] {
  const merged: Record<string, string> = {
    PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    HOME: "/root",
    TERM: "xterm",
    container: "warren",
    ...env,
    ...extra,
  };
  return Object.entries(merged).map(([k, v]) => `${k}=${v}`);
}

export function buildInitPlan(input: InitPlanInput): SpawnPlan {
  const { config: c, idmap } = input;
  const ns = c.namespaces;
  const keepFds = input.keepFds ?? [];
  // 0. The child starts with a copy of Node's fd table: close what the
  //    container was not given before any path is resolved, so no
  //    `/proc/self/fd/N` can lead to a host directory (CVE-2024-21626).
  const held = input.holdFd !== undefined ? [input.holdFd] : [];
  const ops: Op[] = [inheritedFds([...input.stdio, ...keepFds, ...held, ...socketsOf(input)])];

  // 1. Become root of the new user namespace. The parent mapped container
  //    uid 0 to the allocated host id, but this process still runs as host
  //    root, which is unmapped inside: files it created would fail with
  //    EOVERFLOW.
  if (ns.user) ops.push({ kind: "set-credentials", uid: 0, gid: 0, groups: [] });

  // 2. Nothing mounted from here on may propagate back to the host.
  ops.push({ kind: "mount", target: "/", flags: MS.REC | MS.PRIVATE });

  // 3. The root, and detached copies of every host source, taken while the
  //    host tree is still reachable.
  //    A read-only bind made in this user namespace is not locked: its root
  //    could remount it read-write. With a user namespace, the parent stages
  //    each read-only or idmapped host source in a mount namespace of the
  //    host's user namespace (idmapped through a user namespace with this
  //    container's maps, which only it may make) and clones this process
  //    from there; the kernel locks the copies' flags (mount_namespaces(7)),
  //    and open_tree keeps the lock.
  let slot = 0;
  const lock: SpawnLock = { dir: `${input.stateDir}/locked`, binds: [] };
  /** Stages `bind` and opens its copy into a new slot. */
  const takeStaged = (bind: SpawnLock["binds"][number], optional = false): number => {
    const s = slot++;
    lock.binds.push(bind);
    ops.push({ kind: "open-tree", source: `${lock.dir}/${lock.binds.length - 1}`, slot: s, recursive: bind.recursive, optional });
    return s;
  };
  /** open_tree now; returns the ops that attach it after pivot_root. */
  const takeHost = (
    source: string,
    target: string,
    o: { recursive: boolean; isDir: boolean; readonly: boolean; idmap?: boolean; optional?: boolean; create?: boolean; sysfs?: boolean },
  ): Op[] => {
    const optional = o.optional ?? false;
    const create = o.create ?? true;
    const idmap = o.idmap ?? false;
    const staged = (o.readonly || idmap || o.sysfs === true) && ns.user;
    let s: number;
    if (staged) {
      s = takeStaged({ source, recursive: o.recursive, isDir: o.isDir, readonly: o.readonly, idmap, ...(o.sysfs ? { sysfs: true } : {}) }, optional);
    } else {
      s = slot++;
      ops.push({ kind: "open-tree", source, slot: s, recursive: o.recursive, optional });
    }
    const attach: Op[] = [{ kind: "move-mount", slot: s, source, target, mkdir: create && o.isDir, mkfile: create && !o.isDir, optional }];
    if (o.readonly && !staged) attach.push({ kind: "mount-setattr", target, set: MOUNT_ATTR.RDONLY, recursive: o.recursive, optional });
    return attach;
  };
  const r = input.rootfs;
  // Staged roots: the image's layer or the directory when idmapped (a
  // shifted copy, where the image's filesystem cannot be idmapped, is used
  // as it is), and a read-only directory, which must stay so. A lower layer
  // is only read.
  const stageRoot =
    !ns.user ? undefined
    : r.kind === "image" ? ("shifted" in r && r.shifted ? undefined : { source: r.lower, idmap: true, readonly: r.storage !== "btrfs" })
    : r.kind === "directory" && (r.idmap || r.mode === "ro") ? { source: r.path, idmap: r.idmap === true, readonly: r.mode !== "rw" }
    : undefined;
  const rootSlot = stageRoot ? takeStaged({ ...stageRoot, recursive: true, isDir: true }) : undefined;
  const rp = rootfsPlan(r, input.stateDir, ns.user, rootSlot);
  ops.push(...rp.pre);
  const rootBinds = rp.hostBinds.flatMap((b) => takeHost(b.source, b.target, { ...b, isDir: true }));
  // mknod is refused inside a user namespace, so there the host's device
  // nodes are bound in instead.
  const deviceBinds = ns.user
    ? STANDARD_DEVICES.flatMap((d) => takeHost(d.path, d.path, { recursive: false, isDir: false, readonly: false }))
    : [];
  // The console: the init's pty slave, taken by its path (a mount reached
  // through an fd opened outside this mount namespace cannot be cloned).
  const consoleBind = input.console ? takeHost(input.console, "/dev/console", { recursive: false, isDir: false, readonly: false }) : [];
  const runHostBind = input.runHost ? takeHost(input.runHost.dir, "/run/host", { recursive: false, isDir: true, readonly: true }) : [];
  const extraBinds = (input.extraBinds ?? []).flatMap((b) =>
    takeHost(b.source, b.target, { recursive: false, isDir: false, readonly: false, optional: true, create: false }),
  );
  // lxcfs's views go over the container's proc and sysfs files once those
  // are mounted (step 5), read-only: lxcfs passes a write to
  // /sys/devices/system/cpu/* on to the host's, as host root.
  const lxcfsViews = c.lxcfs
    ? lxcfsBinds(c.lxcfs).flatMap((b) => takeHost(b.source, b.target, { recursive: false, isDir: b.isDir, readonly: true, optional: true, create: false }))
    : [];
  const userBinds = new Map<number, Op[]>();
  c.mounts.forEach((m, i) => {
    if (m.type !== "bind") return;
    const isDir = input.bindSourceIsDir(m.source);
    if (isDir === undefined) return; // optional and missing
    userBinds.set(i, takeHost(m.source, m.target, { ...m, isDir }));
  });
  // Devices' filesystems on block devices: mounted by the staging thread
  // (host root: a user namespace may not mount a block device), where the
  // kernel locks their flags, and attached after the config's own mounts.
  const fsAttach: Op[] = (input.fsMounts ?? []).map((f) => {
    const slot = takeStaged({ source: f.source, recursive: false, isDir: true, readonly: f.readonly, idmap: false, fstype: f.fstype });
    return { kind: "move-mount", slot, source: f.source, target: f.target, mkdir: true, mkfile: false, noSymlinks: true };
  });

  // 4. proc and sysfs before pivot_root: a user namespace may mount them only
  //    while a full host instance is visible in its mount namespace. Targets
  //    resolve inside the new root so a symlink there cannot redirect them;
  //    a rootfs without the directory gets one (as LXC does).
  const procSys: Op[] = [];
  if (ns.pid) {
    ops.push({ kind: "mount", source: "proc", target: "proc", fstype: "proc", flags: MS.NOSUID | MS.NODEV | MS.NOEXEC, inRoot: rp.root, mkdir: true });
  } else {
    procSys.push(...takeHost("/proc", "/proc", { recursive: true, isDir: true, readonly: false }));
  }
  const ownSysfs = ns.net === true || !ns.user;
  if (ownSysfs) {
    // Read-write only when a part of it is to stay so (proc-sys.ts): a
    // read-only superblock could not be made writable below.
    const ro = sysfsReadonly(c) ? MS.RDONLY : 0;
    ops.push({ kind: "mount", source: "sysfs", target: "sys", fstype: "sysfs", flags: MS.NOSUID | MS.NODEV | MS.NOEXEC | ro, inRoot: rp.root, mkdir: true });
  } else if (ns.net !== false) {
    // A joined network namespace belongs to another user namespace, whose
    // sysfs this one may not mount: the staging thread that joined it
    // mounts one, read-only (native/lock-mounts.h).
    procSys.push(...takeHost("sysfs", "/sys", { recursive: false, isDir: true, readonly: true, sysfs: true }));
  } else {
    // sysfs belongs to the network namespace's owner: sharing the host's
    // network means sharing its /sys, read-only unless `sys: "rw"`.
    procSys.push(...takeHost("/sys", "/sys", { recursive: true, isDir: true, readonly: c.sys !== "rw" }));
  }

  // 5. Into the new root. Everything below resolves inside it.
  ops.push({ kind: "pivot-root", root: rp.root });
  ops.push(...procSys, ...rootBinds);

  // 6. /dev: a tmpfs with the standard nodes, its own devpts, shm, mqueue.
  ops.push({ kind: "mount", source: "tmpfs", target: "/dev", fstype: "tmpfs", flags: MS.NOSUID | MS.STRICTATIME, data: "mode=755,size=65536k", mkdir: true });
  if (c.nesting) {
    // Fully visible instances for nested runtimes (Incus's /dev/.lxc):
    // the kernel lets a user namespace mount a new proc or sysfs only
    // while one with nothing mounted over it is in its mount namespace,
    // and the container's own get masks and lxcfs views (steps 6 to 9).
    // So these are mounted now, before any of those, and nothing ever
    // goes over them.
    if (ns.pid) ops.push({ kind: "mount", source: "proc", target: "/dev/.lxc/proc", fstype: "proc", flags: MS.NOSUID | MS.NODEV | MS.NOEXEC, mkdir: true });
    if (ownSysfs) ops.push({ kind: "mount", source: "sysfs", target: "/dev/.lxc/sys", fstype: "sysfs", flags: MS.NOSUID | MS.NODEV | MS.NOEXEC, mkdir: true });
  }
  ops.push(...lxcfsViews);
  if (ns.user) {
    ops.push(...deviceBinds);
  } else {
    for (const d of STANDARD_DEVICES) ops.push({ kind: "mknod", path: d.path, mode: 0o020666, dev: makedev(d.major, d.minor) });
  }
  ops.push({ kind: "mount", source: "devpts", target: "/dev/pts", fstype: "devpts", flags: MS.NOSUID | MS.NOEXEC, data: "newinstance,ptmxmode=0666,mode=0620,gid=5", mkdir: true });
  ops.push({ kind: "symlink", target: "pts/ptmx", path: "/dev/ptmx" });
  ops.push({ kind: "mount", source: "shm", target: "/dev/shm", fstype: "tmpfs", flags: MS.NOSUID | MS.NODEV, data: "mode=1777,size=65536k", mkdir: true });
  // mqueue belongs to the IPC namespace's owner: a joined one of another
  // user namespace cannot be mounted here (mq_open still reaches its queues).
  if (ns.ipc === true || (ns.ipc !== false && !ns.user)) ops.push({ kind: "mount", source: "mqueue", target: "/dev/mqueue", fstype: "mqueue", flags: MS.NOSUID | MS.NODEV | MS.NOEXEC, mkdir: true });
  for (const [target, path] of [
    ["/proc/self/fd", "/dev/fd"],
    ["/proc/self/fd/0", "/dev/stdin"],
    ["/proc/self/fd/1", "/dev/stdout"],
    ["/proc/self/fd/2", "/dev/stderr"],
  ] as const) {
    ops.push({ kind: "symlink", target, path });
  }
  ops.push(...consoleBind);
  // /run: a tmpfs of the container's own (systemd expects one), with
  // warren's read-only /run/host in it.
  if (input.runHost) {
    ops.push({ kind: "mount", source: "tmpfs", target: "/run", fstype: "tmpfs", flags: MS.NOSUID | MS.NODEV, data: "mode=755,size=20%,nr_inodes=800k", mkdir: true });
    ops.push(...runHostBind);
  }

  // 7. warren's own files, then the user's mounts, in their order. A user's
  //    target may hold no symlink (LXC refuses them too): one inside the
  //    root would still put the mount somewhere the config does not say.
  ops.push(...extraBinds);
  const strict = (o: Op): Op => (o.kind === "move-mount" || o.kind === "mount" ? { ...o, noSymlinks: true } : o);
  c.mounts.forEach((m, i) => {
    if (m.type === "bind") {
      ops.push(...(userBinds.get(i) ?? []).map(strict));
    } else {
      const data = [`mode=${m.mode.toString(8).padStart(4, "0")}`, ...(m.size !== undefined ? [`size=${m.size}`] : [])].join(",");
      ops.push({ kind: "mount", source: "tmpfs", target: m.target, fstype: "tmpfs", flags: MS.NOSUID | MS.NODEV | (m.readonly ? MS.RDONLY : 0), data, mkdir: true, noSymlinks: true });
    }
  });
  ops.push(...fsAttach);

  // 8. cgroup2, rooted at the container's cgroup by the cgroup namespace.
  //    Read-only for root without a user namespace unless privileged: its
  //    cgroup's files are host root's, so it could raise its own limits
  //    (without CAP_SYS_ADMIN it cannot remount it).
  if (ns.cgroup) {
    const readonly = !ns.user && !c.privileged ? MS.RDONLY : 0;
    ops.push({ kind: "mount", source: "cgroup2", target: "/sys/fs/cgroup", fstype: "cgroup2", flags: MS.NOSUID | MS.NODEV | MS.NOEXEC | readonly, optional: true });
  }

  // 9. The `sysctls`, while /proc/sys is writable; then what the container
  //    must not read or change: /proc/sys and /sys by their modes, the
  //    masked and read-only paths (a user's list can only add to the modes).
  ops.push(...sysctlOps(c.sysctls), ...procSysOps(c, ownSysfs));
  for (const p of c.maskedPaths ?? DEFAULT_MASKED_PATHS) ops.push({ kind: "mask-path", path: p });
  for (const p of c.readonlyPaths ?? DEFAULT_READONLY_PATHS) {
    ops.push({ kind: "mount", source: p, target: p, flags: MS.BIND | MS.REC, optional: true });
    ops.push({ kind: "mount-setattr", target: p, set: MOUNT_ATTR.RDONLY, recursive: true, optional: true });
  }
  ops.push(...rp.finish);

  // 10. Identity and network.
  if (ns.uts === true) {
    ops.push({ kind: "sethostname", name: c.hostname });
    if (c.domainname) ops.push({ kind: "setdomainname", name: c.domainname });
  }
  if (ns.net === true) ops.push({ kind: "link-up", name: "lo" });

  // 11. Privileges, credentials, stdio, exec.
  ops.push(
    ...processTail({
      config: c,
      user: c.user,
      cwd: c.cwd,
      argv: c.init,
      env: environment(c.env, input.runHost?.notify ? { NOTIFY_SOCKET: "/run/host/notify" } : undefined),
      stdio: input.stdio,
      keepFds: [...keepFds, ...held],
      ...(input.holdFd !== undefined ? { holdFd: input.holdFd } : {}),
      // Not even on a console: as the kernel starts init, /dev/console is
      // no one's controlling terminal, so the init's getty (busybox
      // askfirst, agetty) can make it its session's.
      controllingTerminal: false,
      parentDeathSignal: c.ephemeral ? 9 : undefined,
      arch: input.arch,
      hostRoot: !ns.user,
      ...(input.interceptSocket !== undefined ? { interceptSocket: input.interceptSocket } : {}),
      ...(input.terminalSocket !== undefined ? { terminalSocket: input.terminalSocket } : {}),
    }),
  );

  const plan: SpawnPlan = {
    ops,
    cloneFlags: cloneFlagsOf(ns),
    ...(lock.binds.length ? { lock } : {}),
  };
  if (ns.user && idmap) {
    plan.uidMap = idMapLine(idmap, "uid");
    plan.gidMap = idMapLine(idmap, "gid");
  }
  return plan;
}

export interface ExecPlanInput {
  config: Omit<ResolvedConfig, "lxcfs">;
  /** The init's pidfd (a host fd the intermediate child inherits). */
  initPidfd: number;
  argv: string[];
  env: string[];
  cwd: string;
  user: { uid: number; gid: number; groups: number[] };
  stdio: [number, number, number];
  tty: boolean;
  arch?: SeccompArch;
  /**
   * With `security.intercept`: a host fd connected to the container's
   * monitor. The process gets a filter (and a listener) of its own: a
   * filter is inherited only by a filtered process's children, and an
   * exec'd process is Node's.
   */
  interceptSocket?: number;
  /** A connected unix socket (host fd): a pty of the container's own devpts instead of `stdio`, its master sent there. */
  terminalSocket?: number;
}

/** The sockets a plan's steps use (kept open by the first step, closed by theirs). */
function socketsOf(input: { interceptSocket?: number; terminalSocket?: number }): number[] {
  return [input.interceptSocket, input.terminalSocket].filter((fd): fd is number => fd !== undefined);
}

/** Joining a running container: setns through the init's pidfd, fork into its pid namespace, then the shared tail. */
export function buildExecPlan(input: ExecPlanInput): SpawnPlan {
  const ns = input.config.namespaces;
  // Every namespace the container has of its own; joining one we already
  // share (the user namespace especially) is an error.
  const flags = cloneFlagsOf(ns);
  // The namespaces it shares with another container first, while still
  // host root: that one's owner is another user namespace, over which the
  // container's root has no privilege once joined.
  const shared = sharedNamespaces(ns).reduce((f, s) => f | s.flag, 0);
  const ops: Op[] = [
    inheritedFds([input.initPidfd, ...input.stdio, ...socketsOf(input)]),
    ...(shared ? [{ kind: "setns" as const, fd: input.initPidfd, flags: shared }] : []),
    { kind: "setns", fd: input.initPidfd, flags },
    // Joining a user namespace leaves the process host root, which is
    // unmapped there, with every capability of the namespace. Becoming the
    // container's root first (as LXC's attach does) is what makes the later
    // switch to a non-root user a root -> non-root change, which clears the
    // permitted set; from host root it would survive to execve, and with
    // no_new_privs a file capability would still be granted (permitted ∩ old).
    ...(ns.user ? [{ kind: "set-credentials" as const, uid: 0, gid: 0, groups: [] }] : []),
    { kind: "fork-into-namespaces" },
    ...processTail({
      config: input.config,
      user: input.user,
      cwd: input.cwd,
      argv: input.argv,
      env: input.env,
      stdio: input.stdio,
      keepFds: [],
      controllingTerminal: input.tty,
      arch: input.arch,
      hostRoot: !ns.user,
      ...(input.interceptSocket !== undefined ? { interceptSocket: input.interceptSocket } : {}),
      ...(input.terminalSocket !== undefined ? { terminalSocket: input.terminalSocket } : {}),
    }),
  ];
  return { ops, cloneFlags: 0 };
}
