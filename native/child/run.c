/*
 * The child's life after clone, as one sequence: reset signal dispositions,
 * wait for the parent's "go" (it writes uid_map/gid_map meanwhile), then run
 * the plan's ops in order. A failing op is reported as (op index, errno) on
 * the CLOEXEC report pipe and the child exits 127; a successful execve closes
 * the pipe, which the parent reads as success (crun's send-and-die).
 */
#include <errno.h>
#include <signal.h>
#include <sys/prctl.h>

#include "child.h"

struct wr_kernel_sigaction {
  void *handler;
  unsigned long flags;
  void *restorer;
  uint64_t mask;
};

void wr_report_and_exit(struct wr_child *st, int32_t op_index, int err) {
  struct wr_report r = {WR_REPORT_ERROR, op_index, err, st->fail_arg};
  wr_sys3(SYS_write, st->report_fd, &r, sizeof r);
  for (;;) wr_sys1(SYS_exit, 127);
}

static void reset_signals(void) {
  /* Node ignores SIGPIPE and handles others; an exec'd program must start
   * with default dispositions. Handled signals are reset by execve anyway,
   * ignored ones are not. */
  struct wr_kernel_sigaction dfl = {(void *)SIG_DFL, 0, 0, 0};
  for (long sig = 1; sig <= 64; sig++) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    wr_sys4(SYS_rt_sigaction, sig, &dfl, 0, 8);
  }
}

static int dispatch(struct wr_child *st, const struct wr_op *op, uint32_t index) {
  switch (op->kind) {
    case WR_OP_MOUNT: return wr_op_mount(st, op);
    case WR_OP_OPEN_TREE: return wr_op_open_tree(st, op);
    case WR_OP_MOVE_MOUNT: return wr_op_move_mount(st, op);
    case WR_OP_SETATTR: return wr_op_setattr(st, op);
    case WR_OP_MKDIR: return wr_op_mkdir(st, op);
    case WR_OP_MKFILE: return wr_op_mkfile(st, op);
    case WR_OP_MKNOD: return wr_op_mknod(st, op);
    case WR_OP_SYMLINK: return wr_op_symlink(st, op);
    case WR_OP_MASK: return wr_op_mask(st, op);
    case WR_OP_PIVOT_ROOT: return wr_op_pivot_root(st, op);
    case WR_OP_WRITE_FILE: return wr_op_write_file(st, op);
    case WR_OP_CLOSE_INHERITED: return wr_op_close_inherited(st, op);
    case WR_OP_SETHOSTNAME: {
      const char *s = wr_str(st, op->s0);
      return s ? (int)wr_sys2(SYS_sethostname, s, wr_strlen(s)) : -EINVAL;
    }
    case WR_OP_SETDOMAINNAME: {
      const char *s = wr_str(st, op->s0);
      return s ? (int)wr_sys2(SYS_setdomainname, s, wr_strlen(s)) : -EINVAL;
    }
    case WR_OP_LINK_UP: return wr_op_link_up(st, op);
    case WR_OP_RLIMIT: return wr_op_rlimit(st, op);
    case WR_OP_CAPBSET_DROP: return wr_op_capbset_drop(st, op);
    case WR_OP_NO_NEW_PRIVS: return (int)wr_sys5(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    case WR_OP_SECCOMP: return wr_op_seccomp(st, op);
    case WR_OP_SECCOMP_LISTENER: return wr_op_seccomp_listener(st, op);
    case WR_OP_CREDS: return wr_op_creds(st, op);
    case WR_OP_CHDIR: return wr_op_chdir(st, op);
    case WR_OP_STDIO: return wr_op_stdio(st, op);
    case WR_OP_SETSID: return wr_op_setsid(st, op);
    case WR_OP_TERMINAL: return wr_op_terminal(st, op);
    case WR_OP_CLOSE_FDS: return wr_op_close_fds(st, op);
    case WR_OP_PDEATHSIG: return (int)wr_sys5(SYS_prctl, PR_SET_PDEATHSIG, op->a, 0, 0, 0);
    case WR_OP_SETNS: return (int)wr_sys2(SYS_setns, (long)op->a, (long)op->b);
    case WR_OP_FORK: return wr_op_fork(st, op, index);
    case WR_OP_EXEC: return wr_op_exec(st, op, index);
    default: return -ENOSYS;
  }
}

void wr_run_ops(struct wr_child *st, uint32_t from) {
  for (uint32_t i = from; i < st->nops; i++) {
    int rc = dispatch(st, &st->ops[i], i);
    if (rc < 0) wr_report_and_exit(st, (int32_t)i, -rc);
  }
  /* A plan always ends in exec; running off the end is a plan bug. */
  wr_report_and_exit(st, (int32_t)st->nops, ENOEXEC);
}

int wr_child_main(void *arg) {
  struct wr_child *st = (struct wr_child *)arg;
  /* Until it execs, this process shares Node's memory (and its exe is
   * Node's binary). Non-dumpable, /proc/<pid>/mem, maps, exe, fd and
   * ptrace of it need CAP_SYS_PTRACE over the user namespace Node's memory
   * belongs to (the host's), which a container never has: its root could
   * otherwise reach this process from the moment an exec'd child joins its
   * pid namespace. The flag belongs to the memory, so Node stays
   * non-dumpable too (the first set-credentials, which changes the euid,
   * already makes it so when fs.suid_dumpable is 0); execve resets it for
   * the container's program. */
  wr_sys5(SYS_prctl, PR_SET_DUMPABLE, 0, 0, 0, 0);
  reset_signals();
  /* A table of its own before any fd is touched (cloned with CLONE_FILES);
   * the parent closes its copies of our ends once it reads this report. */
  int own = wr_own_fd_table(st);
  if (own < 0) wr_report_and_exit(st, WR_STEP_FD_TABLE, -own);
  struct wr_report ready = {WR_REPORT_OWN_FDS, 0, 0, 0};
  wr_sys3(SYS_write, st->report_fd, &ready, sizeof ready);
  wr_sys1(SYS_close, st->sync_peer);
  wr_sys1(SYS_close, st->report_peer);
  /* The copied fds go first, before the wait: they hold the parent's ends
   * of the other children being spawned at the same time, and while any
   * child keeps those open, a sibling whose parent died never reads EOF
   * below and would wait forever. */
  uint32_t first = 0;
  if (st->nops > 0 && st->ops[0].kind == WR_OP_CLOSE_INHERITED) {
    int rc = wr_op_close_inherited(st, &st->ops[0]);
    if (rc < 0) wr_report_and_exit(st, 0, -rc);
    first = 1;
  }
  /* "go" is one byte; EOF (or anything else) means stop. */
  char go = 0;
  long n;
  do n = wr_sys3(SYS_read, st->sync_fd, &go, 1); while (n == -EINTR);
  if (n != 1) wr_report_and_exit(st, -1, n < 0 ? (int)-n : ECANCELED);
  wr_sys1(SYS_close, st->sync_fd);
  st->sync_fd = -1;
  wr_run_ops(st, first);
}
