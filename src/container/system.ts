/**
 * What a system container gets beside its init, set up as it starts
 * (systemd's container interface): its own machine id, a console pty kept
 * by the monitor, /run/host with the notify socket; and readiness, the
 * container saying it is up (READY=1, or a probe).
 * @module
 */
import { randomUUID } from "node:crypto";
import { chownSync, closeSync, existsSync, fchownSync, fstatSync, constants as fsc, lstatSync, mkdirSync, openSync, statSync, unlinkSync, writeSync, type Stats } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";

import type { ResolvedConfig } from "../config/schema.js";
import { ConfigError, ReadyTimeoutError, StateError } from "../errors.js";
import { native } from "../native/binding.js";
import { liveTree } from "../storage/backend.js";
import { execOutput } from "./exec.js";
import { stat } from "./files.js";
import type { ContainerHandle } from "./handle.js";
import { interceptAsked, readConsoleLog, runHostDir, startMonitor, waitForNotifyReady } from "./monitor.js";
import type { StartOptions } from "./start.js";
import type { OpenedStdio } from "./stdio.js";

/**
 * An image built for containers has an empty /etc/machine-id (systemd's
 * "not set yet"): each container gets its own, once, in its own layer.
 * Without one systemd would take every boot for a first boot and run
 * systemd-firstboot, which asks on the console. The container's layer is
 * its own to shape: nothing here follows a symlink in it (`/etc` a link
 * to a host path is left alone), and nothing existing is replaced.
 */
export function ensureMachineId(c: ContainerHandle): void {
  const r = c.record.rootfs;
  if (r.kind !== "image") return;
  const image = r.storage === "btrfs" ? undefined : r.lower;
  try {
    if (image !== undefined && statSync(join(image, "etc/machine-id")).size > 0) return;
  } catch {
    return; // not a systemd image, or it has no /etc
  }
  const id = `${randomUUID().replace(/-/g, "")}\n`;
  const owner = c.idmap && r.storage !== "btrfs" ? { uid: c.idmap.hostUid, gid: c.idmap.hostGid } : { uid: 0, gid: 0 };
  const root = r.storage === "btrfs" ? r.lower : r.upper;
  const etc = join(root, "etc");
  let st = lstatOrUndefined(etc);
  if (!st && r.storage !== "btrfs") {
    mkdirSync(etc, { mode: 0o755 });
    chownSync(etc, owner.uid, owner.gid);
    st = lstatOrUndefined(etc);
  }
  if (!st?.isDirectory()) return;
  let fd: number;
  try {
    // btrfs: the container's own tree holds the image's empty file; overlay: a new file in the upper layer.
    fd = openSync(join(etc, "machine-id"), r.storage === "btrfs" ? fsc.O_WRONLY | fsc.O_NOFOLLOW : fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, 0o444);
  } catch {
    return; // there already, or a link: the container's business
  }
  try {
    const f = fstatSync(fd);
    if (!f.isFile() || f.size > 0) return;
    writeSync(fd, id);
    if (r.storage !== "btrfs") fchownSync(fd, owner.uid, owner.gid);
  } finally {
    closeSync(fd);
  }
}

/**
 * A clone is a new machine: the machine id it copied from its source is
 * dropped from its tree, so that it has what a new container of the image
 * has (the image's file: empty, then filled by {@link ensureMachineId} at
 * the first start). Overlay: the copied file leaves the clone's layer;
 * btrfs (a whole copy of the tree): it is emptied. Links are left alone,
 * as in ensureMachineId.
 */
export function forgetMachineId(c: ContainerHandle): void {
  const r = c.record.rootfs;
  if (r.kind !== "image") return;
  const etc = join(liveTree(r), "etc");
  const file = join(etc, "machine-id");
  if (!lstatOrUndefined(etc)?.isDirectory() || !lstatOrUndefined(file)?.isFile()) return;
  if (r.storage === "btrfs") closeSync(openSync(file, fsc.O_WRONLY | fsc.O_TRUNC | fsc.O_NOFOLLOW));
  else unlinkSync(file);
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

/** stdio of an init with a console: the pty slave on 0, 1 and 2. */
export function consoleStdio(slave: number): OpenedStdio {
  return { childFds: [slave, slave, slave], childSide: [slave], stdin: null, stdout: null, stderr: null };
}

/** The rootfs tree a container's root is made from, when warren can look at it. */
function rootfsTree(c: ContainerHandle): string | undefined {
  const r = c.record.rootfs;
  return r.kind === "image" ? r.lower : r.kind === "directory" ? r.path : undefined;
}

/** Whether the container's readiness is systemd's READY=1. */
function readinessIsNotify(c: ContainerHandle): boolean {
  const ready = c.config.ready;
  return ready ? "notify" in ready : c.effective().initKind === "systemd";
}

/**
 * What a system container gets beside its init (systemd's container
 * interface): a console pty kept by the monitor, /run/host with the notify
 * socket. Nothing of it when the caller gave the init its own stdio and no
 * readiness needs the notify socket.
 */
export async function prepareSystem(
  c: ContainerHandle,
  options: StartOptions,
  hook?: string[],
): Promise<{ monitor?: number; console?: { slave: number; path: string }; runHost?: { dir: string; notify: boolean } }> {
  const eff = c.effective();
  const wantConsole = eff.console && options.stdio === undefined && options.terminal === undefined;
  const notify = readinessIsNotify(c);
  // A restart policy needs the monitor on its own (it restarts the
  // container when the init ends); a reboot alone does not start one.
  const policy = hook !== undefined && c.config.restart !== "no";
  // security.intercept: the monitor makes the intercepted calls.
  const intercept = interceptAsked(c.config);
  if (!wantConsole && !notify && !policy && !intercept) return {};
  const tree = rootfsTree(c);
  // /run/host (a tmpfs /run in the container) only for what needs it inside.
  const runHost = (wantConsole || notify) && tree !== undefined && existsSync(join(tree, "run")) ? { dir: runHostDir(c.stateDir), notify } : undefined;
  if (notify && !runHost) {
    throw new ConfigError(
      [{ path: "ready", message: `readiness by READY=1${c.config.ready ? "" : " (the default for a systemd init)"} needs a rootfs with /run, where $NOTIFY_SOCKET is bound` }],
      { container: c.name },
    );
  }
  let master: number | undefined;
  let slave: number | undefined;
  let path: string | undefined;
  try {
    if (wantConsole) {
      master = openSync("/dev/ptmx", fsc.O_RDWR | fsc.O_NOCTTY);
      slave = native().ptyPeer(master);
      path = `/dev/pts/${native().ptyNumber(master)}`;
      native().setWindowSize(master, 80, 24);
      // The container's root owns its console (group tty inside), or it
      // could not reopen /dev/console.
      if (c.idmap) fchownSync(slave, c.idmap.hostUid, c.idmap.hostGid + 5);
    }
    const started = await startMonitor(c.stateDir, {
      ...(master !== undefined ? { master } : {}),
      ringBytes: eff.consoleLogSize,
      container: c.name,
      hostGroup: (c.idmap?.hostGid ?? 0) + eff.user.gid,
      ...(hook ? { hook } : {}),
      ...(intercept ? { intercept } : {}),
    });
    return { monitor: started.pid, ...(slave !== undefined ? { console: { slave, path: path! } } : {}), ...(runHost ? { runHost } : {}) };
  } catch (e) {
    if (slave !== undefined) closeSync(slave);
    throw e;
  } finally {
    // The monitor has its own copy now.
    if (master !== undefined) closeSync(master);
  }
}

/** Waits until the container is ready by its config's `ready` (see StartOptions.wait). */
export async function waitReady(c: ContainerHandle, timeoutMs: number): Promise<void> {
  const ready = c.config.ready;
  const signal = AbortSignal.timeout(timeoutMs);
  const t0 = Date.now();
  try {
    if (readinessIsNotify(c)) {
      await waitForNotifyReady(c.stateDir, c.name, signal);
    } else if (ready) {
      for (let delay = 10; ; delay = Math.min(delay * 2, 250)) {
        if (c.status !== "running" && c.status !== "frozen") {
          throw new StateError(`container "${c.name}" stopped before it was ready`, "start", c.status, { container: c.name });
        }
        if (await probe(c, ready)) break;
        if (signal.aborted) throw signal.reason;
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  } catch (e) {
    if (!signal.aborted) throw e;
    const log = await readConsoleLog(c.stateDir, c.name).catch(() => Buffer.alloc(0));
    throw new ReadyTimeoutError(c.name, Date.now() - t0, lastLines(log.toString(), 20));
  }
  c.emit({ type: "ready" });
}

function lastLines(text: string, n: number): string[] {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "").replace(/\r/g, "");
  return clean.split("\n").filter((l) => l.trim()).slice(-n);
}

function firstAddress(c: ContainerHandle): string | undefined {
  return (
    c.record.leases?.find((l) => l.ipv4)?.ipv4 ??
    c.config.nics.map((n) => ("ipv4" in n && typeof n.ipv4 === "string" ? n.ipv4.split("/")[0] : undefined)).find(Boolean)
  );
}

async function probe(c: ContainerHandle, ready: NonNullable<ResolvedConfig["ready"]>): Promise<boolean> {
  if ("exec" in ready) {
    const r = await execOutput(c, ready.exec, { check: false }).catch(() => undefined);
    return r?.code === 0;
  }
  if ("file" in ready) {
    // Resolved by the kernel inside the container's root, as every file operation is.
    return stat(c, ready.file, { follow: true }).then(
      () => true,
      () => false,
    );
  }
  if ("tcp" in ready) {
    const address = firstAddress(c);
    if (!address) throw new ConfigError([{ path: "ready.tcp", message: "a TCP probe needs an IPv4 address on one of the container's NICs" }], { container: c.name });
    return new Promise<boolean>((resolve) => {
      const s = connect({ host: address, port: ready.tcp, timeout: 1000 });
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
      s.once("timeout", () => {
        s.destroy();
        resolve(false);
      });
    });
  }
  return true;
}
