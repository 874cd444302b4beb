/**
 * Loads the native addon through node-gyp-build (a local build in
 * `build/Release`, or a prebuilt binary from `prebuilds/`). Tests and
 * embedders may inject their own binding with {@link setBinding}.
 * @module
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { NativeLoadError } from "../errors.js";

/** Result of a native spawn: the process, or the step that failed. */
export type SpawnResult =
  | {
      pid: number;
      pidfd: number;
      /** /proc/<pid>/stat field 22, read before the process could be reaped (-1 if unreadable). */
      startTime: number;
    }
  | { error: { opIndex: number; errno: number } };

/** A spawn stopped before "go" (`pause: true`): the child exists, with its namespaces and id maps. */
export interface PausedSpawn {
  pid: number;
  /** Opaque; pass to `resume`. */
  paused: object;
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

/** The addon's surface (native/addon.cc). */
export interface NativeBinding {
  spawn(plan: Buffer, options: SpawnOptions & { pause?: false }): Promise<SpawnResult>;
  spawn(plan: Buffer, options: SpawnOptions & { pause: true }): Promise<PausedSpawn | Extract<SpawnResult, { error: unknown }>>;
  /** Lets a paused child go (or exit); `fds` are passed with "go" into its slots from PASSED_SLOT_BASE on. */
  resume(paused: object, go: boolean, fds?: number[]): Promise<SpawnResult>;
  /** open_tree(OPEN_TREE_CLONE): a detached copy of the mount at `path`. */
  openTree(path: string, recursive: boolean): number;
  /** mount_setattr(MOUNT_ATTR_IDMAP) of a detached mount through a user namespace. */
  idmapTree(treeFd: number, usernsFd: number, recursive: boolean): void;
  ExitWatcher: new (
    pidfd: number,
    onExit: (code: number | null, signal: number | null, reaped: boolean) => void,
  ) => ExitWatcher;
  pidfdOpen(pid: number): number;
  pidfdSendSignal(pidfd: number, signal: number): void;
  close(fd: number): void;
  flock(fd: number, exclusive: boolean): boolean;
  pipe(): [number, number];
  ptyPeer(masterFd: number): number;
  setWindowSize(fd: number, cols: number, rows: number): void;
  stepNames(): string[];
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
   * acks and dones left out. A kernel error throws with `errno`,
   * `syscall: "netlink"` and `extack` (the kernel's message, when it gave one).
   */
  netlinkTalk(fd: number, request: Buffer): Buffer;
  // --- native/files.cc (container files) ---
  // --- end files ---
  // --- native/xattr.cc (xattrs, device nodes) ---
  // --- end xattr ---
}

/**
 * Steps the parent performs itself (negative op indexes in spawn results),
 * mirrored from native/spawn.cc.
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
};

/** Slot of the first fd passed with "go" (WR_PASSED_BASE in native/child/plan.h). */
export const PASSED_SLOT_BASE = 48;

let binding: NativeBinding | undefined;

function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, "binding.gyp"))) return dir;
    dir = dirname(dir);
  }
  return process.cwd();
}

/** The loaded addon (loaded on first use). */
export function native(): NativeBinding {
  if (binding) return binding;
  const root = packageRoot();
  const require = createRequire(join(root, "package.json"));
  try {
    const load = require("node-gyp-build") as (dir: string) => NativeBinding;
    binding = load(root);
  } catch (e) {
    throw new NativeLoadError([join(root, "build/Release/warren.node"), join(root, "prebuilds")], e);
  }
  return binding;
}

/** Replaces the addon (for tests of the layers above it). */
export function setBinding(b: NativeBinding | undefined): void {
  binding = b;
}
