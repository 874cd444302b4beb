/*
 * The helper of native/child/inject.h. It is its own thread group without
 * CLONE_FS, so the kernel lets it setns into user and mount namespaces even
 * though Node is multithreaded; after setns(CLONE_NEWNS) its root and cwd
 * are the container's root (the namespace's root since pivot_root).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>

#include "child.h"
#include "inject.h"

#define WR_UMOUNT_NOFOLLOW 0x8
#define WR_MNT_DETACH 0x2
#define WR_RESOLVE_BENEATH 0x08
#define WR_AT_REMOVEDIR 0x200

/* One component below dirfd, following nothing: a symlink or magic link
 * there (the last component too) is ELOOP, `..` cannot occur (the path was checked). */
static long open_beneath(int dirfd, const char *name, uint64_t flags) {
  struct wr_open_how how = {flags | O_PATH | O_CLOEXEC, 0,
                            WR_RESOLVE_BENEATH | WR_RESOLVE_NO_SYMLINKS | WR_RESOLVE_NO_MAGICLINKS};
  long fd;
  for (int i = 0; i < 16; i++) {
    fd = wr_sys4(SYS_openat2, dirfd, name, &how, sizeof how);
    if (fd != -EAGAIN && fd != -EINTR) break;
  }
  return fd;
}

static long run(struct wr_inject *op) {
  char buf[4096];
  size_t n = wr_strlen(op->path);
  if (n == 0 || n >= sizeof buf || op->path[0] != '/') return -EINVAL;
  for (size_t i = 0; i <= n; i++) buf[i] = op->path[i];
  op->step = WR_INJECT_STEP_WALK;
  long dir = wr_sys4(SYS_openat, AT_FDCWD, "/", O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
  if (dir < 0) return dir;
  char *name = buf + 1;
  long rc = 0;
  for (;;) {
    while (*name == '/') name++;
    char *end = name;
    while (*end && *end != '/') end++;
    char *rest = end;
    while (*rest == '/') rest++;
    int last = *rest == 0;
    *end = 0;
    if (*name == 0) { rc = -EINVAL; break; }
    if (last) break;
    long next = open_beneath((int)dir, name, O_DIRECTORY);
    if (next == -ENOENT && op->kind == WR_INJECT_ATTACH) {
      rc = wr_sys3(SYS_mkdirat, dir, name, 0755);
      if (rc < 0 && rc != -EEXIST) break;
      next = open_beneath((int)dir, name, O_DIRECTORY);
    }
    if (next < 0) { rc = next; break; }
    wr_sys1(SYS_close, dir);
    dir = next;
    name = rest;
  }
  if (rc < 0) { wr_sys1(SYS_close, dir); return rc; }
  op->step = WR_INJECT_STEP_TARGET;
  if (op->kind == WR_INJECT_ATTACH) {
    /* mknod of a regular file needs no CAP_MKNOD, and unlike an open it
     * never opens a device the container put there. */
    rc = op->isdir ? wr_sys3(SYS_mkdirat, dir, name, 0755) : wr_sys4(SYS_mknodat, dir, name, S_IFREG | 0600, 0);
    if (rc == 0) op->created = 1;
    else if (rc != -EEXIST) { wr_sys1(SYS_close, dir); return rc; }
    long target = open_beneath((int)dir, name, op->isdir ? O_DIRECTORY : 0);
    if (target < 0) { wr_sys1(SYS_close, dir); return target; }
    op->step = WR_INJECT_STEP_MOUNT;
    rc = wr_sys5(SYS_move_mount, op->treefd, "", target, "", WR_MOVE_MOUNT_F_EMPTY_PATH | WR_MOVE_MOUNT_T_EMPTY_PATH);
    wr_sys1(SYS_close, target);
  } else {
    /* umount2 takes a path: from the safely opened parent, one component
     * that is not followed. */
    rc = wr_sys1(SYS_fchdir, dir);
    op->step = WR_INJECT_STEP_MOUNT;
    if (rc == 0) rc = wr_sys2(SYS_umount2, name, WR_MNT_DETACH | WR_UMOUNT_NOFOLLOW);
    /* What warren made for the mount goes with it; an error is left alone
     * (a directory the container filled stays). */
    if (rc == 0 && op->created) wr_sys3(SYS_unlinkat, dir, name, op->isdir ? WR_AT_REMOVEDIR : 0);
  }
  wr_sys1(SYS_close, dir);
  return rc;
}

#define WR_MS_REC 0x4000
#define WR_MS_PRIVATE (1 << 18)

static long join_user(struct wr_inject *op) {
  op->step = WR_INJECT_STEP_SETNS;
  long rc = wr_sys2(SYS_setns, op->pidfd, CLONE_NEWUSER);
  /* Until these, this task is host root, which the namespace does not map. */
  op->step = WR_INJECT_STEP_CREDS;
  if (rc == 0) rc = wr_sys2(SYS_setgroups, 0, 0);
  if (rc == 0) rc = wr_sys3(SYS_setresgid, 0, 0, 0);
  if (rc == 0) rc = wr_sys3(SYS_setresuid, 0, 0, 0);
  return rc;
}

/* See `stage` in inject.h. Returns the locked copy's fd. */
static long stage_locked(struct wr_inject *op) {
  op->step = WR_INJECT_STEP_STAGE;
  long rc = wr_sys1(SYS_unshare, CLONE_NEWNS);
  /* Private first: nothing mounted here may propagate to the host. */
  if (rc == 0) rc = wr_sys5(SYS_mount, 0, "/", 0, WR_MS_REC | WR_MS_PRIVATE, 0);
  if (rc == 0) rc = wr_sys5(SYS_move_mount, op->treefd, "", AT_FDCWD, op->stage, WR_MOVE_MOUNT_F_EMPTY_PATH);
  if (rc == 0) rc = join_user(op);
  if (rc < 0) return rc;
  op->step = WR_INJECT_STEP_STAGE;
  rc = wr_sys1(SYS_unshare, CLONE_NEWNS);
  if (rc == 0) rc = wr_sys3(SYS_open_tree, AT_FDCWD, op->stage, WR_OPEN_TREE_CLONE | WR_OPEN_TREE_CLOEXEC | WR_AT_RECURSIVE);
  return rc;
}

int wr_inject_main(void *arg) {
  struct wr_inject *op = (struct wr_inject *)arg;
  if (op->stage && op->userns && op->kind == WR_INJECT_ATTACH) {
    long tree = stage_locked(op);
    long rc = tree;
    if (tree >= 0) {
      op->step = WR_INJECT_STEP_SETNS;
      rc = wr_sys2(SYS_setns, op->pidfd, CLONE_NEWNS);
      if (rc == 0) {
        op->treefd = (int)tree;
        rc = run(op);
      }
      wr_sys1(SYS_close, tree);
    }
    op->result = rc;
    return 0;
  }
  op->step = WR_INJECT_STEP_SETNS;
  long rc = wr_sys2(SYS_setns, op->pidfd, CLONE_NEWNS | (op->userns ? CLONE_NEWUSER : 0));
  if (rc == 0 && op->userns) {
    /* Until these, this task is host root, which the namespace does not map. */
    op->step = WR_INJECT_STEP_CREDS;
    rc = wr_sys2(SYS_setgroups, 0, 0);
    if (rc == 0) rc = wr_sys3(SYS_setresgid, 0, 0, 0);
    if (rc == 0) rc = wr_sys3(SYS_setresuid, 0, 0, 0);
  }
  if (rc == 0) rc = run(op);
  op->result = rc;
  return 0;
}
