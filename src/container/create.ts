/**
 * Creating a container: validation, the state directory, an id range, the
 * rootfs (the embedded default's skeleton, a directory, or a root on an
 * image, possibly seeded from another container's tree), address leases and
 * the record on disk. A create that fails leaves nothing behind.
 * @module
 */
import { promises as fsp } from "node:fs";
import { join } from "node:path";

import { detectCgroupHost } from "../cgroup/cgroup2.js";
import { containerPathProblem, validateName } from "../config/constants.js";
import type { ResolvedRuntime } from "../config/runtime.js";
import type { ContainerConfig, IdMap } from "../config/schema.js";
import { signalNumber } from "../config/signals.js";
import { ConfigError, HostError, StateError, WarrenError } from "../errors.js";
import { codeOf } from "../linux/errno.js";
import type { ImageConfig } from "../image/oci.js";
import { ImageStore } from "../image/store.js";
import { withLock } from "../linux/lock.js";
import { reserveAddresses } from "../network/manager.js";
import { defaultHostname, type ImageDefaults } from "../plan/effective.js";
import { compileSeccompProfile } from "../plan/seccomp-profile.js";
import { createEmbeddedRootfs } from "../rootfs/embedded.js";
import type { RootfsRecord } from "../rootfs/record.js";
import { baseOf, liveTree, makeImageRoot, pickStorage, snapshotTree, storageOf, type Seed } from "../storage/backend.js";
import { ContainerHandle } from "./handle.js";
import { reserveIdRange } from "./id-ranges.js";
import { clearIntent, writeIntent } from "./intent.js";
import { recoverContainer, removeContainerFiles } from "./recover.js";
import { StateStore, type ContainerRecord, type RuntimeState } from "./state.js";

/**
 * Creates the container `name` under `runtime` and returns its handle. `seed`
 * is the tree its changes start from (clone and import pass one; it is no
 * part of the public options).
 */
export async function createContainer(name: string, config: ContainerConfig | undefined, runtime: ResolvedRuntime, seed?: Seed): Promise<ContainerHandle> {
  validateName(name);
  // Loaded here, not at the top: the schema (and zod) is for the paths that
  // validate; get/list only read records (see docs/cli.md).
  const { resolveConfig } = await import("../config/resolve.js");
  const resolved = resolveConfig(config, name);
  if (resolved.seccomp && "profile" in resolved.seccomp) {
    // Compiled now for its errors (a notify listener, over 4096
    // instructions), so a profile that cannot work fails at create, not start.
    try {
      compileSeccompProfile(resolved.seccomp.profile, { at: "seccomp.profile" });
    } catch (e) {
      throw e instanceof ConfigError ? new ConfigError(e.issues, { container: name }) : e;
    }
  }
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

  const dir = store.dir(name);
  await claimName(runtime, store, name);
  try {
    const idmap: IdMap | null = resolved.namespaces.user ? await reserveIdRange(runtime.root, name, resolved.idmap) : null;
    await store.restrictDir(name, idmap);
    const hostname = resolved.hostname ?? defaultHostname(name);
    let rootfs: RootfsRecord;
    let imageDefaults: ImageDefaults | undefined;
    // `from` is read here and not kept: the record says which image the container is on.
    const { from, ...recorded } = resolved;
    if (resolved.image !== undefined || from) {
      let ref = resolved.image;
      let fromImage: string | undefined;
      if (from) {
        ({ image: fromImage, seed } = await seedFromSnapshot(store, from, name));
        ref ??= fromImage;
      }
      const img = await new ImageStore(runtime.root).get(ref!).catch(() => {
        throw new ConfigError([{ path: "image", message: `no image ${JSON.stringify(ref)} in \`${runtime.root}\`` }], { container: name });
      });
      if (fromImage !== undefined && img.id !== fromImage) {
        throw new ConfigError([{ path: "image", message: `container "${from!.container}" is made from image ${fromImage}, not ${JSON.stringify(ref)}` }], { container: name });
      }
      recorded.image ??= img.id;
      imageDefaults = defaultsOf(img.config, name);
      const kind = await pickStorage(runtime.root, resolved.storage, seed, name);
      rootfs = await makeImageRoot({ dir, image: img, idmap, storage: kind, ...(seed ? { seed } : {}) });
    } else if (resolved.rootfs) {
      // An idmapped tree is attached at <state>/root, not over itself: the
      // directory may then sit where the container's root cannot reach it
      // (it should: the root's writes are stored as host ids, setuid-root included).
      const attachAt = resolved.rootfs.idmap && resolved.rootfs.mode !== "overlay" && idmap;
      rootfs = {
        kind: "directory",
        path: resolved.rootfs.path,
        mode: resolved.rootfs.mode,
        ...(resolved.rootfs.idmap ? { idmap: true } : {}),
        ...(attachAt ? { mountpoint: join(dir, "root") } : {}),
      };
      if (rootfs.mode === "overlay" || attachAt) await fsp.mkdir(join(dir, "root"));
      if (rootfs.mode === "overlay") await fsp.mkdir(join(dir, "scratch"));
    } else {
      rootfs = await createEmbeddedRootfs(join(dir, "rootfs"), {
        hostname,
        owner: idmap ? { uid: idmap.hostUid, gid: idmap.hostGid } : null,
      });
    }
    const leases = resolved.nics.length ? await reserveAddresses(runtime, name, resolved.nics) : [];
    // A network of its own, named nameservers, or the host's network or a
    // joined one (whose nameservers it then uses, whatever its image carries).
    if (resolved.nics.length || resolved.dns || resolved.namespaces.net !== true) {
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
    // The record is the commit point: with it on disk the create is done
    // (recover.ts rolls back a create intent only while it is missing).
    await store.writeRecord(record);
    await clearIntent(dir);
    return new ContainerHandle(runtime, record, state);
  } catch (e) {
    // Leases first: they are what a full filesystem must not keep forever.
    await removeContainerFiles(runtime, name, undefined).catch(() => undefined);
    throw e instanceof WarrenError ? e : new HostError(`create container "${name}": ${(e as Error).message}`, codeOf(e), { container: name, cause: e });
  }
}

/**
 * Takes the name: its directory made and the create intent in it, under
 * the root's lock (held for these two steps only, so creates run side by
 * side). A directory already there is a container, one another live
 * process is making or removing, or one a dead process left half-made,
 * which is cleaned up and the name taken.
 */
async function claimName(runtime: ResolvedRuntime, store: StateStore, name: string): Promise<void> {
  const dir = store.dir(name);
  for (let attempt = 0; ; attempt++) {
    const taken = await withLock(store.globalLock, async () => {
      try {
        await fsp.mkdir(dir, { mode: 0o700 });
      } catch (e) {
        if (codeOf(e) === "EEXIST") return true;
        throw new HostError(`create \`${dir}\``, codeOf(e), { container: name, path: dir, syscall: "mkdir", cause: e });
      }
      try {
        writeIntent(dir, "create");
      } catch (e) {
        await fsp.rm(dir, { recursive: true, force: true }).catch(() => undefined);
        throw e;
      }
      return false;
    });
    if (!taken) return;
    if (attempt === 0 && (await recoverContainer(runtime, name)) === "removed") continue;
    if (await store.exists(name)) {
      throw new StateError(`container "${name}" already exists`, "create", "exists", { container: name });
    }
    throw new StateError(`container "${name}" is being created or destroyed by another process`, "create", "busy", { container: name });
  }
}

/**
 * The seed for `from: {container, snapshot}` (read under the global lock at
 * create): the source's image id and its snapshot's tree.
 */
async function seedFromSnapshot(store: StateStore, from: { container: string; snapshot: string }, container: string): Promise<{ image: string; seed: Seed }> {
  const rec = await store.readRecord(from.container);
  if (!rec) throw new ConfigError([{ path: "from.container", message: `no container "${from.container}" under \`${store.root}\`` }], { container });
  if (rec.rootfs.kind !== "image") {
    throw new ConfigError([{ path: "from.container", message: `container "${from.container}" is not made from an image` }], { container });
  }
  const path = snapshotTree(store.dir(from.container), rec.rootfs, from.snapshot);
  try {
    await fsp.access(join(store.dir(from.container), "snapshots", from.snapshot, "snapshot.json"));
  } catch {
    throw new ConfigError([{ path: "from.snapshot", message: `container "${from.container}" has no snapshot ${JSON.stringify(from.snapshot)}` }], { container });
  }
  return { image: rec.rootfs.image, seed: { storage: storageOf(rec.rootfs), path, base: baseOf(rec.idmap) } };
}

/**
 * What an OCI image config asks for (Entrypoint + Cmd as the init, Env, WorkingDir, StopSignal).
 * An absolute WorkingDir is held to the same rules as a configured `cwd`: an
 * image is not trusted to point the init at `/proc/self/fd/N`.
 */
function defaultsOf(config: ImageConfig, container: string): ImageDefaults | undefined {
  const c = config.config;
  if (!c) return undefined;
  if (typeof c.WorkingDir === "string" && c.WorkingDir.startsWith("/")) {
    const problem = containerPathProblem(c.WorkingDir);
    if (problem) throw new ConfigError([{ path: "image WorkingDir", message: problem }], { container });
  }
  const init = [...(c.Entrypoint ?? []), ...(c.Cmd ?? [])].filter((a): a is string => typeof a === "string" && a.length > 0 && !a.includes("\0"));
  const env: Record<string, string> = {};
  for (const kv of c.Env ?? []) {
    const i = kv.indexOf("=");
    if (i > 0 && !kv.includes("\0")) env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  const out: ImageDefaults = {
    ...(init.length ? { init } : {}),
    ...(Object.keys(env).length ? { env } : {}),
    ...(typeof c.WorkingDir === "string" && c.WorkingDir.startsWith("/") ? { cwd: c.WorkingDir } : {}),
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

/**
 * The seed of a clone of `h`: its live tree (its upper layer, or its btrfs
 * root), moved from its id range to the clone's.
 */
export function cloneSeed(h: ContainerHandle): Seed {
  const r = h.record.rootfs;
  if (r.kind !== "image") {
    throw new StateError(`container "${h.name}" is not made from an image: clone works on image-based containers`, "clone", r.kind, { container: h.name });
  }
  return { storage: storageOf(r), path: liveTree(r), base: baseOf(h.idmap) };
}
