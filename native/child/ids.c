/*
 * Credentials and privilege steps. The raw setgroups/setresgid/setresuid
 * calls change only this task: glibc's wrappers would broadcast the change
 * to every thread of the (shared-memory) parent.
 */

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include "child.h"

int wr_op_creds(struct wr_child *st, const struct wr_op *op) {
  long rc;
  if (op->c == WR_NONE) {
    rc = wr_sys2(SYS_setgroups, 0, 0);
  } else {
    if (op->c + 4 > st->blob_len) return -EINVAL;
    const uint32_t *list = (const uint32_t *)(st->blob + op->c);
    if (op->c + 4 + 4ull * list[0] > st->blob_len) return -EINVAL;
    rc = wr_sys2(SYS_setgroups, list[0], list + 1);
  }
  /* EPERM from setgroups with an empty list happens where the parent denied
   * setgroups for the namespace; there is nothing to drop then. */
  if (rc < 0 && !(rc == -EPERM && (op->c == WR_NONE))) return (int)rc;
  rc = wr_sys3(SYS_setresgid, op->b, op->b, op->b);
  if (rc < 0) return (int)rc;
  return (int)wr_sys3(SYS_setresuid, op->a, op->a, op->a);
}

int wr_op_capbset_drop(struct wr_child *st, const struct wr_op *op) {
  (void)st;
  for (long cap = 0; cap < 64; cap++) {
    if (!((op->a >> cap) & 1)) continue;
    long rc = wr_sys5(SYS_prctl, PR_CAPBSET_DROP, cap, 0, 0, 0);
    /* EINVAL: a capability this kernel does not know, so nobody holds it. */
    if (rc < 0 && rc != -EINVAL) return (int)rc;
  }
  return 0;
}

int wr_op_seccomp(struct wr_child *st, const struct wr_op *op) {
  if (op->b == 0 || op->b > 4096 || (op->a & 7) || op->a + op->b * 8 > st->blob_len) return -EINVAL;
  struct sock_fprog prog = {(unsigned short)op->b, (struct sock_filter *)(st->blob + op->a)};
  /* c: SECCOMP_FILTER_FLAG_* (TSYNC, LOG, SPEC_ALLOW from an OCI profile). */
  return (int)wr_sys3(SYS_seccomp, SECCOMP_SET_MODE_FILTER, (unsigned)op->c, &prog);
}

/* The intercept filter (SECCOMP_RET_USER_NOTIF for the calls the container's
 * monitor handles): installed with a new listener fd, which goes to the
 * monitor over the connected socket at op->c (SCM_RIGHTS) and is closed
 * here, with the socket: no process of the container may keep it, or it
 * could answer its own notifications. A monitor that is gone makes the
 * send fail (EPIPE), and the step with it. */
int wr_op_seccomp_listener(struct wr_child *st, const struct wr_op *op) {
  if (op->b == 0 || op->b > 4096 || (op->a & 7) || op->a + op->b * 8 > st->blob_len) return -EINVAL;
  long sock = (long)op->c;
  struct sock_fprog prog = {(unsigned short)op->b, (struct sock_filter *)(st->blob + op->a)};
  long listener = wr_sys3(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
  if (listener < 0) return (int)listener;
  long rc = wr_send_fd(sock, listener, "L", 1);
  wr_sys1(SYS_close, listener);
  wr_sys1(SYS_close, sock);
  return (int)rc;
}

int wr_op_rlimit(struct wr_child *st, const struct wr_op *op) {
  (void)st;
  uint64_t lim[2] = {op->a, op->b};
  return (int)wr_sys4(SYS_prlimit64, 0, (long)op->c, lim, 0);
}
