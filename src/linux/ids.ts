/**
 * Moving a tree's owners between id ranges: a copy from one container's
 * range to another's, or between a container's range and its own view
 * (0-based), which is how exports store them.
 * @module
 */
import { promises as fsp } from "node:fs";
import { join } from "node:path";

import { native } from "../native/binding.js";

/** A host id range mapped to ids 0.. of a user namespace (uids and gids side by side). */
export interface HostIdRange {
  hostUid: number;
  hostGid: number;
  size: number;
}

/** The line written to a process's uid_map or gid_map for `map`. */
export function idMapLine(map: HostIdRange, kind: "uid" | "gid"): string {
  return `0 ${kind === "uid" ? map.hostUid : map.hostGid} ${map.size}\n`;
}

/** A file's capabilities xattr, if it has one. */
function fileCaps(path: string): Buffer | undefined {
  try {
    return native().lgetxattr(path, "security.capability");
  } catch {
    return undefined; // none (ENODATA), or a filesystem without xattrs
  }
}

/**
 * Moves every owner under `dir` by `du`/`dg`. chown clears the setuid and
 * setgid bits of a file, even for root (chown(2), since Linux 2.2.13), and
 * its file capabilities (`security.capability`), so both are put back: a
 * clone's `sudo` stays setuid (to the clone's root), its `ping` keeps
 * cap_net_raw.
 */
export async function shiftIds(dir: string, du: number, dg: number): Promise<void> {
  const st = await fsp.lstat(dir);
  const caps = st.isFile() ? fileCaps(dir) : undefined;
  await fsp.lchown(dir, st.uid + du, st.gid + dg);
  if (st.isFile() && (st.mode & 0o6000) !== 0) await fsp.chmod(dir, st.mode & 0o7777);
  if (caps) native().lsetxattr(dir, "security.capability", caps);
  if (!st.isDirectory()) return;
  for (const e of await fsp.readdir(dir)) await shiftIds(join(dir, e), du, dg);
}

/** Every uid and gid owning something under `dir` (symlinks not followed). */
export async function collectIds(dir: string, into = { uids: new Set<number>(), gids: new Set<number>() }): Promise<{ uids: Set<number>; gids: Set<number> }> {
  const st = await fsp.lstat(dir);
  into.uids.add(st.uid);
  into.gids.add(st.gid);
  if (st.isDirectory()) for (const e of await fsp.readdir(dir)) await collectIds(join(dir, e), into);
  return into;
}

/**
 * A host id seen from inside a container whose range starts at `base`
 * (size `size`): ids outside the range are the overflow id, `nobody`
 * (65534), as the kernel shows them.
 */
export function viewId(id: number, base: number, size: number): number {
  return id >= base && id < base + size ? id - base : 65534;
}
