/**
 * Which sysctls a container may be given (`sysctls` config): only those
 * that belong to one of its own namespaces, the way runc validates an OCI
 * spec's `linux.sysctl`. Everything else under /proc/sys is one value for
 * the whole machine, and warren writes these as the container's first
 * process does, before its privileges are dropped: a host-global key
 * would change the host. Zod-free, so the plan can use it.
 * @module
 */

/**
 * A sysctl name as sysctl(8) writes it: components of letters, digits, `_`
 * and `-` between single dots. No `/` (sysctl(8)'s spelling of a dot inside
 * an interface name, and a way to walk the path), no empty component
 * (`..`), nothing that could leave /proc/sys.
 */
export const SYSCTL_KEY = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+$/;

/**
 * The ipc namespace's own values (ipc_namespaces(7)); `fs.mqueue.*` too.
 * The semaphore, message and shared memory limits of the namespace the
 * writer is in.
 */
export const IPC_SYSCTLS: readonly string[] = [
  "kernel.msgmax",
  "kernel.msgmnb",
  "kernel.msgmni",
  "kernel.sem",
  "kernel.shmall",
  "kernel.shmmax",
  "kernel.shmmni",
  "kernel.shm_rmid_forced",
];

/** The namespace a sysctl belongs to, or undefined for a host-global one. */
export function sysctlNamespace(key: string): "net" | "ipc" | "uts" | undefined {
  if (key.startsWith("net.")) return "net";
  if (IPC_SYSCTLS.includes(key) || key.startsWith("fs.mqueue.")) return "ipc";
  if (key === "kernel.hostname" || key === "kernel.domainname") return "uts";
  return undefined;
}

/** Its own namespace, or one named by path: the caller made that one for it (a namespace of the host's own is refused at start). */
function ownedOrNamed(ns: unknown): boolean {
  return ns === true || (typeof ns === "object" && ns !== null && "path" in ns);
}

/**
 * Why `key` may not be in a container's `sysctls`, or undefined when it may.
 * As runc: a namespace of the container's own, or one joined by path (what
 * podman and containerd hand a runtime: a network namespace they made for
 * the container) unless that is the host's. Not another container's.
 * The uts keys are refused in favour of the `hostname`/`domainname` fields:
 * two places to set one value would disagree.
 */
export function sysctlProblem(key: string, namespaces: { net: unknown; ipc: unknown }): string | undefined {
  if (!SYSCTL_KEY.test(key)) {
    return "must be a sysctl name like net.ipv4.ip_forward (letters, digits, `_` and `-` between single dots; no `/`)";
  }
  switch (sysctlNamespace(key)) {
    case "net":
      return ownedOrNamed(namespaces.net) ? undefined : "needs the container's own network namespace (namespaces.net: true or {path}): with the host's network, or another container's, it would change that one";
    case "ipc":
      return ownedOrNamed(namespaces.ipc) ? undefined : "needs the container's own ipc namespace (namespaces.ipc: true or {path}): with the host's, or another container's, it would change that one";
    case "uts":
      return `set with the \`${key === "kernel.hostname" ? "hostname" : "domainname"}\` field instead`;
    default:
      return `not namespaced, so it would change the host: only net.* (with namespaces.net), ${IPC_SYSCTLS.join(", ")} and fs.mqueue.* (with namespaces.ipc) may be set`;
  }
}

/** The file under the container's /proc that holds `key`. */
export function sysctlPath(key: string): string {
  return `/proc/sys/${key.replaceAll(".", "/")}`;
}
