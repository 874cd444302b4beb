// Small syscalls Node lacks: pidfds, flock, pty plumbing. Each throws an
// Error carrying `errno` (positive) and `syscall`; src/native/binding.ts
// turns that into Node's usual code names.
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <string>
#include <vector>

extern char **environ;

#include "linux.h"
#include "napi-util.h"
#include "spawn.h"

namespace warren {

namespace {

// pidfdOpen(pid, park?): a pidfd kept for as long as the process lives
// (park) goes above the fds a start needs (ParkFd).
Napi::Value PidfdOpen(const Napi::CallbackInfo &info) {
  int fd = (int)syscall(SYS_pidfd_open, IntArg(info, 0), 0);
  if (fd < 0) throw ErrnoError(info.Env(), "pidfd_open", errno);
  if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {}
  if (info.Length() > 1 && info[1].ToBoolean().Value()) fd = ParkFd(fd);
  return Napi::Number::New(info.Env(), fd);
}

// dupLow(fd): a close-on-exec copy at the lowest free number, for a parked
// fd that a child is to inherit (its copy of our table ends at its highest).
Napi::Value DupLow(const Napi::CallbackInfo &info) {
  int fd = fcntl(IntArg(info, 0), F_DUPFD_CLOEXEC, 0);
  if (fd < 0) throw ErrnoError(info.Env(), "fcntl(F_DUPFD_CLOEXEC)", errno);
  return Napi::Number::New(info.Env(), fd);
}

// dupParked(fd): a close-on-exec copy among the parked fds, for an
// operation that must keep a process's pidfd of its own while it awaits.
// Where ParkFd would leave an fd low (a limit under kParkedFdBase, or
// nothing free above it), the copy is made low too.
Napi::Value DupParked(const Napi::CallbackInfo &info) {
  int from = IntArg(info, 0);
  int fd = fcntl(from, F_DUPFD_CLOEXEC, kParkedFdBase);
  if (fd < 0 && (errno == EINVAL || errno == EMFILE)) fd = fcntl(from, F_DUPFD_CLOEXEC, 0);
  if (fd < 0) throw ErrnoError(info.Env(), "fcntl(F_DUPFD_CLOEXEC)", errno);
  return Napi::Number::New(info.Env(), fd);
}

Napi::Value PidfdSendSignal(const Napi::CallbackInfo &info) {
  long rc = syscall(SYS_pidfd_send_signal, IntArg(info, 0), IntArg(info, 1), nullptr, 0);
  if (rc < 0) throw ErrnoError(info.Env(), "pidfd_send_signal", errno);
  return info.Env().Undefined();
}

// The wait(2) status of a reaped process, through a pidfd to it (see
// WR_PIDFD_GET_INFO): a number, or null while it is not reaped yet. Throws
// (ENOTTY, EINVAL) on kernels before 6.15, which keep no exit status.
Napi::Value PidfdExitStatus(const Napi::CallbackInfo &info) {
  struct wr_pidfd_info pi;
  memset(&pi, 0, sizeof pi);
  pi.mask = WR_PIDFD_INFO_EXIT;
  static_assert(sizeof pi == 64, "PIDFD_INFO_SIZE_VER0");
  if (ioctl(IntArg(info, 0), WR_PIDFD_GET_INFO, &pi) < 0) throw ErrnoError(info.Env(), "ioctl(PIDFD_GET_INFO)", errno);
  if (!(pi.mask & WR_PIDFD_INFO_EXIT)) return info.Env().Null();
  return Napi::Number::New(info.Env(), pi.exit_code);
}

Napi::Value CloseFd(const Napi::CallbackInfo &info) {
  if (close(IntArg(info, 0)) < 0 && errno != EINTR) throw ErrnoError(info.Env(), "close", errno);
  return info.Env().Undefined();
}

// flock(fd, exclusive) without blocking: true when taken, false when another
// holder has it. Callers retry with a timer so the event loop never blocks.
Napi::Value Flock(const Napi::CallbackInfo &info) {
  int fd = IntArg(info, 0);
  bool exclusive = info.Length() > 1 && info[1].ToBoolean().Value();
  int rc;
  do rc = flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB);
  while (rc < 0 && errno == EINTR);
  if (rc == 0) return Napi::Boolean::New(info.Env(), true);
  if (errno == EWOULDBLOCK) return Napi::Boolean::New(info.Env(), false);
  throw ErrnoError(info.Env(), "flock", errno);
}

// The peer of a pty master, opened through the master itself (no path
// lookup in a container's /dev/pts), after unlocking it.
Napi::Value PtyPeer(const Napi::CallbackInfo &info) {
  int master = IntArg(info, 0);
  int unlock = 0;
  if (ioctl(master, TIOCSPTLCK, &unlock) < 0) throw ErrnoError(info.Env(), "ioctl(TIOCSPTLCK)", errno);
  int peer = ioctl(master, WR_TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (peer < 0) throw ErrnoError(info.Env(), "ioctl(TIOCGPTPEER)", errno);
  return Napi::Number::New(info.Env(), peer);
}

// The number N of a pty master's slave, /dev/pts/N in the devpts it came from.
Napi::Value PtyNumber(const Napi::CallbackInfo &info) {
  unsigned int n = 0;
  if (ioctl(IntArg(info, 0), TIOCGPTN, &n) < 0) throw ErrnoError(info.Env(), "ioctl(TIOCGPTN)", errno);
  return Napi::Number::New(info.Env(), n);
}

Napi::Value SetWindowSize(const Napi::CallbackInfo &info) {
  struct winsize ws;
  memset(&ws, 0, sizeof ws);
  ws.ws_col = (unsigned short)IntArg(info, 1);
  ws.ws_row = (unsigned short)IntArg(info, 2);
  if (ioctl(IntArg(info, 0), TIOCSWINSZ, &ws) < 0) throw ErrnoError(info.Env(), "ioctl(TIOCSWINSZ)", errno);
  return info.Env().Undefined();
}

// pipe2(O_CLOEXEC): the ends handed to a container are dup'ed onto its
// stdio by the child (dup3 clears CLOEXEC there); ours stay close-on-exec.
Napi::Value Pipe(const Napi::CallbackInfo &info) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) < 0) throw ErrnoError(info.Env(), "pipe2", errno);
  Napi::Array out = Napi::Array::New(info.Env(), 2);
  out.Set((uint32_t)0, fds[0]);
  out.Set((uint32_t)1, fds[1]);
  return out;
}

// A blocking SOCK_SEQPACKET connection to the unix socket `name` in the
// directory `dir` (close-on-exec), by way of /proc/self/fd/N/name: a socket
// address holds 108 bytes, a state directory's path need not fit. The
// container's child sends its seccomp listener to the monitor on it.
Napi::Value SeqpacketConnect(const Napi::CallbackInfo &info) {
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsString()) throw Napi::TypeError::New(info.Env(), "seqpacketConnect(dir, name)");
  std::string dir = info[0].As<Napi::String>().Utf8Value();
  std::string name = info[1].As<Napi::String>().Utf8Value();
  int dfd = open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) throw ErrnoError(info.Env(), "open", errno);
  struct sockaddr_un sa = {};
  sa.sun_family = AF_UNIX;
  int n = snprintf(sa.sun_path, sizeof sa.sun_path, "/proc/self/fd/%d/%s", dfd, name.c_str());
  if (n < 0 || (size_t)n >= sizeof sa.sun_path) {
    close(dfd);
    throw ErrnoError(info.Env(), "connect", ENAMETOOLONG);
  }
  int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  int err = 0;
  if (fd < 0) err = errno;
  else if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    err = errno;
    close(fd);
  }
  close(dfd);
  if (err) throw ErrnoError(info.Env(), fd < 0 ? "socket" : "connect", err);
  return Napi::Number::New(info.Env(), fd);
}

// A detached copy of a mount tree (open_tree(OPEN_TREE_CLONE)), for
// mount_setattr before it is handed to a container.
Napi::Value OpenTree(const Napi::CallbackInfo &info) {
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(info.Env(), "openTree(path, recursive)");
  std::string path = info[0].As<Napi::String>().Utf8Value();
  bool recursive = info.Length() > 1 && info[1].ToBoolean().Value();
  unsigned flags = WR_OPEN_TREE_CLONE | WR_OPEN_TREE_CLOEXEC | (recursive ? WR_AT_RECURSIVE : 0);
  int fd = (int)syscall(SYS_open_tree, AT_FDCWD, path.c_str(), flags);
  if (fd < 0) throw ErrnoError(info.Env(), "open_tree", errno);
  return Napi::Number::New(info.Env(), fd);
}

// Makes a detached mount idmapped through a user namespace: files owned by
// on-disk id N appear owned by whatever N maps to in that namespace.
// Needs CAP_SYS_ADMIN over the mount's original namespace (host root's): the
// files API and the storage probe use it; a container's mounts are idmapped
// on the lock stage (lock-mounts.cc).
Napi::Value IdmapTree(const Napi::CallbackInfo &info) {
  struct wr_mount_attr attr = {WR_MOUNT_ATTR_IDMAP, 0, 0, (uint64_t)IntArg(info, 1)};
  bool recursive = info.Length() > 2 && info[2].ToBoolean().Value();
  long rc = syscall(SYS_mount_setattr, IntArg(info, 0), "", AT_EMPTY_PATH | (recursive ? WR_AT_RECURSIVE : 0), &attr, sizeof attr);
  if (rc < 0) throw ErrnoError(info.Env(), "mount_setattr(MOUNT_ATTR_IDMAP)", errno);
  return info.Env().Undefined();
}

// A helper program started in a session of its own, outliving this process:
// `fds[i]` becomes its fd 3+i, nothing else of ours stays open there
// (everything here is close-on-exec). posix_spawn clones with CLONE_VM, so
// the cost does not grow with Node's heap as a fork's page-table copy would.
Napi::Value SpawnDetached(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsString() || !info[1].IsArray() || !info[2].IsArray())
    throw Napi::TypeError::New(env, "spawnDetached(path, argv, fds)");
  std::string path = info[0].As<Napi::String>().Utf8Value();
  Napi::Array argvIn = info[1].As<Napi::Array>(), fdsIn = info[2].As<Napi::Array>();
  std::vector<std::string> args;
  for (uint32_t i = 0; i < argvIn.Length(); i++) args.push_back(argvIn.Get(i).ToString().Utf8Value());
  std::vector<char *> argv;
  for (auto &a : args) argv.push_back(const_cast<char *>(a.c_str()));
  argv.push_back(nullptr);
  // Copies far above the targets first, so one dup2 cannot clobber the
  // source of the next.
  std::vector<int> high;
  auto closeHigh = [&] { for (int fd : high) close(fd); };
  for (uint32_t i = 0; i < fdsIn.Length(); i++) {
    int fd = fcntl(fdsIn.Get(i).ToNumber().Int32Value(), F_DUPFD_CLOEXEC, 100);
    if (fd < 0) {
      int e = errno;
      closeHigh();
      throw ErrnoError(env, "fcntl(F_DUPFD_CLOEXEC)", e);
    }
    high.push_back(fd);
  }
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&attr);
  int nullfd = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (nullfd >= 0)
    for (int std = 0; std < 3; std++) posix_spawn_file_actions_adddup2(&fa, nullfd, std);
  for (size_t i = 0; i < high.size(); i++) posix_spawn_file_actions_adddup2(&fa, high[i], 3 + (int)i);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  // Node ignores SIGPIPE; the helper starts from defaults.
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid;
  int rc = posix_spawn(&pid, path.c_str(), &fa, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (nullfd >= 0) close(nullfd);
  closeHigh();
  if (rc != 0) throw ErrnoError(env, "posix_spawn", rc);
  return Napi::Number::New(env, pid);
}

// sendFd(socketPath, fd, name): connects to the unix stream socket at
// `socketPath` and sends `fd` (SCM_RIGHTS) with `name` as the payload:
// runc's --console-socket protocol (utils.SendFile), by which containerd's
// shim and podman's conmon receive a container's pty master.
// A SOCK_STREAM unix socket connected to path (an OCI console socket).
int ConnectStream(const Napi::Env &env, const std::string &path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) throw ErrnoError(env, "connect", ENAMETOOLONG);
  memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) throw ErrnoError(env, "socket", errno);
  int rc;
  do rc = connect(s, reinterpret_cast<sockaddr *>(&addr), sizeof addr); while (rc < 0 && errno == EINTR);
  if (rc < 0) {
    int e = errno;
    close(s);
    throw ErrnoError(env, "connect", e);
  }
  return s;
}

// unixConnect(path): the fd of a stream socket connected to path.
Napi::Value UnixConnect(const Napi::CallbackInfo &info) {
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(info.Env(), "unixConnect(path)");
  return Napi::Number::New(info.Env(), ConnectStream(info.Env(), info[0].As<Napi::String>().Utf8Value()));
}

}  // namespace

Napi::Object InitMisc(Napi::Env env, Napi::Object exports) {
  exports.Set("pidfdOpen", Napi::Function::New(env, PidfdOpen));
  exports.Set("dupLow", Napi::Function::New(env, DupLow));
  exports.Set("dupParked", Napi::Function::New(env, DupParked));
  exports.Set("pidfdSendSignal", Napi::Function::New(env, PidfdSendSignal));
  exports.Set("pidfdExitStatus", Napi::Function::New(env, PidfdExitStatus));
  exports.Set("close", Napi::Function::New(env, CloseFd));
  exports.Set("flock", Napi::Function::New(env, Flock));
  exports.Set("ptyPeer", Napi::Function::New(env, PtyPeer));
  exports.Set("setWindowSize", Napi::Function::New(env, SetWindowSize));
  exports.Set("ptyNumber", Napi::Function::New(env, PtyNumber));
  exports.Set("pipe", Napi::Function::New(env, Pipe));
  exports.Set("seqpacketConnect", Napi::Function::New(env, SeqpacketConnect));
  exports.Set("openTree", Napi::Function::New(env, OpenTree));
  exports.Set("idmapTree", Napi::Function::New(env, IdmapTree));
  exports.Set("spawnDetached", Napi::Function::New(env, SpawnDetached));
  exports.Set("unixConnect", Napi::Function::New(env, UnixConnect));
  return exports;
}

}  // namespace warren
