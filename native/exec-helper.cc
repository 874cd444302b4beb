// Parent side of warren-exec (native/exec-helper/exec-helper.c, why in
// child/plan.h): one sealed, execute-only memfd copy of it per Node
// process, made on the first spawn that execs; every spawn's child
// execveat()s it for its final exec.
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mutex>

#include "linux.h"

namespace warren {

namespace {

std::mutex mu;
int cached = -1;
struct stat made;  // the memfd once sealed

int WriteAll(int fd, const char *p, ssize_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return -errno;
    p += w;
    n -= w;
  }
  return 0;
}

int Make(const std::string &path) {
  if (path.empty()) return -EINVAL;
  int src = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (src < 0) return -errno;
  // MFD_EXEC: executable even where vm.memfd_noexec=1 would seal it
  // non-executable; kernels before 6.3 do not know the flag.
  int fd = memfd_create("warren-exec", MFD_CLOEXEC | MFD_ALLOW_SEALING | WR_MFD_EXEC);
  if (fd < 0 && errno == EINVAL) fd = memfd_create("warren-exec", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  int err = fd < 0 ? -errno : 0;
  char buf[16384];
  while (err == 0) {
    ssize_t n = read(src, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) err = -errno;
    if (n <= 0) break;
    err = WriteAll(fd, buf, n);
  }
  close(src);
  // Execute-only: the kernel makes a process non-dumpable when it execs a
  // file it cannot read (would_dump), and puts its memory under the
  // nearest user namespace that maps the file's owner. In a user-namespaced
  // container (host root unmapped) warren-exec, which holds the report
  // pipe to Node, is thus out of ptrace's and /proc's reach from the start.
  if (err == 0 && fchmod(fd, 0111) < 0) err = -errno;
  // Sealed: no write, shrink or grow through any fd or /proc/<pid>/exe,
  // no change of the execute bits (6.3+), no seal removed or added.
  const int seals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
  if (err == 0 && fcntl(fd, F_ADD_SEALS, seals | WR_F_SEAL_EXEC) < 0 &&
      (errno != EINVAL || fcntl(fd, F_ADD_SEALS, seals) < 0))
    err = -errno;
  if (err == 0 && fstat(fd, &made) < 0) err = -errno;
  if (err < 0) {
    if (fd >= 0) close(fd);
    return err;
  }
  return fd;
}

}  // namespace

int ExecHelperFd(const std::string &path) {
  std::lock_guard<std::mutex> lock(mu);
  if (cached >= 0) {
    // Its owner (host root) may still chmod or chown it: a container
    // without a user namespace that reached it through /proc/<pid>/exe
    // could make it readable, and so dumpable, in other containers. Make a
    // new one rather than exec one that changed.
    struct stat now;
    if (fstat(cached, &now) < 0 || now.st_mode != made.st_mode || now.st_uid != made.st_uid ||
        now.st_gid != made.st_gid) {
      close(cached);
      cached = -1;
    }
  }
  if (cached < 0) {
    int fd = Make(path);
    if (fd < 0) return fd;
    cached = fd;
  }
  // Each spawn gets its own copy, so replacing the cached one never closes
  // an fd a child is about to inherit.
  int fd = fcntl(cached, F_DUPFD_CLOEXEC, 3);
  return fd < 0 ? -errno : fd;
}

}  // namespace warren
