/**
 * What every verb works on: one container's record, state and running init
 * as this process sees them. The public {@link Container} is a thin face
 * over a handle; start, stop, exec, files, network, snapshots and export
 * take the handle, so none of them reaches into the public class and the
 * public class declares no internals.
 *
 * The handle also owns the life-cycle bookkeeping the verbs share: adopting
 * a running init (pidfd + start time), telling why it ended, and recording
 * the exit once it is gone.
 * @module
 */
import { EventEmitter } from "node:events";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";

import { CgroupTree, detectCgroupHost } from "../cgroup/cgroup2.js";
import type { ResolvedRuntime } from "../config/runtime.js";
import type { IdMap, ResolvedConfig } from "../config/schema.js";
import { signalName } from "../config/signals.js";
import { StateError } from "../errors.js";
import { codeOf } from "../linux/errno.js";
import { withLock } from "../linux/lock.js";
import { native, type ExitWatcher } from "../native/binding.js";
import { detachNics } from "../network/manager.js";
import type { CachedPlan } from "../plan/build-plan.js";
import { effectiveConfig, initOf, initTree, type EffectiveConfig } from "../plan/effective.js";
import type { LxcfsProbe } from "../plan/lxcfs.js";
import { detectInit, type InitKind } from "../rootfs/init-kind.js";
import type { ContainerEvent } from "./resources.js";
import { hostLxcfs } from "./lxcfs.js";
import { monitorExit, pidfdExit, type RawExit } from "./exit-status.js";
import { processInfo } from "./proc.js";
import { unplugFromJoiners } from "./pod-nics.js";
import { afterRun } from "./after-run.js";
import { STOP_MARK } from "./exit-status.js";
import type { AutoRestart } from "./restart-policy.js";
import { isLive, StateStore, type ContainerRecord, type ExitStatus, type RuntimeState, type Status, type StopReason } from "./state.js";
import type { StartOptions } from "./start.js";

/** Per-run bookkeeping of a running init as seen by this handle. */
export interface Run {
  pid: number;
  pidfd: number;
  startTime: number;
  watcher: ExitWatcher;
  exited: Promise<ExitStatus>;
  /** True when this process started it (and can reap it). */
  owned: boolean;
}

/** Ephemeral containers this process runs, killed if it exits. */
const ephemeralRunning = new Set<ContainerHandle>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const h of ephemeralRunning) h.cgroups.killSync(h.name);
  });
}

export class ContainerHandle {
  readonly store: StateStore;
  readonly cgroups: CgroupTree;
  run: Run | null = null;
  destroyed = false;
  /** The last encoded init plan and what it was built from. */
  /** The last start's encoded plan; its steps (`plan.ops`) are dropped once it started (src/container/start.ts). */
  planCache: { key: string; plan: CachedPlan; encoded: Buffer } | null = null;
  /** The exit of the latest run started or adopted by this handle (kept after it ends). */
  lastExited: Promise<ExitStatus> | null = null;
  /** The init found in the rootfs (cached). */
  initKind: InitKind | undefined;
  /** The host's lxcfs as the last start found it (probed on first use otherwise). */
  lxcfs: LxcfsProbe | undefined;
  /** The options of the last start in this process (a restart after a reboot reuses them). */
  startOptions: StartOptions | undefined;
  /** What stop() in this process asked of the current run, to tell why it ended. */
  stopping: "halt" | "kill" | undefined;
  /** Lifecycle events seen by this handle. */
  readonly bus = new EventEmitter().setMaxListeners(0);
  warnings: string[];
  stdin: Writable | null = null;
  stdout: Readable | null = null;
  stderr: Readable | null = null;
  /**
   * Set by the owner of the handle: how to start it again (the restart
   * policy, for a run without a monitor) and how to destroy it (an
   * ephemeral container that stopped). Injected so that this module needs
   * neither start nor destroy.
   */
  hooks: { restart?: (options: StartOptions, auto: AutoRestart) => Promise<void>; destroy?: () => Promise<void> } = {};

  constructor(
    readonly runtime: ResolvedRuntime,
    public record: ContainerRecord,
    public state: RuntimeState,
  ) {
    this.store = new StateStore(runtime.root);
    this.cgroups = new CgroupTree(detectCgroupHost().mount, runtime.cgroupParent);
    this.warnings = this.recordWarnings();
  }

  get name(): string {
    return this.record.name;
  }
  get status(): Status {
    return this.state.status;
  }
  get pid(): number | undefined {
    return isLive(this.state.status) ? this.state.pid : undefined;
  }
  get config(): ResolvedConfig {
    return this.record.config;
  }
  get idmap(): IdMap | null {
    return this.record.idmap;
  }
  get stateDir(): string {
    return this.store.dir(this.name);
  }
  get cgroupPath(): string {
    return this.cgroups.path(this.name);
  }

  /** Resolves when the running init exits (refs its watcher meanwhile); else the last exit known. */
  get exited(): Promise<ExitStatus> {
    const run = this.run;
    if (run) {
      run.watcher.ref();
      return run.exited;
    }
    return this.lastExited ?? Promise.resolve(this.state.exit ?? { code: null, signal: null });
  }

  /** What the container's record itself warns about, for every handle and after every start. */
  recordWarnings(): string[] {
    const r = this.record.rootfs;
    if (r.kind === "image" && r.storage !== "btrfs" && r.shifted) {
      return [`the image's filesystem cannot be idmapped on this kernel: the container has its own copy of the image, shifted to its id range (${r.lower})`];
    }
    return [];
  }

  /** The effective config (see {@link effectiveConfig}); the rootfs is searched for the init once. */
  effective(): EffectiveConfig {
    const { config, rootfs, imageDefaults } = this.record;
    this.initKind ??= detectInit(initTree(rootfs), initOf(config, rootfs, imageDefaults)[0]!);
    if (config.lxcfs !== false) this.lxcfs ??= hostLxcfs();
    return effectiveConfig({ name: this.name, config, rootfs, imageDefaults, initKind: this.initKind, lxcfs: this.lxcfs });
  }

  emit(e: ContainerEvent): void {
    this.bus.emit("event", e);
  }

  assertNotDestroyed(op: string): void {
    if (this.destroyed) throw new StateError(`container "${this.name}" was destroyed`, op, "destroyed", { container: this.name });
  }

  /** Marks the handle gone (destroyed here or by another process). */
  markDestroyed(): void {
    this.destroyed = true;
    this.bus.emit("destroyed");
  }

  /**
   * Re-reads the state from disk and reconciles it with reality: a running
   * init is adopted (pidfd, start-time check), one that died unseen is
   * recorded as stopped and its cgroup removed.
   */
  async refresh(): Promise<void> {
    if (this.destroyed) return;
    await this.refreshWith(await this.store.readState(this.name));
  }

  /** {@link refresh} with state.json already read (a listing reads them all in one batch). */
  async refreshWith(state: RuntimeState | undefined): Promise<void> {
    if (this.destroyed) return;
    if (!state) {
      if (!(await this.store.exists(this.name))) this.markDestroyed();
      return;
    }
    if (this.run && isLive(state.status) && state.pid === this.run.pid && state.startTime === this.run.startTime) {
      this.state = state;
      return;
    }
    this.state = state;
    if (!isLive(state.status) || this.run) return;
    // Running according to the disk, and not ours: check it really is.
    const pid = state.pid!;
    let pidfd = -1;
    try {
      pidfd = native().pidfdOpen(pid, true);
    } catch {
      pidfd = -1;
    }
    const info = pidfd >= 0 ? processInfo(pid) : undefined;
    // A zombie has exited already (its parent has not reaped it yet).
    const alive = info !== undefined && info.state !== "Z" && info.state !== "X";
    if (pidfd >= 0 && alive && info.startTime === state.startTime) {
      this.adopt(pid, pidfd, info.startTime, false);
      return;
    }
    if (pidfd >= 0) native().close(pidfd);
    await this.recordExit(pid, state.startTime, null);
  }

  /** Starts watching a running init. */
  adopt(pid: number, pidfd: number, startTime: number, owned: boolean): void {
    let resolveExit!: (s: ExitStatus) => void;
    const exited = new Promise<ExitStatus>((r) => (resolveExit = r));
    const watcher = new (native().ExitWatcher)(pidfd, (code, sig, reaped) => {
      const requested = this.stopping;
      this.stopping = undefined;
      this.run = null;
      ephemeralRunning.delete(this);
      // Not the parent: the kernel tells the status once the parent reaped it.
      const learnt = reaped
        ? Promise.resolve<RawExit | undefined>({ code, signal: sig === null ? null : (signalName(sig) as NodeJS.Signals) })
        : pidfdExit(pidfd);
      const after = (known?: ExitStatus | null) => {
        const final = known ?? { code: null, signal: null };
        resolveExit(final);
        afterRun(this, pid, owned, final);
      };
      learnt
        .then((raw) => {
          try {
            native().close(pidfd);
          } catch {
            /* already closed */
          }
          return this.recordExit(pid, startTime, raw ?? null, requested, reaped);
        })
        .then(after, () => after(this.state.exit));
    });
    this.run = { pid, pidfd, startTime, watcher, exited, owned };
    this.lastExited = exited;
    if (this.record.config.ephemeral && owned) {
      installExitHook();
      ephemeralRunning.add(this);
    }
  }

  /**
   * Marks a stop (or destroy) through warren in the state, for every
   * process: no restart policy starts the container again. A restart under
   * way holds the lock and finishes first, so the caller then finds the new
   * run and stops it.
   */
  async requestStop(how: "halt" | "kill"): Promise<void> {
    await withLock(this.store.lockPath(this.name), async () => {
      const disk = await this.store.readState(this.name);
      if (!disk || disk.status === "created" || disk.stopRequested === "kill" || disk.stopRequested === how) return;
      await this.store.writeState(this.name, { ...disk, stopRequested: how });
      // A hint for the monitor, which reads no JSON: no need to run the
      // restart hook (a Node start) after this run. The state decides.
      writeFileSync(join(this.stateDir, STOP_MARK), how);
    }).catch((e) => {
      if (codeOf(e) !== "ENOENT") throw e; // destroyed meanwhile
    });
  }

  /** Why a run ended (see {@link StopReason}), given what a stop through warren asked for. */
  stopReason(code: number | null, signal: NodeJS.Signals | null, requested: "halt" | "kill" | undefined): StopReason {
    if (requested === "kill") return "kill";
    // reboot(2) in a pid namespace ends its init with SIGHUP (restart) or
    // SIGINT (power off, halt); nothing else can: a namespace's init gets no
    // signal it has no handler for (SIGKILL aside), whoever sends it.
    if (signal === "SIGHUP") return "reboot";
    if (signal === "SIGINT") return "halt";
    if (requested === "halt") return signal === "SIGKILL" ? "kill" : "halt";
    if (signal === "SIGKILL") {
      try {
        const events = readFileSync(join(this.cgroupPath, "memory.events"), "utf8");
        if (/^oom_kill [1-9]/m.test(events)) return "oom";
      } catch {
        /* no memory controller here */
      }
      return "kill";
    }
    return code !== null ? "exit" : "kill";
  }

  /**
   * After the init is gone: kill what is left in the cgroup, remove it, and
   * record the exit. `raw` is what this process learnt (null: nothing),
   * `reaped` when it learnt it as the init's parent; else the monitor's
   * record is used. A status already recorded for the run stays, unless
   * this is the parent's: only wait(2) tells a reboot or power-off from
   * inside (SIGHUP, SIGINT) from a SIGKILL, which is what the kernel keeps
   * for everyone else (the pid namespace's reboot status goes to the parent only).
   */
  async recordExit(pid: number, startTime: number | undefined, raw: RawExit | null, requested?: "halt" | "kill", reaped = false): Promise<ExitStatus | null> {
    // What this process knows of the run, also when the state has moved on.
    const reason = (r: RawExit, disk?: RuntimeState): ExitStatus => ({ ...r, reason: this.stopReason(r.code, r.signal, requested ?? disk?.stopRequested) });
    let result: ExitStatus | null = raw ? reason(raw) : null;
    if (this.destroyed) return result;
    await withLock(this.store.lockPath(this.name), async () => {
      const disk = await this.store.readState(this.name);
      if (!disk) return;
      const sameRun = disk.pid === pid && disk.startTime === startTime;
      if (!sameRun) {
        this.state = disk;
        return;
      }
      await this.cgroups.remove(this.name);
      if (disk.network) {
        // Out of a namespace that containers joined to it keep alive.
        await unplugFromJoiners(this.store, this.name, this.config.nics).catch((e) => {
          this.warnings.push(`network cleanup: ${(e as Error).message}`);
        });
        // Port forwards off, physical NICs back to the host.
        await detachNics(this.runtime, this.name, disk.network).catch((e) => {
          this.warnings.push(`network cleanup: ${(e as Error).message}`);
        });
        delete disk.network;
      }
      const known = (e: ExitStatus | null | undefined) => e !== null && e !== undefined && (e.code !== null || e.signal !== null);
      if (!isLive(disk.status) && known(disk.exit) && !reaped) {
        this.state = disk;
        result = disk.exit!;
        return;
      }
      raw ??= (await monitorExit(this.stateDir, pid, disk.monitor)) ?? null;
      const status: ExitStatus | null = raw ? reason(raw, disk) : null;
      if (isLive(disk.status) || status) {
        this.state = { ...disk, status: "stopped", exit: status ?? disk.exit ?? null };
        await this.store.writeState(this.name, this.state);
      } else {
        this.state = disk;
      }
      result = this.state.exit ?? null;
    }).catch((e) => {
      if (codeOf(e) === "ENOENT") return; // destroyed meanwhile
      throw e;
    });
    if (this.record.config.ephemeral && this.state.status === "stopped") {
      await this.hooks.destroy?.().catch(() => undefined);
    }
    return result;
  }
}
