/**
 * The calls the files API makes below a container's root, and whose
 * credentials make them.
 *
 * A running container with a user namespace controls its mount table: its
 * root can bind procfs, a host file it can reach, or anything else over a
 * path. Host root acting in there could write what the container's root
 * may not (and did: a host file re-owned with mode 4755). So there every
 * call that opens, creates, removes or changes a file is made by a helper
 * that joined the container's user namespace as its root
 * (native/child/fileop.c): the kernel applies the container's limits, as
 * for a process inside. A stopped container's root is a mount warren made
 * for the operation (./files-root.ts), but its files are the container's
 * (a hostile image or rootfs may hold host-root files, or links to them):
 * there the helper joins a user namespace made with the container's id
 * map, which grants the same and nothing more. A container without a user
 * namespace runs as host root anyway: there the calls are the host's.
 * @module
 */
import { chmodSync, closeSync, constants as fsc, fchownSync } from "node:fs";

import { native } from "../native/binding.js";

export const O_PATH = 0o10000000; // the same on every Linux architecture; Node has no constant for it
export const RESOLVE = { NO_XDEV: 0x01, NO_MAGICLINKS: 0x02, NO_SYMLINKS: 0x04, BENEATH: 0x08, IN_ROOT: 0x10 };
/** A path as a process in the container resolves it, with no way out of its root. */
export const IN_ROOT = RESOLVE.IN_ROOT | RESOLVE.NO_MAGICLINKS;
/** One component below a safely opened directory, never a symlink. */
export const ONE = RESOLVE.BENEATH | RESOLVE.NO_SYMLINKS;

/** native/child/fileop.h's kinds. */
const FILEOP = { OPEN: 1, MKDIR: 2, UNLINK: 3, CHOWN: 4, CHMOD: 5 } as const;
const AT_FDCWD = -100;
const AT_REMOVEDIR = 0x200;

/** Ids are the container's (0 is its root); each method throws Node-style errno errors. */
export interface FileOps {
  /** openat2; a file or directory it creates is owned by `owner`. */
  openat2(dirfd: number, path: string, flags: number, mode: number, resolve: number, owner?: { uid: number; gid: number }): number;
  /** Opens the file an O_PATH fd names, for reading or writing. */
  reopen(pathFd: number, flags: number): number;
  mkdirat(dirfd: number, name: string, mode: number, owner: { uid: number; gid: number }): void;
  unlinkat(dirfd: number, name: string, removeDir: boolean): void;
  /** chown of an fd (O_PATH too); -1 keeps the owner or the group. */
  chown(fd: number, uid: number, gid: number): void;
  /** chmod of an fd (O_PATH too). */
  chmod(fd: number, mode: number): void;
}

/** As host root: a container without a user namespace (its ids are the host's). */
export function hostOps(): FileOps {
  const n = native();
  return {
    openat2: (dirfd, path, flags, mode, resolve, owner) =>
      owner ? n.filesOpenat2(dirfd, path, flags, mode, resolve, owner.uid, owner.gid) : n.filesOpenat2(dirfd, path, flags, mode, resolve),
    reopen: (pathFd, flags) => n.filesOpenat2(AT_FDCWD, `/proc/self/fd/${pathFd}`, flags, 0, 0),
    mkdirat: (dirfd, name, mode, owner) => n.filesMkdirat(dirfd, name, mode, owner.uid, owner.gid),
    unlinkat: (dirfd, name, removeDir) => n.filesUnlinkat(dirfd, name, removeDir),
    chown: (fd, uid, gid) => fchownSync(fd, uid, gid),
    // fchmod refuses O_PATH fds; /proc/self/fd/N names exactly that inode.
    chmod: (fd, mode) => chmodSync(`/proc/self/fd/${fd}`, mode),
  };
}

/**
 * As the root of a user namespace: the running container's (`nsfd` its
 * init's pidfd) or one made with a stopped container's id map (`nsfd` an
 * fd of it).
 */
export function containerOps(nsfd: number): FileOps {
  const n = native();
  const call = (kind: number, dirfd: number, path: string, flags = 0, mode = 0, resolve = 0, uid = 0, gid = 0) =>
    n.filesAsContainer(nsfd, kind, dirfd, path, flags, mode, resolve, uid, gid);
  const ops: FileOps = {
    openat2(dirfd, path, flags, mode, resolve, owner) {
      const fd = call(FILEOP.OPEN, dirfd, path, flags, mode, resolve);
      // Created as the container's root: give it to its owner.
      if (owner && (owner.uid !== 0 || owner.gid !== 0) && flags & fsc.O_CREAT) ops.chown(fd, owner.uid, owner.gid);
      return fd;
    },
    // The helper shares our fd table, so its /proc/self/fd/N is our fd N
    // (its /proc is the host's: it joins no mount namespace).
    reopen: (pathFd, flags) => call(FILEOP.OPEN, AT_FDCWD, `/proc/self/fd/${pathFd}`, flags),
    mkdirat(dirfd, name, mode, owner) {
      call(FILEOP.MKDIR, dirfd, name, 0, mode);
      if (owner.uid === 0 && owner.gid === 0) return;
      const fd = call(FILEOP.OPEN, dirfd, name, O_PATH | fsc.O_NOFOLLOW, 0, ONE);
      try {
        ops.chown(fd, owner.uid, owner.gid);
      } finally {
        closeSync(fd);
      }
    },
    unlinkat: (dirfd, name, removeDir) => void call(FILEOP.UNLINK, dirfd, name, removeDir ? AT_REMOVEDIR : 0),
    chown: (fd, uid, gid) => void call(FILEOP.CHOWN, fd, "", 0, 0, 0, uid, gid),
    chmod: (fd, mode) => void call(FILEOP.CHMOD, fd, "", 0, mode),
  };
  return ops;
}
