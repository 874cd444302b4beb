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
import { resolveConfig, validateName } from "../config/resolve.js";
import type { ResolvedRuntime } from "../config/runtime.js";
import { containerPath, type ContainerConfig, type IdMap } from "../config/schema.js";
import { signalNumber } from "../config/signals.js";
import { ConfigError, HostError, StateError } from "../errors.js";
import { codeOf } from "../linux/errno.js";
import type { ImageConfig } from "../image/oci.js";
import { ImageStore } from "../image/store.js";
import { withLock } from "../linux/lock.js";
import { nicName, releaseAddresses, reserveAddresses } from "../network/manager.js";
import { defaultHostname, type ImageDefaults } from "../plan/effective.js";
import { createEmbeddedRootfs } from "../rootfs/embedded.js";
import type { RootfsRecord } from "../rootfs/record.js";
import { baseOf, liveTree, makeImageRoot, pickStorage, snapshotTree, storageOf, type Seed } from "../storage/backend.js";
import { deleteContainerSubvolumes } from "../storage/btrfs.js";
import { ContainerHandle } from "./handle.js";
import { allocateIdRange } from "./idmap.js";
import { StateStore, type ContainerRecord, type RuntimeState } from "./state.js";

/**
 * Creates the container `name` under `runtime` and returns its handle. `seed`
 * is the tree its changes start from (clone and import pass one; it is no
 * part of the public options).
 */
export async function createContainer(name: string, config: ContainerConfig | undefined, runtime: ResolvedRuntime, seed?: Seed): Promise<ContainerHandle> {
  validateName(name);
  const resolved = resolveConfig(config, name);
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
      return new ContainerHandle(runtime, record, state);
    } catch (e) {
      await releaseAddresses(runtime, name, resolved.nics.map(nicName)).catch(() => undefined);
      await deleteContainerSubvolumes(dir).catch(() => undefined);
      await store.remove(name);
      throw e;
    }
  });
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
    const checked = containerPath.safeParse(c.WorkingDir);
    if (!checked.success) {
      throw new ConfigError(checked.error.issues.map((i) => ({ path: "image WorkingDir", message: i.message })), { container });
    }
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
