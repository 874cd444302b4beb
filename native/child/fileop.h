/* One file operation of the files API, run by a short-lived CLONE_VM |
 * CLONE_VFORK | CLONE_FILES child that first joins the container's user
 * namespace and becomes its root (native/child/fileop.c): the kernel then
 * checks it with the container's credentials, not the host root's. The fd
 * an open returns lands in the caller's fd table (CLONE_FILES). */
#ifndef WARREN_FILEOP_H
#define WARREN_FILEOP_H

#include <stdint.h>

enum wr_fileop_kind {
  WR_FILEOP_OPEN = 1,   /* openat2(dirfd, path, {flags, mode, resolve}) -> fd */
  WR_FILEOP_MKDIR = 2,  /* mkdirat(dirfd, path, mode) */
  WR_FILEOP_UNLINK = 3, /* unlinkat(dirfd, path, flags) */
  WR_FILEOP_CHOWN = 4,  /* fchownat(dirfd, "", uid, gid, AT_EMPTY_PATH) */
  WR_FILEOP_CHMOD = 5,  /* fchmodat2(dirfd, "", mode, AT_EMPTY_PATH) */
};

struct wr_fileop {
  int nsfd;  /* the init's pidfd or a user namespace fd: that user namespace is joined */
  int kind;
  int dirfd;
  const char *path;
  uint64_t flags, mode, resolve;
  int uid, gid; /* as the container sees them */
  int joined;   /* set once the credentials are the container root's */
  long result;  /* >= 0 or -errno */
};

int wr_fileop_main(void *arg);

#endif
