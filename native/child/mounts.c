/*
 * Mount-namespace steps. Before pivot_root the plan only makes the mount
 * table private, builds the root (bind, tmpfs, overlay) and takes detached
 * copies of host sources with open_tree(); every mount into the container is
 * made after pivot_root, so a symlink in a user-supplied rootfs resolves
 * inside that rootfs and cannot point a mount at a host path.
 */

#include <errno.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#ifndef STATX_TYPE
#include <linux/stat.h> /* musl before 1.2.5 declares no statx */
#endif

#include "child.h"

int wr_mkdir_p(const char *path, unsigned mode) {
  char buf[4096];
  size_t len = wr_strlen(path);
  if (len == 0 || len >= sizeof buf) return -ENAMETOOLONG;
  for (size_t i = 0; i <= len; i++) {
    buf[i] = path[i];
    if ((path[i] == '/' || path[i] == 0) && i > 0 && path[i - 1] != '/') {
      buf[i] = 0;
      long rc = wr_sys3(SYS_mkdirat, AT_FDCWD, buf, mode);
      if (rc < 0 && rc != -EEXIST) return (int)rc;
      buf[i] = path[i];
    }
  }
  return 0;
}

static int optional(const struct wr_op *op, int rc) {
  return (rc == -ENOENT && (op->flags & WR_F_OPTIONAL)) ? 0 : rc;
}

/* Opens rel inside root the way the container will see it (symlinks and
 * ".." cannot leave root) and names it through /proc/self/fd, for the few
 * mounts that must happen before pivot_root: the kernel lets a user
 * namespace mount proc or sysfs only while a full host instance is still
 * visible in its mount namespace. WR_F_MKDIR creates it there when missing
 * (a rootfs without /proc or /sys, as LXC does). */
static long open_in_root(const char *root, const char *rel, uint32_t flags, char name[40]) {
  long rfd = wr_sys4(SYS_openat, AT_FDCWD, root, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
  if (rfd < 0) return rfd;
  long fd = wr_open_in(rfd, rel, flags & (WR_F_MKDIR | WR_F_NO_SYMLINKS), 0);
  wr_sys1(SYS_close, rfd);
  if (fd < 0) return fd;
  wr_fd_path(fd, name);
  return fd;
}

/* A target that may hold no symlink and did: which component, for the report. */
static long loop_at(struct wr_child *st, const struct wr_op *op, const char *dst, long rc) {
  if (rc == -ELOOP && (op->flags & WR_F_NO_SYMLINKS)) st->fail_arg = wr_symlink_prefix(dst);
  return rc;
}

int wr_op_mount(struct wr_child *st, const struct wr_op *op) {
  const char *dst = wr_str(st, op->s1);
  if (!dst) return -EINVAL;
  if (op->flags & WR_F_IN_ROOT) {
    const char *root = wr_str(st, (uint32_t)op->c);
    char name[40];
    if (!root) return -EINVAL;
    long fd = open_in_root(root, dst, op->flags, name);
    if (fd < 0) return optional(op, (int)fd);
    int rc = (int)wr_sys5(SYS_mount, wr_str(st, op->s0), name, wr_str(st, op->s2), op->a,
                          wr_str(st, op->s3));
    wr_sys1(SYS_close, fd);
    return rc;
  }
  /* Mounted through /proc/self/fd: the target as resolved in the root,
   * not a second lookup of a path the container can change meanwhile. */
  long fd = loop_at(st, op, dst, wr_open_target(dst, op->flags, 0644));
  if (fd < 0) return optional(op, (int)fd);
  char name[40];
  wr_fd_path(fd, name);
  int rc = (int)wr_sys5(SYS_mount, wr_str(st, op->s0), name, wr_str(st, op->s2), op->a,
                        wr_str(st, op->s3));
  wr_sys1(SYS_close, fd);
  return optional(op, rc);
}

int wr_op_open_tree(struct wr_child *st, const struct wr_op *op) {
  const char *src = wr_str(st, op->s0);
  if (!src || op->b >= WR_MAX_SLOTS) return -EINVAL;
  long flags = WR_OPEN_TREE_CLONE | WR_OPEN_TREE_CLOEXEC;
  if (op->flags & WR_F_RECURSIVE) flags |= WR_AT_RECURSIVE;
  long fd = wr_sys3(SYS_open_tree, AT_FDCWD, src, flags);
  if (fd < 0) return optional(op, (int)fd);
  st->slots[op->b] = (int)fd;
  return 0;
}

int wr_op_move_mount(struct wr_child *st, const struct wr_op *op) {
  const char *dst = wr_str(st, op->s1);
  if (!dst || op->b >= WR_MAX_SLOTS) return -EINVAL;
  int fd = st->slots[op->b];
  if (fd < 0) return (op->flags & WR_F_OPTIONAL) ? 0 : -EBADF; /* optional source absent */
  long to = loop_at(st, op, dst, wr_open_target(dst, op->flags, 0644));
  int rc = (int)to;
  if (to >= 0) {
    rc = (int)wr_sys5(SYS_move_mount, fd, "", to, "", WR_MOVE_MOUNT_F_EMPTY_PATH | WR_MOVE_MOUNT_T_EMPTY_PATH);
    wr_sys1(SYS_close, to);
  }
  wr_sys1(SYS_close, fd);
  st->slots[op->b] = -1;
  return rc;
}

int wr_op_setattr(struct wr_child *st, const struct wr_op *op) {
  const char *path = wr_str(st, op->s1);
  if (!path) return -EINVAL;
  /* mount_setattr changes only the named attributes: a remount would have to
   * repeat every locked flag (nosuid, nodev, atime) inherited from the host. */
  struct wr_mount_attr attr = {op->a, op->b, 0, 0};
  long flags = WR_AT_EMPTY_PATH | ((op->flags & WR_F_RECURSIVE) ? WR_AT_RECURSIVE : 0);
  long fd = wr_open_target(path, 0, 0);
  if (fd < 0) return optional(op, (int)fd);
  int rc = (int)wr_sys5(SYS_mount_setattr, fd, "", flags, &attr, sizeof attr);
  wr_sys1(SYS_close, fd);
  return optional(op, rc);
}

int wr_op_mkdir(struct wr_child *st, const struct wr_op *op) {
  const char *path = wr_str(st, op->s1);
  return path ? wr_mkdir_p(path, (unsigned)op->a) : -EINVAL;
}

int wr_op_mkfile(struct wr_child *st, const struct wr_op *op) {
  const char *path = wr_str(st, op->s1);
  if (!path) return -EINVAL;
  long fd = wr_open_target(path, WR_F_MKFILE, (unsigned)op->a);
  if (fd >= 0) wr_sys1(SYS_close, fd);
  return fd < 0 ? (int)fd : 0;
}

int wr_op_mknod(struct wr_child *st, const struct wr_op *op) {
  const char *path = wr_str(st, op->s1);
  if (!path) return -EINVAL;
  long rc = wr_sys4(SYS_mknodat, AT_FDCWD, path, (long)op->a, (long)op->b);
  return rc == -EEXIST ? 0 : (int)rc;
}

int wr_op_symlink(struct wr_child *st, const struct wr_op *op) {
  const char *target = wr_str(st, op->s0), *path = wr_str(st, op->s1);
  if (!target || !path) return -EINVAL;
  long rc = wr_sys3(SYS_symlinkat, target, AT_FDCWD, path);
  return rc == -EEXIST ? 0 : (int)rc;
}

int wr_op_mask(struct wr_child *st, const struct wr_op *op) {
  const char *path = wr_str(st, op->s1);
  if (!path) return -EINVAL;
  long fd = wr_open_target(path, 0, 0);
  if (fd == -ENOENT) return 0; /* nothing to hide */
  if (fd < 0) return (int)fd;
  struct statx stx;
  char name[40];
  wr_fd_path(fd, name);
  long rc = wr_sys5(SYS_statx, fd, "", WR_AT_EMPTY_PATH, STATX_TYPE, &stx);
  if (rc == 0 && S_ISDIR(stx.stx_mode))
    rc = wr_sys5(SYS_mount, "tmpfs", name, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                 "size=0,mode=000");
  else if (rc == 0)
    rc = wr_sys5(SYS_mount, "/dev/null", name, 0, MS_BIND, 0);
  wr_sys1(SYS_close, fd);
  return (int)rc;
}

int wr_op_pivot_root(struct wr_child *st, const struct wr_op *op) {
  const char *root = wr_str(st, op->s1);
  if (!root) return -EINVAL;
  long rc = wr_sys1(SYS_chdir, root);
  /* pivot_root(".", ".") stacks the old root on top of the new one, so no
   * put_old directory is needed inside a possibly read-only rootfs; the
   * detach below then removes the old root (runc does the same). */
  if (rc == 0) rc = wr_sys2(SYS_pivot_root, ".", ".");
  if (rc == 0) rc = wr_sys2(SYS_umount2, ".", MNT_DETACH);
  if (rc == 0) rc = wr_sys1(SYS_chdir, "/");
  return (int)rc;
}

int wr_op_write_file(struct wr_child *st, const struct wr_op *op) {
  const char *data = wr_str(st, op->s0), *path = wr_str(st, op->s1);
  if (!data || !path) return -EINVAL;
  long fd = wr_sys4(SYS_openat, AT_FDCWD, path, O_WRONLY | O_CLOEXEC | O_NOCTTY, 0);
  if (fd < 0) return (int)fd;
  size_t len = wr_strlen(data);
  long n = wr_sys3(SYS_write, fd, data, len);
  wr_sys1(SYS_close, fd);
  if (n < 0) return (int)n;
  return (size_t)n == len ? 0 : -EIO;
}
