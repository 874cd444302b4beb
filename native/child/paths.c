/*
 * Resolving paths the container controls. After pivot_root (or setns) "/" is
 * the container's root, but a plain path lookup still follows a symlink in
 * the rootfs to /proc/self/fd/N, /proc/self/cwd or /proc/<pid>/root: magic
 * links that lead to whatever object the fd or process holds, host
 * directories included (the CVE-2024-21626 class). Every container path a
 * mount or chdir uses goes through openat2(RESOLVE_IN_ROOT |
 * RESOLVE_NO_MAGICLINKS) from an fd of "/", as runc (1.1.12+) and crun do.
 * A user's mount target (WR_F_NO_SYMLINKS) follows no symlink at all, as
 * LXC refuses them: ELOOP names the case.
 */

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#ifndef STATX_TYPE
#include <linux/stat.h> /* musl before 1.2.5 declares no statx */
#endif

#include "child.h"

static long open_in(long root, const char *path, uint64_t flags, uint64_t mode, uint32_t wr_flags) {
  uint64_t resolve = WR_RESOLVE_IN_ROOT | WR_RESOLVE_NO_MAGICLINKS;
  if (wr_flags & WR_F_NO_SYMLINKS) resolve |= WR_RESOLVE_NO_SYMLINKS;
  struct wr_open_how how = {flags | O_CLOEXEC, mode, resolve};
  return wr_sys4(SYS_openat2, root, path, &how, sizeof how);
}

/* mkdir -p of the first len bytes of path, one component at a time, each
 * created in its parent as resolved in root (never through a link). */
static int mkdir_in_root(long root, const char *path, size_t len, uint32_t wr_flags) {
  char buf[4096];
  if (len >= sizeof buf) return -ENAMETOOLONG;
  long parent = wr_sys3(SYS_fcntl, root, F_DUPFD_CLOEXEC, 0);
  if (parent < 0) return (int)parent;
  size_t start = 0;
  int rc = 0;
  for (size_t i = 0; i <= len && rc == 0; i++) {
    buf[i] = i < len ? path[i] : 0;
    if (i < len && path[i] != '/') continue;
    if (i == start) { /* an empty component ("//" or the leading "/") */
      start = i + 1;
      continue;
    }
    buf[i] = 0;
    long fd = open_in(root, buf, O_PATH | O_DIRECTORY, 0, wr_flags);
    if (fd == -ENOENT) {
      /* mkdirat never follows a final symlink: a dangling one is EEXIST,
       * and the lookup below then fails instead of creating its target. */
      long mk = wr_sys3(SYS_mkdirat, parent, buf + start, 0755);
      if (mk < 0 && mk != -EEXIST) rc = (int)mk;
      else fd = open_in(root, buf, O_PATH | O_DIRECTORY, 0, wr_flags);
    }
    if (rc == 0 && fd < 0) rc = (int)fd;
    if (rc == 0) {
      wr_sys1(SYS_close, parent);
      parent = fd;
    }
    if (i < len) buf[i] = '/';
    start = i + 1;
  }
  wr_sys1(SYS_close, parent);
  return rc;
}

long wr_open_in(long root, const char *path, uint32_t flags, unsigned file_mode) {
  long fd = open_in(root, path, O_PATH, 0, flags);
  if (fd == -ENOENT && (flags & (WR_F_MKDIR | WR_F_MKFILE))) {
    size_t len = wr_strlen(path), cut = len;
    if (flags & WR_F_MKFILE)
      while (cut > 0 && path[cut - 1] != '/') cut--;
    int rc = mkdir_in_root(root, path, cut, flags);
    if (rc == 0 && (flags & WR_F_MKFILE)) {
      long f = open_in(root, path, O_CREAT | O_WRONLY | O_NOCTTY, file_mode, flags);
      /* A directory or device already there is a fine mount point. */
      if (f >= 0) wr_sys1(SYS_close, f);
      else if (f != -EISDIR && f != -EEXIST) rc = (int)f;
    }
    fd = rc < 0 ? rc : open_in(root, path, O_PATH, 0, flags);
  }
  return fd;
}

long wr_open_target(const char *path, uint32_t flags, unsigned file_mode) {
  long root = wr_sys4(SYS_openat, AT_FDCWD, "/", O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
  if (root < 0) return root;
  long fd = wr_open_in(root, path, flags, file_mode);
  wr_sys1(SYS_close, root);
  return fd;
}

int wr_symlink_prefix(const char *path) {
  char buf[4096];
  size_t len = wr_strlen(path);
  if (len >= sizeof buf) return 0;
  long root = wr_sys4(SYS_openat, AT_FDCWD, "/", O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
  if (root < 0) return 0;
  int found = 0;
  for (size_t i = 1; i <= len && !found; i++) {
    if (i < len && path[i] != '/') continue;
    for (size_t j = 0; j < i; j++) buf[j] = path[j];
    buf[i] = 0;
    /* O_PATH | O_NOFOLLOW with RESOLVE_NO_SYMLINKS opens a final symlink
     * itself (openat2(2)); every shorter prefix was none, so any other
     * failure ends the search. */
    long fd = open_in(root, buf, O_PATH | O_NOFOLLOW, 0, WR_F_NO_SYMLINKS);
    if (fd < 0) break;
    struct statx stx;
    if (wr_sys5(SYS_statx, fd, "", WR_AT_EMPTY_PATH, STATX_TYPE, &stx) == 0 && S_ISLNK(stx.stx_mode)) found = (int)i;
    wr_sys1(SYS_close, fd);
  }
  wr_sys1(SYS_close, root);
  return found;
}

void wr_fd_path(long fd, char name[40]) {
  const char prefix[] = "/proc/self/fd/";
  char *p = name;
  for (const char *q = prefix; *q; q++) *p++ = *q;
  *wr_utoa(p, (unsigned long)fd) = 0;
}

int wr_op_chdir(struct wr_child *st, const struct wr_op *op) {
  const char *path = wr_str(st, op->s1);
  if (!path) return -EINVAL;
  long fd = wr_open_target(path, 0, 0);
  if (fd < 0) return (int)fd;
  long rc = wr_sys1(SYS_fchdir, fd);
  wr_sys1(SYS_close, fd);
  if (rc < 0) return (int)rc;
  /* Belt and braces (runc checks the same): getcwd(2) prefixes a directory
   * that is not below the process's root with "(unreachable)". */
  char buf[4096];
  rc = wr_sys2(SYS_getcwd, buf, sizeof buf);
  if (rc < 0) return (int)rc;
  return buf[0] == '/' ? 0 : -EXDEV;
}
