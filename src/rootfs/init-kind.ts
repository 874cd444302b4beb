/**
 * Which init a rootfs has, read from the tree without running anything: it
 * decides how the container is asked to shut down and how it tells that it
 * is ready.
 * @module
 */
import { lstatSync, readlinkSync } from "node:fs";
import { join, posix } from "node:path";

export type InitKind = "systemd" | "sysvinit" | "busybox" | "other";

const DEFAULT_PATH = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

/**
 * Resolves `path` inside `root` the way the container will see it: absolute
 * symlinks are taken relative to `root`, `..` never leaves it. Returns the
 * container path of the final file, or undefined when something is missing
 * or the chain is too long.
 */
export function resolveInRoot(root: string, path: string): string | undefined {
  let parts = path.split("/").filter(Boolean);
  const done: string[] = [];
  for (let hops = 0; parts.length; ) {
    const part = parts.shift()!;
    if (part === ".") continue;
    if (part === "..") {
      done.pop();
      continue;
    }
    const at = join(root, ...done, part);
    let st;
    try {
      st = lstatSync(at);
    } catch {
      return undefined;
    }
    if (!st.isSymbolicLink()) {
      done.push(part);
      continue;
    }
    if (++hops > 40) return undefined;
    const target = readlinkSync(at);
    if (target.startsWith("/")) done.length = 0;
    parts = [...target.split("/").filter(Boolean), ...parts];
  }
  return posix.join("/", ...done);
}

/** The init `argv0` names in `root`. */
export function detectInit(root: string | undefined, argv0: string): InitKind {
  if (!root) return "other";
  // A bare name (an image's `Cmd: ["init"]`) is looked up as execvpe would, in the default PATH.
  const path = argv0.includes("/") ? argv0 : DEFAULT_PATH.map((d) => `${d}/${argv0}`).find((p) => resolveInRoot(root, p));
  const real = path && resolveInRoot(root, path);
  if (!real) return "other";
  const base = posix.basename(real);
  if (base === "systemd") return "systemd";
  // busybox is also every shell and tool: it is an init only when run as one.
  if (base === "busybox") return /^(init|linuxrc)$/.test(posix.basename(argv0)) ? "busybox" : "other";
  // sysvinit-core's /sbin/init is its own binary, next to /etc/inittab.
  if (base === "init" && resolveInRoot(root, "/etc/inittab") && resolveInRoot(root, "/sbin/telinit")) return "sysvinit";
  return "other";
}

/** The signal that asks this kind of init to power off. */
export function haltSignalFor(kind: InitKind): string {
  switch (kind) {
    case "systemd":
      return "SIGRTMIN+3";
    case "sysvinit":
      return "SIGPWR";
    case "busybox":
      return "SIGUSR2";
    default:
      return "SIGTERM";
  }
}
