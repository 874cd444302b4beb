/**
 * The root-filesystem part of an init plan: what happens before pivot_root
 * (make the mount table private, bind or overlay the root) and the host
 * directories the embedded default binds in after it.
 * @module
 */
import { join } from "node:path";

import type { RootfsRecord } from "../rootfs/record.js";
import { MOUNT_ATTR, MS, type Op } from "./ops.js";

export interface RootfsPlan {
  /** Host path that becomes `/`. */
  root: string;
  /** Ops before pivot_root, after the mount table is private. */
  pre: Op[];
  /** Host directories to take with open_tree before pivot_root and bind read-only after it. */
  hostBinds: { source: string; target: string; readonly: boolean; recursive: boolean }[];
  /** Ops at the very end of the mount phase (a read-only root). */
  finish: Op[];
}

/**
 * @param stagedSlot the slot holding the copy of the rootfs (or of its lower
 *   layer) taken from the parent's lock stage, when it is staged there:
 *   idmapped, or read-only for good (see build-plan's `lock`).
 */
export function rootfsPlan(rootfs: RootfsRecord, stateDir: string, userns: boolean, stagedSlot?: number): RootfsPlan {
  if (rootfs.kind === "embedded") {
    return {
      root: rootfs.path,
      pre: [{ kind: "mount", source: rootfs.path, target: rootfs.path, flags: MS.BIND | MS.REC }],
      hostBinds: rootfs.binds.map((d) => ({ source: d, target: d, readonly: true, recursive: true })),
      finish: [],
    };
  }
  if (rootfs.kind === "image" && rootfs.storage === "btrfs") {
    // The container's own subvolume, attached at <state>/root: it lives in
    // <state>/fs (0700), where no host user can reach it, since with an
    // idmapped mount its files are stored with the ids the container sees
    // (a setuid-root file written inside is setuid-root on disk).
    const root = join(stateDir, "root");
    return {
      root,
      pre:
        stagedSlot !== undefined
          ? [{ kind: "move-mount", slot: stagedSlot, source: rootfs.lower, target: root }]
          : [{ kind: "mount", source: rootfs.lower, target: root, flags: MS.BIND | MS.REC }],
      hostBinds: [],
      finish: [],
    };
  }
  if (rootfs.kind === "image") {
    const merged = join(stateDir, "root");
    // With a user namespace the image is seen through an idmapped copy of
    // it (staged by the parent), attached at <state>/lower, so the
    // container's root owns what the image's root owns.
    const lower = stagedSlot !== undefined ? join(stateDir, "lower") : rootfs.lower;
    const data = `lowerdir=${lower},upperdir=${rootfs.upper},workdir=${rootfs.work}${userns ? ",userxattr" : ""}`;
    return {
      root: merged,
      pre: [
        ...(stagedSlot !== undefined ? [{ kind: "move-mount" as const, slot: stagedSlot, source: rootfs.lower, target: lower }] : []),
        { kind: "mount", source: "overlay", target: merged, fstype: "overlay", flags: 0, data },
      ],
      hostBinds: [],
      finish: [],
    };
  }
  if (rootfs.mode === "overlay") {
    const scratch = join(stateDir, "scratch");
    const merged = join(stateDir, "root");
    // An idmapped lower layer (staged by the parent) is attached in the
    // scratch tmpfs, where only this mount namespace sees it.
    const lower = stagedSlot !== undefined ? `${scratch}/lower` : rootfs.path;
    // userxattr: in a user namespace overlayfs keeps whiteouts in user.*
    // xattrs, since trusted.* needs CAP_SYS_ADMIN in the host namespace.
    const data = `lowerdir=${lower},upperdir=${scratch}/upper,workdir=${scratch}/work${userns ? ",userxattr" : ""}`;
    return {
      root: merged,
      pre: [
        { kind: "mount", source: "tmpfs", target: scratch, fstype: "tmpfs", flags: MS.NOSUID | MS.NODEV, data: "mode=0755" },
        { kind: "mkdir", path: `${scratch}/upper`, mode: 0o755 },
        { kind: "mkdir", path: `${scratch}/work`, mode: 0o755 },
        ...(stagedSlot !== undefined
          ? [{ kind: "move-mount" as const, slot: stagedSlot, source: rootfs.path, target: lower, mkdir: true }]
          : []),
        { kind: "mount", source: "overlay", target: merged, fstype: "overlay", flags: 0, data },
      ],
      hostBinds: [],
      finish: [],
    };
  }
  const at = rootfs.mountpoint ?? rootfs.path;
  return {
    root: at,
    // A staged rootfs (idmapped, or read-only for good) is the copy taken
    // from the parent's stage: attached over the directory, it becomes the
    // root to pivot into. A read-only one is so from the start: its mount
    // targets must exist (mkdir gives EROFS).
    pre:
      stagedSlot !== undefined
        ? [{ kind: "move-mount", slot: stagedSlot, source: rootfs.path, target: at }]
        : [{ kind: "mount", source: rootfs.path, target: at, flags: MS.BIND | MS.REC }],
    hostBinds: [],
    // Without a user namespace nothing can be locked (the container's root
    // is host root): the flag is set last, so mount targets can still be made.
    finish: rootfs.mode === "ro" && stagedSlot === undefined ? [{ kind: "mount-setattr", target: "/", set: MOUNT_ATTR.RDONLY }] : [],
  };
}
