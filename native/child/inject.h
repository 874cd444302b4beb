/* Mount injection into a running container (LXC 4+/Incus forkmount): a
 * short-lived CLONE_VM | CLONE_VFORK | CLONE_FILES helper joins the init's
 * mount namespace (and user namespace, where it has one, as its root),
 * resolves the target below the container's root one component at a time
 * with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS),
 * creating what is missing with the container's credentials, then attaches
 * a detached tree the parent made (move_mount) or lazily unmounts what is
 * there. A symlink planted by the container fails the walk with ELOOP: the
 * tree never lands outside the container's root. */
#ifndef WARREN_INJECT_H
#define WARREN_INJECT_H

#include <stdint.h>

enum wr_inject_kind {
  WR_INJECT_ATTACH = 1, /* create the target if missing, move_mount treefd onto it */
  WR_INJECT_DETACH = 2, /* umount2(MNT_DETACH) of the target; remove it if `created` */
};

enum wr_inject_step {
  WR_INJECT_STEP_SETNS = 1,
  WR_INJECT_STEP_CREDS = 2,
  WR_INJECT_STEP_WALK = 3,   /* a parent directory: open or mkdir */
  WR_INJECT_STEP_TARGET = 4, /* the last component: create or open */
  WR_INJECT_STEP_MOUNT = 5,  /* move_mount or umount2 */
  WR_INJECT_STEP_STAGE = 6,  /* the read-only tree locked (see `stage`) */
};

struct wr_inject {
  int pidfd;     /* the container's init */
  int userns;    /* join its user namespace too (and become its root) */
  int kind;
  int treefd;    /* ATTACH: the detached tree */
  const char *path; /* absolute, inside the container, no `..` */
  /* ATTACH with a user namespace, for a read-only tree: a host directory
   * (file, for a file tree) the tree is first mounted on in a private
   * mount namespace of the host's; the mount namespace then unshared in
   * the container's user namespace is a less privileged copy, in which the
   * kernel locks the tree's read-only flag (mount_namespaces(7)), and the
   * copy taken from there keeps the lock. NULL: the tree as given. */
  const char *stage;
  int isdir;     /* the target is a directory (else a file) */
  int created;   /* ATTACH: set when the target was made; DETACH: remove it */
  int step;      /* the step that failed */
  long result;   /* 0 or -errno */
};

int wr_inject_main(void *arg);

#endif
