/**
 * One cgroup v2 directory per container under a warren subtree of the
 * cgroup2 mount: `<mount>/<parent>/<container>`, the init in it (with a
 * cgroup namespace rooted there, LXC's payload layout), exec'd processes in
 * the `.exec` leaf below it. All operations take an injectable mount path so
 * unit tests can run against a temporary directory. cgroupfs operations are
 * in-memory kernel calls: they are made synchronously, not through libuv's
 * threadpool.
 * @module
 */
import { mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

import { HostError } from "../errors.js";
import { codeOf } from "../linux/errno.js";
import { findCgroup2, parseMountInfo, v1Controllers } from "./mountinfo.js";

/** The leaf of a container's cgroup that exec'd processes join. */
export const EXEC_LEAF = ".exec";

/** What warren can use of the host's cgroups. */
export interface CgroupHost {
  /** The cgroup2 mount point, e.g. `/sys/fs/cgroup` or `/sys/fs/cgroup/unified`. */
  mount: string;
  /** Controllers enabled at the cgroup2 root (`cgroup.controllers`). */
  controllers: string[];
  /** Controllers held by cgroup v1 hierarchies, unusable by warren. */
  v1Controllers: string[];
  /** True when cgroup2 is the only cgroup filesystem mounted. */
  pureV2: boolean;
  /** Delegation: what a container's root gets in its own cgroup. */
  delegation: {
    /** The cgroup2 mount has `nsdelegate` (cgroup namespaces are delegation boundaries). */
    nsdelegate: boolean;
    /** Files chowned to a delegatee (/sys/kernel/cgroup/delegate). */
    files: string[];
  };
}

let cachedHost: CgroupHost | undefined;

/** Detects the host's cgroup layout (cached; pass `refresh` to re-read). */
export function detectCgroupHost(refresh = false): CgroupHost {
  if (cachedHost && !refresh) return cachedHost;
  const entries = parseMountInfo(readFileSync("/proc/self/mountinfo", "utf8"));
  const v2 = findCgroup2(entries);
  if (!v2) {
    throw new HostError("no cgroup2 filesystem is mounted (warren uses cgroup v2 only)", "ENOENT", {
      path: "/proc/self/mountinfo",
    });
  }
  let controllers: string[] = [];
  try {
    controllers = readFileSync(join(v2.mountPoint, "cgroup.controllers"), "utf8").trim().split(/\s+/).filter(Boolean);
  } catch {
    controllers = [];
  }
  const v1 = v1Controllers(entries);
  let files: string[];
  try {
    files = readFileSync("/sys/kernel/cgroup/delegate", "utf8").trim().split(/\s+/).filter(Boolean);
  } catch {
    files = ["cgroup.procs", "cgroup.threads", "cgroup.subtree_control"];
  }
  cachedHost = {
    mount: v2.mountPoint,
    controllers,
    v1Controllers: v1,
    pureV2: !entries.some((e) => e.fsType === "cgroup"),
    delegation: { nsdelegate: v2.superOptions.split(",").includes("nsdelegate"), files },
  };
  return cachedHost;
}

/**
 * rmdir every cgroup below `dir`, deepest first: the exec leaf, and whatever
 * tree a delegated container built for itself.
 */
function removeDescendants(dir: string): void {
  let entries: import("node:fs").Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    if (codeOf(e) === "ENOENT") return;
    throw e;
  }
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const child = join(dir, e.name);
    removeDescendants(child);
    try {
      rmdirSync(child);
    } catch (err) {
      if (codeOf(err) !== "ENOENT") throw err;
    }
  }
}

/** A warren subtree (`<mount>/<parent>`) holding one cgroup per container. */
export class CgroupTree {
  readonly mount: string;
  readonly parent: string;

  constructor(mount: string, parent: string) {
    if (!parent || parent.includes("/") || parent.startsWith(".")) throw new Error(`bad cgroup parent name ${parent}`);
    this.mount = mount;
    this.parent = parent;
  }

  /** Absolute path of the warren subtree. */
  get root(): string {
    return join(this.mount, this.parent);
  }

  /** The container's cgroup directory. */
  path(name: string): string {
    return join(this.mount, this.parent, name);
  }

  /** Creates warren's subtree when it is missing. */
  ensureRoot(): void {
    try {
      mkdirSync(this.root);
    } catch (e) {
      if (codeOf(e) !== "EEXIST") throw new HostError(`create cgroup \`${this.root}\``, codeOf(e), { path: this.root, syscall: "mkdir" });
    }
  }

  /** Creates the container's cgroup (and the subtree when missing). Fails with EEXIST if it is there. */
  async create(name: string): Promise<string> {
    const dir = this.path(name);
    for (let attempt = 0; ; attempt++) {
      try {
        try {
          mkdirSync(this.root);
        } catch (e) {
          if (codeOf(e) !== "EEXIST") throw e;
        }
        mkdirSync(dir);
        return dir;
      } catch (e) {
        // Another process may remove the empty subtree between our two
        // mkdirs (it cleans up after its last container); try again.
        if (codeOf(e) === "ENOENT" && attempt < 5) continue;
        if (codeOf(e) === "EEXIST") {
          // Left over by a container that died unseen: reuse it only if empty.
          if (!(await this.populated(name))) return dir;
        }
        throw new HostError(`create cgroup \`${dir}\``, codeOf(e), { path: dir, syscall: "mkdir", cause: e });
      }
    }
  }

  /** The exec leaf, created on first use. */
  async execLeaf(name: string): Promise<string> {
    const dir = join(this.path(name), EXEC_LEAF);
    try {
      mkdirSync(dir);
    } catch (e) {
      if (codeOf(e) !== "EEXIST") throw new HostError(`create cgroup \`${dir}\``, codeOf(e), { path: dir, syscall: "mkdir" });
    }
    return dir;
  }

  /** Whether any process is left in the container's cgroup (or below it). */
  async populated(name: string): Promise<boolean> {
    try {
      const events = readFileSync(join(this.path(name), "cgroup.events"), "utf8");
      return /^populated 1$/m.test(events);
    } catch (e) {
      if (codeOf(e) === "ENOENT") return false;
      throw e;
    }
  }

  /** SIGKILLs every process in the container's cgroup at once (cgroup.kill, Linux 5.14). */
  async kill(name: string): Promise<void> {
    try {
      writeFileSync(join(this.path(name), "cgroup.kill"), "1");
    } catch (e) {
      if (codeOf(e) === "ENOENT") return;
      throw new HostError(`kill cgroup \`${this.path(name)}\``, codeOf(e), { path: this.path(name), syscall: "write" });
    }
  }

  /** Same as {@link kill}, synchronously: for process-exit hooks. */
  killSync(name: string): void {
    try {
      writeFileSync(join(this.path(name), "cgroup.kill"), "1");
    } catch {
      /* gone already */
    }
  }

  /**
   * Kills what is left, waits until the cgroup is empty and removes it
   * (leaf first). Missing directories are fine: removal is idempotent.
   * The warren subtree itself stays (see {@link removeSubtreeIfEmpty}).
   */
  async remove(name: string, timeoutMs = 5000): Promise<void> {
    const dir = this.path(name);
    const deadline = Date.now() + timeoutMs;
    let killed = false;
    for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
      try {
        removeDescendants(dir);
        rmdirSync(dir);
        break;
      } catch (e) {
        const code = codeOf(e);
        if (code === "ENOENT") break;
        if (code !== "EBUSY" || Date.now() > deadline) {
          throw new HostError(`remove cgroup \`${dir}\``, code, { path: dir, syscall: "rmdir", cause: e });
        }
        if (!killed) {
          await this.kill(name);
          killed = true;
        }
        await sleep(delay);
      }
    }
  }

  /**
   * Removes the warren subtree when no container uses it any more (after a
   * destroy); EBUSY means another container, maybe of another process,
   * still does.
   */
  removeSubtreeIfEmpty(): void {
    try {
      rmdirSync(this.root);
    } catch {
      /* in use, or gone */
    }
  }
}
