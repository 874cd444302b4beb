/* File-descriptor steps: stdio, the controlling terminal, and closing
 * everything the container was not given before exec. */

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "../linux.h"

#include "child.h"

int wr_op_stdio(struct wr_child *st, const struct wr_op *op) {
  (void)st;
  const long src[3] = {(long)op->a, (long)op->b, (long)op->c};
  /* Move sources out of 0..2 first so one dup cannot clobber another's
   * source (e.g. stdout taken from fd 0). */
  long moved[3];
  for (int i = 0; i < 3; i++) {
    moved[i] = src[i];
    if (src[i] >= 0 && src[i] <= 2 && src[i] != i) {
      long fd = wr_sys3(SYS_fcntl, src[i], F_DUPFD_CLOEXEC, 3);
      if (fd < 0) return (int)fd;
      moved[i] = fd;
    }
  }
  for (int i = 0; i < 3; i++) {
    long rc;
    if (moved[i] == i)
      rc = wr_sys3(SYS_fcntl, i, F_SETFD, 0);
    else
      rc = wr_sys3(SYS_dup3, moved[i], i, 0);
    if (rc < 0) return (int)rc;
  }
  return 0;
}

/* Sends fd over the connected unix socket sock (SCM_RIGHTS) with payload
 * as the message's bytes. 0 or -errno. Filled field by field: the child is
 * freestanding, and a zeroing initializer of a struct this size may become
 * a memset call. */
long wr_send_fd(long sock, long fd, const char *payload, unsigned long len) {
  union {
    struct cmsghdr h;
    char bytes[CMSG_SPACE(sizeof(int))];
  } control;
  control.h.cmsg_len = CMSG_LEN(sizeof(int));
  control.h.cmsg_level = SOL_SOCKET;
  control.h.cmsg_type = SCM_RIGHTS;
  int *slot = (int *)CMSG_DATA(&control.h);
  *slot = (int)fd;
  struct iovec iov;
  iov.iov_base = (void *)payload;
  iov.iov_len = len;
  struct msghdr mh;
  mh.msg_name = 0;
  mh.msg_namelen = 0;
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = control.bytes;
  mh.msg_controllen = sizeof control.bytes;
  mh.msg_flags = 0;
  long rc;
  do rc = wr_sys3(SYS_sendmsg, sock, &mh, MSG_NOSIGNAL); while (rc == -EINTR);
  return rc < 0 ? rc : 0;
}

/* The process's terminal is a new pty of the container's own devpts (what
 * runc and crun do for process.terminal): opened through /dev/ptmx, which
 * resolves to the devpts instance mounted at /dev/pts here, so the slave is
 * /dev/pts/N inside and owned by the credentials already taken. The slave
 * goes onto 0, 1 and 2 (setsid then makes it the controlling terminal);
 * the master goes over the connected socket at op->a, runc's console-socket
 * protocol (payload "/dev/ptmx"), and is closed here with the socket. */
int wr_op_terminal(struct wr_child *st, const struct wr_op *op) {
  (void)st;
  long sock = (long)op->a;
  long master = wr_sys4(SYS_openat, AT_FDCWD, "/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC, 0);
  if (master < 0) return (int)master;
  if (master <= 2) { /* stdio closed: the dups below must not land on it */
    long moved = wr_sys3(SYS_fcntl, master, F_DUPFD_CLOEXEC, 3);
    wr_sys1(SYS_close, master);
    if (moved < 0) return (int)moved;
    master = moved;
  }
  int unlock = 0;
  long rc = wr_sys3(SYS_ioctl, master, TIOCSPTLCK, &unlock);
  long slave = rc < 0 ? rc : wr_sys3(SYS_ioctl, master, WR_TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) {
    wr_sys1(SYS_close, master);
    return (int)slave;
  }
  for (long i = 0; i < 3 && rc >= 0; i++) rc = slave == i ? wr_sys3(SYS_fcntl, i, F_SETFD, 0) : wr_sys3(SYS_dup3, slave, i, 0);
  if (rc >= 0) rc = wr_send_fd(sock, master, "/dev/ptmx", 9);
  if (slave > 2) wr_sys1(SYS_close, slave);
  wr_sys1(SYS_close, master);
  wr_sys1(SYS_close, sock);
  return (int)(rc < 0 ? rc : 0);
}

int wr_op_setsid(struct wr_child *st, const struct wr_op *op) {
  (void)st;
  long rc = wr_sys0(SYS_setsid);
  if (rc < 0) return (int)rc;
  if (op->flags & WR_F_CTTY) return (int)wr_sys3(SYS_ioctl, 0, TIOCSCTTY, 0);
  return 0;
}

int wr_op_close_fds(struct wr_child *st, const struct wr_op *op) {
  /* Marked close-on-exec rather than closed: the report pipe must stay open
   * until the execve itself succeeds. */
  long rc = wr_sys3(SYS_close_range, 3, ~0U, WR_CLOSE_RANGE_CLOEXEC);
  if (rc < 0) return (int)rc;
  if (op->a == WR_NONE) return 0;
  if (op->a + 4 > st->blob_len) return -EINVAL;
  const uint32_t *keep = (const uint32_t *)(st->blob + op->a);
  for (uint32_t i = 0; i < keep[0]; i++) {
    rc = wr_sys3(SYS_fcntl, keep[1 + i], F_SETFD, 0);
    if (rc < 0) return (int)rc;
  }
  return 0;
}

/* The keep list of a close-inherited-fds op, checked against the blob; a
 * null list (WR_NONE) keeps nothing. Returns 0 or -EINVAL. */
static int keep_list(const struct wr_child *st, const struct wr_op *op, const uint32_t **keep) {
  *keep = 0;
  if (op->a == WR_NONE) return 0;
  if (op->a + 4 > st->blob_len) return -EINVAL;
  const uint32_t *k = (const uint32_t *)(st->blob + op->a);
  if (op->a + 4 + 4ull * k[0] > st->blob_len) return -EINVAL;
  *keep = k;
  return 0;
}

/* The child is cloned sharing Node's fd table (CLONE_FILES): a copy made by
 * clone would take every fd Node holds, a pidfd per running container among
 * them, and closing them again cost as much: each start would grow with the
 * number of containers. Its own table is made here, first, from only the fds
 * below the lowest one it can do without: close_range's CLOSE_RANGE_UNSHARE
 * copies nothing at or above its first fd when the range runs to the end.
 * Node keeps the pidfds it holds above the fds a start needs (native/spawn.cc's
 * ParkFd), so the copy stays small; close-inherited-fds then closes the rest of
 * it. Until this returns the child must not open or close any fd: the table is
 * Node's. A plan that does not start by closing inherited fds gets the whole
 * table, as a clone without CLONE_FILES would have given it. */
int wr_own_fd_table(struct wr_child *st) {
  if (st->nops == 0 || st->ops[0].kind != WR_OP_CLOSE_INHERITED) return (int)wr_sys1(SYS_unshare, CLONE_FILES);
  const uint32_t *keep;
  int rc = keep_list(st, &st->ops[0], &keep);
  if (rc < 0) return rc;
  long top = 2;
  const long own[] = {st->sync_fd, st->sync_peer, st->report_fd, st->report_peer, st->exec_fd};
  for (unsigned i = 0; i < sizeof own / sizeof own[0]; i++)
    if (own[i] > top) top = own[i];
  for (uint32_t i = 0; keep && i < keep[0]; i++)
    if ((long)keep[1 + i] > top) top = keep[1 + i];
  return (int)wr_sys3(SYS_close_range, (unsigned long)top + 1, ~0U, WR_CLOSE_RANGE_UNSHARE);
}

/* Closes every fd above stdio that the plan did not list (the container's
 * stdio sources, fds passed through, an init's pidfd) and that the child
 * does not own (the "go" socket until go, the report pipe, warren-exec's
 * memfd, its open trees). It runs before any path is resolved: the child's
 * table is a copy of the low part of Node's (wr_own_fd_table), and a host
 * directory open there would otherwise be one /proc/self/fd/N away. */
int wr_op_close_inherited(struct wr_child *st, const struct wr_op *op) {
  const uint32_t *keep;
  int bad = keep_list(st, op, &keep);
  if (bad < 0) return bad;
  /* Close the gaps between kept fds, lowest first: few fds are kept, so
   * finding the next one by a scan is cheaper than sorting without libc. */
  unsigned long lo = 3;
  for (;;) {
    unsigned long next = ~0UL;
    for (int i = -3; i < WR_MAX_SLOTS; i++) {
      long fd = i == -3 ? st->sync_fd : i == -2 ? st->exec_fd : i == -1 ? st->report_fd : st->slots[i];
      if (fd >= (long)lo && (unsigned long)fd < next) next = (unsigned long)fd;
    }
    for (uint32_t i = 0; keep && i < keep[0]; i++)
      if (keep[1 + i] >= lo && keep[1 + i] < next) next = keep[1 + i];
    if (next == ~0UL) return (int)wr_sys3(SYS_close_range, lo, ~0U, 0);
    if (next > lo) {
      long rc = wr_sys3(SYS_close_range, lo, next - 1, 0);
      if (rc < 0) return (int)rc;
    }
    lo = next + 1;
  }
}
