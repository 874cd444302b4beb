/**
 * Loads the native addon through node-gyp-build (a local build in
 * `build/Release`, or a prebuilt binary from `prebuilds/`). Tests and
 * embedders may inject their own binding with {@link setBinding}.
 * @module
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

import { NativeLoadError } from "../errors.js";

/** Result of a native spawn: the process, or the step that failed. */
export type SpawnResult =
  | {
      pid: number;
      pidfd: number;
      /** /proc/<pid>/stat field 22, read before the process could be reaped (-1 if unreadable). */
      startTime: number;
    }
  | { error: { opIndex: number; errno: number; detail?: number } };

/** A spawn stopped before "go" (`pause: true`): the child exists, with its namespaces and id maps. */
export interface PausedSpawn {
  pid: number;
  /** Opaque; pass to `resume`. */
  paused: object;
}

/** See `SpawnOptions.lock`. */
export interface SpawnLock {
  dir: string;
  /** `sysfs`: a fresh read-only sysfs of the joined network namespace instead of a bind of `source`. */
  /** `fstype`: `source` is a block device whose filesystem of that type is mounted (read-only with `readonly`). */
  binds: { source: string; recursive: boolean; isDir: boolean; readonly: boolean; idmap: boolean; sysfs?: boolean; fstype?: string }[];
}

/** A namespace to start in instead of a new one: setns(fd, nstype) before the clone. */
export interface SpawnJoin {
  fd: number;
  /** A CLONE_NEW* flag, or several with a pidfd. */
  nstype: number;
}

export interface SpawnOptions {
  /** CLONE_NEW* flags for the first child. */
  cloneFlags: number;
  /** cgroup2 directory to clone into (CLONE_INTO_CGROUP). */
  cgroupPath?: string;
  uidMap?: string;
  gidMap?: string;
  denySetgroups?: boolean;
  /**
   * Host binds whose flags the container's root must not be able to change
   * (read-only ones, idmapped ones): the child is cloned from a mount
   * namespace of the host's user namespace in which each is mounted at
   * `<dir>/<index>`, read-only and/or idmapped through a user namespace with
   * `uidMap`/`gidMap`, so its copy of them is locked by the kernel
   * (native/lock-mounts.h).
   */
  lock?: SpawnLock;
  /**
   * Namespaces (network, IPC, UTS) the child starts in instead of new ones:
   * joined by a short-lived thread it is cloned from (native/lock-mounts.h).
   * The fds stay the caller's.
   */
  join?: SpawnJoin[];
  /**
   * Path of warren-exec ({@link execHelperPath}), required for a plan with
   * an `exec` op: the addon copies it once into a sealed memfd, and the
   * child's final execve goes through it (docs/security.md, "The exec'd
   * process").
   */
  execHelper?: string;
  /**
   * Stop once the child exists and its id maps are written, before it runs
   * any op: the promise resolves with a PausedSpawn, and `resume(paused,
   * true)` lets it go (false makes it exit).
   */
  pause?: boolean;
}

export interface ExitWatcher {
  ref(): void;
  unref(): void;
  close(): void;
}

/** native/child/plan.h's constants, the step names of steps.h and the parent's steps, as compiled. */
export interface NativeAbi {
  magic: number;
  version: number;
  headerSize: number;
  opSize: number;
  none: number;
  maxSlots: number;
  opFlags: { optional: number; mkdir: number; mkfile: number; ctty: number; recursive: number; inRoot: number; noSymlinks?: number; hold?: number };
  steps: string[];
  parentSteps: Record<string, string>;
}

/**
 * The addon's surface (native/addon.cc). A failed system call throws an Error
 * with `code` (the errno's name, as src/linux/errno.ts names it), `errno`
 * (positive) and `syscall`, like Node's own system errors.
 */
export interface NativeBinding {
  spawn(plan: Buffer, options: SpawnOptions & { pause?: false }): Promise<SpawnResult>;
  spawn(plan: Buffer, options: SpawnOptions & { pause: true }): Promise<PausedSpawn | Extract<SpawnResult, { error: unknown }>>;
  /** Lets a paused child go (or exit). */
  resume(paused: object, go: boolean): Promise<SpawnResult>;
  /** open_tree(OPEN_TREE_CLONE): a detached copy of the mount at `path`. */
  openTree(path: string, recursive: boolean): number;
  /** mount_setattr(MOUNT_ATTR_IDMAP) of a detached mount through a user namespace. */
  idmapTree(treeFd: number, usernsFd: number, recursive: boolean): void;
  ExitWatcher: new (
    pidfd: number,
    onExit: (code: number | null, signal: number | null, reaped: boolean) => void,
  ) => ExitWatcher;
  /**
   * Reads `dirs[d]/names[n]` for every pair on the libuv pool (native/read-files.cc):
   * entry `d * names.length + n` is the file's text without trailing whitespace, or the errno reading it met.
   */
  readFiles(dirs: readonly string[], names: readonly string[]): Promise<(string | number)[]>;
  /** A pidfd; `park`: one held while the process lives, kept above the fds a start needs (native/spawn.h ParkFd). */
  pidfdOpen(pid: number, park?: boolean): number;
  /** A close-on-exec copy of `fd` at the lowest free number (a parked fd a child is to inherit). */
  dupLow(fd: number): number;
  /** A close-on-exec copy of `fd` among the parked fds (an operation's own pidfd while it awaits). */
  dupParked(fd: number): number;
  pidfdSendSignal(pidfd: number, signal: number): void;
  /** The wait(2) status of the reaped process (Linux 6.15, PIDFD_INFO_EXIT), or null while it is not reaped. */
  pidfdExitStatus(pidfd: number): number | null;
  close(fd: number): void;
  flock(fd: number, exclusive: boolean): boolean;
  pipe(): [number, number];
  /** A blocking, close-on-exec SOCK_SEQPACKET connection to the unix socket `name` in `dir`. */
  seqpacketConnect(dir: string, name: string): number;
  ptyPeer(masterFd: number): number;
  setWindowSize(fd: number, cols: number, rows: number): void;
  /** TIOCGPTN: the slave's number in its devpts. */
  ptyNumber(masterFd: number): number;
  /** The plan ABI as the addon was compiled (native/abi.cc); src/plan/abi.test.ts compares it with the encoder's. */
  readonly abi: NativeAbi;
  /**
   * Starts `path` in a session of its own that outlives this process (native
   * posix_spawn): `fds[i]` becomes its fd 3+i, its stdio is /dev/null.
   */
  spawnDetached(path: string, argv: string[], fds: number[]): number;
  /** The fd (close-on-exec) of a stream socket connected to the unix socket at `socketPath` (runc's --console-socket). */
  unixConnect(socketPath: string): number;
  /**
   * BPF_PROG_LOAD of a BPF_PROG_TYPE_CGROUP_DEVICE program (native/bpf.cc):
   * the close-on-exec program fd. A verifier rejection throws with the
   * verifier's log in the message and in `log`.
   */
  bpfProgLoadDevice(insns: Buffer, name: string, license?: string): number;
  /** BPF_PROG_ATTACH to a cgroup directory fd as BPF_CGROUP_DEVICE; `replaceFd` with BPF_F_REPLACE. */
  bpfProgAttach(progFd: number, cgroupFd: number, flags: number, replaceFd?: number): void;
  /** BPF_PROG_DETACH of a BPF_CGROUP_DEVICE program from a cgroup directory fd. */
  bpfProgDetach(progFd: number, cgroupFd: number): void;
  /** BPF_PROG_QUERY: ids of the device programs attached to that cgroup itself. */
  bpfProgQuery(cgroupFd: number): number[];
  /** BPF_PROG_GET_FD_BY_ID: a close-on-exec fd of a loaded program. */
  bpfProgGetFdById(id: number): number;
  /** BPF_OBJ_GET_INFO_BY_FD of a program by id: its name and tag (hex). */
  bpfProgInfo(id: number): { id: number; type: number; name: string; tag: string };
  /**
   * A bound, close-on-exec NETLINK_ROUTE socket (native/netlink.cc), with
   * extended acks and capped acks. With `netnsFd >= 0` the socket is created
   * inside that network namespace (the calling thread switches there and back).
   */
  netlinkSocket(netnsFd: number): number;
  /**
   * Sends one or more netlink messages and reads until each is answered
   * (NLMSG_DONE for a dump, the ack for NLM_F_ACK, the one reply of a GET
   * without either; a change without NLM_F_ACK is a TypeError, as its success
   * would never be answered). Returns the data messages,
   * acks and dones left out. A kernel error throws with `code`, `errno`,
   * `syscall: "netlink"` and `extack` (the kernel's message, when it gave one).
   */
  netlinkTalk(fd: number, request: Buffer): Buffer;
  // --- native/files.cc (container files) ---
  /**
   * openat2(2) with O_CLOEXEC added, retried on EAGAIN. With `ownerUid` and
   * `ownerGid` (host ids) a created file gets them: the thread's fsuid/fsgid
   * are switched around the call (capabilities kept), then restored.
   */
  filesOpenat2(dirfd: number, path: string, flags: number, mode: number, resolve: number, ownerUid?: number, ownerGid?: number): number;
  /** mkdirat(2) of one component in a safely opened directory, owned by the given host ids. */
  filesMkdirat(dirfd: number, name: string, mode: number, ownerUid?: number, ownerGid?: number): void;
  /** unlinkat(2) of one component (AT_REMOVEDIR with `removeDir`); never follows it. */
  filesUnlinkat(dirfd: number, name: string, removeDir: boolean): void;
  /** readlinkat(2): a symlink's text (`name` "" with an O_PATH fd of the link itself). */
  filesReadlinkat(dirfd: number, name: string): string;
  /**
   * One files-API call (native/child/fileop.h's `kind`) made by a helper
   * that joined a user namespace as its root: the init's (`nsfd` a pidfd)
   * or the one `nsfd` is an fd of. An fd it opens is the caller's. Ids are
   * the container's.
   */
  filesAsContainer(nsfd: number, kind: number, dirfd: number, path: string, flags: number, mode: number, resolve: number, uid: number, gid: number): number;
  /**
   * A detached overlay mount (fsopen/fsconfig/fsmount), in no mount table:
   * gone when its last fd closes. `lower` is a path or the fd of a detached
   * (e.g. idmapped) tree. Errors carry the kernel's fsconfig log in `log`.
   */
  filesMountOverlay(lower: string | number, upper: string, work: string, userxattr: boolean): number;
  /** mount_setattr(2) of a detached tree (MOUNT_ATTR_* bits to set and clear). */
  filesMountSetattr(treeFd: number, set: number, clear: number, recursive: boolean): void;
  /** move_mount(2) of a detached tree onto an O_PATH directory fd (inside another detached tree: Linux 6.15). */
  filesAttachMount(treeFd: number, targetFd: number): void;
  // --- end files ---
  // --- native/xattr.cc (xattrs, device nodes) ---
  /** lsetxattr(2): sets `name` on `path` itself (a symlink is not followed). `flags`: XATTR_CREATE 1, XATTR_REPLACE 2. */
  lsetxattr(path: string, name: string, value: Buffer, flags?: number): void;
  /** lgetxattr(2): the value of `name` on `path` itself; throws ENODATA when it is not set. */
  lgetxattr(path: string, name: string): Buffer;
  /** llistxattr(2): the attribute names of `path` itself that the caller may see. */
  llistxattr(path: string): string[];
  /** lremovexattr(2). */
  lremovexattr(path: string, name: string): void;
  /**
   * mknodat(2) at `path` (never followed; anything there is EEXIST). `mode`
   * holds the file type (`S_IFCHR`, `S_IFBLK`, `S_IFIFO`, …) and permission
   * bits (trimmed by the umask).
   */
  mknod(path: string, mode: number, major: number, minor: number): void;
  // --- end xattr ---
  // --- native/devices/ (devices) ---
  /**
   * Mount injection (native/child/inject.h): a helper joins the mount (and,
   * with `userns`, user) namespace of the init `pidfd` as its root and, with
   * `kind` 1, creates `path` (a directory with `isDir`, else a file) if
   * missing and moves the detached tree `treeFd` onto it; with `kind` 2,
   * lazily unmounts `path` and removes it when `created`. Every component
   * is resolved below the container's root following no symlink. Returns
   * whether the target was created. Errors carry `step` (inject.h). `stage`
   * (a host directory or file like the tree): a read-only tree is locked
   * read-only on the way in (inject.h).
   */
  deviceInject(pidfd: number, userns: boolean, kind: number, treeFd: number, path: string, isDir: boolean, created: boolean, stage?: string): boolean;
  /** A detached mount of the filesystem on a block device (fsopen/fsmount); errors carry fsconfig's `log`. */
  mountDevice(source: string, fstype: string, readonly: boolean): number;
  /**
   * A NETLINK_KOBJECT_UEVENT socket on the kernel's group, polled on the
   * event loop (unref'd): `onMessage` gets each kernel message, `null` when
   * some were lost to an overflow.
   */
  UeventListener: new (onMessage: (message: Buffer | null) => void) => { ref(): void; unref(): void; close(): void };
  // --- end devices ---
}

/**
 * Steps the parent performs itself (negative op indexes in spawn results):
 * WR_PARENT_STEPS in native/spawn.h, compared by src/plan/abi.test.ts.
 */
export const PARENT_STEPS: Record<number, string> = {
  [-1]: "handshake",
  [-2]: "clone",
  [-3]: "uid-map",
  [-4]: "gid-map",
  [-5]: "cgroup",
  [-6]: "pidfd",
  [-7]: "plan",
  [-8]: "setgroups",
  [-9]: "lock-mounts",
  [-10]: "join-namespaces",
  [-11]: "exec-helper",
  [-12]: "fd-table",
};

let binding: NativeBinding | undefined;

function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, "binding.gyp"))) return dir;
    dir = dirname(dir);
  }
  return process.cwd();
}

/**
 * The C library this Node runs on, which picks the prebuilt binaries
 * (`prebuilds/<platform>-<arch>/warren.<libc>.node`, `<helper>.<libc>`):
 * `LIBC` when set (node-gyp-build reads it too), else glibc when Node
 * reports a glibc runtime version, else musl. node-gyp-build's own guess
 * is musl only on Alpine; this one is right on any musl distribution.
 */
export function hostLibc(): "glibc" | "musl" {
  const env = process.env.LIBC;
  if (env === "glibc" || env === "musl") return env;
  // A whole diagnostic report (some milliseconds): asked once.
  if (!reportedLibc) {
    const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
    reportedLibc = header?.glibcVersionRuntime ? "glibc" : "musl";
  }
  return reportedLibc;
}
let reportedLibc: "glibc" | "musl" | undefined;

function prebuildDir(root: string): string {
  return join(root, "prebuilds", `${process.platform}-${process.arch}`);
}

/** The loaded addon (loaded on first use). */
export function native(): NativeBinding {
  if (binding) return binding;
  const root = packageRoot();
  const require = createRequire(join(root, "package.json"));
  const prebuilt = join(prebuildDir(root), `warren.${hostLibc()}.node`);
  try {
    // A local build (build/Release) wins, as node-gyp-build has it; else the
    // prebuilt binary for this libc, named here rather than left to
    // node-gyp-build's Alpine-only libc guess.
    if (!existsSync(join(root, "build/Release/warren.node")) && existsSync(prebuilt)) {
      binding = require(prebuilt) as NativeBinding;
    } else {
      const load = require("node-gyp-build") as (dir: string) => NativeBinding;
      binding = load(root);
    }
  } catch (e) {
    throw new NativeLoadError([join(root, "build/Release/warren.node"), prebuilt], e);
  }
  return binding;
}

/** Replaces the addon (for tests of the layers above it). */
export function setBinding(b: NativeBinding | undefined): void {
  binding = b;
}

/**
 * A helper program built with the addon (`build/Release/<name>`, or
 * `prebuilds/<platform>-<arch>/<name>.<libc>` in a package with prebuilt
 * binaries, see {@link hostLibc}).
 */
let execHelper: string | undefined;

/** warren-exec's path (looked up once): every spawn whose plan execs passes it. */
export function execHelperPath(): string {
  return (execHelper ??= helperPath("warren-exec"));
}

export function helperPath(name: string): string {
  const root = packageRoot();
  const candidates = [
    join(root, "build/Release", name),
    join(prebuildDir(root), `${name}.${hostLibc()}`),
  ];
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new NativeLoadError(candidates, new Error(`${name} is not built (npm run build:native)`));
  return found;
}

/**
 * The argv that runs this package's `warren` command with this Node: the
 * built `dist/cli/main.js`, or, while warren runs from its TypeScript
 * sources (its own tests), `src/cli/main.ts` through tsx. A container's
 * monitor runs it after the init ends (its restart policy), when the
 * process that started the container may be gone. Undefined when it is not
 * there (warren bundled into another program without its package).
 */
export function cliCommand(): string[] | undefined {
  const root = packageRoot();
  if (fileURLToPath(import.meta.url).endsWith(".ts")) {
    let tsx: string;
    try {
      tsx = createRequire(join(root, "package.json")).resolve("tsx");
    } catch {
      return undefined;
    }
    return [process.execPath, "--import", pathToFileURL(tsx).href, join(root, "src/cli/main.ts")];
  }
  const main = join(root, "dist/cli/main.js");
  return existsSync(main) ? [process.execPath, main] : undefined;
}
