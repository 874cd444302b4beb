// warren-monitor: the one small process a container may have beside it.
//
// It holds the master side of the container's console pty (so the console
// outlives the Node process that started the container), keeps the console's
// last output in a ring buffer, receives sd_notify datagrams on the socket
// the init finds in $NOTIFY_SOCKET, and serves both on a unix stream socket
// in the container's state directory. It exits when the init does, after
// writing how it ended to STATE_DIR/exit ("PID STATUS\n", STATUS the wait(2)
// status, "-" when unknown); with a restart hook it then becomes the hook
// (execv, the init's pid appended): warren's own CLI, which records the exit
// and applies the container's restart policy (src/container/restart.ts).
//
//   warren-monitor STATE_DIR RING_BYTES [console] [intercept] [-- HOOK ARGV...]
//   fd 3: the pty master (with "console")
//   fd 4: a pipe: "ok\n" once the sockets exist, or an error line
//
// The monitor is not the init's parent (the Node process that started it
// is, and after it whoever adopts orphans), so it cannot wait(2) for it. It
// learns the status through its pidfd (PIDFD_INFO_EXIT, Linux 6.15), which
// the kernel fills in once the init has been reaped, by whichever parent.
//
// Sockets: STATE_DIR/monitor.sock (stream), STATE_DIR/host/notify (datagram,
// bound read-only into the container at /run/host/notify). Only the
// container's processes may notify: the host side keeps other host users out
// of STATE_DIR/host, and each datagram's sender (SCM_CREDENTIALS) must be
// the init, or have a uid of the container's user namespace, or be a process
// in the container's pid namespace (each rule only where the container has
// that namespace of its own). Datagrams wait in the socket until the init
// is known ('P').
//
// Frames both ways: type (1 byte), length (2 bytes, little endian), payload.
//   client -> monitor: 'P' init pid (u32)  'A' attach console  'I' input
//                      'W' window size (u16 cols, u16 rows)  'L' console log
//                      'N' notify subscription
// When the init is gone the ring is written to STATE_DIR/console.log.
//
// With "intercept", it also answers the container's seccomp user
// notifications (security.intercept): intercept.c, which takes the
// listeners on STATE_DIR/seccomp.sock.
//
//   monitor -> client: 'O' console output  'L' log part  'E' log end
//                      'N' a notify datagram  'S' notify summary so far
//                      'X' console closed / init gone
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "../linux.h"
#include "intercept.h"

#define MAX_CLIENTS 32
#define FRAME_MAX 65535

struct client {
  int fd;
  int attached;
  int subscribed;
  unsigned char *in; /* client_in[slot] */
  size_t have;
};

/* The frame buffers, apart from the slots: a slot is small, so setting up
 * all of them and resetting one for a new client touch a page or two, not
 * 64 KiB each (that was most of a monitor's memory). A buffer's pages are
 * touched only as far as its client's frames reach. */
static unsigned char client_in[MAX_CLIENTS][3 + FRAME_MAX];

static unsigned char *ring;
static size_t ring_size, ring_start, ring_len;
static struct client clients[MAX_CLIENTS];
static int master_fd = -1, listen_fd = -1, notify_fd = -1, init_pidfd = -1;
static pid_t init_pid;
// The init's pid namespace (st_dev, st_ino of /proc/PID/ns/pid); 0 when it
// is the monitor's own, where a namespace says nothing about the sender.
static dev_t init_ns_dev;
static ino_t init_ns_ino;
// Host uids of the init's user namespace (its uid_map as we see it); none
// when the init shares ours, where every uid would map.
#define MAX_UID_RANGES 8
static struct { unsigned long first, count; } uid_ranges[MAX_UID_RANGES];
static int n_uid_ranges;
static char summary[4096];
static size_t summary_len;
static char sock_path[4096], notify_path[4096];
static int intercepting;
#define INTERCEPT_SOCKET "seccomp.sock"
static const char *state_dir; // also the working directory
static char **hook;              // argv of the restart hook, NULL-terminated; NULL for none
// After the init's exit: waiting until its parent has reaped it (then the
// kernel has its status), from `exited_at` on.
static int init_exited;
static struct timespec exited_at;

static void ring_put(const unsigned char *p, size_t n) {
  if (n >= ring_size) {
    p += n - ring_size;
    n = ring_size;
  }
  for (size_t i = 0; i < n; i++) {
    size_t at = (ring_start + ring_len) % ring_size;
    ring[at] = p[i];
    if (ring_len < ring_size) ring_len++;
    else ring_start = (ring_start + 1) % ring_size;
  }
}

static void drop(struct client *c) {
  if (c->fd >= 0) close(c->fd);
  c->fd = -1;
}

// A frame to one client. A client that cannot take it now is dropped: a
// console reader must not stall the container's console.
static void send_frame(struct client *c, char type, const void *p, size_t n) {
  while (n > 0 || type) {
    size_t part = n > FRAME_MAX ? FRAME_MAX : n;
    unsigned char hdr[3] = {(unsigned char)type, (unsigned char)(part & 0xff), (unsigned char)(part >> 8)};
    struct iovec iov[2] = {{hdr, 3}, {(void *)p, part}};
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
    ssize_t w = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w != (ssize_t)(3 + part)) {
      drop(c);
      return;
    }
    p = (const char *)p + part;
    n -= part;
    if (n == 0) break;
  }
}

static void broadcast(char type, const void *p, size_t n, int attached, int subscribed) {
  for (int i = 0; i < MAX_CLIENTS; i++) {
    struct client *c = &clients[i];
    if (c->fd < 0) continue;
    if ((attached && c->attached) || (subscribed && c->subscribed)) send_frame(c, type, p, n);
  }
}

static void send_log(struct client *c) {
  size_t first = ring_len;
  if (ring_start + first > ring_size) first = ring_size - ring_start;
  if (first) send_frame(c, 'L', ring + ring_start, first);
  if (c->fd >= 0 && ring_len > first) send_frame(c, 'L', ring, ring_len - first);
  if (c->fd >= 0) send_frame(c, 'E', "", 0);
}

static void read_master(void) {
  unsigned char buf[16384];
  for (;;) {
    ssize_t n = read(master_fd, buf, sizeof buf);
    if (n > 0) {
      ring_put(buf, (size_t)n);
      broadcast('O', buf, (size_t)n, 1, 0);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    // EIO: no process has the console open any more.
    close(master_fd);
    master_fd = -1;
    return;
  }
}

// Whether a datagram from host pid `pid` comes from the container. The pid
// was translated into our pid namespace by the kernel as it was received.
// A sender other than the init must still exist when it is read (systemd's
// NotifyAccess=all has the same rule; systemd-notify waits on a barrier).
static int from_container(pid_t pid, uid_t uid) {
  if (pid <= 0) return 0;
  if (pid == init_pid) return 1;
  for (int i = 0; i < n_uid_ranges; i++)
    if (uid >= uid_ranges[i].first && uid - uid_ranges[i].first < uid_ranges[i].count) return 1;
  if (init_ns_ino == 0) return 0;
  char path[64];
  struct stat st;
  snprintf(path, sizeof path, "/proc/%d/ns/pid", (int)pid);
  return stat(path, &st) == 0 && st.st_dev == init_ns_dev && st.st_ino == init_ns_ino;
}

// Closes descriptors a sender passed (systemd-notify's BARRIER=1 pipe): the
// close is what releases its barrier.
static void close_passed_fds(struct msghdr *mh) {
  for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
    if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) continue;
    size_t nfds = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < nfds; i++) {
      int fd;
      memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof fd);
      close(fd);
    }
  }
}

static struct ucred sender(struct msghdr *mh) {
  struct ucred cred = {0, (uid_t)-1, (gid_t)-1};
  for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm))
    if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_CREDENTIALS) memcpy(&cred, CMSG_DATA(cm), sizeof cred);
  return cred;
}

// Whether `pid` has a namespace of `kind` other than ours (its id in *st).
static int own_namespace(pid_t pid, const char *kind, struct stat *st) {
  char path[64], self[64];
  struct stat mine;
  snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)pid, kind);
  snprintf(self, sizeof self, "/proc/self/ns/%s", kind);
  if (stat(path, st) < 0 || stat(self, &mine) < 0) return 0;
  return st->st_dev != mine.st_dev || st->st_ino != mine.st_ino;
}

// What identifies the container's processes, read from its init once known.
static void learn_init(pid_t pid) {
  char path[64];
  struct stat st;
  init_pid = pid;
  if (own_namespace(pid, "pid", &st)) {
    init_ns_dev = st.st_dev;
    init_ns_ino = st.st_ino;
  }
  if (!own_namespace(pid, "user", &st)) return;
  snprintf(path, sizeof path, "/proc/%d/uid_map", (int)pid);
  FILE *f = fopen(path, "re");
  if (!f) return;
  unsigned long inside, first, count;
  while (n_uid_ranges < MAX_UID_RANGES && fscanf(f, "%lu %lu %lu", &inside, &first, &count) == 3) {
    uid_ranges[n_uid_ranges].first = first;
    uid_ranges[n_uid_ranges].count = count;
    n_uid_ranges++;
  }
  fclose(f);
}

static void read_notify(void) {
  char buf[4096];
  for (;;) {
    union {
      struct cmsghdr align;
      char bytes[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(16 * sizeof(int))];
    } control;
    struct iovec iov = {buf, sizeof buf};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.bytes, .msg_controllen = sizeof control.bytes};
    ssize_t n = recvmsg(notify_fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0) return;
    close_passed_fds(&mh);
    struct ucred cred = sender(&mh);
    if (!from_container(cred.pid, cred.uid)) continue;
    // Keep the state lines that matter for readiness, newest last.
    const char *keys[] = {"READY=", "STATUS=", "STOPPING=", "RELOADING=", "ERRNO="};
    char *save = NULL, copy[4097];
    memcpy(copy, buf, (size_t)n);
    copy[n] = 0;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
      for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
        if (strncmp(line, keys[k], strlen(keys[k])) != 0) continue;
        size_t l = strlen(line);
        if (summary_len + l + 1 < sizeof summary) {
          memcpy(summary + summary_len, line, l);
          summary_len += l;
          summary[summary_len++] = '\n';
        }
      }
    }
    broadcast('N', buf, (size_t)n, 0, 1);
  }
}

static void finish(void);

static void handle_frame(struct client *c, char type, const unsigned char *p, size_t n) {
  switch (type) {
    case 'P':
      if (n == 4 && init_pidfd < 0) {
        uint32_t pid;
        memcpy(&pid, p, 4);
        init_pidfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
        // Already reaped: nothing to watch, no status to learn.
        if (init_pidfd < 0) finish();
        learn_init((pid_t)pid);
        if (hook) {
          static char pid_arg[16];
          snprintf(pid_arg, sizeof pid_arg, "%u", pid);
          int k = 0;
          while (hook[k]) k++;
          hook[k] = pid_arg;
        }
      }
      break;
    case 'A':
      c->attached = 1;
      if (master_fd < 0) send_frame(c, 'X', "", 0);
      break;
    case 'I':
      if (master_fd >= 0 && n) {
        ssize_t w = write(master_fd, p, n);
        (void)w;
      }
      break;
    case 'W':
      if (master_fd >= 0 && n == 4) {
        struct winsize ws = {0};
        ws.ws_col = (unsigned short)(p[0] | (p[1] << 8));
        ws.ws_row = (unsigned short)(p[2] | (p[3] << 8));
        ioctl(master_fd, TIOCSWINSZ, &ws);
      }
      break;
    case 'L':
      send_log(c);
      break;
    case 'N':
      c->subscribed = 1;
      send_frame(c, 'S', summary, summary_len);
      break;
    default:
      drop(c);
  }
}

static void read_client(struct client *c) {
  ssize_t n = recv(c->fd, c->in + c->have, sizeof client_in[0] - c->have, MSG_DONTWAIT);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
    drop(c);
    return;
  }
  if (n < 0) return;
  c->have += (size_t)n;
  while (c->fd >= 0 && c->have >= 3) {
    size_t len = (size_t)c->in[1] | ((size_t)c->in[2] << 8);
    if (c->have < 3 + len) break;
    handle_frame(c, (char)c->in[0], c->in + 3, len);
    if (c->fd < 0) return;
    memmove(c->in, c->in + 3 + len, c->have - 3 - len);
    c->have -= 3 + len;
  }
}

static int bind_socket(int type, const char *path, int backlog) {
  int fd = socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof sa.sun_path) {
    errno = ENAMETOOLONG;
    return -1;
  }
  strcpy(sa.sun_path, path);
  unlink(path);
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) return -1;
  // Anyone in the container may notify (the directory keeps host users
  // out); the stream socket is root's.
  if (chmod(path, backlog ? 0600 : 0666) < 0) return -1;
  if (backlog && listen(fd, backlog) < 0) return -1;
  // Each datagram then carries its sender's credentials.
  int on = 1;
  if (!backlog && setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof on) < 0) return -1;
  return fd;
}

// The ring, kept after the container stops (for consoleLog() then).
static void save_log(void) {
  char path[4200], tmp[4300];
  snprintf(path, sizeof path, "console.log");
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return;
  size_t first = ring_len;
  if (ring_start + first > ring_size) first = ring_size - ring_start;
  int ok = write(fd, ring + ring_start, first) == (ssize_t)first;
  if (ok && ring_len > first) ok = write(fd, ring, ring_len - first) == (ssize_t)(ring_len - first);
  close(fd);
  if (ok) rename(tmp, path);
  else unlink(tmp);
}

// STATE_DIR/exit, replaced atomically: how the init ended, for any process
// that looks later (the init's parent may be gone, and with it the status).
static void save_exit(const char *status) {
  char text[64];
  int len = snprintf(text, sizeof text, "%d %s\n", (int)init_pid, status);
  int fd = open("exit.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return;
  int ok = write(fd, text, (size_t)len) == len;
  close(fd);
  if (ok) rename("exit.tmp", "exit");
  else unlink("exit.tmp");
}

// The init's wait status once it has been reaped: 1 known, 0 not reaped
// yet, -1 never (a kernel before 6.15).
static int reaped_status(int *status) {
  struct wr_pidfd_info pi;
  memset(&pi, 0, sizeof pi);
  pi.mask = WR_PIDFD_INFO_EXIT;
  if (ioctl(init_pidfd, WR_PIDFD_GET_INFO, &pi) < 0) return -1;
  if (!(pi.mask & WR_PIDFD_INFO_EXIT)) return 0;
  *status = pi.exit_code;
  return 1;
}

static void finish(void) {
  if (master_fd >= 0) read_master();
  save_log();
  broadcast('X', "", 0, 1, 1);
  unlink(sock_path);
  unlink(notify_path);
  if (intercepting) intercept_close(INTERCEPT_SOCKET);
  // No hook after a stop through warren (src/container/exit-status.ts STOP_MARK).
  if (!hook || init_pidfd < 0 || access("stop-requested", F_OK) == 0) exit(0);
  // The hook starts clean: no socket, pty or pidfd of ours, stdio on
  // /dev/null (as posix_spawn left it), outside the state directory.
  syscall(SYS_close_range, 3, ~0U, 0);
  if (chdir("/") < 0) exit(1);
  execv(hook[0], hook);
  exit(1);
}

static long ms_since(const struct timespec *t) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (now.tv_sec - t->tv_sec) * 1000 + (now.tv_nsec - t->tv_nsec) / 1000000;
}

// The init is gone: once its status is known (or after 5 s, when its
// parent does not reap it), record it and finish.
static void check_exit(void) {
  if (!init_exited) {
    init_exited = 1;
    clock_gettime(CLOCK_MONOTONIC, &exited_at);
  }
  int status = 0;
  int r = reaped_status(&status);
  if (r == 0 && ms_since(&exited_at) < 5000) return;
  char text[16];
  if (r == 1) snprintf(text, sizeof text, "%d", status);
  else snprintf(text, sizeof text, "-");
  save_exit(text);
  finish();
}

int main(int argc, char **argv) {
  int args = argc;
  for (int i = 3; i < argc; i++) {
    if (strcmp(argv[i], "--") != 0) continue;
    args = i;
    if (i + 1 < argc) {
      // The hook's argv with the init's pid appended (filled in at 'P').
      hook = calloc((size_t)(argc - i + 1), sizeof *hook);
      for (int k = i + 1; k < argc; k++) hook[k - i - 1] = argv[k];
    }
    break;
  }
  int console = 0, usage = args < 3;
  for (int i = 3; i < args; i++) {
    if (strcmp(argv[i], "console") == 0 && !console) console = 1;
    else if (strcmp(argv[i], "intercept") == 0 && !intercepting) intercepting = 1;
    else usage = 1;
  }
  if (usage) {
    fprintf(stderr, "usage: warren-monitor STATE_DIR RING_BYTES [console] [intercept] [-- HOOK ARGV...]\n");
    return 2;
  }
  // The process that spawned us, until it tells us the init (then the
  // init is what we follow).
  pid_t starter = getppid();
  signal(SIGPIPE, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  signal(SIGINT, SIG_IGN);
  ring_size = (size_t)strtoul(argv[2], NULL, 10);
  if (ring_size < 1024) ring_size = 1024;
  ring = malloc(ring_size);
  for (int i = 0; i < MAX_CLIENTS; i++) clients[i].fd = -1;
  int status_fd = 4;
  if (console) {
    master_fd = 3;
    fcntl(master_fd, F_SETFL, fcntl(master_fd, F_GETFL) | O_NONBLOCK);
  }
  // Nothing else of the parent's stays open here.
  if (master_fd < 0) close(3);
  syscall(SYS_close_range, 5, ~0U, 0);
  state_dir = argv[1];
  // Sockets are bound by names relative to the state directory: a unix
  // socket's path must fit in 108 bytes, the state directory's need not.
  if (chdir(state_dir) < 0) {
    dprintf(status_fd, "error: chdir %s: %s\n", state_dir, strerror(errno));
    return 1;
  }
  snprintf(sock_path, sizeof sock_path, "monitor.sock");
  snprintf(notify_path, sizeof notify_path, "host/notify");
  listen_fd = bind_socket(SOCK_STREAM, sock_path, 16);
  if (listen_fd >= 0) notify_fd = bind_socket(SOCK_DGRAM, notify_path, 0);
  if (listen_fd < 0 || notify_fd < 0) {
    dprintf(status_fd, "error: bind %s: %s\n", listen_fd < 0 ? sock_path : notify_path, strerror(errno));
    return 1;
  }
  if (intercepting && intercept_open(INTERCEPT_SOCKET) < 0) {
    dprintf(status_fd, "error: bind %s: %s\n", INTERCEPT_SOCKET, strerror(errno));
    return 1;
  }
  // A slave end of our own: without it the master reads EIO (and the pty
  // dies with our close) whenever the container has no fd of its console
  // open, as when systemd points its stdio at /dev/null and reopens
  // /dev/console for each message.
  if (master_fd >= 0 && ioctl(master_fd, WR_TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC) < 0) {
    dprintf(status_fd, "error: open the console's slave: %s\n", strerror(errno));
    return 1;
  }
  if (write(status_fd, "ok\n", 3) != 3) return 1;
  close(status_fd);

  time_t started = time(NULL);
  for (;;) {
    struct pollfd pfd[4 + MAX_CLIENTS + INTERCEPT_MAX_FDS];
    int n = 0, imaster = -1, ilisten, inotify, ipid = -1;
    if (master_fd >= 0) {
      imaster = n;
      pfd[n++] = (struct pollfd){.fd = master_fd, .events = POLLIN};
    }
    ilisten = n;
    pfd[n++] = (struct pollfd){.fd = listen_fd, .events = POLLIN};
    // Until the init is known a sender cannot be checked: its datagrams wait.
    inotify = n;
    pfd[n++] = (struct pollfd){.fd = notify_fd, .events = init_pidfd >= 0 ? POLLIN : 0};
    if (init_pidfd >= 0 && !init_exited) {
      ipid = n;
      pfd[n++] = (struct pollfd){.fd = init_pidfd, .events = POLLIN};
    }
    int first_client = n, cidx[MAX_CLIENTS];
    for (int i = 0; i < MAX_CLIENTS; i++) {
      if (clients[i].fd < 0) continue;
      cidx[n - first_client] = i;
      pfd[n++] = (struct pollfd){.fd = clients[i].fd, .events = POLLIN};
    }
    int first_intercept = n;
    int n_intercept = intercepting ? intercept_pollfds(pfd + n) : 0;
    n += n_intercept;
    int r = poll(pfd, (nfds_t)n, init_exited ? 10 : 1000);
    if (init_exited) check_exit();
    if (r < 0 && errno != EINTR) return 1;
    // Never told which process to follow: its starter died before saying
    // (we were reparented), or never says.
    if (init_pidfd < 0 && (getppid() != starter || time(NULL) - started > 60)) finish();
    if (r <= 0) continue;
    if (imaster >= 0 && pfd[imaster].revents) read_master();
    if (pfd[inotify].revents & POLLIN) read_notify();
    if (pfd[ilisten].revents & POLLIN) {
      int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd >= 0) {
        int slot = -1;
        for (int i = 0; i < MAX_CLIENTS && slot < 0; i++)
          if (clients[i].fd < 0) slot = i;
        if (slot < 0) close(fd);
        else clients[slot] = (struct client){.fd = fd, .in = client_in[slot]};
      }
    }
    if (n_intercept) intercept_events(pfd + first_intercept, n_intercept);
    for (int k = first_client; k < first_intercept; k++) {
      struct client *c = &clients[cidx[k - first_client]];
      // Dropped (and maybe replaced) during this round: not this pollfd's any more.
      if (c->fd != pfd[k].fd || !pfd[k].revents) continue;
      read_client(c);
    }
    if (ipid >= 0 && (pfd[ipid].revents & POLLIN)) check_exit();
  }
}
