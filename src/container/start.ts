/**
 * Starting a container's init: cgroup, plan, native spawn, state on disk.
 * Every failure undoes what was done (cgroup removed, fds closed) and
 * surfaces as a SetupError naming the step.
 * @module
 */
import { closeSync, existsSync, openSync, statSync } from "node:fs";
import { join } from "node:path";

import { applyLimits, delegate, enableControllers } from "../cgroup/apply.js";
import { detectCgroupHost } from "../cgroup/cgroup2.js";
import { applyDeviceRules } from "../cgroup/devices.js";
import { ConfigError, HostError, StateError } from "../errors.js";
import { codeOf } from "../linux/errno.js";
import { native, type SpawnResult } from "../native/binding.js";
import { attachNics, detachNics, type Attached } from "../network/manager.js";
import { buildInitPlan, type SpawnPlan } from "../plan/build-plan.js";
import { encodePlan } from "../plan/encode.js";
import type { ContainerHandle } from "./handle.js";
import { setupError } from "./errors-map.js";
import { withLock } from "../linux/lock.js";
import { tellInit } from "./monitor.js";
import { processInfo, setOomScoreAdj } from "./proc.js";
import { deviceRulesOf } from "./resources.js";
import { fsTree } from "../devices/trees.js";
import { prepareDevices, reloadRecord, startNodeRules, type StartDevices } from "./devices.js";
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
function idmappedMounts(c: ContainerHandle, pid: number, pass: NonNullable<SpawnPlan["pass"]>): number[] {
  if (pass.length === 0) return [];
  const fds: number[] = [];
  const userns = openSync(`/proc/${pid}/ns/user`, "r");
  try {
    for (const p of pass) {
      if ("fs" in p) {
        fds.push(fsTree({ source: p.source, fstype: p.fs.fstype, target: "", readonly: p.fs.readonly }));
        continue;
      }
      let fd: number;
      try {
        fd = native().openTree(p.source, p.recursive);
      } catch (e) {
        throw new HostError(`take \`${p.source}\` for an idmapped mount`, codeOf(e), {
          container: c.name,
          path: p.source,
          syscall: "open_tree",
        });
      }
      fds.push(fd);
      try {
        native().idmapTree(fd, userns, p.recursive);
      } catch (e) {
        const errno = codeOf(e);
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
  system: { console?: string; runHost?: { dir: string; notify: boolean } },
  devices: StartDevices,
): { plan: SpawnPlan; encoded: Buffer } {
  // Devices' nodes and disks are bound like the config's own mounts, after them.
  const mounts = [...c.config.mounts, ...devices.mounts];
  const kinds = mounts.map((m) => (m.type === "bind" ? bindSourceIsDir(m.source) : null));
  const key = JSON.stringify([stdio, keepFds, kinds, system, devices.mounts, devices.fsMounts]);
  const cached = c.planCache;
  if (cached?.key === key) return cached;
  const plan = buildInitPlan({
    name: c.name,
    config: { ...c.effective(), mounts },
    rootfs: c.record.rootfs,
    stateDir: c.stateDir,
    idmap: c.idmap,
    stdio,
    keepFds,
    extraBinds: resolvBind(c),
    ...(system.console ? { console: system.console } : {}),
    ...(system.runHost ? { runHost: system.runHost } : {}),
    ...(devices.fsMounts.length ? { fsMounts: devices.fsMounts } : {}),
    bindSourceIsDir: (source) => kinds[mounts.findIndex((m) => m.type === "bind" && m.source === source)] ?? undefined,
  });
  c.planCache = { key, plan, encoded: encodePlan(plan.ops) };
  return c.planCache;
}

export async function startContainer(c: ContainerHandle, options: StartOptions): Promise<void> {
  const modes = typeof options.stdio === "string" || options.stdio === undefined
    ? ([options.stdio ?? "ignore", options.stdio ?? "ignore", options.stdio ?? "ignore"] as [StdioTarget, StdioTarget, StdioTarget])
    : options.stdio;
  for (const fd of options.inheritFds ?? []) {
    if (!Number.isInteger(fd) || fd < 3) throw new ConfigError([{ path: "inheritFds", message: `${fd} is not an fd above 2` }], { container: c.name });
  }
  await c.refresh();
  await withLock(c.store.lockPath(c.name), async () => {
    const disk = await c.store.readState(c.name);
    if (c.run || isLive(disk?.status)) {
      throw new StateError(`container "${c.name}" is already running`, "start", "running", { container: c.name });
    }
    await reloadRecord(c); // a device added or removed by another process
    const host = detectCgroupHost();
    const enableFailures = enableControllers(c.cgroups, host);
    const cgroupPath = await c.cgroups.create(c.name);
    let stdio: ReturnType<typeof openStdio> | undefined;
    let monitor: number | undefined;
    try {
      const config = c.config;
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
      const system = await prepareSystem(c, options);
      monitor = system.monitor;
      stdio = system.console ? consoleStdio(system.console.slave) : openStdio(modes);
      const { plan, encoded } = initPlan(c, stdio.childFds, options.inheritFds ?? [], {
        ...(system.console ? { console: system.console.path } : {}),
        ...(system.runHost ? { runHost: system.runHost } : {}),
      }, devices);
      const spawnOptions = {
        cloneFlags: plan.cloneFlags,
        cgroupPath,
        ...(plan.uidMap ? { uidMap: plan.uidMap } : {}),
        ...(plan.gidMap ? { gidMap: plan.gidMap } : {}),
        ...(plan.lock ? { lock: plan.lock } : {}),
      };
      let res: SpawnResult;
      let network: Attached | undefined;
      if (config.nics.length === 0 && !plan.pass && config.oomScoreAdj === undefined) {
        res = await native().spawn(encoded, spawnOptions);
      } else {
        // The first process waits before "go" while it is prepared from
        // outside: idmapped mounts made through its user namespace (passed
        // with "go"), its interfaces made and configured in its network
        // namespace, its oom_score_adj set. The init starts with all of them.
        const paused = await native().spawn(encoded, { ...spawnOptions, pause: true });
        if ("error" in paused) {
          res = paused;
        } else {
          let passed: number[] = [];
          try {
            if (config.oomScoreAdj !== undefined) setOomScoreAdj(paused.pid, config.oomScoreAdj, c.name);
            passed = idmappedMounts(c, paused.pid, plan.pass ?? []);
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
            for (const fd of passed) closeSync(fd);
            await native().resume(paused.paused, false);
            throw e;
          }
          try {
            res = await native().resume(paused.paused, true, passed);
          } finally {
            for (const fd of passed) closeSync(fd);
          }
          if ("error" in res && network) await detachNics(c.runtime, c.name, network).catch(() => undefined);
        }
      }
      closeChildSide(stdio);
      if ("error" in res) throw setupError(c.name, "start", plan.ops, res.error.opIndex, res.error.errno);

      const startTime = res.startTime >= 0 ? res.startTime : (processInfo(res.pid)?.startTime ?? 0);
      c.state = {
        status: "running",
        pid: res.pid,
        startTime,
        startedAt: new Date().toISOString(),
        owner: process.pid,
        exit: null,
        ...(network ? { network } : {}),
        ...(Object.keys(devices.state).length ? { devices: devices.state } : {}),
      };
      if (monitor !== undefined) {
        c.state.monitor = monitor;
        // From here the monitor follows the init, and ends with it.
        await tellInit(c.stateDir, res.pid, c.name).catch((e) => c.warnings.push(`monitor: ${(e as Error).message}`));
      }
      c.adopt(res.pid, res.pidfd, startTime, true);
      await c.store.writeState(c.name, c.state);
      c.stdin = stdio.stdin;
      c.stdout = stdio.stdout;
      c.stderr = stdio.stderr;
    } catch (e) {
      if (stdio) {
        closeChildSide(stdio);
        destroyStreams(stdio);
      }
      if (!c.run) await c.cgroups.remove(c.name).catch(() => undefined);
      if (monitor !== undefined && !c.run) killQuietly(monitor);
      throw e;
    }
  });
  followHotplug(c);
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
