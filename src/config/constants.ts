/**
 * The zod-free part of the container configuration: names, defaults and
 * checks that code which only reads state needs (container records, the
 * init plan, `warren list`). Importing `schema.ts` loads zod and builds every
 * schema, which costs the CLI about as much as Node's own start; only the
 * paths that validate input import it (see docs/cli.md, "Start-up time").
 * @module
 */
import { ConfigError } from "../errors.js";

/** Container names: what LXC accepts minus `/`, usable as a path component and a cgroup name. */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

/** Throws {@link ConfigError} unless `name` is a valid container name. */
export function validateName(name: unknown): string {
  if (typeof name !== "string" || !NAME_PATTERN.test(name)) {
    throw new ConfigError([
      {
        path: "name",
        message:
          typeof name === "string" && name.includes("/")
            ? `must not contain \`/\` (got ${JSON.stringify(name)})`
            : `must be 1-63 characters of letters, digits, \`_\`, \`.\` or \`-\`, starting with a letter or digit (got ${JSON.stringify(name)})`,
      },
    ]);
  }
  return name;
}

/** The `rlimits` keys, in the kernel's `RLIMIT_*` order. */
export const RLIMITS = [
  "cpu", "fsize", "data", "stack", "core", "rss", "nproc", "nofile",
  "memlock", "as", "locks", "sigpending", "msgqueue", "nice", "rtprio", "rttime",
] as const;
/** `RLIMIT_*` numbers, in the kernel's order. */
export const RLIMIT_NUMBERS: Record<(typeof RLIMITS)[number], number> = Object.fromEntries(
  RLIMITS.map((n, i) => [n, i]),
) as Record<(typeof RLIMITS)[number], number>;

export const DEFAULT_MASKED_PATHS: readonly string[] = [
  "/proc/acpi",
  "/proc/asound",
  "/proc/kcore",
  "/proc/keys",
  "/proc/latency_stats",
  "/proc/sched_debug",
  "/proc/scsi",
  "/proc/sysrq-trigger",
  "/proc/timer_list",
  "/proc/timer_stats",
  "/sys/firmware",
  "/sys/devices/virtual/powercap",
];

/** Read-only besides /proc/sys and /sys, which the `proc` and `sys` modes decide (src/plan/proc-sys.ts). */
export const DEFAULT_READONLY_PATHS: readonly string[] = ["/proc/bus", "/proc/fs", "/proc/irq"];

export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * Why a path inside the container may not be used as a working directory or
 * mount target, or undefined when it may. `/proc/<pid>`, `/proc/self` and
 * `/proc/thread-self` hold magic links (`fd/N`, `cwd`, `root`, `exe`) that
 * lead to whatever object a process holds, host directories included, and
 * `/dev/fd`, `/dev/stdin`… are links into them: such a value is a way out of
 * the root, never a place in it (CVE-2024-21626). The child also resolves
 * every such path with RESOLVE_NO_MAGICLINKS; this says so up front.
 */
export function containerPathProblem(p: string): string | undefined {
  const parts = p.split("/").filter((c) => c !== "" && c !== ".");
  const [first, second] = parts;
  if (first === "proc" && second !== undefined && /^(self|thread-self|\d+)$/.test(second)) {
    return "must not be under `/proc/<pid>`, `/proc/self` or `/proc/thread-self` (their links lead outside the container)";
  }
  if (first === "dev" && second !== undefined && /^(fd|stdin|stdout|stderr)$/.test(second)) {
    return "must not be under `/dev/fd` or a `/dev/std*` link (they lead into `/proc/self/fd`)";
  }
  return undefined;
}
