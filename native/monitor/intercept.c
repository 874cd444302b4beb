// The monitor's half of `security.intercept` (docs/nesting.md): the calls a
// user namespace refuses that are harmless in a few cases, made here, with
// the host's privilege, for a process of the container that waits in the
// kernel meanwhile (seccomp user notifications, SECCOMP_RET_USER_NOTIF).
//
// Each filtered process tree has a listener fd (the init's, and one per
// exec'd process: a filter is inherited only by a filtered process's
// children). The native child sends it over STATE_DIR/seccomp.sock
// (SOCK_SEQPACKET, root's 0600, in the state directory, which the container
// cannot reach) with SCM_RIGHTS as it installs the filter
// (native/child/ids.c wr_op_seccomp_listener).
//
// What is made (src/plan/seccomp-notify.ts sends nothing else):
//   mknod, mknodat of a character device: /dev/null, zero, full, random,
//     urandom (1:3, 5, 7, 8, 9), tty (5:0); any other device EPERM, the
//     kernel's answer in a user namespace. (An overlay whiteout, 0:0, the
//     kernel makes itself in a user namespace since Linux 5.8: the filter
//     leaves it to it.) Not /dev/console (5:1) or /dev/ptmx (5:2), which
//     Incus allows: a container with a user namespace has no device
//     cgroup program in warren, so such a node on a file system the host
//     mounted (a directory rootfs, a bind) would open the host's console,
//     or a pty of the host's devpts.
//   setxattr, lsetxattr, fsetxattr of trusted.overlay.opaque = "y" (or "x")
//     on a directory; any other one-byte xattr goes on to the kernel
//     (SECCOMP_USER_NOTIF_FLAG_CONTINUE), which decides with the caller's
//     own credentials as if nothing had been intercepted.
//
// The caller is the only source of the arguments, and a hostile container
// root writes them: everything read from it is checked here, and the call
// is made as the caller would make it (see docs/security.md, "Intercepted
// calls"):
//   - the caller must have CAP_MKNOD (mknod) or CAP_SYS_ADMIN (setxattr) in
//     its own user namespace (its CapEff);
//   - the path is read from /proc/TID/mem once, and only that copy is used;
//   - pid reuse: /proc/TID/{mem,status,root,cwd,ns/mnt} are opened first,
//     then SECCOMP_IOCTL_NOTIF_ID_VALID says the notification (so the task)
//     is still there: the fds belong to the caller;
//   - a helper forked per call joins the caller's mount namespace, chroots
//     to its root and chdirs to its cwd (or takes the dirfd it passed), and
//     resolves the path with RESOLVE_NO_MAGICLINKS: symlinks resolve inside
//     the caller's root, never to a host path;
//   - it acts with the caller's fsuid, fsgid and groups (host ids), so the
//     node belongs to whoever the caller is; it resolves the path with no
//     capability, then has only the one the call needs (CAP_MKNOD,
//     CAP_SYS_ADMIN) plus, for mknod, the caller's CAP_DAC_OVERRIDE where
//     its user namespace maps the directory's owner and group (the
//     kernel's rule for capabilities in a user namespace);
//   - the caller's umask applies; a helper that hangs (a FUSE file system
//     of the container that never answers) is killed after 10 s (EIO).
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "../linux.h"
#include "intercept.h"

#if defined(__x86_64__)
#define NATIVE_AUDIT_ARCH 0xc000003eu
#else
#define NATIVE_AUDIT_ARCH 0xc00000b7u
#endif

#define MAX_PENDING 8
#define MAX_LISTENERS (INTERCEPT_MAX_FDS - 1 - MAX_PENDING)
#define HELPER_TIMEOUT_MS 10000

static int listen_fd = -1;
static int pending[MAX_PENDING];  // accepted connections, before their fd arrives
static int listeners[MAX_LISTENERS];
static struct seccomp_notif_sizes sizes;

int intercept_open(const char *name) {
  for (int i = 0; i < MAX_PENDING; i++) pending[i] = -1;
  for (int i = 0; i < MAX_LISTENERS; i++) listeners[i] = -1;
  if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) < 0) return -1;
  int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(name) >= sizeof sa.sun_path) {
    errno = ENAMETOOLONG;
    return -1;
  }
  strcpy(sa.sun_path, name);
  unlink(name);
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || chmod(name, 0600) < 0 || listen(fd, 16) < 0) return -1;
  listen_fd = fd;
  return 0;
}

int intercept_pollfds(struct pollfd *pfd) {
  int n = 0;
  if (listen_fd < 0) return 0;
  pfd[n++] = (struct pollfd){.fd = listen_fd, .events = POLLIN};
  for (int i = 0; i < MAX_PENDING; i++)
    if (pending[i] >= 0) pfd[n++] = (struct pollfd){.fd = pending[i], .events = POLLIN};
  for (int i = 0; i < MAX_LISTENERS; i++)
    if (listeners[i] >= 0) pfd[n++] = (struct pollfd){.fd = listeners[i], .events = POLLIN};
  return n;
}

static void accept_one(void) {
  int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (fd < 0) return;
  // Only host root (warren) may hand us a listener; the directory already
  // keeps everyone else out.
  struct ucred cred;
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.uid != geteuid()) {
    close(fd);
    return;
  }
  for (int i = 0; i < MAX_PENDING; i++) {
    if (pending[i] < 0) {
      pending[i] = fd;
      return;
    }
  }
  close(fd);
}

static void add_listener(int fd) {
  for (int i = 0; i < MAX_LISTENERS; i++) {
    if (listeners[i] < 0) {
      listeners[i] = fd;
      return;
    }
  }
  // Full: that process's intercepted calls fail with ENOSYS.
  close(fd);
}

static void receive_listener(int slot) {
  char byte;
  union {
    struct cmsghdr align;
    char bytes[CMSG_SPACE(4 * sizeof(int))];
  } control;
  struct iovec iov = {&byte, 1};
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.bytes, .msg_controllen = sizeof control.bytes};
  ssize_t n = recvmsg(pending[slot], &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); n > 0 && cm; cm = CMSG_NXTHDR(&mh, cm)) {
    if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) continue;
    size_t nfds = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < nfds; i++) {
      int fd;
      memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof fd);
      if (i == 0 && byte == 'L') add_listener(fd);
      else close(fd);
    }
  }
  close(pending[slot]);
  pending[slot] = -1;
}

// ---- what the caller is -------------------------------------------------

struct caller {
  pid_t tid;
  uint64_t cap_eff;
  unsigned fsuid, fsgid, umask_bits;
  gid_t groups[64];
  int ngroups;
  // Host ids its user namespace maps (its uid_map, gid_map as we see them).
  struct { unsigned long first, count; } uids[16], gids[16];
  int nuids, ngids;
  int mem_fd, root_fd, cwd_fd, mnt_fd;
};

static int read_file(const char *path, char *buf, size_t size) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, size - 1);
  close(fd);
  if (n < 0) return -1;
  buf[n] = 0;
  return 0;
}

static int read_map(pid_t tid, const char *kind, unsigned long (*out)[2], int max) {
  char path[64], buf[4096];
  snprintf(path, sizeof path, "/proc/%d/%s", (int)tid, kind);
  if (read_file(path, buf, sizeof buf) < 0) return -1;
  int n = 0;
  char *p = buf;
  unsigned long inside, first, count;
  int used;
  while (n < max && sscanf(p, "%lu %lu %lu%n", &inside, &first, &count, &used) == 3) {
    out[n][0] = first;
    out[n][1] = count;
    n++;
    p += used;
  }
  return n;
}

static int mapped(const struct caller *c, int gid, unsigned long id) {
  int n = gid ? c->ngids : c->nuids;
  for (int i = 0; i < n; i++) {
    unsigned long first = gid ? c->gids[i].first : c->uids[i].first;
    unsigned long count = gid ? c->gids[i].count : c->uids[i].count;
    if (id >= first && id - first < count) return 1;
  }
  return 0;
}

static void caller_close(struct caller *c) {
  int *fds[] = {&c->mem_fd, &c->root_fd, &c->cwd_fd, &c->mnt_fd};
  for (size_t i = 0; i < sizeof fds / sizeof *fds; i++) {
    if (*fds[i] >= 0) close(*fds[i]);
    *fds[i] = -1;
  }
}

// Everything about the caller that the call needs, opened before the
// notification is checked for validity (so it is the caller's).
static int caller_open(struct caller *c, pid_t tid) {
  char path[64], status[8192];
  memset(c, 0, sizeof *c);
  c->tid = tid;
  c->mem_fd = c->root_fd = c->cwd_fd = c->mnt_fd = -1;
  snprintf(path, sizeof path, "/proc/%d/mem", (int)tid);
  c->mem_fd = open(path, O_RDONLY | O_CLOEXEC);
  snprintf(path, sizeof path, "/proc/%d/root", (int)tid);
  c->root_fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  snprintf(path, sizeof path, "/proc/%d/cwd", (int)tid);
  c->cwd_fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  snprintf(path, sizeof path, "/proc/%d/ns/mnt", (int)tid);
  c->mnt_fd = open(path, O_RDONLY | O_CLOEXEC);
  snprintf(path, sizeof path, "/proc/%d/status", (int)tid);
  if (c->mem_fd < 0 || c->root_fd < 0 || c->cwd_fd < 0 || c->mnt_fd < 0 || read_file(path, status, sizeof status) < 0) return -1;
  int have = 0;
  for (char *line = status; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
    unsigned a, b, cc, d;
    unsigned long long caps;
    if (sscanf(line, "Uid: %u %u %u %u", &a, &b, &cc, &d) == 4) c->fsuid = d, have |= 1;
    else if (sscanf(line, "Gid: %u %u %u %u", &a, &b, &cc, &d) == 4) c->fsgid = d, have |= 2;
    else if (sscanf(line, "Umask: %o", &a) == 1) c->umask_bits = a & 0777, have |= 4;
    else if (sscanf(line, "CapEff: %llx", &caps) == 1) c->cap_eff = caps, have |= 8;
    else if (strncmp(line, "Groups:", 7) == 0) {
      char *p = line + 7, *end;
      while (c->ngroups < 64) {
        unsigned long g = strtoul(p, &end, 10);
        if (end == p || (*end != ' ' && *end != '\n' && *end != '\t' && *end != 0)) break;
        c->groups[c->ngroups++] = (gid_t)g;
        p = end;
      }
    }
  }
  if (have != 15) return -1;
  unsigned long map[16][2];
  c->nuids = read_map(tid, "uid_map", map, 16);
  for (int i = 0; i < c->nuids; i++) c->uids[i].first = map[i][0], c->uids[i].count = map[i][1];
  c->ngids = read_map(tid, "gid_map", map, 16);
  for (int i = 0; i < c->ngids; i++) c->gids[i].first = map[i][0], c->gids[i].count = map[i][1];
  return c->nuids < 0 || c->ngids < 0 ? -1 : 0;
}

// A NUL-terminated string of at most `size` bytes (with the NUL) from the
// caller's memory, a page at a time (the string may end before an
// unmapped page). 0, or a positive errno.
static int read_string(const struct caller *c, uint64_t addr, char *out, size_t size) {
  size_t have = 0;
  while (have < size) {
    size_t chunk = 4096 - ((addr + have) & 4095);
    if (chunk > size - have) chunk = size - have;
    ssize_t n = pread(c->mem_fd, out + have, chunk, (off_t)(addr + have));
    if (n <= 0) return EFAULT;
    void *nul = memchr(out + have, 0, (size_t)n);
    if (nul) return 0;
    have += (size_t)n;
  }
  return ENAMETOOLONG;
}

// ---- the helper ------------------------------------------------------------

static int set_caps(uint64_t effective) {
  struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct d[2];
  if (syscall(SYS_capget, &h, d) < 0) return -1;
  d[0].effective = (uint32_t)effective & d[0].permitted;
  d[1].effective = (uint32_t)(effective >> 32) & d[1].permitted;
  return (int)syscall(SYS_capset, &h, d);
}

#define CAPBIT(n) ((uint64_t)1 << (n))
#define DAC_CAPS (CAPBIT(CAP_DAC_OVERRIDE) | CAPBIT(CAP_DAC_READ_SEARCH))

// In the forked helper: the caller's mount namespace, root and working
// directory, its file system ids and groups, and no capability while the
// path is resolved. The caller's own DAC capabilities would apply only to
// files whose owners its user namespace maps, which a walk with host
// capabilities cannot tell apart: fail closed, a lookup the caller could
// make only by its capabilities fails (EACCES). Each call then raises what
// it needs on the one directory it found.
static int become_caller(const struct caller *c) {
  if (setns(c->mnt_fd, CLONE_NEWNS) < 0) return errno;
  if (fchdir(c->root_fd) < 0 || chroot(".") < 0) return errno;
  if (fchdir(c->cwd_fd) < 0) return errno;
  if (setgroups((size_t)c->ngroups, c->groups) < 0) return errno;
  setfsgid(c->fsgid);
  if ((unsigned)setfsgid((gid_t)-1) != c->fsgid) return EPERM;
  setfsuid(c->fsuid);
  if ((unsigned)setfsuid((uid_t)-1) != c->fsuid) return EPERM;
  if (set_caps(0) < 0) return errno;
  umask(c->umask_bits);
  return 0;
}

static long open2(int dirfd, const char *path, int flags) {
  struct wr_open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC), .mode = 0, .resolve = WR_RESOLVE_NO_MAGICLINKS};
  return syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}

// Capabilities the caller's user namespace would let it use on `st`.
static uint64_t caps_on(const struct caller *c, const struct stat *st) {
  return mapped(c, 0, st->st_uid) && mapped(c, 1, st->st_gid) ? c->cap_eff & DAC_CAPS : 0;
}

// A helper process does `fn`; its exit status is the errno. Waits at most
// HELPER_TIMEOUT_MS.
static int in_helper(int (*fn)(const struct caller *, const void *), const struct caller *c, const void *arg) {
  pid_t pid = fork();
  if (pid < 0) return errno;
  if (pid == 0) {
    signal(SIGPIPE, SIG_DFL);
    _exit(fn(c, arg) & 0xff);
  }
  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (pidfd >= 0) {
    struct pollfd p = {.fd = pidfd, .events = POLLIN};
    int r;
    do r = poll(&p, 1, HELPER_TIMEOUT_MS); while (r < 0 && errno == EINTR);
    close(pidfd);
    if (r == 0) kill(pid, SIGKILL);
  }
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  if (!WIFEXITED(status)) return EIO;
  return WEXITSTATUS(status);
}

struct mknod_args {
  int dirfd;  // AT_FDCWD, or the caller's directory reopened from /proc/TID/fd
  const char *path;
  mode_t mode;
  dev_t dev;
};

static int do_mknod(const struct caller *c, const void *p) {
  const struct mknod_args *a = p;
  int err = become_caller(c);
  if (err) return err;
  size_t len = strlen(a->path);
  if (len == 0 || a->path[len - 1] == '/') return ENOENT;
  char dir[4096];
  const char *slash = strrchr(a->path, '/');
  const char *name = slash ? slash + 1 : a->path;
  if (!slash) strcpy(dir, ".");
  else if (slash == a->path) strcpy(dir, "/");
  else {
    memcpy(dir, a->path, (size_t)(slash - a->path));
    dir[slash - a->path] = 0;
  }
  if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) return EEXIST;
  long fd = open2(a->dirfd, dir, O_PATH | O_DIRECTORY);
  if (fd < 0) return errno;
  struct stat st;
  if (fstat((int)fd, &st) < 0) return errno;
  if (set_caps(CAPBIT(CAP_MKNOD) | (caps_on(c, &st) & CAPBIT(CAP_DAC_OVERRIDE))) < 0) return errno;
  if (mknodat((int)fd, name, a->mode, a->dev) < 0) return errno;
  return 0;
}

struct xattr_args {
  int fd;  // fsetxattr: the caller's fd reopened from /proc/TID/fd (O_PATH)
  const char *path;
  int follow;
  const char *name;
  char value;
  int flags;
};

static int do_setxattr(const struct caller *c, const void *p) {
  const struct xattr_args *a = p;
  int err = become_caller(c);
  if (err) return err;
  long fd;
  if (a->fd >= 0) fd = open2(a->fd, ".", O_RDONLY | O_DIRECTORY);
  else fd = open2(AT_FDCWD, a->path, O_RDONLY | O_DIRECTORY | (a->follow ? 0 : O_NOFOLLOW));
  // Not a directory: overlayfs reads the xattr on directories only, and
  // the kernel would refuse a trusted.* xattr to the caller anyway.
  if (fd < 0) return errno == ENOTDIR || errno == ELOOP ? EPERM : errno;
  struct stat st;
  if (fstat((int)fd, &st) < 0) return errno;
  // Only on what the caller's namespace owns (what its CAP_SYS_ADMIN there covers).
  if (!mapped(c, 0, st.st_uid) || !mapped(c, 1, st.st_gid)) return EPERM;
  if (set_caps(CAPBIT(CAP_SYS_ADMIN)) < 0) return errno;
  if (fsetxattr((int)fd, a->name, &a->value, 1, a->flags) < 0) return errno;
  return 0;
}

// ---- one notification ----------------------------------------------------

static int device_allowed(dev_t dev) {
  static const unsigned allowed[][2] = {{1, 3}, {1, 5}, {1, 7}, {1, 8}, {1, 9}, {5, 0}};
  for (size_t i = 0; i < sizeof allowed / sizeof *allowed; i++)
    if (major(dev) == allowed[i][0] && minor(dev) == allowed[i][1]) return 1;
  return 0;
}

// The caller's fd `fd` (its table, as /proc/TID/fd shows it), reopened as
// O_PATH; -1 unless the notification is still pending once it is open (so
// it was the caller's table, not a reused pid's).
static int caller_fd(const struct caller *c, int fd, int listener, uint64_t id) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)c->tid, fd);
  int r = open(path, O_PATH | O_CLOEXEC);
  if (r >= 0 && ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) < 0) {
    close(r);
    return -1;
  }
  return r;
}

// Fills resp: error (negative errno), or flags CONTINUE.
static void handle(int listener, struct seccomp_notif *req, struct seccomp_notif_resp *resp) {
  const struct seccomp_data *d = &req->data;
  int is_xattr = 0, follow = 1, at = 0;
  if (d->arch != NATIVE_AUDIT_ARCH) goto eperm;
#ifdef SYS_mknod
  if (d->nr == SYS_mknod) at = 0;
  else
#endif
  if (d->nr == SYS_mknodat) at = 1;
  else if (d->nr == SYS_setxattr) is_xattr = 1;
  else if (d->nr == SYS_lsetxattr) is_xattr = 1, follow = 0;
  else if (d->nr == SYS_fsetxattr) is_xattr = 2;
  else goto eperm;

  struct caller c;
  if (caller_open(&c, (pid_t)req->pid) < 0 || ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &req->id) < 0) {
    caller_close(&c);
    resp->error = -EPERM;
    return;
  }
  int err = 0;
  if (!is_xattr) {
    mode_t mode = (mode_t)(uint32_t)d->args[at + 1];
    // The kernel's new_decode_dev: mknod takes the device as an unsigned int.
    uint32_t raw = (uint32_t)d->args[at + 2];
    dev_t dev = makedev((raw & 0xfff00) >> 8, (raw & 0xff) | ((raw >> 12) & 0xfff00));
    char path[4096];
    int dirfd = AT_FDCWD;
    if (!S_ISCHR(mode) || !device_allowed(dev) || !(c.cap_eff & CAPBIT(CAP_MKNOD))) err = EPERM;
    else err = read_string(&c, d->args[at], path, sizeof path);
    if (!err && at && (int)d->args[0] != AT_FDCWD && path[0] != '/') {
      dirfd = caller_fd(&c, (int)d->args[0], listener, req->id);
      if (dirfd < 0) err = EBADF;
    }
    if (!err) {
      struct mknod_args a = {dirfd, path, (mode & ~(mode_t)S_IFMT & 07777) | S_IFCHR, dev};
      err = in_helper(do_mknod, &c, &a);
    }
    if (dirfd >= 0) close(dirfd);
  } else {
    char name[256], path[4096];
    char value;
    struct xattr_args a = {.fd = -1, .follow = follow, .flags = (int)d->args[4]};
    err = read_string(&c, d->args[1], name, sizeof name);
    if (!err && pread(c.mem_fd, &value, 1, (off_t)d->args[2]) != 1) err = EFAULT;
    if (!err && (strcmp(name, "trusted.overlay.opaque") != 0 || (value != 'y' && value != 'x'))) {
      // Not ours: the kernel decides with the caller's credentials.
      caller_close(&c);
      resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
      return;
    }
    if (!err && !(c.cap_eff & CAPBIT(CAP_SYS_ADMIN))) err = EPERM;
    if (!err && is_xattr == 2) {
      a.fd = caller_fd(&c, (int)d->args[0], listener, req->id);
      if (a.fd < 0) err = EBADF;
    } else if (!err) err = read_string(&c, d->args[0], path, sizeof path);
    if (!err) {
      a.path = path;
      a.name = name;
      a.value = value;
      err = in_helper(do_setxattr, &c, &a);
    }
    if (a.fd >= 0) close(a.fd);
  }
  caller_close(&c);
  resp->error = err ? -err : 0;
  return;
eperm:
  resp->error = -EPERM;
}

static int handle_one(int listener) {
  // The kernel's structs may be larger than ours (SECCOMP_GET_NOTIF_SIZES).
  size_t req_size = sizes.seccomp_notif > sizeof(struct seccomp_notif) ? sizes.seccomp_notif : sizeof(struct seccomp_notif);
  size_t resp_size = sizes.seccomp_notif_resp > sizeof(struct seccomp_notif_resp) ? sizes.seccomp_notif_resp : sizeof(struct seccomp_notif_resp);
  union {
    struct seccomp_notif n;
    char bytes[512];
  } req;
  union {
    struct seccomp_notif_resp r;
    char bytes[512];
  } resp;
  if (req_size > sizeof req || resp_size > sizeof resp) return -1;
  memset(&req, 0, sizeof req);
  if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req.n) < 0) return errno == ENOENT || errno == EINTR ? 0 : -1;
  memset(&resp, 0, sizeof resp);
  resp.r.id = req.n.id;
  handle(listener, &req.n, &resp.r);
  // ENOENT: the caller is gone (killed meanwhile); nothing to answer.
  ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp.r);
  return 0;
}

void intercept_events(struct pollfd *pfd, int n) {
  for (int k = 0; k < n; k++) {
    if (!pfd[k].revents) continue;
    int fd = pfd[k].fd;
    if (fd == listen_fd) {
      accept_one();
      continue;
    }
    for (int i = 0; i < MAX_PENDING; i++)
      if (pending[i] == fd) receive_listener(i);
    for (int i = 0; i < MAX_LISTENERS; i++) {
      if (listeners[i] != fd) continue;
      if (pfd[k].revents & POLLIN) {
        if (handle_one(fd) == 0) break;
      } else if (!(pfd[k].revents & (POLLHUP | POLLERR | POLLNVAL))) break;
      // Every process of its filter is gone (POLLHUP), or it is broken.
      close(fd);
      listeners[i] = -1;
    }
  }
}

void intercept_close(const char *name) {
  if (listen_fd < 0) return;
  unlink(name);
}
