/**
 * Starting a container's init: cgroup, plan, native spawn, state on disk.
 * Every failure undoes what was done (cgroup removed, fds closed) and
 * surfaces as a SetupError naming the step.
 * @module
 */
import { closeSync, existsSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";

import { applyLimits, delegate, enableControllers } from "../cgroup/apply.js";
import { detectCgroupHost } from "../cgroup/cgroup2.js";
import { applyDeviceRules } from "../cgroup/devices.js";
import { ConfigError, StateError } from "../errors.js";
import { execHelperPath, native, type SpawnResult } from "../native/binding.js";
import { attachNics, detachNics, type Attached } from "../network/manager.js";
import { buildInitPlan, type CachedPlan } from "../plan/build-plan.js";
import { encodePlan } from "../plan/encode.js";
import type { ContainerHandle } from "./handle.js";
import { setupError } from "./errors-map.js";
import { openSharedNamespaces, type JoinedNamespaces } from "./join.js";
import { STOP_MARK } from "./exit-status.js";
import { withLock } from "../linux/lock.js";
import { dropHold, openHold } from "./hold.js";
import { lxcfsForStart } from "./lxcfs.js";
import { connectIntercept, interceptAsked, monitorDone, tellInit } from "./monitor.js";
import { processInfo, setOomScoreAdj } from "./proc.js";
import { restartHook, type AutoRestart } from "./restart-policy.js";
import { deviceRulesOf } from "./resources.js";
import { withDeviceEnv } from "./device-env.js";
import { prepareDevices, reloadRecord, startNodeRules, type StartDevices } from "./devices.js";
import { ensureFollower } from "./device-follower.js";
import { followHotplug } from "./device-hotplug.js";
import { isLive } from "./state.js";
import { consoleStdio, ensureMachineId, prepareSystem, waitReady } from "./system.js";
import { closeChildSide, destroyStreams, openStdio, type StdioMode, type StdioTarget } from "./stdio.js";

export interface StartOptions {
  /**
   * The init's stdin/stdout/stderr: `"ignore"` (default, /dev/null),
   * `"inherit"` (this process's), `"pipe"` (streams on the container:
   * `c.stdin`, `c.stdout`, `c.stderr`), or one each, where an fd of this
   * process may stand for a mode (a pty slave of the caller's own, say).
   * A host terminal given to the init lets the container type into it
   * (TIOCSTI) and change its settings: give it a pty instead.
   */
  stdio?: StdioMode | [StdioTarget, StdioTarget, StdioTarget];
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
  /**
   * Set everything up but hold the init right before it executes its
   * program (the OCI runtime's `create`): `start()` resolves with the init's
   * pid, {@link Container.held} is true, and {@link Container.release},
   * from this or any other process, lets the program run. The held init
   * outlives this process. Not with `wait: "ready"`.
   */
  hold?: boolean;
  /**
   * A connected unix socket (an fd of this process, stream or seqpacket):
   * the init's stdin, stdout and stderr become a new pty of the container's
   * own devpts (`/dev/pts/N` inside, owned by the init's user), which is
   * also its controlling terminal, and the pty's master is sent over the
   * socket (SCM_RIGHTS, with the bytes `/dev/ptmx`: runc's console-socket
   * protocol). What runc and crun do for an OCI `process.terminal`; `stdio`
   * is then ignored. The socket stays the caller's to close.
   */
  terminal?: number;
}

function bindSourceIsDir(source: string): boolean | undefined {
  try {
    return statSync(source).isDirectory();
  } catch {
    return undefined;
  }
}

/** The generated /etc/resolv.conf, bound over the rootfs's own when it has one. */
function resolvBind(c: ContainerHandle): { source: string; target: string }[] {
  const source = join(c.stateDir, "resolv.conf");
  const r = c.record.rootfs;
  if (r.kind === "embedded" || !existsSync(source)) return [];
  return existsSync(join(r.kind === "image" ? r.lower : r.path, "etc/resolv.conf")) ? [{ source, target: "/etc/resolv.conf" }] : [];
}

/**
 * The encoded init plan, reused while nothing it depends on changed: the
 * config is fixed at create, so only the stdio fds, the passed fds and the
 * kind of each bind source can differ between two starts.
 */
function initPlan(
  c: ContainerHandle,
  stdio: [number, number, number],
  keepFds: number[],
  system: { console?: string; runHost?: { dir: string; notify: boolean }; interceptSocket?: number; terminalSocket?: number },
  devices: StartDevices,
  holdFd?: number,
): { plan: CachedPlan; encoded: Buffer } {
  // Devices' nodes and disks are bound like the config's own mounts, after them.
  const mounts = [...c.config.mounts, ...devices.mounts];
  const kinds = mounts.map((m) => (m.type === "bind" ? bindSourceIsDir(m.source) : null));
  // lxcfs may have started or stopped since the last start.
  const key = JSON.stringify([stdio, keepFds, kinds, system, c.lxcfs, devices.mounts, devices.fsMounts, devices.state, holdFd]);
  const cached = c.planCache;
  if (cached?.key === key) return cached;
  const plan = buildInitPlan({
    name: c.name,
    config: { ...c.effective(), mounts, env: withDeviceEnv(c.effective().env, devices.state) },
    rootfs: c.record.rootfs,
    stateDir: c.stateDir,
    idmap: c.idmap,
    stdio,
    keepFds,
    ...(holdFd !== undefined ? { holdFd } : {}),
    extraBinds: resolvBind(c),
    ...(system.console ? { console: system.console } : {}),
    ...(system.runHost ? { runHost: system.runHost } : {}),
    ...(system.interceptSocket !== undefined ? { interceptSocket: system.interceptSocket } : {}),
    ...(system.terminalSocket !== undefined ? { terminalSocket: system.terminalSocket } : {}),
    ...(devices.fsMounts.length ? { fsMounts: devices.fsMounts } : {}),
    bindSourceIsDir: (source) => kinds[mounts.findIndex((m) => m.type === "bind" && m.source === source)] ?? undefined,
  });
  c.planCache = { key, plan, encoded: encodePlan(plan.ops) };
  return c.planCache;
}

/**
 * Starts the init. `auto` is a restart by the restart policy after the run
 * of `auto.afterPid` ended: it is cancelled (a StateError, op "restart")
 * when, under the lock, that run is no longer the container's last or a
 * stop or destroy through warren asked for it to stay stopped.
 */
export async function startContainer(c: ContainerHandle, options: StartOptions, auto?: AutoRestart): Promise<void> {
  // A terminal replaces the stdio: the child's stdio fds are /dev/null then, never used.
  const stdioMode = options.terminal !== undefined ? "ignore" : options.stdio;
  const modes = typeof stdioMode === "string" || stdioMode === undefined
    ? ([stdioMode ?? "ignore", stdioMode ?? "ignore", stdioMode ?? "ignore"] as [StdioTarget, StdioTarget, StdioTarget])
    : stdioMode;
  if (options.hold && options.wait === "ready") {
    throw new ConfigError([{ path: "hold", message: "a held init cannot be waited for until ready" }], { container: c.name });
  }
  if (options.terminal !== undefined && (!Number.isInteger(options.terminal) || options.terminal < 0)) {
    throw new ConfigError([{ path: "terminal", message: `${options.terminal} is not an fd` }], { container: c.name });
  }
  for (const fd of options.inheritFds ?? []) {
    if (!Number.isInteger(fd) || fd < 3) throw new ConfigError([{ path: "inheritFds", message: `${fd} is not an fd above 2` }], { container: c.name });
  }
  await c.refresh();
  await withLock(c.store.lockPath(c.name), async () => {
    const disk = await c.store.readState(c.name);
    if (auto && (c.run || !disk || disk.pid !== auto.afterPid || isLive(disk.status) || disk.stopRequested)) {
      const why = !disk ? "it was destroyed" : disk.stopRequested ? "a stop was asked for" : "it was started again meanwhile";
      throw new StateError(`container "${c.name}": restart cancelled: ${why}`, "restart", disk?.status ?? "destroyed", { container: c.name });
    }
    if (c.run || isLive(disk?.status)) {
      throw new StateError(`container "${c.name}" is already running`, "start", "running", { container: c.name });
    }
    await reloadRecord(c); // a device added or removed by another process
    // Before anything is made: `lxcfs: true` without lxcfs is a refusal.
    c.lxcfs = lxcfsForStart(c.name, c.config);
    // The monitor of this run writes how it ended; an older run's record must not stand for it.
    // The last run's monitor may still be ending (saving console.log,
    // removing its sockets): this run's would otherwise lose monitor.sock
    // to it.
    if (disk?.monitor !== undefined) await monitorDone(disk.monitor);
    rmSync(join(c.stateDir, "exit"), { force: true });
    rmSync(join(c.stateDir, STOP_MARK), { force: true });
    const host = detectCgroupHost();
    const enableFailures = enableControllers(c.cgroups, host);
    const cgroupPath = await c.cgroups.create(c.name);
    let stdio: ReturnType<typeof openStdio> | undefined;
    let monitor: number | undefined;
    let shared: JoinedNamespaces | undefined;
    let interceptSocket: number | undefined;
    let holdFd: number | undefined;
    try {
      const config = c.config;
      // First, so that joining a container that is not running fails
      // before the monitor, stdio and plan are made.
      shared = await openSharedNamespaces(c);
      c.warnings = [
        ...c.recordWarnings(),
        ...(config.limits ? applyLimits(cgroupPath, config.limits, { host, bestEffort: config.bestEffortLimits, enableFailures, container: c.name }) : []),
      ];
      // With its own cgroup namespace and user namespace, the container's
      // root manages its cgroup (systemd builds its tree there).
      if (config.namespaces.cgroup && c.idmap) delegate(cgroupPath, c.idmap.hostUid, c.idmap.hostGid, host.delegation.files);
      // A privileged container gets its device policy before its first
      // process exists: CLONE_INTO_CGROUP puts the init under it at clone.
      const devices = prepareDevices(c);
      if (!config.namespaces.user) applyDeviceRules(cgroupPath, deviceRulesOf([...config.deviceRules, ...startNodeRules(devices)]));
      ensureMachineId(c);
      const hook = restartHook(c);
      const system = await prepareSystem(c, options, hook);
      monitor = system.monitor;
      stdio = system.console ? consoleStdio(system.console.slave) : openStdio(modes);
      // The init's child sends its seccomp listener to the monitor on this.
      if (interceptAsked(config)) interceptSocket = connectIntercept(c.stateDir, c.name);
      if (options.hold) holdFd = openHold(c.stateDir, c.name);
      else dropHold(c.stateDir);
      const planArgs = [stdio.childFds, options.inheritFds ?? [], {
        ...(system.console ? { console: system.console.path } : {}),
        ...(system.runHost ? { runHost: system.runHost } : {}),
        ...(interceptSocket !== undefined ? { interceptSocket } : {}),
        ...(options.terminal !== undefined ? { terminalSocket: options.terminal } : {}),
      }, devices, holdFd] as const;
      const { plan, encoded } = initPlan(c, ...planArgs);
      const spawnOptions = {
        cloneFlags: plan.cloneFlags,
        cgroupPath,
        execHelper: execHelperPath(),
        ...(plan.uidMap ? { uidMap: plan.uidMap } : {}),
        ...(plan.gidMap ? { gidMap: plan.gidMap } : {}),
        ...(plan.lock ? { lock: plan.lock } : {}),
        ...(shared.join.length ? { join: shared.join } : {}),
      };
      let res: SpawnResult;
      let network: Attached | undefined;
      if (config.nics.length === 0 && config.oomScoreAdj === undefined) {
        res = await native().spawn(encoded, spawnOptions);
      } else {
        // The first process waits before "go" while it is prepared from
        // outside: its interfaces made and configured in its network
        // namespace, its oom_score_adj set. The init starts with both.
        const paused = await native().spawn(encoded, { ...spawnOptions, pause: true });
        if ("error" in paused) {
          res = paused;
        } else {
          try {
            if (config.oomScoreAdj !== undefined) setOomScoreAdj(paused.pid, config.oomScoreAdj, c.name);
            if (config.nics.length) {
              network = await attachNics({
                runtime: c.runtime,
                container: c.name,
                pid: paused.pid,
                nics: config.nics,
                leases: c.record.leases ?? [],
                ports: config.ports,
              });
            }
          } catch (e) {
            await native().resume(paused.paused, false);
            throw e;
          }
          res = await native().resume(paused.paused, true);
          if ("error" in res && network) await detachNics(c.runtime, c.name, network).catch(() => undefined);
        }
      }
      closeChildSide(stdio);
      shared.close();
      if (interceptSocket !== undefined) closeSync(interceptSocket);
      interceptSocket = undefined;
      // The init has its own: it is the fifo's only reader from here.
      if (holdFd !== undefined) closeSync(holdFd);
      holdFd = undefined;
      if ("error" in res) {
        // A reused plan keeps only its encoding: the steps, to name the one
        // that failed, are made again (the same, from the same inputs).
        const ops = plan.ops ?? (c.planCache = null, initPlan(c, ...planArgs).plan.ops!);
        throw setupError(c.name, "start", ops, res.error.opIndex, res.error.errno, res.error.detail);
      }
      // Kept for the next start is the encoding, not the steps: an idle
      // fleet would otherwise hold a hundred objects per container.
      if (c.planCache?.plan.ops) c.planCache = { ...c.planCache, plan: { ...c.planCache.plan, ops: undefined } };

      const startTime = res.startTime >= 0 ? res.startTime : (processInfo(res.pid)?.startTime ?? 0);
      c.state = {
        status: "running",
        pid: res.pid,
        startTime,
        startedAt: new Date().toISOString(),
        owner: process.pid,
        exit: null,
        ...(network ? { network } : {}),
        ...(auto ? { restarts: auto.restarts } : {}),
        ...(Object.keys(devices.state).length ? { devices: devices.state } : {}),
      };
      if (monitor !== undefined) {
        c.state.monitor = monitor;
        if (hook) c.state.supervised = true;
        // From here the monitor follows the init, and ends with it.
        await tellInit(c.stateDir, res.pid, c.name).catch((e) => c.warnings.push(`monitor: ${(e as Error).message}`));
      }
      c.adopt(res.pid, res.pidfd, startTime, true);
      await c.store.writeState(c.name, c.state);
      c.stdin = stdio.stdin;
      c.stdout = stdio.stdout;
      c.stderr = stdio.stderr;
    } catch (e) {
      shared?.close();
      if (interceptSocket !== undefined) closeSync(interceptSocket);
      if (holdFd !== undefined) closeSync(holdFd);
      if (options.hold && !c.run) dropHold(c.stateDir);
      if (stdio) {
        closeChildSide(stdio);
        destroyStreams(stdio);
      }
      if (!c.run) await c.cgroups.remove(c.name).catch(() => undefined);
      if (monitor !== undefined && !c.run) killQuietly(monitor);
      throw e;
    }
  });
  // Followed here and, should this process go first, by the root's follower.
  if (followHotplug(c)) await ensureFollower(c);
  c.startOptions = options;
  c.emit({ type: "started", pid: c.pid! });
  if (options.wait === "ready") await waitReady(c, options.readyTimeout ?? 90_000);
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    /* gone */
  }
}
