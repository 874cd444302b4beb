/*
 * The files API's operations on a container, as its root: join its user
 * namespace (a running one's init's, or one made with a stopped one's id
 * map; only that namespace: paths are resolved below an fd of
 * the container's root, and setns(CLONE_NEWNS) would need the pid namespace
 * for /proc as well), take uid and gid 0 there, drop host root's groups,
 * then make the one call. Files the container's root could not touch
 * (host files behind a mount it made, with ids it does not map) are refused
 * by the kernel, as they would be inside.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>

#include "child.h"
#include "fileop.h"

#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000
#endif

static long run(struct wr_fileop *op) {
  switch (op->kind) {
    case WR_FILEOP_OPEN: {
      struct wr_open_how how = {op->flags | O_CLOEXEC, op->mode, op->resolve};
      long fd;
      /* EAGAIN: RESOLVE_IN_ROOT's answer to a concurrent rename, openat2(2). */
      for (int i = 0; i < 16; i++) {
        fd = wr_sys4(SYS_openat2, op->dirfd, op->path, &how, sizeof how);
        if (fd != -EAGAIN && fd != -EINTR) break;
      }
      return fd;
    }
    case WR_FILEOP_MKDIR:
      return wr_sys3(SYS_mkdirat, op->dirfd, op->path, op->mode);
    case WR_FILEOP_UNLINK:
      return wr_sys3(SYS_unlinkat, op->dirfd, op->path, op->flags);
    case WR_FILEOP_CHOWN:
      return wr_sys5(SYS_fchownat, op->dirfd, "", op->uid, op->gid, AT_EMPTY_PATH);
    case WR_FILEOP_CHMOD:
      return wr_sys4(SYS_fchmodat2, op->dirfd, "", op->mode, AT_EMPTY_PATH);
  }
  return -EINVAL;
}

int wr_fileop_main(void *arg) {
  struct wr_fileop *op = (struct wr_fileop *)arg;
  long rc = wr_sys2(SYS_setns, op->nsfd, CLONE_NEWUSER);
  /* Until these, this task is host root, which the namespace does not map. */
  /* Host root's groups would still open group-accessible host files: drop
   * them or fail (a namespace with setgroups denied refuses this). */
  if (rc == 0) rc = wr_sys2(SYS_setgroups, 0, 0);
  if (rc == 0) rc = wr_sys3(SYS_setresgid, 0, 0, 0);
  if (rc == 0) rc = wr_sys3(SYS_setresuid, 0, 0, 0);
  if (rc == 0) {
    op->joined = 1;
    rc = run(op);
  }
  op->result = rc;
  return 0;
}
