/**
 * The namespaces a container joins instead of making (`namespaces.net:
 * {container: "a"}`, `{path: "/proc/PID/ns/net"}`): opened here as fds the
 * native spawn hands to the thread it clones the init from.
 * @module
 */
import { closeSync, fstatSync, openSync, readlinkSync, statfsSync, statSync } from "node:fs";

import { sysctlNamespace } from "../config/sysctls.js";
import { ConfigError, HostError, NotFoundError, StateError } from "../errors.js";
import { codeOf } from "../linux/errno.js";
import { native, type SpawnJoin } from "../native/binding.js";
import { sharedNamespaces } from "../plan/build-plan.js";
import type { ContainerHandle } from "./handle.js";
import { processInfo } from "./proc.js";
import { isLive } from "./state.js";

export interface JoinedNamespaces {
  join: SpawnJoin[];
  /** Closes the fds (idempotent): the child has its namespaces once spawned. */
  close(): void;
}

/** The name `/proc/self/ns/X` links have for each kind (`net:[4026531840]`). */
const NS_LINK = { net: "net", ipc: "ipc", uts: "uts" } as const;

/**
 * A pidfd of container `name`'s init in the same runtime root, checked
 * against its recorded start time after opening, so a reused pid is never
 * joined (the pidfd then pins that very process).
 */
async function initPidfd(c: ContainerHandle, name: string, field: string): Promise<number> {
  if (name === c.name) throw new ConfigError([{ path: field, message: "a container cannot join its own namespace" }], { container: c.name });
  if (!(await c.store.exists(name))) {
    throw new NotFoundError(`container "${c.name}": ${field} joins container "${name}", which does not exist`, { container: c.name });
  }
  const state = await c.store.readState(name);
  const notRunning = () =>
    new StateError(`container "${c.name}": ${field} joins container "${name}", which is not running: start it first`, "start", state?.status ?? "created", {
      container: c.name,
    });
  if (!isLive(state?.status) || !state?.pid) throw notRunning();
  let pidfd: number;
  try {
    pidfd = native().pidfdOpen(state.pid);
  } catch {
    throw notRunning();
  }
  if (processInfo(state.pid)?.startTime !== state.startTime) {
    native().close(pidfd);
    throw notRunning();
  }
  return pidfd;
}

const NSFS_MAGIC = 0x6e736673;

function onNsfs(fd: number): boolean {
  try {
    return statfsSync(`/proc/self/fd/${fd}`).type === NSFS_MAGIC;
  } catch {
    return false;
  }
}

/** Whether the namespace at fd is this process's own (the same nsfs inode). */
function isOwnNamespace(fd: number, kind: keyof typeof NS_LINK): boolean {
  try {
    const mine = statSync(`/proc/self/ns/${NS_LINK[kind]}`);
    const it = fstatSync(fd);
    return mine.ino === it.ino && mine.dev === it.dev;
  } catch {
    return false;
  }
}

/** A namespace file, checked to be one of `kind` (the link of its fd names the type). */
function namespaceFile(c: ContainerHandle, path: string, kind: keyof typeof NS_LINK, field: string): number {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (e) {
    throw new HostError(`container "${c.name}": open the namespace \`${path}\` of ${field}`, codeOf(e), { container: c.name, path, syscall: "open" });
  }
  // /proc/PID/ns/net reads as `net:[inode]`; a bind-mounted one
  // (/run/netns/x, what `ip netns` and podman make) reads as its own path,
  // and is known only to be on nsfs: setns then checks its type (EINVAL).
  let link = "";
  try {
    link = readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    // Unreadable link: the type check below refuses it.
  }
  const typed = /^([a-z_]+):\[\d+\]$/.exec(link);
  if (typed ? typed[1] !== NS_LINK[kind] : !onNsfs(fd)) {
    closeSync(fd);
    throw new ConfigError([{ path: field, message: `\`${path}\` is not a ${kind} namespace` }], { container: c.name });
  }
  // Sysctls go into a namespace joined by path (runc's rule), but never
  // into this process's own: that is the host's.
  const hostSysctl = Object.keys(c.config.sysctls ?? {}).find((key) => sysctlNamespace(key) === kind);
  if (hostSysctl && isOwnNamespace(fd, kind)) {
    closeSync(fd);
    throw new ConfigError([{ path: `sysctls.${hostSysctl}`, message: `\`${path}\` (${field}) is the host's ${kind} namespace: the sysctl would change the host` }], { container: c.name });
  }
  return fd;
}

/** Opens what `c`'s config joins; the caller closes it once the init is spawned. */
export async function openSharedNamespaces(c: ContainerHandle): Promise<JoinedNamespaces> {
  const fds: number[] = [];
  const join: SpawnJoin[] = [];
  const close = () => {
    for (const fd of fds.splice(0)) closeSync(fd);
  };
  try {
    // One pidfd per container, with every namespace joined through it at once.
    const byContainer = new Map<string, SpawnJoin>();
    for (const s of sharedNamespaces(c.config.namespaces)) {
      const field = `namespaces.${s.kind}`;
      if ("path" in s.target) {
        const fd = namespaceFile(c, s.target.path, s.kind, field);
        fds.push(fd);
        join.push({ fd, nstype: s.flag });
        continue;
      }
      const known = byContainer.get(s.target.container);
      if (known) {
        known.nstype |= s.flag;
        continue;
      }
      const fd = await initPidfd(c, s.target.container, field);
      fds.push(fd);
      const j = { fd, nstype: s.flag };
      byContainer.set(s.target.container, j);
      join.push(j);
    }
  } catch (e) {
    close();
    throw e;
  }
  return { join, close };
}
