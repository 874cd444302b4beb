/**
 * The public face of a container: create, get, list and gc, and one method
 * per verb. It holds the container's handle (container/handle.ts) in a private field and hands
 * it to the verb modules (start.ts, stop.ts, exec.ts, files.ts, …), so no
 * internals show in its declared type.
 * @module
 */
import type { Readable, Writable } from "node:stream";

import { CgroupTree, detectCgroupHost } from "../cgroup/cgroup2.js";
import type { DeviceRule } from "../cgroup/devices.js";
import type { Limits } from "../cgroup/limits.js";
import type { ContainerStats } from "../cgroup/stats.js";
import { validateName } from "../config/constants.js";
import { resolveRuntime, type ResolvedRuntime, type RuntimeOptions } from "../config/runtime.js";
import type { ContainerConfig, IdMap, ResolvedConfig } from "../config/schema.js";
import { signalName, signalNumber } from "../config/signals.js";
import { ConfigError, HostError, NotFoundError, StateError } from "../errors.js";
import { codeOf } from "../linux/errno.js";
import { native } from "../native/binding.js";
import { pruneShards, releaseOrphanLeases, removeManagedNetwork } from "../network/manager.js";
import { readJsonFilesIn } from "../linux/json-file.js";
import { withLock } from "../linux/lock.js";
import type { NicInput } from "../config/nic.js";
import type { EffectiveConfig } from "../plan/effective.js";
import { setConfig, type ConfigPatch } from "./configure.js";
import { cloneSeed, createContainer } from "./create.js";
import { destroyContainer } from "./destroy.js";
import { execInContainer, execOutput, type ExecOptions, type ExecOutput, type ExecProcess } from "./exec.js";
import { exportContainer, importContainer, type ExportOptions } from "./export.js";
import * as files from "./files.js";
import type { DirEntry, FileStat, PushOptions } from "./files.js";
import { ContainerHandle } from "./handle.js";
import { isHeld, releaseHold } from "./hold.js";
import { reclaimStaleIdRanges } from "./id-ranges.js";
import { recoverContainer } from "./recover.js";
import { openConsole, readConsoleLog, type ConsoleStream } from "./monitor.js";
import { addNic, containerNetwork, removeNic, type InterfaceInfo } from "./network.js";
import type { DeviceInput } from "../config/devices.js";
import { addDevice, listDevices, reloadRecord, removeDevice, type DeviceInfo, type NicDeviceInput } from "./devices.js";
import { followHotplug } from "./device-hotplug.js";
import { containerEvents, containerStats, FREEZE_TIMEOUT_MS, setDeviceRules, setFrozen, setLimits, metricsOfAll, statsOfAll, type ContainerEvent, type MetricsOptions } from "./resources.js";
import { deleteSnapshot, listSnapshots, restoreSnapshot, snapshot, withLiveTreeStill, type SnapshotInfo } from "./snapshots.js";
import { rebuildContainer, renameContainer } from "./rename.js";
import { startContainer, type StartOptions } from "./start.js";
import { isLive, StateStore, type ExitStatus, type RestartRefusal, type RuntimeState, type Status } from "./state.js";
import { stopContainer, type StopOptions } from "./stop.js";
import { forgetMachineId } from "./system.js";
import { purgeTrash } from "./trash.js";
import * as users from "./users.js";
import type { GroupInfo, UserInfo } from "./users.js";

/** The faces of the containers this process holds, so two never race to reap one init. */
const live = new Map<string, Container>();

function keyOf(runtime: ResolvedRuntime, name: string): string {
  return `${runtime.root}\0${name}`;
}

/** `fn` over `items`, at most `width` at a time, results in order. */
async function mapLimited<T, R>(items: readonly T[], width: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  return out;
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
 * const c = await Container.create("demo", { ephemeral: true });
 * try {
 *   await c.start();
 *   const { stdout } = await c.execOutput(["uname", "-n"]);
 *   console.log(stdout); // "demo\n"
 * } finally {
 *   await c.stop();
 *   await c.destroy();
 * }
 * ```
 */
export class Container implements AsyncDisposable {
  readonly #h: ContainerHandle;

  private constructor(h: ContainerHandle) {
    this.#h = h;
    h.hooks = {
      restart: (options, auto) => startContainer(h, options, auto),
      destroy: () => destroyContainer(h, {}),
    };
    h.bus.once("destroyed", () => {
      if (live.get(keyOf(h.runtime, h.name)) === this) live.delete(keyOf(h.runtime, h.name));
    });
  }

  /** The one face of a handle in this process. */
  static #register(h: ContainerHandle): Container {
    const c = new Container(h);
    live.set(keyOf(h.runtime, h.name), c);
    return c;
  }

  /**
   * Creates a container (state directory, id range, rootfs skeleton for the
   * embedded default). It is not started. Rejects with {@link ConfigError}
   * for bad input, leaving nothing behind.
   */
  static async create(name: string, config?: ContainerConfig, options?: RuntimeOptions): Promise<Container> {
    return Container.#register(await createContainer(name, config, resolveRuntime(options)));
  }

  /**
   * Finds a container by name, in this process or created by another one. A
   * running container is re-adopted: its init is verified by pid and start
   * time, and it can be exec'd into, stopped and waited for. What a dead
   * process left half-done is finished first (a create rolled back, a
   * destroy completed, a snapshot's freeze undone; docs/architecture.md).
   */
  static async get(name: string, options?: RuntimeOptions): Promise<Container> {
    validateName(name);
    const c = await Container.#load(resolveRuntime(options), name);
    if (!c) throw new NotFoundError(`container "${name}" does not exist under \`${resolveRuntime(options).root}\``, { container: name });
    return c;
  }

  /** The face of `name`, recovered and refreshed; undefined when there is no such container (or it is being made or removed). */
  static async #load(runtime: ResolvedRuntime, name: string): Promise<Container | undefined> {
    const known = live.get(keyOf(runtime, name));
    if (known && !known.#h.destroyed) {
      await known.#h.refresh();
      return known;
    }
    const recovery = await recoverContainer(runtime, name);
    if (recovery === "removed") return undefined;
    const store = new StateStore(runtime.root);
    const record = await store.readRecord(name);
    if (!record) return undefined;
    const again = live.get(keyOf(runtime, name));
    if (again && !again.#h.destroyed) return again; // loaded by a concurrent call meanwhile
    const state = (await store.readState(name)) ?? { status: "created" };
    const c = Container.#register(new ContainerHandle(runtime, record, state));
    await c.#h.refresh();
    return c;
  }

  /** Every container under the runtime root (ephemeral ones that already stopped are cleaned up, not listed). */
  static async list(options?: RuntimeOptions): Promise<Container[]> {
    const runtime = resolveRuntime(options);
    const store = new StateStore(runtime.root);
    const names = await store.names();
    // The containers this process already knows are brought up to date from
    // one batched read of their state files; the others are loaded (and
    // recovered, when a dead process left one half-done) one by one.
    const states = await readJsonFilesIn<RuntimeState>(names.map((n) => store.dir(n)), "state.json");
    const found = await mapLimited(names.map((name, i) => [name, i] as const), 16, async ([name, i]) => {
      const known = live.get(keyOf(runtime, name));
      if (!known || known.#h.destroyed) return Container.#load(runtime, name);
      await known.#h.refreshWith(states[i]);
      return known.#h.destroyed ? undefined : known;
    });
    const out: Container[] = [];
    for (const c of found) {
      if (!c) continue; // being created or destroyed right now
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
   * destroyed, creates and destroys a dead process left half-done are
   * finished, and leases and id ranges whose container is gone are
   * released; when no container is left under the root, the managed bridge
   * and its nftables table go too; the files of destroyed containers still
   * being removed (by this process, or left by a dead one) are removed
   * before it resolves. Returns the names it cleaned.
   */
  static async gc(options?: RuntimeOptions): Promise<string[]> {
    const runtime = resolveRuntime(options);
    const store = new StateStore(runtime.root);
    const cleaned: string[] = [];
    for (const name of await store.names()) {
      const before = await store.readState(name).catch(() => undefined);
      const recovery = await recoverContainer(runtime, name);
      if (recovery === "removed" || recovery === "repaired") cleaned.push(name);
      const c = recovery === "removed" ? undefined : await Container.#load(runtime, name);
      if (!c) continue;
      if (isLive(before?.status) && !isLive(c.state) && !cleaned.includes(name)) cleaned.push(name);
      if (c.config.ephemeral && c.state === "stopped") {
        await c.destroy().catch(() => undefined);
        if (!cleaned.includes(name)) cleaned.push(name);
      }
    }
    await withLock(store.globalLock, async () => {
      // Any directory counts: a create in progress has no record yet but will need its leases and the bridge.
      const remaining = new Set(await store.names());
      const leases = await releaseOrphanLeases(runtime, (container) => remaining.has(container));
      for (const key of leases) {
        const name = key.slice(0, key.lastIndexOf("/"));
        if (!cleaned.includes(name)) cleaned.push(name);
      }
      // Shards of the managed bridge emptied by destroys go; the first bridge stays while a container is left.
      if (remaining.size > 0) await pruneShards(runtime).catch(() => undefined);
      if (remaining.size === 0) {
        await removeManagedNetwork(runtime).catch(() => undefined);
        new CgroupTree(detectCgroupHost().mount, runtime.cgroupParent).removeSubtreeIfEmpty();
      }
    });
    await reclaimStaleIdRanges();
    // Destroyed containers' files: this process's still going, a dead one's left behind.
    await purgeTrash(runtime.root);
    return cleaned;
  }

  /** The container's name (unique under its runtime root; changed by {@link Container.rename}). */
  get name(): string {
    return this.#h.name;
  }

  /** `created`, `running`, `frozen` or `stopped`. */
  get state(): Status {
    return this.#h.status;
  }

  /** Host pid of the init while running. */
  get pid(): number | undefined {
    return this.#h.pid;
  }

  /**
   * Whether the init was started with `hold` and still waits to run its
   * program (read from the disk: true in every process). See
   * {@link StartOptions.hold}.
   */
  get held(): boolean {
    return this.#h.pid !== undefined && isHeld(this.#h.stateDir);
  }

  /** The validated configuration. */
  get config(): ResolvedConfig {
    return this.#h.config;
  }

  /** Host id range of the user namespace (`null` without one). */
  get idmap(): IdMap | null {
    return this.#h.idmap;
  }

  /** Runtime root directory this container lives under. */
  get root(): string {
    return this.#h.runtime.root;
  }

  /** The container's cgroup v2 directory. */
  get cgroupPath(): string {
    return this.#h.cgroupPath;
  }

  /** The container's state directory. */
  get stateDir(): string {
    return this.#h.stateDir;
  }

  /** How the last run ended, when known. */
  get lastExit(): ExitStatus | null {
    return this.#h.state.exit ?? null;
  }

  /**
   * Why the restart policy left the container stopped after its last run
   * (more than 10 restarts within a minute, or the restart failed); null
   * when it did not. Cleared by the next start.
   */
  get restartRefused(): RestartRefusal | null {
    return this.#h.state.restartRefused ?? null;
  }

  /** Problems that did not stop the container, e.g. limits skipped with `bestEffortLimits`. */
  get warnings(): string[] {
    return this.#h.warnings;
  }

  /** The init's stdin when started with `stdio: "pipe"`. */
  get stdin(): Writable | null {
    return this.#h.stdin;
  }

  /** The init's stdout when started with `stdio: "pipe"`. */
  get stdout(): Readable | null {
    return this.#h.stdout;
  }

  /** The init's stderr when started with `stdio: "pipe"`. */
  get stderr(): Readable | null {
    return this.#h.stderr;
  }

  /**
   * Resolves when the running init exits (and the container is cleaned up),
   * with `{code}` or `{signal}`; both are `null` when another process owned
   * the init and did not record how it ended. While someone waits on it,
   * the handle keeps Node's event loop alive.
   */
  get exited(): Promise<ExitStatus> {
    return this.#h.exited;
  }

  /**
   * The configuration as a start uses it: the validated config with what it
   * leaves open filled in from the container's name, its image's defaults
   * and the init found in its rootfs (the init argv, cwd, hostname, halt
   * signal, whether it gets a console).
   */
  effectiveConfig(): EffectiveConfig {
    return this.#h.effective();
  }

  /** Re-reads the container's state from disk (and adopts an init started by another process). */
  async refresh(): Promise<void> {
    await this.#h.refresh();
  }

  /** Lets Node exit while the container runs (the default: a container outlives its creator unless ephemeral). */
  unref(): this {
    this.#h.run?.watcher.unref();
    return this;
  }

  /** Keeps Node's event loop alive until the container stops. */
  ref(): this {
    this.#h.run?.watcher.ref();
    return this;
  }

  /** Starts the init. See {@link StartOptions}. */
  async start(options?: StartOptions): Promise<void> {
    this.#h.assertNotDestroyed("start");
    await startContainer(this.#h, options ?? {});
  }

  /**
   * Lets an init started with `hold: true` run its program; any process may
   * release it. A StateError (op "release") when it is not held.
   * @example
   * await c.start({ hold: true }); // set up, program not started
   * await c.release();             // runs it
   */
  async release(): Promise<void> {
    this.#h.assertNotDestroyed("release");
    await this.#h.refresh();
    if (this.#h.pid === undefined) {
      throw new StateError(`container "${this.name}" is not running`, "release", this.#h.status, { container: this.name });
    }
    releaseHold(this.#h.stateDir, this.name);
  }

  /**
   * Stops the container: sends the halt signal, waits up to `timeout` ms,
   * then kills every process of the container (cgroup.kill). Resolves once it
   * is stopped and cleaned up; a no-op when it is not running.
   */
  async stop(options?: StopOptions): Promise<ExitStatus | null> {
    if (this.#h.destroyed) return this.#h.state.exit ?? null;
    return stopContainer(this.#h, options ?? {});
  }

  /** Sends a signal to the init. */
  async kill(signal: NodeJS.Signals | string | number = "SIGKILL"): Promise<void> {
    const n = signalNumber(signal);
    if (n === undefined) throw new ConfigError([{ path: "signal", message: `unknown signal ${String(signal)}` }], { container: this.name });
    const run = this.#h.run;
    if (!run) throw new StateError(`container "${this.name}" is not running`, "kill", this.state, { container: this.name });
    try {
      native().pidfdSendSignal(run.pidfd, n);
    } catch (e) {
      if (codeOf(e) === "ESRCH") return; // exited meanwhile
      throw new HostError(`send ${signalName(n)} to container "${this.name}"`, codeOf(e), { container: this.name, syscall: "pidfd_send_signal" });
    }
  }

  /**
   * Changes keys of a stopped container's config that a start reads afresh
   * (`hostname`, `domainname`, `env`, `cwd`, `user`, `haltSignal`,
   * `stopTimeout`, `onReboot`, `restart`); a key set to `undefined` goes back to its
   * default. Limits change live with {@link Container.setLimits}.
   *
   * @example
   * ```ts
   * await c.setConfig({ hostname: "web1", env: { MODE: "prod" } });
   * ```
   */
  async setConfig(patch: ConfigPatch): Promise<void> {
    this.#h.assertNotDestroyed("setConfig");
    await setConfig(this.#h, patch);
  }

  /**
   * Changes cgroup limits, live when the container runs, and keeps them for
   * later starts. Each section replaces the fields it names
   * (`{memory: {max: "1GiB"}}` leaves `memory.high` as it was). Returns the
   * warnings of a best-effort application.
   */
  async setLimits(limits: Limits, options?: { bestEffort?: boolean }): Promise<string[]> {
    this.#h.assertNotDestroyed("setLimits");
    return setLimits(this.#h, limits, options ?? {});
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
    this.#h.assertNotDestroyed("setDeviceRules");
    await setDeviceRules(this.#h, rules);
  }

  /** The running container's interfaces: names, MACs, addresses, counters. */
  async network(): Promise<InterfaceInfo[]> {
    this.#h.assertNotDestroyed("network");
    return containerNetwork(this.#h);
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
    this.#h.assertNotDestroyed("addNic");
    await addNic(this.#h, nic);
  }

  /** Unplugs a NIC by its name inside the container; a physical NIC goes back to the host. */
  async removeNic(name: string): Promise<void> {
    this.#h.assertNotDestroyed("removeNic");
    await removeNic(this.#h, name);
  }

  /**
   * Passes a device in (kept in the config for later starts): a host
   * character or block node, a disk, or a NIC (`type: "nic"`, the same as
   * {@link addNic}). On a running container it appears at once; a device
   * with `required: false` whose host node is missing appears when the node
   * does (and goes when it goes). Rejects with a {@link ConfigError} naming
   * `devices.<name>.<field>` for a bad spec, leaving nothing behind.
   * See docs/devices.md.
   *
   * @example
   * ```ts
   * await c.addDevice("fuse", { type: "unix-char", source: "/dev/fuse", mode: 0o666 });
   * await c.addDevice("data", { type: "disk", source: "/srv/data", path: "/data", readonly: true });
   * ```
   */
  async addDevice(name: string, spec: DeviceInput | NicDeviceInput): Promise<void> {
    this.#h.assertNotDestroyed("addDevice");
    await addDevice(this.#h, name, spec);
  }

  /**
   * Removes a device (or a NIC by its name): unmounted inside a running
   * container and, without a user namespace, denied by its device program.
   * A process that has it open keeps its fd.
   */
  async removeDevice(name: string): Promise<void> {
    this.#h.assertNotDestroyed("removeDevice");
    await removeDevice(this.#h, name);
  }

  /**
   * Follows this container's devices that come and go with the host (`usb`
   * devices, `required: false` nodes) in this process until it stops: first
   * brings them in line with the host (uevents may have been missed), then
   * applies the kernel's uevents as they come. Resolves true when there is
   * something to follow, false when the container has no such device or is
   * not running; {@link exited} tells when following ends.
   *
   * Rarely needed: the process that starts the container or adds the
   * device follows it already, and so does the state root's follower
   * process, which warren starts for them (docs/devices.md).
   */
  async followDevices(): Promise<boolean> {
    this.#h.assertNotDestroyed("followDevices");
    await this.#h.refresh();
    await reloadRecord(this.#h); // a device added by another process since this handle read it
    if (!this.#h.run || !isLive(this.#h.status)) return false;
    return followHotplug(this.#h, true) !== undefined;
  }

  /** The container's devices and NICs, with what each holds inside while it runs. */
  async devices(): Promise<DeviceInfo[]> {
    this.#h.assertNotDestroyed("devices");
    return listDevices(this.#h);
  }

  /**
   * Saves the container's changes (image-based containers: the overlay's
   * upper layer), freezing it meanwhile when it runs.
   */
  async snapshot(name: string): Promise<SnapshotInfo> {
    this.#h.assertNotDestroyed("snapshot");
    return snapshot(this.#h, name);
  }

  /** Puts a snapshot's state back (the container must be stopped). */
  async restore(name: string): Promise<void> {
    this.#h.assertNotDestroyed("restore");
    await restoreSnapshot(this.#h, name);
  }

  async listSnapshots(): Promise<SnapshotInfo[]> {
    this.#h.assertNotDestroyed("listSnapshots");
    return listSnapshots(this.#h);
  }

  async deleteSnapshot(name: string): Promise<void> {
    this.#h.assertNotDestroyed("deleteSnapshot");
    await deleteSnapshot(this.#h, name);
  }

  /**
   * A new, independent container on the same image with a copy of this
   * one's changes, shifted to its own id range. Nothing of the image is copied.
   */
  async clone(newName: string): Promise<Container> {
    this.#h.assertNotDestroyed("clone");
    const seed = cloneSeed(this.#h);
    const { idmap: _drop, ...config } = this.#h.record.config;
    // Bridged NICs get new addresses and MACs; the rest of the config is the same.
    const nics = config.nics.map((n) => ({ ...n, ...(n.type === "bridged" ? { ipv4: undefined, mac: undefined } : {}) }));
    const h = await withLiveTreeStill(this.#h, () => createContainer(newName, { ...config, nics } as ContainerConfig, this.#h.runtime, seed));
    forgetMachineId(h); // a new machine: its own id at its first start
    return Container.#register(h);
  }

  /**
   * Renames the stopped container (a running one is a {@link StateError}):
   * its state directory, record, id range and address leases move to
   * `newName`; addresses and MACs stay. A hostname left to the default
   * follows the new name at the next start.
   *
   * @example
   * ```ts
   * await c.rename("web-old");
   * ```
   */
  async rename(newName: string): Promise<void> {
    this.#h.assertNotDestroyed("rename");
    const old = keyOf(this.#h.runtime, this.name);
    await renameContainer(this.#h, newName);
    if (live.get(old) === this) live.delete(old);
    live.set(keyOf(this.#h.runtime, this.name), this);
  }

  /**
   * Drops the stopped container's own files and gives it its image's tree
   * again, as at create; name, config, id range, NICs and snapshots stay.
   * Image-based containers only.
   *
   * @example
   * ```ts
   * await c.stop();
   * await c.rebuild();
   * ```
   */
  async rebuild(): Promise<void> {
    this.#h.assertNotDestroyed("rebuild");
    await rebuildContainer(this.#h);
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
  async export(tarPath: string, options?: ExportOptions): Promise<void> {
    this.#h.assertNotDestroyed("export");
    await exportContainer(this.#h, tarPath, options ?? {});
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
    return Container.#register(await importContainer(tarPath, name, resolveRuntime(options)));
  }


  /**
   * The stats of every running container under the runtime root (or of
   * the ones named), read from the cgroup tree in one sweep: what a
   * dashboard polling thousands of containers calls instead of
   * {@link Container.stats} on each. Containers not running are left out.
   *
   * `pressure: false` leaves the three PSI files (`cpu.pressure`,
   * `memory.pressure`, `io.pressure`) unread and `pressure` empty: each
   * costs the kernel about as much as `cpu.stat`, so a sweep that does not
   * need them reads under half as much (figures in docs/scale.md).
   *
   * @example
   * ```ts
   * const all = await Container.statsAll();
   * for (const [name, s] of Object.entries(all)) console.log(name, s.cpu.usageUsec, s.memory?.current);
   * ```
   */
  static async statsAll(options?: RuntimeOptions & { names?: readonly string[]; pressure?: boolean }): Promise<Record<string, ContainerStats>> {
    for (const n of options?.names ?? []) validateName(n);
    return statsOfAll(resolveRuntime(options), options?.names, { pressure: options?.pressure ?? true });
  }

  /**
   * Every running container under the runtime root (or the ones named) in
   * the Prometheus text exposition format: CPU, memory, pids, disk I/O and
   * network counters, named as Incus names them (`warren_cpu_seconds_total`,
   * or `incus_cpu_seconds_total` with `prefix: "incus"`), labelled `name`,
   * `project` and `type`. One sweep of the cgroup tree, as
   * {@link Container.statsAll}; the metric list is in docs/metrics.md.
   *
   * @example
   * ```ts
   * import { createServer } from "node:http";
   *
   * createServer(async (_req, res) => {
   *   res.setHeader("content-type", "text/plain; version=0.0.4");
   *   res.end(await Container.metrics({ prefix: "incus" }));
   * }).listen(9101);
   * ```
   */
  static async metrics(options?: RuntimeOptions & MetricsOptions): Promise<string> {
    for (const n of options?.names ?? []) validateName(n);
    return metricsOfAll(resolveRuntime(options), options);
  }

  /** CPU, memory, pids, I/O and pressure figures of the running container. */
  async stats(): Promise<ContainerStats> {
    this.#h.assertNotDestroyed("stats");
    return containerStats(this.#h);
  }

  /** Freezes every process of the container (cgroup.freeze); resolves once the kernel reports it frozen. */
  async freeze(options?: { timeout?: number }): Promise<void> {
    this.#h.assertNotDestroyed("freeze");
    await setFrozen(this.#h, true, options?.timeout ?? FREEZE_TIMEOUT_MS);
  }

  /** Thaws a frozen container. */
  async unfreeze(options?: { timeout?: number }): Promise<void> {
    this.#h.assertNotDestroyed("unfreeze");
    await setFrozen(this.#h, false, options?.timeout ?? FREEZE_TIMEOUT_MS);
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
    this.#h.assertNotDestroyed("events");
    return containerEvents(this.#h, options);
  }

  /**
   * The console's output kept by the container's monitor (the last
   * `consoleLogSize` bytes, boot messages included), whether or not anyone
   * was attached; after a stop, what the last run's console said. Rejects
   * when the container never had a console.
   */
  async consoleLog(): Promise<Buffer> {
    this.#h.assertNotDestroyed("consoleLog");
    return readConsoleLog(this.stateDir, this.name);
  }

  /**
   * Attaches to the console: a duplex stream (output out, keystrokes in) with
   * `resize(cols, rows)`. Ending it detaches; the console goes on. With
   * `replay`, the kept output comes first. Works from any process while the
   * container runs with a console (config `console`).
   */
  async console(options?: { replay?: boolean }): Promise<ConsoleStream> {
    this.#h.assertNotDestroyed("console");
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
    this.#h.assertNotDestroyed("pushFile");
    return files.pushFile(this.#h, source, path, options);
  }

  /** A file of the container: its content, or (with `hostPath`) copied to a host file. */
  async pullFile(path: string): Promise<Buffer>;
  async pullFile(path: string, hostPath: string): Promise<void>;
  async pullFile(path: string, hostPath?: string): Promise<Buffer | void> {
    this.#h.assertNotDestroyed("pullFile");
    return hostPath === undefined ? files.pullFile(this.#h, path) : files.pullFile(this.#h, path, hostPath);
  }

  /** A stream of a file of the container. */
  async openReadStream(path: string): Promise<Readable> {
    this.#h.assertNotDestroyed("openReadStream");
    return files.openReadStream(this.#h, path);
  }

  /** A text file of the container (UTF-8). */
  async readFileText(path: string): Promise<string> {
    this.#h.assertNotDestroyed("readFileText");
    return files.readFileText(this.#h, path);
  }

  /** The entries of a directory of the container, owners as the container sees them. */
  async readdir(path: string): Promise<DirEntry[]> {
    this.#h.assertNotDestroyed("readdir");
    return files.readdir(this.#h, path);
  }

  /** A file's metadata (a symlink is described, not followed, unless `follow`). */
  async stat(path: string, options?: { follow?: boolean }): Promise<FileStat> {
    this.#h.assertNotDestroyed("stat");
    return files.stat(this.#h, path, options);
  }

  /** Makes a directory in the container (root's, 0755, unless told). */
  async mkdir(path: string, options?: { mode?: number; uid?: number; gid?: number; recursive?: boolean }): Promise<void> {
    this.#h.assertNotDestroyed("mkdir");
    return files.mkdir(this.#h, path, options);
  }

  /** Removes a file, a symlink (not its target) or, with `recursive`, a tree. */
  async rm(path: string, options?: { recursive?: boolean; force?: boolean }): Promise<void> {
    this.#h.assertNotDestroyed("rm");
    return files.rm(this.#h, path, options);
  }

  /** A user of the container's /etc/passwd, with the groups a login gets. */
  async lookupUser(nameOrId: string | number): Promise<UserInfo> {
    this.#h.assertNotDestroyed("lookupUser");
    return users.lookupUser(this.#h, nameOrId);
  }

  /** A group of the container's /etc/group. */
  async lookupGroup(nameOrId: string | number): Promise<GroupInfo> {
    this.#h.assertNotDestroyed("lookupGroup");
    return users.lookupGroup(this.#h, nameOrId);
  }

  /** Runs a process inside the running container. See {@link ExecOptions}. */
  async exec(argv: readonly string[], options?: ExecOptions): Promise<ExecProcess> {
    this.#h.assertNotDestroyed("exec");
    return execInContainer(this.#h, argv, options ?? {});
  }

  /** Runs a process to completion and collects its output. */
  async execOutput(argv: readonly string[], options?: ExecOptions & { input?: string | Buffer; check?: boolean }): Promise<ExecOutput> {
    this.#h.assertNotDestroyed("exec");
    return execOutput(this.#h, argv, options ?? {});
  }

  /**
   * Removes the container: its state directory, rootfs skeleton and cgroup.
   * A running container is refused unless `force`, which kills it first.
   * Idempotent. The directory is moved aside in one rename (the commit
   * point) and its files are removed one operation at a time before it
   * resolves: a writable layer with tens of thousands of entries takes the
   * disk seconds, without holding libuv's pool or the event loop.
   */
  async destroy(options?: { force?: boolean }): Promise<void> {
    await destroyContainer(this.#h, options ?? {});
  }

  /** Stops and destroys: `await using c = await Container.create(...)`. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#h.destroyed) return;
    await this.stop();
    await this.destroy({ force: true });
  }
}
