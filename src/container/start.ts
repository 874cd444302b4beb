/**
 * Starting a container's init: cgroup, plan, native spawn, state on disk.
 * Every failure undoes what was done (cgroup removed, fds closed) and
 * surfaces as a SetupError naming the step.
 * @module
 */
import { randomUUID } from "node:crypto";
import { chownSync, closeSync, existsSync, fchownSync, fstatSync, constants as fsc, lstatSync, mkdirSync, openSync, statSync, writeSync, type Stats } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";

import { applyLimits, delegate, enableControllers } from "../cgroup/apply.js";
import { detectCgroupHost } from "../cgroup/cgroup2.js";
import { applyDeviceRules } from "../cgroup/devices.js";
import { ConfigError, errnoName, HostError, ReadyTimeoutError, StateError } from "../errors.js";
import { native, type SpawnResult } from "../native/binding.js";
import { attachNics, detachNics, type Attached } from "../network/manager.js";
import { buildInitPlan, type SpawnPlan } from "../plan/build-plan.js";
import { encodePlan } from "../plan/encode.js";
import type { Container } from "./container.js";
import { setupError } from "./errors-map.js";
import { withLock } from "./lock.js";
import { processInfo } from "./proc.js";
import { deviceRulesOf } from "./resources.js";
import { resolveInRoot } from "./init-kind.js";
import { runHostDir, startMonitor, tellInit, waitForNotifyReady } from "./monitor.js";
import { isLive } from "./state.js";
import { closeChildSide, destroyStreams, openStdio, type StdioMode } from "./stdio.js";

export interface StartOptions {
  /**
   * The init's stdin/stdout/stderr: `"ignore"` (default, /dev/null),
   * `"inherit"` (this process's), `"pipe"` (streams on the container:
   * `c.stdin`, `c.stdout`, `c.stderr`), or one mode each.
   */
  stdio?: StdioMode | [StdioMode, StdioMode, StdioMode];
  /** Host fds passed to the init at the same numbers. */
  inheritFds?: number[];
  /**
   * `"started"` (default): resolve once the init runs. `"ready"`: once the
   * container says it is ready (see the config's `ready`: systemd's READY=1
   * by default for a systemd init), rejecting with a {@link ReadyTimeoutError}
   * after `readyTimeout` ms (the container is left running).
   */
  wait?: "started" | "ready";
  /** Milliseconds `wait: "ready"` waits (default 90 000, systemd's own default start timeout). */
  readyTimeout?: number;
}

function bindSourceIsDir(source: string): boolean | undefined {
  try {
    return statSync(source).isDirectory();
  } catch {
    return undefined;
  }
}

/**
 * The detached, idmapped mounts a plan asks for, made through the paused
 * child's user namespace (mount_setattr needs privilege over the mount's
 * own namespace, which only the parent has). Returns the fds, in order.
 */
function idmappedMounts(c: Container, pid: number, pass: NonNullable<SpawnPlan["pass"]>): number[] {
  if (pass.length === 0) return [];
  const fds: number[] = [];
  const userns = openSync(`/proc/${pid}/ns/user`, "r");
  try {
    for (const p of pass) {
      let fd: number;
      try {
        fd = native().openTree(p.source, p.recursive);
      } catch (e) {
        throw new HostError(`take \`${p.source}\` for an idmapped mount`, errnoName((e as { errno?: number }).errno ?? 0), {
          container: c.name,
          path: p.source,
          syscall: "open_tree",
        });
      }
      fds.push(fd);
      try {
        native().idmapTree(fd, userns, p.recursive);
      } catch (e) {
        const errno = errnoName((e as { errno?: number }).errno ?? 0);
        throw new HostError(
          `idmap \`${p.source}\` through the container's user namespace${errno === "EINVAL" ? " (its filesystem may not support idmapped mounts)" : ""}`,
          errno,
          { container: c.name, path: p.source, syscall: "mount_setattr" },
        );
      }
    }
    return fds;
  } catch (e) {
    for (const fd of fds) closeSync(fd);
    throw e;
  } finally {
    closeSync(userns);
  }
}

/** The generated /etc/resolv.conf, bound over the rootfs's own when it has one. */
function resolvBind(c: Container): { source: string; target: string }[] {
  const source = join(c.stateDir, "resolv.conf");
  const r = c._record.rootfs;
  if (r.kind === "embedded" || !existsSync(source)) return [];
  return existsSync(join(r.kind === "image" ? r.lower : r.path, "etc/resolv.conf")) ? [{ source, target: "/etc/resolv.conf" }] : [];
}

/**
 * The encoded init plan, reused while nothing it depends on changed: the
 * config is fixed at create, so only the stdio fds, the passed fds and the
 * kind of each bind source can differ between two starts.
 */
function initPlan(
  c: Container,
  stdio: [number, number, number],
  keepFds: number[],
  system: { console?: string; runHost?: { dir: string; notify: boolean } },
): { plan: SpawnPlan; encoded: Buffer } {
  const kinds = c.config.mounts.map((m) => (m.type === "bind" ? bindSourceIsDir(m.source) : null));
  const key = JSON.stringify([stdio, keepFds, kinds, system]);
  const cached = c._planCache;
  if (cached?.key === key) return cached;
  const plan = buildInitPlan({
    name: c.name,
    config: c._effective(),
    rootfs: c._record.rootfs,
    stateDir: c.stateDir,
    idmap: c.idmap,
    stdio,
    keepFds,
    extraBinds: resolvBind(c),
    ...(system.console ? { console: system.console } : {}),
    ...(system.runHost ? { runHost: system.runHost } : {}),
    bindSourceIsDir: (source) => kinds[c.config.mounts.findIndex((m) => m.type === "bind" && m.source === source)] ?? undefined,
  });
  c._planCache = { key, plan, encoded: encodePlan(plan.ops) };
  return c._planCache;
}

export async function startContainer(c: Container, options: StartOptions): Promise<void> {
  const modes = typeof options.stdio === "string" || options.stdio === undefined
    ? ([options.stdio ?? "ignore", options.stdio ?? "ignore", options.stdio ?? "ignore"] as [StdioMode, StdioMode, StdioMode])
    : options.stdio;
  for (const fd of options.inheritFds ?? []) {
    if (!Number.isInteger(fd) || fd < 3) throw new ConfigError([{ path: "inheritFds", message: `${fd} is not an fd above 2` }], { container: c.name });
  }
  await c.refresh();
  await withLock(c._store.lockPath(c.name), async () => {
    const disk = await c._store.readState(c.name);
    if (c._run || isLive(disk?.status)) {
      throw new StateError(`container "${c.name}" is already running`, "start", "running", { container: c.name });
    }
    const host = detectCgroupHost();
    const enableFailures = enableControllers(c._cgroups, host);
    const cgroupPath = await c._cgroups.create(c.name);
    let stdio: ReturnType<typeof openStdio> | undefined;
    let monitor: number | undefined;
    try {
      const config = c.config;
      c.warnings = [
        ...c._recordWarnings(),
        ...(config.limits ? applyLimits(cgroupPath, config.limits, { host, bestEffort: config.bestEffortLimits, enableFailures, container: c.name }) : []),
      ];
      // With its own cgroup namespace and user namespace, the container's
      // root manages its cgroup (systemd builds its tree there).
      if (config.namespaces.cgroup && c.idmap) delegate(cgroupPath, c.idmap.hostUid, c.idmap.hostGid, host.delegation.files);
      // A privileged container gets its device policy before its first
      // process exists: CLONE_INTO_CGROUP puts the init under it at clone.
      if (!config.namespaces.user) applyDeviceRules(cgroupPath, deviceRulesOf(config.deviceRules));
      ensureMachineId(c);
      const system = await prepareSystem(c, options);
      monitor = system.monitor;
      stdio = system.console ? consoleStdio(system.console.slave) : openStdio(modes);
      const { plan, encoded } = initPlan(c, stdio.childFds, options.inheritFds ?? [], {
        ...(system.console ? { console: system.console.path } : {}),
        ...(system.runHost ? { runHost: system.runHost } : {}),
      });
      const spawnOptions = {
        cloneFlags: plan.cloneFlags,
        cgroupPath,
        ...(plan.uidMap ? { uidMap: plan.uidMap } : {}),
        ...(plan.gidMap ? { gidMap: plan.gidMap } : {}),
      };
      let res: SpawnResult;
      let network: Attached | undefined;
      if (config.nics.length === 0 && !plan.pass) {
        res = await native().spawn(encoded, spawnOptions);
      } else {
        // The first process waits before "go" while it is prepared from
        // outside: idmapped mounts made through its user namespace (passed
        // with "go"), its interfaces made and configured in its network
        // namespace. The init starts with all of them.
        const paused = await native().spawn(encoded, { ...spawnOptions, pause: true });
        if ("error" in paused) {
          res = paused;
        } else {
          let passed: number[] = [];
          try {
            passed = idmappedMounts(c, paused.pid, plan.pass ?? []);
            if (config.nics.length) {
              network = await attachNics({
                runtime: c._runtime,
                container: c.name,
                pid: paused.pid,
                nics: config.nics,
                leases: c._record.leases ?? [],
                ports: config.ports,
              });
            }
          } catch (e) {
            for (const fd of passed) closeSync(fd);
            await native().resume(paused.paused, false);
            throw e;
          }
          try {
            res = await native().resume(paused.paused, true, passed);
          } finally {
            for (const fd of passed) closeSync(fd);
          }
          if ("error" in res && network) await detachNics(c._runtime, c.name, network).catch(() => undefined);
        }
      }
      closeChildSide(stdio);
      if ("error" in res) throw setupError(c.name, "start", plan.ops, res.error.opIndex, res.error.errno);

      const startTime = res.startTime >= 0 ? res.startTime : (processInfo(res.pid)?.startTime ?? 0);
      c._state = {
        status: "running",
        pid: res.pid,
        startTime,
        startedAt: new Date().toISOString(),
        owner: process.pid,
        exit: null,
        ...(network ? { network } : {}),
      };
      if (monitor !== undefined) {
        c._state.monitor = monitor;
        // From here the monitor follows the init, and ends with it.
        await tellInit(c.stateDir, res.pid, c.name).catch((e) => c.warnings.push(`monitor: ${(e as Error).message}`));
      }
      c._adopt(res.pid, res.pidfd, startTime, true);
      await c._store.writeState(c.name, c._state);
      c.stdin = stdio.stdin;
      c.stdout = stdio.stdout;
      c.stderr = stdio.stderr;
    } catch (e) {
      if (stdio) {
        closeChildSide(stdio);
        destroyStreams(stdio);
      }
      if (!c._run) await c._cgroups.remove(c.name).catch(() => undefined);
      if (monitor !== undefined && !c._run) killQuietly(monitor);
      throw e;
    }
  });
  c._startOptions = options;
  c._emit({ type: "started", pid: c.pid! });
  if (options.wait === "ready") await waitReady(c, options.readyTimeout ?? 90_000);
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    /* gone */
  }
}

/**
 * An image built for containers has an empty /etc/machine-id (systemd's
 * "not set yet"): each container gets its own, once, in its own layer.
 * Without one systemd would take every boot for a first boot and run
 * systemd-firstboot, which asks on the console. The container's layer is
 * its own to shape: nothing here follows a symlink in it (`/etc` a link
 * to a host path is left alone), and nothing existing is replaced.
 */
function ensureMachineId(c: Container): void {
  const r = c._record.rootfs;
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

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

/** stdio of an init with a console: the pty slave on 0, 1 and 2. */
function consoleStdio(slave: number): ReturnType<typeof openStdio> {
  return { childFds: [slave, slave, slave], childSide: [slave], stdin: null, stdout: null, stderr: null };
}

/** The rootfs tree a container's root is made from, when warren can look at it. */
function rootfsTree(c: Container): string | undefined {
  const r = c._record.rootfs;
  return r.kind === "image" ? r.lower : r.kind === "directory" ? r.path : undefined;
}

/** Whether the container's readiness is systemd's READY=1. */
function readinessIsNotify(c: Container): boolean {
  const ready = c.config.ready;
  return ready ? "notify" in ready : c._effective().initKind === "systemd";
}

/**
 * What a system container gets beside its init (systemd's container
 * interface): a console pty kept by the monitor, /run/host with the notify
 * socket. Nothing of it when the caller gave the init its own stdio and no
 * readiness needs the notify socket.
 */
async function prepareSystem(
  c: Container,
  options: StartOptions,
): Promise<{ monitor?: number; console?: { slave: number; path: string }; runHost?: { dir: string; notify: boolean } }> {
  const eff = c._effective();
  const wantConsole = eff.console && options.stdio === undefined;
  const notify = readinessIsNotify(c);
  if (!wantConsole && !notify) return {};
  const tree = rootfsTree(c);
  const runHost = tree !== undefined && existsSync(join(tree, "run")) ? { dir: runHostDir(c.stateDir), notify } : undefined;
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
async function waitReady(c: Container, timeoutMs: number): Promise<void> {
  const ready = c.config.ready;
  const signal = AbortSignal.timeout(timeoutMs);
  const t0 = Date.now();
  try {
    if (readinessIsNotify(c)) {
      await waitForNotifyReady(c.stateDir, c.name, signal);
    } else if (ready) {
      for (let delay = 10; ; delay = Math.min(delay * 2, 250)) {
        if (c.state !== "running" && c.state !== "frozen") {
          throw new StateError(`container "${c.name}" stopped before it was ready`, "start", c.state, { container: c.name });
        }
        if (await probe(c, ready)) break;
        if (signal.aborted) throw signal.reason;
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  } catch (e) {
    if (!signal.aborted) throw e;
    const log = await c.consoleLog().catch(() => Buffer.alloc(0));
    throw new ReadyTimeoutError(c.name, Date.now() - t0, lastLines(log.toString(), 20));
  }
  c._emit({ type: "ready" });
}

function lastLines(text: string, n: number): string[] {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "").replace(/\r/g, "");
  return clean.split("\n").filter((l) => l.trim()).slice(-n);
}

function firstAddress(c: Container): string | undefined {
  return (
    c._record.leases?.find((l) => l.ipv4)?.ipv4 ??
    c.config.nics.map((n) => ("ipv4" in n && typeof n.ipv4 === "string" ? n.ipv4.split("/")[0] : undefined)).find(Boolean)
  );
}

async function probe(c: Container, ready: NonNullable<Container["config"]["ready"]>): Promise<boolean> {
  if ("exec" in ready) {
    const r = await c.execOutput(ready.exec, { check: false }).catch(() => undefined);
    return r?.code === 0;
  }
  if ("file" in ready) {
    return c.pid !== undefined && resolveInRoot(`/proc/${c.pid}/root`, ready.file) !== undefined;
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
