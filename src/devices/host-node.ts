/**
 * What the `usb` and `gpu` device kinds resolve to, and the few host
 * reads they share. A kind turns its spec and the host's `/sys`, `/dev` and
 * `/proc` into device nodes (made again on the host from `major`/`minor`
 * and moved into the container by the device core) and read-only binds.
 * @module
 */
import { lstatSync, readFileSync } from "node:fs";
import { z } from "zod";

/** One device node to pass into a container. */
export interface HostDeviceNode {
  /** Where the node is on the host (for messages, and for privileged containers). */
  hostPath: string;
  /** Where it goes inside the container. */
  path: string;
  type: "c" | "b";
  major: number;
  minor: number;
  /** Owner inside the container (the device core maps it to the host id). */
  uid: number;
  gid: number;
  /** Permission bits of the node inside. */
  mode: number;
}

/** A host file bound read-only at `target` inside the container. */
export interface HostBind {
  source: string;
  target: string;
}

/** What one device spec resolves to on this host right now. */
export interface ResolvedDevice {
  nodes: HostDeviceNode[];
  binds: HostBind[];
  /**
   * Environment the container's processes need for the binds to work
   * (the GPU runtime's `LD_LIBRARY_PATH`); empty for most kinds.
   */
  env: Record<string, string>;
}

/** Where the host's pseudo-filesystems are: the real ones, or a fake tree in tests. */
export interface HostRoots {
  sys: string;
  dev: string;
  proc: string;
}

export const HOST_ROOTS: HostRoots = { sys: "/sys", dev: "/dev", proc: "/proc" };

/** A device node's type and numbers, as `stat` sees it; undefined when `path` is missing or not a node. */
export type StatDevice = (path: string) => { type: "c" | "b"; major: number; minor: number } | undefined;

/** {@link StatDevice} on the real filesystem (no symlink followed: a node is a node). */
export const statDevice: StatDevice = (path) => {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return undefined;
  }
  if (!st.isCharacterDevice() && !st.isBlockDevice()) return undefined;
  // Linux's dev_t encoding (glibc's major()/minor()); rdev may exceed 2^32.
  const major = ((st.rdev >>> 8) & 0xfff) | (Math.floor(st.rdev / 2 ** 32) & ~0xfff);
  const minor = (st.rdev & 0xff) | ((st.rdev >>> 12) & ~0xff);
  return { type: st.isCharacterDevice() ? "c" : "b", major, minor };
};

/** A small sysfs/procfs attribute, trimmed; undefined when it cannot be read. */
export function readAttr(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return undefined;
  }
}

/** A sysfs `dev` attribute (`189:1`) as numbers; undefined when absent or malformed. */
export function parseDevNumbers(text: string | undefined): { major: number; minor: number } | undefined {
  const m = /^(\d+):(\d+)$/.exec(text ?? "");
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : undefined;
}

const id = z.number().int().min(0).max(0xfffffffe);

/** Owner and mode of the nodes inside, shared by the hardware kinds (Incus's defaults: root, 0660). */
export const nodeAccessFields = {
  /** Permission bits of the nodes inside (default 0660). */
  mode: z
    .union([z.number().int(), z.string().regex(/^0?[0-7]{3}$/, "must be an octal mode like 0660").transform((s) => parseInt(s, 8))])
    .pipe(z.number().int().min(0).max(0o777, "must be permission bits (at most 0777)"))
    .default(0o660),
  /** Owner of the nodes inside the container (default 0). */
  uid: id.default(0),
  /** Group of the nodes inside the container (default 0). */
  gid: id.default(0),
};
