/* Network steps that must happen inside the container's network namespace
 * before its init runs. */

#include <errno.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "child.h"

int wr_op_link_up(struct wr_child *st, const struct wr_op *op) {
  const char *name = wr_str(st, op->s0);
  if (!name || wr_strlen(name) >= IFNAMSIZ) return -EINVAL;
  long fd = wr_sys3(SYS_socket, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return (int)fd;
  struct ifreq ifr;
  for (unsigned i = 0; i < sizeof ifr; i++) ((char *)&ifr)[i] = 0;
  for (unsigned i = 0; name[i]; i++) ifr.ifr_name[i] = name[i];
  long rc = wr_sys3(SYS_ioctl, fd, SIOCGIFFLAGS, &ifr);
  if (rc == 0) {
    ifr.ifr_flags |= IFF_UP;
    rc = wr_sys3(SYS_ioctl, fd, SIOCSIFFLAGS, &ifr);
  }
  wr_sys1(SYS_close, fd);
  return (int)rc;
}
