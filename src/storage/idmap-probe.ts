/**
 * Whether a filesystem supports idmapped mounts, found by making one: it
 * differs between kernels and filesystems (tmpfs and mounting overlayfs
 * idmapped came in 6.3, 9p has none), so it is tried, not assumed. The
 * answer is kept per filesystem (device) for the life of the process.
 * Where the answer is no, an image-based container gets a one-time copy of
 * the image shifted to its id range instead (see makeImageRoot).
 * @module
 */
import { closeSync, openSync, promises as fsp } from "node:fs";

import type { IdMap } from "../config/schema.js";
import { HostError } from "../errors.js";
import { codeOf, errnoName } from "../linux/errno.js";
import { native } from "../native/binding.js";
import { idMapLine } from "../linux/ids.js";
import { encodePlan } from "../plan/encode.js";
import { CLONE, HOLD_USERNS } from "../plan/ops.js";


const known = new Map<number, boolean>();

/**
 * `WARREN_IDMAP=off` makes every probe answer no: the way to exercise the
 * shifted-copy path on a kernel that has idmapped mounts everywhere.
 */
function forcedOff(): boolean {
  return process.env.WARREN_IDMAP === "off";
}

/** Tries an idmapped copy of `path` through a throwaway user namespace with `map`. */
export async function supportsIdmappedMounts(path: string, map: IdMap): Promise<boolean> {
  if (forcedOff()) return false;
  const dev = (await fsp.stat(path)).dev;
  const cached = known.get(dev);
  if (cached !== undefined) return cached;
  const paused = await native().spawn(encodePlan(HOLD_USERNS), {
    cloneFlags: CLONE.NEWUSER,
    uidMap: idMapLine(map, "uid"),
    gidMap: idMapLine(map, "gid"),
    pause: true,
  });
  if ("error" in paused) {
    throw new HostError(`probe idmapped mounts on \`${path}\`: create a user namespace`, errnoName(paused.error.errno), { path, syscall: "clone3" });
  }
  let userns = -1;
  try {
    userns = openSync(`/proc/${paused.pid}/ns/user`, "r");
  } finally {
    await native().resume(paused.paused, false);
  }
  let tree = -1;
  try {
    tree = native().openTree(path, false);
    native().idmapTree(tree, userns, false);
    known.set(dev, true);
    return true;
  } catch (e) {
    const code = codeOf(e);
    // EINVAL: this filesystem cannot be idmapped (FS_ALLOW_IDMAP unset).
    if (code === "EINVAL") {
      known.set(dev, false);
      return false;
    }
    throw new HostError(`probe idmapped mounts on \`${path}\``, code, { path, syscall: tree < 0 ? "open_tree" : "mount_setattr" });
  } finally {
    if (tree >= 0) closeSync(tree);
    closeSync(userns);
  }
}
