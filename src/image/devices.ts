/**
 * Device nodes in images are never made on the host. A 0666 `/dev/sda` or
 * `/dev/mem` unpacked into the image store would be a host device anyone
 * who reaches it can open: CAP_MKNOD only guards making the node, not using
 * it. So an import records them (the image's `image.json`, `devices`) and
 * leaves them out of the tree, as rootless runtimes must; a container gets
 * its `/dev` from warren (a tmpfs with the standard nodes) and the record is
 * there for creating the rest inside it.
 *
 * While layers are applied, a device entry leaves a placeholder (an empty
 * file owned by the importer, mode 0) at its path, so a later layer's whiteout or
 * replacement acts on it as on the node; {@link settleDevices} then keeps
 * the record of each placeholder still there and removes it.
 * @module
 */
import { promises as fsp } from "node:fs";
import { join } from "node:path";

/** A device node an image carries, as its archive described it. */
export interface DeviceNode {
  /** Absolute path inside the image (`/dev/null`). */
  path: string;
  type: "char" | "block";
  major: number;
  minor: number;
  /** Permission bits (07777). */
  mode: number;
  uid: number;
  gid: number;
}

/** The import warning for a device left out. */
export function deviceWarning(d: { path: string; type: string; major: number; minor: number }): string {
  return `${d.path.replace(/^\//, "")}: ${d.type} device ${d.major}:${d.minor} not created on the host (recorded in the image)`;
}

/** Mode of a placeholder (no permission bits: nobody opens it meanwhile). */
export const PLACEHOLDER_MODE = 0;

function isPlaceholder(st: import("node:fs").Stats): boolean {
  return st.isFile() && st.size === 0 && (st.mode & 0o7777) === PLACEHOLDER_MODE && st.uid === (process.geteuid?.() ?? 0);
}

/**
 * The devices of `recorded` (the last record per path wins, as the last
 * layer does) whose placeholders are still in `root`; the placeholders are
 * removed.
 */
export async function settleDevices(root: string, recorded: readonly DeviceNode[]): Promise<DeviceNode[]> {
  const byPath = new Map(recorded.map((d) => [d.path, d]));
  const kept: DeviceNode[] = [];
  for (const d of byPath.values()) {
    const p = join(root, d.path);
    const st = await fsp.lstat(p).catch(() => undefined);
    if (!st || !isPlaceholder(st)) continue; // whited out or replaced by a later layer
    await fsp.unlink(p);
    kept.push(d);
  }
  return kept.sort((a, b) => a.path.localeCompare(b.path));
}

/**
 * Finds every character and block device under `root` (made by a tool that
 * unpacks or builds as root: unsquashfs, debootstrap), removes it and
 * returns its record. Does not follow symlinks or cross into other
 * filesystems' mounts (there are none in a tree being imported).
 */
export async function sweepDeviceNodes(root: string, rel = ""): Promise<DeviceNode[]> {
  const out: DeviceNode[] = [];
  for (const e of await fsp.readdir(join(root, rel), { withFileTypes: true })) {
    const r = `${rel}/${e.name}`;
    if (e.isDirectory()) out.push(...(await sweepDeviceNodes(root, r)));
    else if (e.isCharacterDevice() || e.isBlockDevice()) {
      const p = join(root, r);
      const st = await fsp.lstat(p);
      out.push({
        path: r,
        type: e.isCharacterDevice() ? "char" : "block",
        // Linux's dev_t encoding (glibc's major()/minor()).
        major: ((st.rdev >>> 8) & 0xfff) | (Math.floor(st.rdev / 2 ** 32) & ~0xfff),
        minor: (st.rdev & 0xff) | ((st.rdev >>> 12) & ~0xff),
        mode: st.mode & 0o7777,
        uid: st.uid,
        gid: st.gid,
      });
      await fsp.unlink(p);
    }
  }
  return out;
}
