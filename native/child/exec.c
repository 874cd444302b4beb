/*
 * Entering an existing container (setns happens as a plain op) and the final
 * execve. WR_OP_FORK exists because joining a pid or time namespace only
 * applies to children: the intermediate clones once more with CLONE_PARENT,
 * so the process that execs is Node's own child (waitable, with a pidfd)
 * and lives inside the container's pid namespace; the intermediate reports
 * the pid and exits.
 */

#include <errno.h>
#include <sched.h>
#include <signal.h>

#include "child.h"

static int grandchild_main(void *arg) {
  struct wr_child own = *(const struct wr_child *)arg;
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

static const char *find_path(char *const *envp) {
  for (; envp && *envp; envp++) {
    const char *e = *envp;
    if (e[0] == 'P' && e[1] == 'A' && e[2] == 'T' && e[3] == 'H' && e[4] == '=') return e + 5;
  }
  return "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
}

int wr_op_exec(struct wr_child *st, const struct wr_op *op) {
  const char *file = wr_str(st, op->s0);
  char *const *argv = (char *const *)(uintptr_t)op->a;
  char *const *envp = (char *const *)(uintptr_t)op->b;
  if (!file || !*file || !argv) return -EINVAL;

  uint64_t empty = 0;
  wr_sys4(SYS_rt_sigprocmask, SIG_SETMASK, &empty, 0, 8);

  for (const char *p = file; *p; p++)
    if (*p == '/') return (int)wr_sys3(SYS_execve, file, argv, envp);

  /* execvp's search, without its allocation: EACCES wins over ENOENT so a
   * non-executable init is reported as such. */
  const char *path = find_path(envp);
  size_t flen = wr_strlen(file);
  int seen_eacces = 0;
  char buf[4096];
  for (const char *dir = path;; dir++) {
    const char *end = dir;
    while (*end && *end != ':') end++;
    size_t dlen = (size_t)(end - dir);
    if (dlen + 1 + flen + 1 <= sizeof buf) {
      size_t n = 0;
      for (size_t i = 0; i < dlen; i++) buf[n++] = dir[i];
      if (n == 0) buf[n++] = '.';
      buf[n++] = '/';
      for (size_t i = 0; i <= flen; i++) buf[n++] = file[i];
      long rc = wr_sys3(SYS_execve, buf, argv, envp);
      if (rc == -EACCES) seen_eacces = 1;
      else if (rc != -ENOENT && rc != -ENOTDIR) return (int)rc;
    }
    if (!*end) break;
    dir = end;
  }
  return seen_eacces ? -EACCES : -ENOENT;
}
