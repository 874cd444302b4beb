/*
 * Entering an existing container (setns happens as a plain op) and the final
 * execve. WR_OP_FORK exists because joining a pid or time namespace only
 * applies to children: the intermediate clones once more with CLONE_PARENT,
 * so the process that execs is Node's own child (waitable, with a pidfd)
 * and lives inside the container's pid namespace; the intermediate reports
 * the pid and exits. The exec step hands over to warren-exec (see below).
 */

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>

#include "child.h"

static int grandchild_main(void *arg) {
  struct wr_child own;
  wr_memcpy(&own, arg, sizeof own);
  wr_run_ops(&own, own.resume);
}

int wr_op_fork(struct wr_child *st, const struct wr_op *op, uint32_t index) {
  (void)op;
  if (!st->stack2 || st->stack2_size == 0) return -EINVAL;
  struct wr_clone_args args = {0};
  args.flags = CLONE_VM | CLONE_PARENT;
  args.exit_signal = 0; /* CLONE_PARENT takes our exit signal */
  args.stack = (uint64_t)(uintptr_t)st->stack2;
  args.stack_size = st->stack2_size;
  st->resume = index + 1;
  long pid = wr_clone3(&args, sizeof args, grandchild_main, st);
  if (pid < 0) return (int)pid;
  struct wr_report r = {WR_REPORT_PID, (int32_t)index, 0, (int32_t)pid};
  wr_sys3(SYS_write, st->report_fd, &r, sizeof r);
  for (;;) wr_sys1(SYS_exit, 0);
}

/* The final execve, through warren-exec in its sealed memfd (plan.h): the
 * kernel resolves a `#!` interpreter, /proc/self/exe included, during the
 * execve that meets the script, and that one is the helper's, whose exe is
 * the memfd, not this process's (Node's binary). The report pipe stays
 * open across the helper's execve: the helper reports a failed execve of
 * FILE on it as this op, and marks it close-on-exec again first so the
 * program's own execve closes it (EOF: success). The slots before argv are
 * plan-prepare.c's, in memory only this spawn uses. */
int wr_op_exec(struct wr_child *st, const struct wr_op *op, uint32_t index) {
  const char *file = wr_str(st, op->s0);
  char **argv = (char **)(uintptr_t)op->a;
  char *const *envp = (char *const *)(uintptr_t)op->b;
  if (!file || !*file || !argv) return -EINVAL;
  if (st->exec_fd < 0) wr_report_and_exit(st, WR_STEP_EXEC_HELPER, EBADF);

  char fd_arg[48], index_arg[24];
  char *end = wr_utoa(fd_arg, (unsigned long)st->report_fd);
  if (op->flags & WR_F_HOLD) {
    *end++ = ':';
    end = wr_utoa(end, (unsigned long)op->c);
  }
  *end = 0;
  *wr_utoa(index_arg, index) = 0;
  char **helper_argv = argv - WR_EXEC_HELPER_ARGS;
  helper_argv[0] = (char *)WR_EXEC_HELPER_NAME;
  helper_argv[1] = fd_arg;
  helper_argv[2] = index_arg;
  helper_argv[3] = (char *)file;

  long rc = wr_sys3(SYS_fcntl, st->report_fd, F_SETFD, 0);
  if (rc < 0) return (int)rc;
  uint64_t empty = 0;
  wr_sys4(SYS_rt_sigprocmask, SIG_SETMASK, &empty, 0, 8);
  rc = wr_sys5(SYS_execveat, st->exec_fd, "", helper_argv, envp, WR_AT_EMPTY_PATH);
  wr_report_and_exit(st, WR_STEP_EXEC_HELPER, (int)-rc);
}
