/* Internal declarations of the child's step implementations: each takes the
 * child state and one op and returns 0 or -errno. Async-signal-safe only. */
#ifndef WARREN_CHILD_H
#define WARREN_CHILD_H

#include "plan.h"
#include "sys.h"

static inline const char *wr_str(const struct wr_child *st, uint32_t off) {
  return off == WR_NONE || off >= st->blob_len ? (const char *)0 : st->blob + off;
}

int wr_op_mount(struct wr_child *st, const struct wr_op *op);
int wr_op_open_tree(struct wr_child *st, const struct wr_op *op);
int wr_op_move_mount(struct wr_child *st, const struct wr_op *op);
int wr_op_setattr(struct wr_child *st, const struct wr_op *op);
int wr_op_mkdir(struct wr_child *st, const struct wr_op *op);
int wr_op_mkfile(struct wr_child *st, const struct wr_op *op);
int wr_op_mknod(struct wr_child *st, const struct wr_op *op);
int wr_op_symlink(struct wr_child *st, const struct wr_op *op);
int wr_op_mask(struct wr_child *st, const struct wr_op *op);
int wr_op_pivot_root(struct wr_child *st, const struct wr_op *op);
int wr_op_write_file(struct wr_child *st, const struct wr_op *op);

int wr_op_creds(struct wr_child *st, const struct wr_op *op);
int wr_op_capbset_drop(struct wr_child *st, const struct wr_op *op);
int wr_op_seccomp(struct wr_child *st, const struct wr_op *op);
int wr_op_seccomp_listener(struct wr_child *st, const struct wr_op *op);
int wr_op_rlimit(struct wr_child *st, const struct wr_op *op);

int wr_op_stdio(struct wr_child *st, const struct wr_op *op);
int wr_op_setsid(struct wr_child *st, const struct wr_op *op);
int wr_op_terminal(struct wr_child *st, const struct wr_op *op);
/* sendmsg(SCM_RIGHTS) of fd with payload on the connected socket sock: 0 or -errno. */
long wr_send_fd(long sock, long fd, const char *payload, unsigned long len);
int wr_op_close_fds(struct wr_child *st, const struct wr_op *op);

int wr_op_link_up(struct wr_child *st, const struct wr_op *op);

int wr_op_fork(struct wr_child *st, const struct wr_op *op, uint32_t index);
int wr_op_exec(struct wr_child *st, const struct wr_op *op, uint32_t index);

int wr_op_chdir(struct wr_child *st, const struct wr_op *op);
int wr_own_fd_table(struct wr_child *st);
int wr_op_close_inherited(struct wr_child *st, const struct wr_op *op);

/* Opens a container path (from "/", which is the container's root after
 * pivot_root or setns) with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS),
 * as an O_PATH fd; WR_F_MKDIR / WR_F_MKFILE in flags create it (and its
 * parents) first, the same way. Returns the fd or -errno. */
long wr_open_target(const char *path, uint32_t flags, unsigned file_mode);
/* The same below the directory fd root (the new root before pivot_root). */
long wr_open_in(long root, const char *path, uint32_t flags, unsigned file_mode);
/* "/proc/self/fd/<fd>", for calls that take a path but no fd (mount(2)). */
void wr_fd_path(long fd, char name[40]);
/* mkdir -p; returns 0 when the directory exists afterwards. */
int wr_mkdir_p(const char *path, unsigned mode);
/* Runs ops[from..] and never returns: execs, or reports and exits. */
void wr_run_ops(struct wr_child *st, uint32_t from) __attribute__((noreturn));
/* The length of the first prefix of path (resolved in "/") that is a
 * symlink, or 0: says which component made a WR_F_NO_SYMLINKS lookup fail
 * with ELOOP. */
int wr_symlink_prefix(const char *path);
void wr_report_and_exit(struct wr_child *st, int32_t op_index, int err) __attribute__((noreturn));

#endif
