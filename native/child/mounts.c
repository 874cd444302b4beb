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

static int parent_mkdir(const char *path) {
  char buf[4096];
  size_t len = wr_strlen(path), cut = 0;
  if (len >= sizeof buf) return -ENAMETOOLONG;
  for (size_t i = 0; i < len; i++) {
    buf[i] = path[i];
    if (path[i] == '/') cut = i;
  }
  if (cut == 0) return 0;
  buf[cut] = 0;
  return wr_mkdir_p(buf, 0755);
}

static int create_file(const char *path, unsigned mode) {
  int rc = parent_mkdir(path);
  if (rc < 0) return rc;
  long fd = wr_sys4(SYS_openat, AT_FDCWD, path, O_CREAT | O_WRONLY | O_CLOEXEC | O_NOCTTY, mode);
  if (fd < 0) {
    /* A directory or device already there is a fine mount point. */
    if (fd == -EISDIR || fd == -EEXIST) return 0;
    return (int)fd;
  }
  wr_sys1(SYS_close, fd);
  return 0;
}

static int prepare_target(const struct wr_op *op, const char *dst) {
  if (op->flags & WR_F_MKDIR) return wr_mkdir_p(dst, 0755);
  if (op->flags & WR_F_MKFILE) return create_file(dst, 0644);
  return 0;
}

static int optional(const struct wr_op *op, int rc) {
  return (rc == -ENOENT && (op->flags & WR_F_OPTIONAL)) ? 0 : rc;
}

/* Opens rel inside root the way the container will see it (symlinks and
 * ".." cannot leave root) and names it through /proc/self/fd, for the few
 * mounts that must happen before pivot_root: the kernel lets a user
 * namespace mount proc or sysfs only while a full host instance is still
 * visible in its mount namespace. */
static long open_in_root(const char *root, const char *rel, char name[40]) {
  long rfd = wr_sys4(SYS_openat, AT_FDCWD, root, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
  if (rfd < 0) return rfd;
  struct wr_open_how how = {O_PATH | O_CLOEXEC, 0, WR_RESOLVE_IN_ROOT | WR_RESOLVE_NO_MAGICLINKS};
  long fd = wr_sys4(SYS_openat2, rfd, rel, &how, sizeof how);
  wr_sys1(SYS_close, rfd);
  if (fd < 0) return fd;
  const char prefix[] = "/proc/self/fd/";
  char *p = name;
  for (const char *q = prefix; *q; q++) *p++ = *q;
  *wr_utoa(p, (unsigned long)fd) = 0;
  return fd;
}

int wr_op_mount(struct wr_child *st, const struct wr_op *op) {
  const char *dst = wr_str(st, op->s1);
  if (!dst) return -EINVAL;
  if (op->flags & WR_F_IN_ROOT) {
    const char *root = wr_str(st, (uint32_t)op->c);
    char name[40];
    if (!root) return -EINVAL;
    long fd = open_in_root(root, dst, name);
    if (fd < 0) return optional(op, (int)fd);
    int rc = (int)wr_sys5(SYS_mount, wr_str(st, op->s0), name, wr_str(st, op->s2), op->a,
                          wr_str(st, op->s3));
    wr_sys1(SYS_close, fd);
    return rc;
  }
  int rc = prepare_target(op, dst);
  if (rc < 0) return optional(op, rc);
  rc = (int)wr_sys5(SYS_mount, wr_str(st, op->s0), dst, wr_str(st, op->s2), op->a,
                    wr_str(st, op->s3));
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
  int rc = prepare_target(op, dst);
  if (rc == 0)
    rc = (int)wr_sys5(SYS_move_mount, fd, "", AT_FDCWD, dst, WR_MOVE_MOUNT_F_EMPTY_PATH);
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
  long flags = (op->flags & WR_F_RECURSIVE) ? WR_AT_RECURSIVE : 0;
  return optional(op, (int)wr_sys5(SYS_mount_setattr, AT_FDCWD, path, flags, &attr, sizeof attr));
}

int wr_op_mkdir(struct wr_child *st, const struct wr_op *op) {
  const char *path = wr_str(st, op->s1);
  return path ? wr_mkdir_p(path, (unsigned)op->a) : -EINVAL;
}

int wr_op_mkfile(struct wr_child *st, const struct wr_op *op) {
  const char *path = wr_str(st, op->s1);
  return path ? create_file(path, (unsigned)op->a) : -EINVAL;
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
  struct statx stx;
  long rc = wr_sys5(SYS_statx, AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_TYPE, &stx);
  if (rc == -ENOENT) return 0; /* nothing to hide */
  if (rc < 0) return (int)rc;
  if (S_ISDIR(stx.stx_mode))
    return (int)wr_sys5(SYS_mount, "tmpfs", path, "tmpfs",
                        MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0,mode=000");
  return (int)wr_sys5(SYS_mount, "/dev/null", path, 0, MS_BIND, 0);
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
