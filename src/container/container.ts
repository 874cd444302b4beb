/**
 * The Container handle: create, start, exec, stop, destroy, and re-adoption
 * of containers started by another process. The verbs' mechanics live in
 * their own files (start.ts, stop.ts, exec.ts); this file holds the handle's
 * state and the life-cycle bookkeeping they share.
 * @module
 */
import { EventEmitter } from "node:events";
import { promises as fsp, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";

import { CgroupTree, detectCgroupHost } from "../cgroup/cgroup2.js";
import { validateName } from "../config/constants.js";
import type { ContainerConfig, IdMap, ResolvedConfig } from "../config/schema.js";
import { signalName, signalNumber } from "../config/signals.js";
import { codeOf, ConfigError, HostError, NotFoundError, StateError } from "../errors.js";
import { native, type ExitWatcher } from "../native/binding.js";
import { ImageStore } from "../image/store.js";
import type { ImageConfig } from "../image/oci.js";
import { createEmbeddedRootfs } from "../rootfs/embedded.js";
import type { RootfsRecord } from "../rootfs/record.js";
import type { EffectiveConfig, SpawnPlan } from "../plan/build-plan.js";
import { detachNics, nicName, releaseAddresses, removeManagedNetwork, reserveAddresses } from "../network/manager.js";
import { allocateIdRange } from "./idmap.js";
import { detectInit, haltSignalFor, type InitKind } from "./init-kind.js";
import { withLock } from "../linux/lock.js";
import * as files from "./files.js";
import type { DirEntry, FileStat, PushOptions } from "./files.js";
import * as users from "./users.js";
import type { GroupInfo, UserInfo } from "./users.js";
import { openConsole, readConsoleLog, type ConsoleStream } from "./monitor.js";
import { processInfo } from "./proc.js";
import { resolveRuntime, type ResolvedRuntime, type RuntimeOptions } from "../config/runtime.js";
import {
  StateStore,
  type ContainerRecord,
  type ExitStatus,
  type RuntimeState,
  type Status,
  type StopReason,
  type ImageDefaults,
  isLive,
} from "./state.js";
import { execInContainer, execOutput, type ExecOptions, type ExecOutput, type ExecProcess } from "./exec.js";
import { startContainer, type StartOptions } from "./start.js";
import { deleteSnapshot, listSnapshots, restoreSnapshot, snapshot, withLiveTreeStill, type SnapshotInfo } from "./snapshots.js";
import { containerEvents, containerStats, setDeviceRules, setFrozen, setLimits, type ContainerEvent } from "./resources.js";
import type { DeviceRule } from "../cgroup/devices.js";
import { addNic, containerNetwork, removeNic, type InterfaceInfo } from "./network.js";
import type { NicInput } from "../network/schema.js";
import type { Limits } from "../cgroup/limits.js";
import type { ContainerStats } from "../cgroup/stats.js";
import { stopContainer, type StopOptions } from "./stop.js";

export type { ExitStatus, Status } from "./state.js";
export type { RuntimeOptions } from "../config/runtime.js";

/**
 * The init of the embedded default when none is given: a shell that idles
 * until told to stop, so the container can be exec'd into. It obeys SIGTERM
 * (the default halt signal), which a plain `sleep` as PID 1 would ignore.
 */
export const EMBEDDED_IDLE_INIT = ["/bin/sh", "-c", "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done"];

/** Live handles of this process, so two handles never race to reap one init. */
const liveHandles = new Map<string, Container>();
/** Ephemeral containers to kill if this process exits. */
const ephemeralRunning = new Set<Container>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const c of ephemeralRunning) c._cgroups.killSync(c.name);
  });
}

/** Per-run bookkeeping of a running init as seen by this handle. */
interface Run {
  pid: number;
  pidfd: number;
  startTime: number;
  watcher: ExitWatcher;
  exited: Promise<ExitStatus>;
  /** True when this process started it (and can reap it). */
  owned: boolean;
}

/**
 * A system container: its own user, pid, mount, network, uts, ipc and cgroup
 * namespaces, a cgroup v2 directory, and state on disk so other processes
 * can find it.
 *
 * @example
 * ```ts
 * import { Container } from "warren";
 *
 * await using c = await Container.create("demo", { ephemeral: true });
 * await c.start();
 * const { stdout } = await c.execOutput(["uname", "-n"]);
 * console.log(stdout); // "demo\n"
 * await c.stop();
 * ```
 */
export class Container implements AsyncDisposable {
  /** The container's name (unique under its runtime root). */
  readonly name: string;
  /** @internal */
  readonly _runtime: ResolvedRuntime;
  /** @internal */
  readonly _store: StateStore;
  /** @internal */
  readonly _cgroups: CgroupTree;
  /** @internal */
  _record: ContainerRecord;
  /** @internal */
  _state: RuntimeState;
  /** @internal */
  _run: Run | null = null;
  /** @internal */
  _destroyed = false;
  /** The last encoded init plan and what it was built from. @internal */
  _planCache: { key: string; plan: SpawnPlan; encoded: Buffer } | null = null;
  /** The exit of the latest run started or adopted by this handle (kept after it ends). @internal */
  _lastExited: Promise<ExitStatus> | null = null;

  /** The init found in the rootfs (cached). @internal */
  _initKind: InitKind | undefined;
  /** The options of the last start in this process (a restart after a reboot reuses them). @internal */
  _startOptions: StartOptions | undefined;
  /** What stop()/kill() asked of the current run, to tell why it ended. @internal */
  _stopping: "halt" | "kill" | undefined;
  /** Lifecycle events seen by this handle. @internal */
  readonly _bus = new EventEmitter().setMaxListeners(0);

  /** Problems that did not stop the container, e.g. limits skipped with `bestEffortLimits`. */
  warnings: string[] = [];

  /** The init's stdin when started with `stdio: "pipe"`. */
  stdin: Writable | null = null;
  /** The init's stdout when started with `stdio: "pipe"`. */
  stdout: Readable | null = null;
  /** The init's stderr when started with `stdio: "pipe"`. */
  stderr: Readable | null = null;

  private constructor(runtime: ResolvedRuntime, record: ContainerRecord, state: RuntimeState) {
    this.name = record.name;
    this._runtime = runtime;
    this._store = new StateStore(runtime.root);
    this._cgroups = new CgroupTree(detectCgroupHost().mount, runtime.cgroupParent);
    this._record = record;
    this._state = state;
    this.warnings = this._recordWarnings();
  }

  /** What the container's record itself warns about, for every handle and after every start. @internal */
  _recordWarnings(): string[] {
    const r = this._record.rootfs;
    if (r.kind === "image" && r.storage !== "btrfs" && r.shifted) {
      return [`the image's filesystem cannot be idmapped on this kernel: the container has its own copy of the image, shifted to its id range (${r.lower})`];
    }
    return [];
  }

  private static key(runtime: ResolvedRuntime, name: string): string {
    return `${runtime.root}\0${name}`;
  }

  /**
   * Creates a container (state directory, id range, rootfs skeleton for the
   * embedded default). It is not started. Rejects with {@link ConfigError}
   * for bad input, leaving nothing behind.
   */
  static async create(name: string, config?: ContainerConfig, options?: RuntimeOptions): Promise<Container> {
    validateName(name);
    // Loaded here, not at the top: the schema (and zod) is for the paths
    // that validate; get/list only read records (see docs/cli.md).
    const { resolveConfig } = await import("../config/resolve.js");
    const resolved = resolveConfig(config, name);
    const runtime = resolveRuntime(options);
    const store = new StateStore(runtime.root);
    await store.ensureRoot();
    if (resolved.namespaces.user) {
      const closed = await store.unsearchableParent();
      if (closed) {
        throw new ConfigError(
          [{ path: "root", message: `\`${closed}\` above the state root is not searchable by others (mode o+x): a container's root, an unprivileged host id, could not reach its state directory` }],
          { container: name },
        );
      }
    }
    if (resolved.rootfs) {
      const st = await fsp.stat(resolved.rootfs.path).catch(() => undefined);
      if (!st?.isDirectory()) {
        throw new ConfigError([{ path: "rootfs", message: `\`${resolved.rootfs.path}\` is not a directory` }], { container: name });
      }
    }
    for (const [i, m] of resolved.mounts.entries()) {
      if (m.type === "bind" && !m.optional && !(await fsp.stat(m.source).catch(() => undefined))) {
        throw new ConfigError([{ path: `mounts[${i}].source`, message: `\`${m.source}\` does not exist` }], { container: name });
      }
    }
    detectCgroupHost(); // fail early, before anything is written, on a host without cgroup2

    return withLock(store.globalLock, async () => {
      if (await store.exists(name)) {
        throw new StateError(`container "${name}" already exists`, "create", "exists", { container: name });
      }
      const dir = store.dir(name);
      try {
        await fsp.mkdir(dir, { mode: 0o711 });
      } catch (e) {
        if (codeOf(e) === "EEXIST") {
          // A directory without container.json: a create that died half-way.
          await store.remove(name);
          await fsp.mkdir(dir, { mode: 0o711 });
        } else throw new HostError(`create \`${dir}\``, codeOf(e), { container: name, path: dir });
      }
      try {
        let idmap: IdMap | null = null;
        if (resolved.namespaces.user) {
          if (resolved.idmap) idmap = resolved.idmap;
          else {
            const inUse: IdMap[] = [];
            for (const other of await store.names()) {
              if (other === name) continue;
              const r = await store.readRecord(other).catch(() => undefined);
              if (r?.idmap) inUse.push(r.idmap);
            }
            idmap = allocateIdRange(inUse);
          }
        }
        const hostname = resolved.hostname ?? defaultHostname(name);
        let rootfs: RootfsRecord;
        let imageDefaults: ImageDefaults | undefined;
        // `from` is read here and not kept: the record says which image the container is on.
        const { from, ...recorded } = resolved;
        if (resolved.image !== undefined || from) {
          const storage = await import("../storage/backend.js");
          // clone and import pass the tree to start from in the options (a symbol key, no public option).
          let seed = (options as import("../storage/backend.js").SeededOptions | undefined)?.[storage.CREATE_SEED];
          let ref = resolved.image;
          let fromImage: string | undefined;
          if (from) {
            ({ image: fromImage, seed } = await storage.seedFromSnapshot(runtime.root, from, name));
            ref ??= fromImage;
          }
          const img = await new ImageStore(runtime.root).get(ref!).catch(() => {
            throw new ConfigError([{ path: "image", message: `no image ${JSON.stringify(ref)} in \`${runtime.root}\`` }], { container: name });
          });
          if (fromImage !== undefined && img.id !== fromImage) {
            throw new ConfigError([{ path: "image", message: `container "${from!.container}" is made from image ${fromImage}, not ${JSON.stringify(ref)}` }], { container: name });
          }
          recorded.image ??= img.id;
          imageDefaults = defaultsOf(img.config);
          const kind = await storage.pickStorage(runtime.root, resolved.storage, seed, name);
          rootfs = await storage.makeImageRoot({ dir, image: img, idmap, storage: kind, ...(seed ? { seed } : {}) });
        } else if (resolved.rootfs) {
          rootfs = {
            kind: "directory",
            path: resolved.rootfs.path,
            mode: resolved.rootfs.mode,
            ...(resolved.rootfs.idmap ? { idmap: true } : {}),
          };
          if (rootfs.mode === "overlay") {
            await fsp.mkdir(join(dir, "root"));
            await fsp.mkdir(join(dir, "scratch"));
          }
        } else {
          rootfs = await createEmbeddedRootfs(join(dir, "rootfs"), {
            hostname,
            owner: idmap ? { uid: idmap.hostUid, gid: idmap.hostGid } : null,
          });
        }
        const leases = resolved.nics.length ? await reserveAddresses(runtime, name, resolved.nics) : [];
        // A network of its own, named nameservers, or the host's network
        // (whose nameservers it then uses, whatever its image carries).
        if (resolved.nics.length || resolved.dns || !resolved.namespaces.net) {
          const text = await resolvConf(resolved.dns);
          await fsp.writeFile(join(dir, "resolv.conf"), text, { mode: 0o644 });
          if (rootfs.kind === "embedded") await fsp.writeFile(join(rootfs.path, "etc/resolv.conf"), text);
        }
        const record: ContainerRecord = {
          version: 1,
          name,
          config: recorded,
          idmap,
          rootfs,
          createdAt: new Date().toISOString(),
          ...(leases.length ? { leases } : {}),
          ...(imageDefaults ? { imageDefaults } : {}),
        };
        const state: RuntimeState = { status: "created" };
        await store.writeState(name, state);
        await store.writeRecord(record);
        const c = new Container(runtime, record, state);
        liveHandles.set(Container.key(runtime, name), c);
        return c;
      } catch (e) {
        await releaseAddresses(runtime, name, resolved.nics.map(nicName)).catch(() => undefined);
        await (await import("../storage/btrfs.js")).deleteContainerSubvolumes(dir).catch(() => undefined);
        await store.remove(name);
        throw e;
      }
    });
  }

  /**
   * Finds a container by name, in this process or created by another one. A
   * running container is re-adopted: its init is verified by pid and start
   * time, and it can be exec'd into, stopped and waited for.
   */
  static async get(name: string, options?: RuntimeOptions): Promise<Container> {
    validateName(name);
    const runtime = resolveRuntime(options);
    const live = liveHandles.get(Container.key(runtime, name));
    if (live && !live._destroyed) {
      await live.refresh();
      return live;
    }
    const store = new StateStore(runtime.root);
    const record = await store.readRecord(name);
    if (!record) throw new NotFoundError(`container "${name}" does not exist under \`${runtime.root}\``, { container: name });
    const state = (await store.readState(name)) ?? { status: "created" };
    const c = new Container(runtime, record, state);
    liveHandles.set(Container.key(runtime, name), c);
    await c.refresh();
    return c;
  }

  /** Every container under the runtime root (ephemeral ones that already stopped are cleaned up, not listed). */
  static async list(options?: RuntimeOptions): Promise<Container[]> {
    const runtime = resolveRuntime(options);
    const out: Container[] = [];
    for (const name of await new StateStore(runtime.root).names()) {
      let c: Container;
      try {
        c = await Container.get(name, options);
      } catch (e) {
        if (e instanceof NotFoundError) continue; // being created or destroyed right now
        throw e;
      }
      if (c.config.ephemeral && c.state === "stopped") {
        await c.destroy().catch(() => undefined);
        continue;
      }
      out.push(c);
    }
    return out;
  }

  /**
   * Sweeps up after containers that ended while nobody watched (a crashed
   * embedding process): their cgroups go, port forwards are removed,
   * physical NICs return to the host, stopped ephemeral containers are
   * destroyed; when no container is left under the root, the managed
   * bridge and its nftables table go too. Returns the names it cleaned.
   */
  static async gc(options?: RuntimeOptions): Promise<string[]> {
    const runtime = resolveRuntime(options);
    const store = new StateStore(runtime.root);
    const cleaned: string[] = [];
    for (const name of await store.names()) {
      const before = await store.readState(name).catch(() => undefined);
      let c: Container;
      try {
        c = await Container.get(name, options);
      } catch (e) {
        if (e instanceof NotFoundError) continue;
        throw e;
      }
      if (isLive(before?.status) && !isLive(c.state)) cleaned.push(name);
      if (c.config.ephemeral && c.state === "stopped") {
        await c.destroy().catch(() => undefined);
        if (!cleaned.includes(name)) cleaned.push(name);
      }
    }
    const remaining = [];
    for (const name of await store.names()) if (await store.exists(name)) remaining.push(name);
    if (remaining.length === 0) {
      await removeManagedNetwork(runtime).catch(() => undefined);
      new CgroupTree(detectCgroupHost().mount, runtime.cgroupParent).removeSubtreeIfEmpty();
    }
    return cleaned;
  }

  /** `created`, `running` or `stopped`. */
  get state(): Status {
    return this._state.status;
  }

  /** Host pid of the init while running. */
  get pid(): number | undefined {
    return isLive(this._state.status) ? this._state.pid : undefined;
  }

  /** The validated configuration. */
  get config(): ResolvedConfig {
    return this._record.config;
  }

  /** Host id range of the user namespace (`null` without one). */
  get idmap(): IdMap | null {
    return this._record.idmap;
  }

  /** Runtime root directory this container lives under. */
  get root(): string {
    return this._runtime.root;
  }

  /** The container's cgroup v2 directory. */
  get cgroupPath(): string {
    return this._cgroups.path(this.name);
  }

  /** The container's state directory. */
  get stateDir(): string {
    return this._store.dir(this.name);
  }

  /** How the last run ended, when known. */
  get lastExit(): ExitStatus | null {
    return this._state.exit ?? null;
  }

  /**
   * Resolves when the running init exits (and the container is cleaned up),
   * with `{code}` or `{signal}`; both are `null` when another process owned
   * the init and did not record how it ended. While someone waits on it,
   * the handle keeps Node's event loop alive.
   */
  get exited(): Promise<ExitStatus> {
    const run = this._run;
    if (run) {
      run.watcher.ref();
      return run.exited;
    }
    return this._lastExited ?? Promise.resolve(this._state.exit ?? { code: null, signal: null });
  }

  /** Lets Node exit while the container runs (the default: a container outlives its creator unless ephemeral). */
  unref(): this {
    this._run?.watcher.unref();
    return this;
  }

  /** Keeps Node's event loop alive until the container stops. */
  ref(): this {
    this._run?.watcher.ref();
    return this;
  }

  /** The effective config: defaults that depend on the name and rootfs filled in. @internal */
  _effective(): EffectiveConfig {
    const c = this._record.config;
    const r = this._record.rootfs;
    const image = this._record.imageDefaults;
    const init = c.init ?? image?.init ?? (r.kind === "embedded" ? EMBEDDED_IDLE_INIT : ["/sbin/init"]);
    const tree = r.kind === "image" ? r.lower : r.kind === "directory" ? r.path : undefined;
    this._initKind ??= detectInit(tree, init[0]!);
    return {
      ...c,
      init,
      env: { ...image?.env, ...c.env },
      cwd: c.cwd ?? image?.cwd ?? "/",
      hostname: c.hostname ?? defaultHostname(this.name),
      // A known init's own signal first: an image's StopSignal is for the
      // program it was made to run.
      haltSignal: c.haltSignal ?? (this._initKind !== "other" ? haltSignalFor(this._initKind) : (image?.haltSignal ?? "SIGTERM")),
      // A system init (systemd, sysvinit, busybox init) expects a console;
      // a program run as init (`/bin/true`, a shell script) starts without
      // the pty and monitor unless asked.
      console: c.console ?? this._initKind !== "other",
      initKind: this._initKind,
    };
  }

  /** Starts the init. See {@link StartOptions}. */
  async start(options?: StartOptions): Promise<void> {
    this.assertNotDestroyed("start");
    await startContainer(this, options ?? {});
  }

  /**
   * Stops the container: sends the halt signal, waits up to `timeout` ms,
   * then kills every process of the container (cgroup.kill). Resolves once it
   * is stopped and cleaned up; a no-op when it is not running.
   */
  async stop(options?: StopOptions): Promise<ExitStatus | null> {
    if (this._destroyed) return this._state.exit ?? null;
    return stopContainer(this, options ?? {});
  }

  /** Sends a signal to the init. */
  async kill(signal: NodeJS.Signals | string | number = "SIGKILL"): Promise<void> {
    const n = signalNumber(signal);
    if (n === undefined) throw new ConfigError([{ path: "signal", message: `unknown signal ${String(signal)}` }], { container: this.name });
    const run = this._run;
    if (!run) throw new StateError(`container "${this.name}" is not running`, "kill", this.state, { container: this.name });
    try {
      native().pidfdSendSignal(run.pidfd, n);
    } catch (e) {
      if ((e as { errno?: number }).errno === 3) return; // exited meanwhile
      throw new HostError(`send ${signalName(n)} to container "${this.name}"`, codeOf(e), { container: this.name, syscall: "pidfd_send_signal" });
    }
  }

  /**
   * Changes cgroup limits, live when the container runs, and keeps them for
   * later starts. Each section replaces the fields it names
   * (`{memory: {max: "1GiB"}}` leaves `memory.high` as it was). Returns the
   * warnings of a best-effort application.
   */
  async setLimits(limits: Limits, options?: { bestEffort?: boolean }): Promise<string[]> {
    this.assertNotDestroyed("setLimits");
    return setLimits(this, limits, options ?? {});
  }

  /**
   * Replaces the extra device rules of a privileged container (no user
   * namespace), live when it runs; the standard devices stay allowed.
   *
   * @example
   * ```ts
   * await c.setDeviceRules(["c 10:200 rwm", "b 7:* r"]); // tun, and loop devices read-only
   * ```
   */
  async setDeviceRules(rules: readonly (string | DeviceRule)[]): Promise<void> {
    this.assertNotDestroyed("setDeviceRules");
    await setDeviceRules(this, rules);
  }

  /** The running container's interfaces: names, MACs, addresses, counters. */
  async network(): Promise<InterfaceInfo[]> {
    this.assertNotDestroyed("network");
    return containerNetwork(this);
  }

  /**
   * Plugs a NIC into the running container (kept in its config for later starts).
   *
   * @example
   * ```ts
   * await c.addNic({ type: "bridged", name: "eth1" });
   * ```
   */
  async addNic(nic: NicInput): Promise<void> {
    this.assertNotDestroyed("addNic");
    await addNic(this, nic);
  }

  /** Unplugs a NIC by its name inside the container; a physical NIC goes back to the host. */
  async removeNic(name: string): Promise<void> {
    this.assertNotDestroyed("removeNic");
    await removeNic(this, name);
  }

  /**
   * Saves the container's changes (image-based containers: the overlay's
   * upper layer), freezing it meanwhile when it runs.
   */
  async snapshot(name: string): Promise<SnapshotInfo> {
    this.assertNotDestroyed("snapshot");
    return snapshot(this, name);
  }

  /** Puts a snapshot's state back (the container must be stopped). */
  async restore(name: string): Promise<void> {
    this.assertNotDestroyed("restore");
    await restoreSnapshot(this, name);
  }

  async listSnapshots(): Promise<SnapshotInfo[]> {
    this.assertNotDestroyed("listSnapshots");
    return listSnapshots(this);
  }

  async deleteSnapshot(name: string): Promise<void> {
    this.assertNotDestroyed("deleteSnapshot");
    await deleteSnapshot(this, name);
  }

  /**
   * A new, independent container on the same image with a copy of this
   * one's changes, shifted to its own id range. Nothing of the image is copied.
   */
  async clone(newName: string): Promise<Container> {
    this.assertNotDestroyed("clone");
    if (this._record.rootfs.kind !== "image") {
      throw new StateError(`container "${this.name}" is not made from an image: clone works on image-based containers`, "clone", this._record.rootfs.kind, { container: this.name });
    }
    const { idmap: _drop, ...config } = this._record.config;
    // The clone starts from this container's live tree (its upper layer, or
    // a snapshot of its btrfs root), on the same backend, moved to its own range.
    const storage = await import("../storage/backend.js");
    const r = this._record.rootfs;
    const seed: import("../storage/backend.js").Seed = { storage: storage.storageOf(r), path: storage.liveTree(r), base: storage.baseOf(this.idmap) };
    return withLiveTreeStill(this, () =>
      Container.create(
        newName,
        { ...config, nics: config.nics.map((n) => ({ ...n, ...(n.type === "bridged" ? { ipv4: undefined, mac: undefined } : {}) })) } as ContainerConfig,
        { root: this._runtime.root, cgroupParent: this._runtime.cgroupParent, [storage.CREATE_SEED]: seed } as RuntimeOptions,
      ),
    );
  }

  /**
   * Writes the container to a tarball: its config, its own tree (the
   * overlay's upper layer, the whole btrfs root, or a directory container's
   * whole directory) with owners as the container sees them, and with
   * options its snapshots and its image. A running container is frozen
   * while it is read (on btrfs, an instant snapshot is read instead).
   *
   * @example
   * ```ts
   * await c.export("/srv/backup/web.tar", { snapshots: true, includeImage: true });
   * const again = await Container.import("/srv/backup/web.tar", "web", { root: "/var/lib/warren" });
   * ```
   */
  async export(tarPath: string, options?: import("../storage/export.js").ExportOptions): Promise<void> {
    this.assertNotDestroyed("export");
    await (await import("../storage/export.js")).exportContainer(this, tarPath, options ?? {});
  }

  /**
   * Recreates a container from {@link Container.export}'s tarball (as `name`,
   * default the exported one), in its own id range under `options.root`.
   * Its image must be in the store unless the tarball includes it.
   *
   * @example
   * ```ts
   * const c = await Container.import("/srv/backup/web.tar", "web-restored");
   * await c.start();
   * ```
   */
  static async import(tarPath: string, name?: string, options?: RuntimeOptions): Promise<Container> {
    if (name !== undefined) validateName(name);
    const { importContainer } = await import("../storage/export.js");
    return importContainer((n, config, o) => Container.create(n, config, o), tarPath, name, options);
  }

  /** CPU, memory, pids, I/O and pressure figures of the running container. */
  async stats(): Promise<ContainerStats> {
    this.assertNotDestroyed("stats");
    return containerStats(this);
  }

  /** Freezes every process of the container (cgroup.freeze); resolves once the kernel reports it frozen. */
  async freeze(options?: { timeout?: number }): Promise<void> {
    this.assertNotDestroyed("freeze");
    await setFrozen(this, true, options?.timeout ?? 10_000);
  }

  /** Thaws a frozen container. */
  async unfreeze(options?: { timeout?: number }): Promise<void> {
    this.assertNotDestroyed("unfreeze");
    await setFrozen(this, false, options?.timeout ?? 10_000);
  }

  /**
   * Events as they happen: `started`, `ready`, `exec`, `frozen`, `thawed`,
   * `oom`, `oom-kill`, `stopped` (with the reason). Without `follow` it needs
   * a running container and ends at its stop (a reboot warren restarts does
   * not end it); with `follow: true` it goes on across stops and starts
   * until closed or the container is destroyed.
   *
   * @example
   * ```ts
   * for await (const e of c.events()) if (e.type === "oom-kill") console.warn("OOM in", c.name);
   * ```
   */
  events(options?: { follow?: boolean }): AsyncIterableIterator<ContainerEvent> {
    this.assertNotDestroyed("events");
    return containerEvents(this, options);
  }

  /**
   * The console's output kept by the container's monitor (the last
   * `consoleLogSize` bytes, boot messages included), whether or not anyone
   * was attached; after a stop, what the last run's console said. Rejects
   * when the container never had a console.
   */
  async consoleLog(): Promise<Buffer> {
    this.assertNotDestroyed("consoleLog");
    return readConsoleLog(this.stateDir, this.name);
  }

  /**
   * Attaches to the console: a duplex stream (output out, keystrokes in) with
   * `resize(cols, rows)`. Ending it detaches; the console goes on. With
   * `replay`, the kept output comes first. Works from any process while the
   * container runs with a console (config `console`).
   */
  async console(options?: { replay?: boolean }): Promise<ConsoleStream> {
    this.assertNotDestroyed("console");
    await this.refresh();
    if (!isLive(this.state)) throw new StateError(`container "${this.name}" is not running`, "console", this.state, { container: this.name });
    return openConsole(this.stateDir, this.name, options);
  }

  /**
   * Copies a host file, a Buffer or a stream to `path` in the container
   * (running or stopped), owned as the container sees it (`uid: 0` is its
   * root; default root, mode 0644). Paths resolve inside the container's root
   * only: no symlink in it can lead to a host file.
   */
  async pushFile(source: string | Buffer | Readable, path: string, options?: PushOptions): Promise<void> {
    this.assertNotDestroyed("pushFile");
    return files.pushFile(this, source, path, options);
  }

  /** A file of the container: its content, or (with `hostPath`) copied to a host file. */
  async pullFile(path: string): Promise<Buffer>;
  async pullFile(path: string, hostPath: string): Promise<void>;
  async pullFile(path: string, hostPath?: string): Promise<Buffer | void> {
    this.assertNotDestroyed("pullFile");
    return hostPath === undefined ? files.pullFile(this, path) : files.pullFile(this, path, hostPath);
  }

  /** A stream of a file of the container. */
  async openReadStream(path: string): Promise<Readable> {
    this.assertNotDestroyed("openReadStream");
    return files.openReadStream(this, path);
  }

  /** A text file of the container (UTF-8). */
  async readFileText(path: string): Promise<string> {
    this.assertNotDestroyed("readFileText");
    return files.readFileText(this, path);
  }

  /** The entries of a directory of the container, owners as the container sees them. */
  async readdir(path: string): Promise<DirEntry[]> {
    this.assertNotDestroyed("readdir");
    return files.readdir(this, path);
  }

  /** A file's metadata (a symlink is described, not followed, unless `follow`). */
  async stat(path: string, options?: { follow?: boolean }): Promise<FileStat> {
    this.assertNotDestroyed("stat");
    return files.stat(this, path, options);
  }

  /** Makes a directory in the container (root's, 0755, unless told). */
  async mkdir(path: string, options?: { mode?: number; uid?: number; gid?: number; recursive?: boolean }): Promise<void> {
    this.assertNotDestroyed("mkdir");
    return files.mkdir(this, path, options);
  }

  /** Removes a file, a symlink (not its target) or, with `recursive`, a tree. */
  async rm(path: string, options?: { recursive?: boolean; force?: boolean }): Promise<void> {
    this.assertNotDestroyed("rm");
    return files.rm(this, path, options);
  }

  /** A user of the container's /etc/passwd, with the groups a login gets. */
  async lookupUser(nameOrId: string | number): Promise<UserInfo> {
    this.assertNotDestroyed("lookupUser");
    return users.lookupUser(this, nameOrId);
  }

  /** A group of the container's /etc/group. */
  async lookupGroup(nameOrId: string | number): Promise<GroupInfo> {
    this.assertNotDestroyed("lookupGroup");
    return users.lookupGroup(this, nameOrId);
  }

  /** @internal */
  _emit(e: ContainerEvent): void {
    this._bus.emit("event", e);
  }

  /** Runs a process inside the running container. See {@link ExecOptions}. */
  async exec(argv: readonly string[], options?: ExecOptions): Promise<ExecProcess> {
    this.assertNotDestroyed("exec");
    return execInContainer(this, argv, options ?? {});
  }

  /** Runs a process to completion and collects its output. */
  async execOutput(argv: readonly string[], options?: ExecOptions & { input?: string | Buffer; check?: boolean }): Promise<ExecOutput> {
    this.assertNotDestroyed("exec");
    return execOutput(this, argv, options ?? {});
  }

  /**
   * Removes the container: its state directory, rootfs skeleton and cgroup.
   * A running container is refused unless `force`, which kills it first.
   * Idempotent.
   */
  async destroy(options?: { force?: boolean }): Promise<void> {
    if (this._destroyed) return;
    await this.refresh();
    if (isLive(this.state)) {
      if (!options?.force) {
        throw new StateError(`container "${this.name}" is running; stop it first or pass {force: true}`, "destroy", "running", { container: this.name });
      }
      await this.stop({ timeout: 0 });
    }
    await withLock(this._store.globalLock, async () => {
      await this._cgroups.remove(this.name);
      this._cgroups.removeSubtreeIfEmpty();
      if (this._record.leases?.length) await releaseAddresses(this._runtime, this.name, this._record.leases.map((l) => l.name));
      // btrfs subvolumes (root, read-only snapshots) go with `btrfs subvolume delete`.
      await (await import("../storage/backend.js")).removeStorage(this._record.rootfs, this.stateDir);
      await this._store.remove(this.name);
    });
    this._destroyed = true;
    this._bus.emit("destroyed");
    liveHandles.delete(Container.key(this._runtime, this.name));
  }

  /** Stops and destroys: `await using c = await Container.create(...)`. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this._destroyed) return;
    await this.stop();
    await this.destroy({ force: true });
  }

  /**
   * Re-reads the state from disk and reconciles it with reality: a running
   * init is adopted (pidfd, start-time check), one that died unseen is
   * recorded as stopped and its cgroup removed. @internal
   */
  async refresh(): Promise<void> {
    if (this._destroyed) return;
    const state = await this._store.readState(this.name);
    if (!state) {
      if (!(await this._store.exists(this.name))) {
        this._destroyed = true;
        liveHandles.delete(Container.key(this._runtime, this.name));
      }
      return;
    }
    if (this._run && isLive(state.status) && state.pid === this._run.pid && state.startTime === this._run.startTime) {
      this._state = state;
      return;
    }
    this._state = state;
    if (!isLive(state.status) || this._run) return;
    // Running according to the disk, and not ours: check it really is.
    const pid = state.pid!;
    let pidfd = -1;
    try {
      pidfd = native().pidfdOpen(pid);
    } catch {
      pidfd = -1;
    }
    const info = pidfd >= 0 ? processInfo(pid) : undefined;
    // A zombie has exited already (its parent has not reaped it yet).
    const alive = info !== undefined && info.state !== "Z" && info.state !== "X";
    if (pidfd >= 0 && alive && info.startTime === state.startTime) {
      this._adopt(pid, pidfd, info.startTime, false);
      return;
    }
    if (pidfd >= 0) native().close(pidfd);
    await this._recordExit(pid, state.startTime, null);
  }

  /** Starts watching a running init. @internal */
  _adopt(pid: number, pidfd: number, startTime: number, owned: boolean): void {
    let resolveExit!: (s: ExitStatus) => void;
    const exited = new Promise<ExitStatus>((r) => (resolveExit = r));
    const watcher = new (native().ExitWatcher)(pidfd, (code, sig, reaped) => {
      const signal = sig === null ? null : (signalName(sig) as NodeJS.Signals);
      const status: ExitStatus | null = reaped ? { code, signal, reason: this._stopReason(code, signal) } : null;
      this._stopping = undefined;
      try {
        native().close(pidfd);
      } catch {
        /* already closed */
      }
      this._run = null;
      ephemeralRunning.delete(this);
      const restart = status?.reason === "reboot" && this._record.config.onReboot === "restart" && owned;
      const after = () => {
        const final = this._state.exit ?? status ?? { code: null, signal: null };
        resolveExit(final);
        this._emit({ type: "stopped", status: final, ...(restart && !this._destroyed ? { restarting: true } : {}) });
        if (restart && !this._destroyed) {
          // A reboot from inside: the same container again, started as before.
          const { wait: _wait, ...again } = this._startOptions ?? {};
          this.start(again).catch((e) => {
            this.warnings.push(`restart after reboot: ${(e as Error).message}`);
            this._emit({ type: "stopped", status: final });
          });
        }
      };
      this._recordExit(pid, startTime, status).then(after, after);
    });
    this._run = { pid, pidfd, startTime, watcher, exited, owned };
    this._lastExited = exited;
    if (this._record.config.ephemeral && owned) {
      installExitHook();
      ephemeralRunning.add(this);
    }
  }

  /** Why a run this process reaped ended (see {@link StopReason}). @internal */
  _stopReason(code: number | null, signal: NodeJS.Signals | null): StopReason {
    if (this._stopping === "kill") return "kill";
    // reboot(2) in a pid namespace ends its init with SIGHUP (restart) or
    // SIGINT (power off, halt); nothing else can: a namespace's init gets no
    // signal it has no handler for (SIGKILL aside), whoever sends it.
    if (signal === "SIGHUP") return "reboot";
    if (signal === "SIGINT") return "halt";
    if (this._stopping === "halt") return signal === "SIGKILL" ? "kill" : "halt";
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
   * record the exit (only the owner knows the code). @internal
   */
  async _recordExit(pid: number, startTime: number | undefined, status: ExitStatus | null): Promise<void> {
    if (this._destroyed) return;
    await withLock(this._store.lockPath(this.name), async () => {
      const disk = await this._store.readState(this.name);
      if (!disk) return;
      const sameRun = disk.pid === pid && disk.startTime === startTime;
      if (!sameRun) {
        this._state = disk;
        return;
      }
      await this._cgroups.remove(this.name);
      if (disk.network) {
        // Port forwards off, physical NICs back to the host.
        await detachNics(this._runtime, this.name, disk.network).catch((e) => {
          this.warnings.push(`network cleanup: ${(e as Error).message}`);
        });
        delete disk.network;
      }
      if (isLive(disk.status) || status) {
        this._state = { ...disk, status: "stopped", exit: status ?? disk.exit ?? null };
        await this._store.writeState(this.name, this._state);
      } else {
        this._state = disk;
      }
    }).catch((e) => {
      if (codeOf(e) === "ENOENT") return; // destroyed meanwhile
      throw e;
    });
    if (this._record.config.ephemeral && this._state.status === "stopped") {
      await this.destroy().catch(() => undefined);
    }
  }

  /** @internal */
  assertNotDestroyed(op: string): void {
    if (this._destroyed) throw new StateError(`container "${this.name}" was destroyed`, op, "destroyed", { container: this.name });
  }
}

/** What an OCI image config asks for (Entrypoint + Cmd as the init, Env, StopSignal). */
function defaultsOf(config: ImageConfig): ImageDefaults | undefined {
  const c = config.config;
  if (!c) return undefined;
  const init = [...(c.Entrypoint ?? []), ...(c.Cmd ?? [])].filter((a): a is string => typeof a === "string" && a.length > 0 && !a.includes("\0"));
  const env: Record<string, string> = {};
  for (const kv of c.Env ?? []) {
    const i = kv.indexOf("=");
    if (i > 0 && !kv.includes("\0")) env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  const out: ImageDefaults = {
    ...(init.length ? { init } : {}),
    ...(Object.keys(env).length ? { env } : {}),
    ...(typeof c.WorkingDir === "string" && c.WorkingDir.startsWith("/") && !c.WorkingDir.includes("\0") ? { cwd: c.WorkingDir } : {}),
    ...(c.StopSignal && signalNumber(c.StopSignal) !== undefined ? { haltSignal: c.StopSignal } : {}),
  };
  return Object.keys(out).length ? out : undefined;
}

/** /etc/resolv.conf for a container with a network: the nameservers asked for, or the host's file. */
async function resolvConf(dns: readonly string[] | undefined): Promise<string> {
  if (dns?.length) return dns.map((d) => `nameserver ${d}\n`).join("");
  const host = await fsp.readFile("/etc/resolv.conf", "utf8").catch(() => "");
  return host || "# no nameserver configured\n";
}

/** The name as hostname when it is a valid one, else a sanitized form. */
function defaultHostname(name: string): string {
  const h = name.replace(/[^A-Za-z0-9-]/g, "-").replace(/^-+|-+$/g, "").slice(0, 63);
  return h || "warren";
}
