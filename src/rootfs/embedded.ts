/**
 * The embedded default rootfs: a container built from the host's own system
 * without copying it. `/usr` (and `/bin`, `/lib*`, `/sbin` where the host has
 * them as real directories, and `/etc/alternatives`) are bound read-only at start; the container gets
 * its own small writable tree for `/etc`, `/var`, `/tmp`, `/root`, `/home`
 * and `/run`, created here once.
 * @module
 */
import { promises as fsp } from "node:fs";
import { join } from "node:path";

import type { RootfsRecord } from "./record.js";

const TOP_LEVEL = ["bin", "sbin", "lib", "lib32", "lib64", "libx32"];
const DIRS: [string, number][] = [
  ["etc", 0o755],
  ["var", 0o755],
  ["var/lib", 0o755],
  ["var/log", 0o755],
  ["var/cache", 0o755],
  ["var/tmp", 0o1777],
  ["tmp", 0o1777],
  ["root", 0o700],
  ["home", 0o755],
  ["run", 0o755],
  ["proc", 0o555],
  ["sys", 0o555],
  ["dev", 0o755],
  ["mnt", 0o755],
  ["usr", 0o755],
];
/** Host files copied into the container's /etc when present (what a shell and the dynamic loader need). */
const ETC_COPY = ["nsswitch.conf", "ld.so.cache", "ld.so.conf", "profile", "shells", "os-release", "debian_version", "localtime"];
const ETC_COPY_DIRS = ["ld.so.conf.d", "profile.d"];
/**
 * Bound read-only from the host like /usr, not copied: its links name the
 * host's /usr binaries (a copy goes stale when the host changes them, and
 * nothing inside can change /usr to match), and it is hundreds of links.
 */
const ETC_BIND_DIRS = ["alternatives"];

async function exists(p: string): Promise<boolean> {
  return fsp.lstat(p).then(
    () => true,
    () => false,
  );
}

/** System accounts only: the host's people do not belong in a container. */
function systemEntries(text: string, idField: number): string {
  return (
    text
      .split("\n")
      .filter((l) => {
        const id = Number(l.split(":")[idField]);
        return l && Number.isInteger(id) && (id < 1000 || id === 65534);
      })
      .join("\n") + "\n"
  );
}

/** Runs `fn` over `items`, `width` at a time: file calls go to libuv's pool, one round trip each. */
async function eachLimited<T>(items: readonly T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
}

/**
 * Copies the tree `src` to `dst` (links as links), every entry owned by
 * `owner` when given. Siblings are copied concurrently: /etc/alternatives
 * alone is hundreds of links, and one awaited call after another made a
 * create take half a second on a busy host.
 */
async function copyTree(src: string, dst: string, owner: { uid: number; gid: number } | null): Promise<void> {
  const st = await fsp.lstat(src);
  await fsp.mkdir(dst, { mode: st.mode & 0o7777 });
  if (owner) await fsp.lchown(dst, owner.uid, owner.gid);
  const entries = await fsp.readdir(src, { withFileTypes: true });
  await eachLimited(entries, 32, async (e) => {
    const from = join(src, e.name);
    const to = join(dst, e.name);
    if (e.isDirectory()) return copyTree(from, to, owner);
    if (e.isSymbolicLink()) await fsp.symlink(await fsp.readlink(from), to);
    else if (e.isFile()) await fsp.copyFile(from, to);
    else return; // no device nodes, sockets or fifos from the host's /etc
    if (owner) await fsp.lchown(to, owner.uid, owner.gid);
  });
}

async function chownTree(dir: string, uid: number, gid: number): Promise<void> {
  await fsp.lchown(dir, uid, gid);
  await eachLimited(await fsp.readdir(dir, { withFileTypes: true }), 32, async (e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) await chownTree(p, uid, gid);
    else await fsp.lchown(p, uid, gid);
  });
}

/**
 * Creates the skeleton at `dir` (which must not exist) and returns the
 * record of what to bind at start. `owner` is the host id of the
 * container's root when it has a user namespace.
 */
export async function createEmbeddedRootfs(
  dir: string,
  opts: { hostname: string; owner: { uid: number; gid: number } | null; hostRoot?: string },
): Promise<RootfsRecord> {
  const host = opts.hostRoot ?? "/";
  await fsp.mkdir(dir, { mode: 0o755 });
  for (const [d, mode] of DIRS) {
    await fsp.mkdir(join(dir, d), { recursive: true });
    await fsp.chmod(join(dir, d), mode);
  }
  const binds = [join("/", "usr")];
  for (const name of TOP_LEVEL) {
    const hp = join(host, name);
    const st = await fsp.lstat(hp).catch(() => undefined);
    if (!st) continue;
    if (st.isSymbolicLink()) {
      // merged /usr: /bin -> usr/bin and the like, kept as they are.
      await fsp.symlink(await fsp.readlink(hp), join(dir, name));
    } else if (st.isDirectory()) {
      await fsp.mkdir(join(dir, name));
      binds.push(join("/", name));
    }
  }

  const etc = join(dir, "etc");
  const hostEtc = join(host, "etc");
  const read = (f: string) => fsp.readFile(join(hostEtc, f), "utf8").catch(() => "");
  const passwd = systemEntries(await read("passwd"), 2);
  const group = systemEntries(await read("group"), 2);
  await fsp.writeFile(join(etc, "passwd"), passwd.trim() ? passwd : "root:x:0:0:root:/root:/bin/sh\n");
  await fsp.writeFile(join(etc, "group"), group.trim() ? group : "root:x:0:\n");
  await fsp.writeFile(join(etc, "hostname"), `${opts.hostname}\n`);
  await fsp.writeFile(
    join(etc, "hosts"),
    `127.0.0.1\tlocalhost\n127.0.1.1\t${opts.hostname}\n::1\tlocalhost ip6-localhost ip6-loopback\n`,
  );
  await fsp.writeFile(join(etc, "resolv.conf"), (await read("resolv.conf")) || "# no resolver configured on the host\n");
  for (const f of ETC_COPY) {
    const src = join(hostEtc, f);
    if (!(await exists(src))) continue;
    const st = await fsp.lstat(src);
    if (st.isSymbolicLink()) {
      const target = await fsp.readlink(src);
      // Links into /usr stay links (they resolve through the bind); others are copied.
      if (target.startsWith("../usr/") || target.startsWith("/usr/")) await fsp.symlink(target, join(etc, f));
      else await fsp.copyFile(src, join(etc, f)).catch(() => undefined);
    } else if (st.isFile()) {
      await fsp.copyFile(src, join(etc, f));
    }
  }
  for (const d of ETC_BIND_DIRS) {
    const st = await fsp.lstat(join(hostEtc, d)).catch(() => undefined);
    if (!st?.isDirectory()) continue;
    await fsp.mkdir(join(etc, d), { mode: 0o755 });
    binds.push(join("/etc", d));
  }
  // The skeleton so far is a few dozen entries; the copied directories below carry their owner themselves.
  if (opts.owner) await chownTree(dir, opts.owner.uid, opts.owner.gid);
  await eachLimited(ETC_COPY_DIRS, ETC_COPY_DIRS.length, async (d) => {
    const src = join(hostEtc, d);
    if (await exists(src)) await copyTree(src, join(etc, d), opts.owner);
  });
  return { kind: "embedded", path: dir, binds };
}
