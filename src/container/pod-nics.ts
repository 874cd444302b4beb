/**
 * NICs taken out of a network namespace: one at a time (`removeNic`), or
 * all of a stopped container's when containers that joined its network
 * namespace (`namespaces.net: {container}`) keep that namespace alive.
 * @module
 */
import { closeSync, openSync } from "node:fs";

import type { NicConfig } from "../config/nic.js";
import { nicName } from "../network/manager.js";
import { Netlink } from "../network/netlink.js";
import { StateError } from "../errors.js";
import { codeOf } from "../linux/errno.js";
import { processInfo } from "./proc.js";
import { isLive, type StateStore } from "./state.js";

/**
 * Runs `fn` with a netlink socket in the network namespace of process
 * `pid`. With `expect`, the process must still be the one that started at
 * `expect.startTime` once the namespace is open (the pid of an init that
 * ended meanwhile may already be another container's): otherwise a
 * StateError for `expect.op`.
 */
export function withNamespace<T>(pid: number, fn: (inner: Netlink, nsfd: number) => T, expect?: { startTime: number; op: string; container: string }): T {
  const nsfd = openNamespaceOf(pid, expect);
  try {
    const inner = Netlink.inNamespace(nsfd);
    try {
      return fn(inner, nsfd);
    } finally {
      inner.close();
    }
  } finally {
    closeSync(nsfd);
  }
}

/** `/proc/PID/ns/net`, open, and checked to be the process `expect` says (see withNamespace). */
export function openNamespaceOf(pid: number, expect?: { startTime: number; op: string; container: string }): number {
  let nsfd: number;
  try {
    nsfd = openSync(`/proc/${pid}/ns/net`, "r");
  } catch (e) {
    if (expect && codeOf(e) === "ENOENT") throw ended(expect);
    throw e;
  }
  // Open first, then checked: a process still alive now was alive at the open, so the fd is its namespace.
  try {
    if (expect) assertStill(pid, expect);
  } catch (e) {
    closeSync(nsfd);
    throw e;
  }
  return nsfd;
}

/** Throws a StateError unless `pid` is still the process that started at `expect.startTime`. */
export function assertStill(pid: number, expect: { startTime: number; op: string; container: string }): void {
  if (processInfo(pid)?.startTime !== expect.startTime) throw ended(expect);
}

function ended(expect: { op: string; container: string }): StateError {
  return new StateError(`container "${expect.container}" is not running (its init ended during ${expect.op})`, expect.op, "stopped", { container: expect.container });
}

/**
 * Takes `nic` out of the namespace `inner` is in: a physical NIC goes back
 * to the host (`hostNs`) under its own name; a veth or macvlan is deleted
 * (deleting the container's end of a veth takes the host's end along).
 */
export function unplugNic(inner: Netlink, hostNs: number, nic: NicConfig): void {
  const name = nicName(nic);
  if (nic.type === "physical") {
    inner.setUp(name, false);
    inner.moveToNamespace(name, hostNs, nic.parent);
  } else {
    inner.deleteLink(name);
  }
}

/**
 * After container `name` stopped: its NICs out of its network namespace
 * when running containers that joined it by name keep it alive. Left
 * there, they would keep its address and MAC on the bridge, next to its
 * own again once it restarts, and a lent physical NIC would never come
 * back. Only read when the container has NICs.
 */
export async function unplugFromJoiners(store: StateStore, name: string, nics: readonly NicConfig[]): Promise<void> {
  if (nics.length === 0) return;
  for (const other of await store.names()) {
    if (other === name) continue;
    const net = (await store.readRecord(other).catch(() => undefined))?.config.namespaces.net;
    if (typeof net !== "object" || !("container" in net) || net.container !== name) continue;
    const state = await store.readState(other).catch(() => undefined);
    if (!isLive(state?.status) || !state?.pid || processInfo(state.pid)?.startTime !== state.startTime) continue;
    const hostNs = openSync("/proc/self/ns/net", "r");
    try {
      withNamespace(
        state.pid,
        (inner) => {
          // A joiner of an earlier run holds that run's namespace, already emptied.
          for (const nic of nics) if (inner.link(nicName(nic))) unplugNic(inner, hostNs, nic);
        },
        { startTime: state.startTime ?? -1, op: "unplug", container: other },
      );
    } catch (e) {
      if (!(e instanceof StateError)) throw e; // it ended meanwhile: its namespace went with it
    } finally {
      closeSync(hostNs);
    }
  }
}
