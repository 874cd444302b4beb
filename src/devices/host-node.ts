/**
 * The few host reads the `usb` and `gpu` device kinds share. A kind turns
 * its spec and the host's `/sys`, `/dev` and `/proc` into device nodes
 * (made again on the host from `major`/`minor` and moved into the
 * container by the device core) and read-only binds.
 * @module
 */
import { lstatSync, readFileSync } from "node:fs";
import { splitDev } from "../linux/dev.js";
import { HOST, type HostView } from "./types.js";

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

/** A host file bound read-only at `target` inside the container (the GPU runtime's libraries). */
export interface HostBind {
  source: string;
  target: string;
}

/** Where the host's pseudo-filesystems are: the real ones, or a fake tree in tests. */
export type HostRoots = HostView;

export const HOST_ROOTS: HostRoots = HOST;

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
  return { type: st.isCharacterDevice() ? "c" : "b", ...splitDev(st.rdev) };
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
