/**
 * What a container leaves on disk under the runtime root, so another process
 * can list it, re-adopt it while it runs, and clean up after it:
 *
 *     <root>/<name>/                 0710 root:<container's root gid> (0700 without a user namespace)
 *     <root>/<name>/container.json   what it is (config, id range, rootfs), written once at create
 *     <root>/<name>/state.json       what it is doing (status, init pid + start time, last exit)
 *     <root>/<name>/lock             flock held while its state changes
 *     <root>/<name>/rootfs/          the embedded default's writable skeleton
 *     <root>/.lock                   flock for creating and destroying containers
 *
 * Files are replaced atomically (write to a temporary file, then rename).
 * They are a few hundred bytes on a local file system, so they are read and
 * written synchronously: a round trip through libuv's threadpool would cost
 * more than the I/O on a container's start path. `state.json`, rewritten on
 * every start and exit, is overwritten in place as one padded 4 KiB block:
 * replacing it by rename makes ext4 flush the new file first (its
 * auto_da_alloc heuristic), 0.15-0.5 ms against 4 µs in place.
 * @module
 */
import { closeSync, promises as fsp, openSync, statSync, writeSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

import { NAME_PATTERN } from "../config/constants.js";
import type { IdMap, ResolvedConfig } from "../config/schema.js";
import { HostError } from "../errors.js";
import { codeOf } from "../linux/errno.js";
import type { ImageDefaults } from "../plan/effective.js";
import { readJsonFile, writeJsonAtomic } from "../linux/json-file.js";
import type { Attached, NicLease } from "../network/manager.js";
import type { RootfsRecord } from "../rootfs/record.js";


/** Written once at create. */
export interface ContainerRecord {
  version: 1;
  name: string;
  config: ResolvedConfig;
  idmap: IdMap | null;
  rootfs: RootfsRecord;
  createdAt: string;
  /** Addresses and MACs leased for its NICs (stable across restarts). */
  leases?: NicLease[];
  /** What the image's config asks for, used where the container's config is silent. */
  imageDefaults?: ImageDefaults;
}


export type Status = "created" | "running" | "frozen" | "stopped";

/** Whether the init is alive in this status (frozen containers are). */
export function isLive(status: Status | undefined): boolean {
  return status === "running" || status === "frozen";
}

export interface ExitStatus {
  /** Exit code, or null when the process was killed by a signal or its end is unknown. */
  code: number | null;
  /** Signal name when it was killed by one. */
  signal: NodeJS.Signals | null;
  /**
   * Why it stopped, when known: the init exited by itself (`exit`), halted
   * or powered off (`halt`: stop()'s halt signal or reboot(2) asking for
   * power-off), rebooted (`reboot`: reboot(2) with restart), was killed
   * (`kill`), or was killed by the OOM killer (`oom`).
   */
  reason?: StopReason;
}

export type StopReason = "exit" | "halt" | "reboot" | "kill" | "oom";

/** Changes over the container's life. */
export interface RuntimeState {
  status: Status;
  pid?: number;
  /** The init's start time in clock ticks since boot (/proc/<pid>/stat field 22): tells a reused pid apart. */
  startTime?: number;
  startedAt?: string;
  /** pid of the Node process that started it (the only one that can learn its exit code). */
  owner?: number;
  /** How the last run ended, when known. */
  exit?: ExitStatus | null;
  /** What the running container holds on the host's network (undone when it stops). */
  network?: Attached;
  /** pid of its monitor (console, sd_notify, restart policy), when it has one. */
  monitor?: number;
  /** The monitor applies the restart policy when this run's init ends (it runs warren's CLI then). */
  supervised?: boolean;
  /**
   * A stop (`halt`, then `kill`) or destroy (`kill`) asked for through warren, by any
   * process: no restart policy starts the container again. Cleared by the next start.
   */
  stopRequested?: "halt" | "kill";
  /** When (ms since the epoch) the restart policy started it within the last minute. */
  restarts?: number[];
  /** Why the restart policy left it stopped after its last run ended. */
  restartRefused?: RestartRefusal;
  /** What each device holds inside the running container (src/container/devices.ts). */
  devices?: Record<string, DeviceState>;
}

/**
 * Why a container's restart policy left it stopped: more than 10 restarts
 * within a minute (`restart-limit`, Incus's rule), or the restart failed
 * (`start-failed`, with the error's message).
 */
export interface RestartRefusal {
  reason: "restart-limit" | "start-failed";
  message: string;
  /** When it was refused (ISO 8601). */
  at: string;
}

/** One mount a device holds inside a running container (kept in state.json). */
export interface AttachedMount {
  path: string;
  isDir: boolean;
  /** warren made the target, and removes it with the mount. */
  created: boolean;
  /**
   * For a node: its numbers (the device program allows them) and the host
   * file warren made for it (none when it bound an existing node: nested).
   */
  node?: { file?: string; type: "c" | "b"; major: number; minor: number };
}

export interface DeviceState {
  mounts: AttachedMount[];
  /** Why it has no mounts yet (`required: false`, the host node missing). */
  waiting?: string;
  /** Environment its binds need (a GPU runtime's `LD_LIBRARY_PATH`), for the init and every exec. */
  env?: Record<string, string>;
}

/** Size of the in-place state block. */
const STATE_BLOCK = 4096;

/** Roots {@link StateStore.ensureRoot} made or checked in this process: the directory's identity. */
const rootsMade = new Map<string, { ino: number; dev: number }>();
/** When a root's parents were last found searchable by others. */
const searchableChecked = new Map<string, number>();
const SEARCHABLE_TTL_MS = 10_000;

export class StateStore {
  constructor(readonly root: string) {}

  dir(name: string): string {
    return join(this.root, name);
  }
  lockPath(name: string): string {
    return join(this.root, name, "lock");
  }
  get globalLock(): string {
    return join(this.root, ".lock");
  }

  /**
   * Creates the root if needed. It must be searchable by everyone (mode
   * 0711 or wider): a container's root user is an unprivileged host id that
   * must reach its rootfs below it; nothing in it is listable or readable.
   */
  async ensureRoot(): Promise<void> {
    // Once per root and process while the same directory stays there with
    // its mode: a fleet's creates would otherwise make three pool trips
    // each for a directory that was made by the first.
    const known = rootsMade.get(this.root);
    if (known) {
      const now = statSync(this.root, { throwIfNoEntry: false });
      if (now && now.ino === known.ino && now.dev === known.dev && (now.mode & 0o011) === 0o011) return;
    }
    await fsp.mkdir(this.root, { recursive: true, mode: 0o711 });
    let st = await fsp.stat(this.root);
    if ((st.mode & 0o011) !== 0o011) {
      await fsp.chmod(this.root, (st.mode & 0o7777) | 0o011);
      st = await fsp.stat(this.root);
    }
    rootsMade.set(this.root, { ino: st.ino, dev: st.dev });
  }

  /**
   * Closes a container's directory to every host user but root and the
   * container's own root: owner root, group the container's root gid, mode
   * 0710 (0700 without a user namespace). Its root (an unprivileged host id
   * whose gid is that group) must traverse it to reach its rootfs and the
   * files bound in from here while it sets itself up; nothing else on the
   * host may reach what is below: an image's setuid binaries, a rootfs
   * written through an idmapped mount (stored with host uid 0). Owned by
   * root, not by the container, so the container cannot open it wider.
   */
  async restrictDir(name: string, idmap: { hostGid: number } | null): Promise<void> {
    const dir = this.dir(name);
    await fsp.chown(dir, 0, idmap ? idmap.hostGid : 0);
    await fsp.chmod(dir, idmap ? 0o710 : 0o700);
  }

  /**
   * The first directory above the root that others cannot search, if any:
   * below it a user-namespaced container's root (an unprivileged host id)
   * could not reach its own root filesystem. warren does not change modes
   * it did not create; the caller says which directory it is.
   */
  async unsearchableParent(): Promise<string | undefined> {
    // A searchable chain is remembered for a while (the walk is a pool
    // trip per parent, on every create); a closed one is checked again.
    const checked = searchableChecked.get(this.root);
    if (checked !== undefined && Date.now() - checked < SEARCHABLE_TTL_MS) return undefined;
    for (let dir = dirname(resolve(this.root)); ; dir = dirname(dir)) {
      const st = await fsp.stat(dir).catch(() => undefined);
      if (st && (st.mode & 0o001) === 0) return dir;
      if (dir === "/") break;
    }
    searchableChecked.set(this.root, Date.now());
    return undefined;
  }

  async exists(name: string): Promise<boolean> {
    try {
      await fsp.access(join(this.dir(name), "container.json"));
      return true;
    } catch {
      return false;
    }
  }

  async readRecord(name: string): Promise<ContainerRecord | undefined> {
    return readJsonFile<ContainerRecord>(join(this.dir(name), "container.json"));
  }

  async writeRecord(record: ContainerRecord): Promise<void> {
    writeJsonAtomic(join(this.dir(record.name), "container.json"), record);
  }

  async readState(name: string): Promise<RuntimeState | undefined> {
    return readJsonFile<RuntimeState>(join(this.dir(name), "state.json"));
  }

  async writeState(name: string, state: RuntimeState): Promise<void> {
    const path = join(this.dir(name), "state.json");
    const text = JSON.stringify(state);
    if (Buffer.byteLength(text) < STATE_BLOCK) {
      let fd = -1;
      try {
        fd = openSync(path, "r+");
      } catch {
        fd = -1; // first write: create it atomically below
      }
      if (fd >= 0) {
        try {
          const block = Buffer.alloc(STATE_BLOCK, 0x20);
          block.write(text);
          block[STATE_BLOCK - 1] = 0x0a;
          writeSync(fd, block, 0, STATE_BLOCK, 0);
          return;
        } catch (e) {
          throw new HostError(`write \`${path}\``, codeOf(e), { path, syscall: "write", cause: e });
        } finally {
          closeSync(fd);
        }
      }
    }
    writeJsonAtomic(path, state);
  }

  /** Names of every container under the root, sorted. */
  async names(): Promise<string[]> {
    let entries: import("node:fs").Dirent[];
    try {
      entries = await fsp.readdir(this.root, { withFileTypes: true });
    } catch (e) {
      if (codeOf(e) === "ENOENT") return [];
      throw new HostError(`read \`${this.root}\``, codeOf(e), { path: this.root, syscall: "readdir" });
    }
    // Only what could be a container: another tool's directory (or a nested
    // runtime root) under the root is not one, and must not break a listing.
    return entries.filter((e) => e.isDirectory() && NAME_PATTERN.test(e.name)).map((e) => e.name).sort();
  }

  async remove(name: string): Promise<void> {
    await fsp.rm(this.dir(name), { recursive: true, force: true });
  }
}
