/**
 * The plan's operations: what the native child executes, in order, with raw
 * system calls. The list of step names mirrors `native/child/steps.h`; the
 * index of a name is its numeric kind in the ABI (a test checks both match).
 * @module
 */

/** Step names in ABI order. Append only. */
export const STEP_NAMES = [
  "mount",
  "open-tree",
  "move-mount",
  "mount-setattr",
  "mkdir",
  "create-file",
  "mknod",
  "symlink",
  "mask-path",
  "pivot-root",
  "sethostname",
  "setdomainname",
  "link-up",
  "setrlimit",
  "drop-capabilities",
  "no-new-privileges",
  "seccomp",
  "set-credentials",
  "chdir",
  "stdio",
  "setsid",
  "close-fds",
  "parent-death-signal",
  "setns",
  "fork-into-namespaces",
  "exec",
  "write-file",
  "close-inherited-fds",
  "seccomp-listener",
  "terminal",
] as const;

export type StepName = (typeof STEP_NAMES)[number];

/** Where a mount or path op may create its target first. */
export interface TargetOptions {
  /** ENOENT (missing source or target) is not an error. */
  optional?: boolean;
  /** Create the target directory (mkdir -p) first. */
  mkdir?: boolean;
  /** Create the target as an empty file first (for binds of files). */
  mkfile?: boolean;
  /** Follow no symlink in the target (a user's mount, as LXC): ELOOP. */
  noSymlinks?: boolean;
}

export type Op =
  | ({
      kind: "mount";
      source?: string;
      target: string;
      fstype?: string;
      flags: number;
      data?: string;
      /** Resolve `target` inside this root directory (before pivot_root). */
      inRoot?: string;
    } & TargetOptions)
  | { kind: "open-tree"; source: string; slot: number; recursive?: boolean; optional?: boolean }
  | ({ kind: "move-mount"; slot: number; target: string; source: string } & TargetOptions)
  | { kind: "mount-setattr"; target: string; set: number; clear?: number; recursive?: boolean; optional?: boolean }
  | { kind: "mkdir"; path: string; mode: number }
  | { kind: "create-file"; path: string; mode: number }
  | { kind: "mknod"; path: string; mode: number; dev: number }
  | { kind: "symlink"; target: string; path: string }
  | { kind: "mask-path"; path: string }
  | { kind: "pivot-root"; root: string }
  | { kind: "sethostname"; name: string }
  | { kind: "setdomainname"; name: string }
  | { kind: "link-up"; name: string }
  | { kind: "setrlimit"; name: string; resource: number; soft: bigint; hard: bigint }
  | { kind: "drop-capabilities"; mask: bigint; names: string[] }
  | { kind: "no-new-privileges" }
  /** `flags`: seccomp(2)'s SECCOMP_FILTER_FLAG_* (an OCI profile's `flags`). */
  | { kind: "seccomp"; filter: Buffer; flags?: number }
  /**
   * A filter whose matching calls wait for the container's monitor
   * (SECCOMP_RET_USER_NOTIF): its listener fd goes to the monitor over the
   * connected unix socket `socket` (a host fd passed through), which the
   * step then closes.
   */
  | { kind: "seccomp-listener"; filter: Buffer; socket: number }
  | { kind: "set-credentials"; uid: number; gid: number; groups: number[] }
  | { kind: "chdir"; path: string }
  | { kind: "stdio"; fds: [number, number, number] }
  /**
   * Instead of `stdio`: a new pty of the container's devpts (/dev/ptmx)
   * becomes fds 0, 1 and 2; its master goes over the connected unix socket
   * `socket` (runc's console-socket protocol), which the step then closes.
   */
  | { kind: "terminal"; socket: number }
  | { kind: "setsid"; controllingTerminal?: boolean }
  | { kind: "close-fds"; keep: number[] }
  | { kind: "parent-death-signal"; signal: number }
  | { kind: "setns"; fd: number; flags: number }
  | { kind: "fork-into-namespaces" }
  /** `holdFd`: the program is looked up, then warren-exec waits for a byte on that fd before running it (see container/hold.ts). */
  | { kind: "exec"; file: string; argv: string[]; env: string[]; holdFd?: number }
  /** Write `data` into an existing file; `sysctl` names the key it sets, for error messages. */
  | { kind: "write-file"; path: string; data: string; sysctl?: string }
  /** Close every fd >= 3 but `keep` (and the child's own): first, before any path is resolved. */
  | { kind: "close-inherited-fds"; keep: number[] };

/** mount(2) flags used by plans. */
export const MS = {
  RDONLY: 1,
  NOSUID: 2,
  NODEV: 4,
  NOEXEC: 8,
  REMOUNT: 32,
  BIND: 4096,
  REC: 16384,
  PRIVATE: 1 << 18,
  SLAVE: 1 << 19,
  RELATIME: 1 << 21,
  STRICTATIME: 1 << 24,
} as const;

/** mount_setattr(2) attributes. */
export const MOUNT_ATTR = { RDONLY: 1, NOSUID: 2, NODEV: 4, NOEXEC: 8 } as const;

/** clone(2) namespace flags. */
export const CLONE = {
  NEWTIME: 0x80,
  NEWNS: 0x20000,
  NEWCGROUP: 0x2000000,
  NEWUTS: 0x4000000,
  NEWIPC: 0x8000000,
  NEWUSER: 0x10000000,
  NEWPID: 0x20000000,
  NEWNET: 0x40000000,
} as const;

/** A one-line human description of an op, used in error messages. */
export function describeOp(op: Op): string {
  switch (op.kind) {
    case "mount":
      return `mount ${op.fstype ?? op.source ?? "none"} on \`${op.target}\``;
    case "open-tree":
      return `take \`${op.source}\` from the host`;
    case "move-mount":
      return `bind \`${op.source}\` on \`${op.target}\``;
    case "mount-setattr":
      return `set mount attributes of \`${op.target}\``;
    case "write-file":
      return op.sysctl !== undefined ? `sysctl ${op.sysctl}` : `write-file \`${op.path}\``;
    case "mkdir":
    case "create-file":
    case "mknod":
    case "mask-path":
    case "chdir":
      return `${op.kind} \`${op.path}\``;
    case "symlink":
      return `symlink \`${op.path}\` -> \`${op.target}\``;
    case "pivot-root":
      return `pivot_root into \`${op.root}\``;
    case "sethostname":
    case "setdomainname":
      return `${op.kind} ${JSON.stringify(op.name)}`;
    case "link-up":
      return `bring up interface ${op.name}`;
    case "setrlimit":
      return `setrlimit ${op.name}`;
    case "drop-capabilities":
      return `drop capabilities ${op.names.join(",")}`;
    case "set-credentials":
      return `set uid ${op.uid} gid ${op.gid}`;
    case "exec":
      return `exec \`${op.file}\``;
    default:
      return op.kind;
  }
}

/**
 * The plan of a paused child that only holds a user namespace (with the id
 * map it was cloned with) until it is resumed. Its copy of Node's fd table
 * goes before it waits: it would otherwise hold the parent's ends of
 * siblings spawned at the same time (eight creates probing at once), each
 * keeping another from ever reading EOF, and the pool threads resuming them
 * would wait forever.
 */
export const HOLD_USERNS: readonly Op[] = [{ kind: "close-inherited-fds", keep: [] }];
