// The staging thread: namespaces joined, and host binds whose flags
// (read-only, idmapped) the container's root cannot change. See lock-mounts.h; mount_namespaces(7) "Restrictions on mount
// namespaces" is the kernel rule this relies on.
#include "lock-mounts.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern "C" {
#include "child/plan.h"
}
#include "linux.h"

namespace warren {

namespace {

struct Job {
  const LockStage *stage;
  const std::function<long()> *clone_fn;
  long result = 0;
  StagingStep failed = StagingStep::kNone;
  pid_t tid = 0;
};

// A user namespace with the container's id maps, made before the
// container's own exists: an idmapped mount takes the mapping, not the
// namespace's identity, and host root may attach one through any user
// namespace. A child cloned into a new one waits on a pipe while its maps
// are written and its namespace is taken, then exits and is reaped. It is a
// CLONE_VM child on a small stack of its own (native/child's wr_hold_main):
// a fork would copy the page tables of Node's whole heap. Returns the fd or
// -errno.
int MappedUserns(const std::string &uid_map, const std::string &gid_map) {
  constexpr size_t kStack = 16 * 1024, kGuard = 4096;
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) return -errno;
  void *map = mmap(nullptr, kGuard + kStack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (map == MAP_FAILED) {
    int e = -errno;
    close(p[0]);
    close(p[1]);
    return e;
  }
  mprotect(map, kGuard, PROT_NONE);  // an overflow faults instead of writing below
  wr_clone_args args;
  memset(&args, 0, sizeof args);
  // Exit signal 0: Node's SIGCHLD handler never hears of it. This thread
  // blocks every signal, and the child inherits that mask.
  // CLONE_FILES: its own copy of our fd table would hold the write ends of
  // holders made at the same time on other threads (each would wait for
  // the other's EOF), and copying it grows with the pidfds we hold.
  args.flags = CLONE_VM | CLONE_FILES | CLONE_NEWUSER;
  args.stack = (uint64_t)(uintptr_t)((char *)map + kGuard);
  args.stack_size = kStack;
  long pid = wr_clone3(&args, sizeof args, wr_hold_main, p);
  int rc = pid < 0 ? (int)pid : 0;
  if (rc == 0) rc = WriteProcFile((pid_t)pid, "uid_map", uid_map);
  if (rc == 0) rc = WriteProcFile((pid_t)pid, "gid_map", gid_map);
  if (rc == 0) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/ns/user", pid);
    rc = open(path, O_RDONLY | O_CLOEXEC);
    if (rc < 0) rc = -errno;
  }
  close(p[1]);  // EOF: the child exits
  if (pid > 0)
    while (waitpid((pid_t)pid, nullptr, __WALL) < 0 && errno == EINTR) {}
  close(p[0]);
  munmap(map, kGuard + kStack);
  return rc;
}

// One bind at `at`: an idmapped one is a detached copy (only those may get
// MOUNT_ATTR_IDMAP) given its flags and attached there; a plain one is
// bound and, read-only, flagged in place. mount_setattr changes only the
// flags named (a remount would have to repeat the source's other flags)
// and, with AT_RECURSIVE, the submounts' too.
int Bind(const LockedBind &b, const std::string &at, int userns) {
  unsigned rec = b.recursive ? WR_AT_RECURSIVE : 0;
  wr_mount_attr attr = {(b.readonly ? WR_MOUNT_ATTR_RDONLY : 0u) | (b.idmap ? WR_MOUNT_ATTR_IDMAP : 0u), 0, 0,
                        b.idmap ? (uint64_t)userns : 0};
  if (!b.idmap) {
    if (mount(b.source.c_str(), at.c_str(), nullptr, MS_BIND | (b.recursive ? MS_REC : 0), nullptr) < 0) return -errno;
    if (b.readonly && syscall(SYS_mount_setattr, AT_FDCWD, at.c_str(), rec, &attr, sizeof attr) < 0) return -errno;
    return 0;
  }
  int fd = (int)syscall(SYS_open_tree, AT_FDCWD, b.source.c_str(), WR_OPEN_TREE_CLONE | WR_OPEN_TREE_CLOEXEC | rec);
  if (fd < 0) return -errno;
  int rc = 0;
  if (syscall(SYS_mount_setattr, fd, "", WR_AT_EMPTY_PATH | rec, &attr, sizeof attr) < 0 ||
      syscall(SYS_move_mount, fd, "", AT_FDCWD, at.c_str(), WR_MOVE_MOUNT_F_EMPTY_PATH) < 0)
    rc = -errno;
  close(fd);
  return rc;
}

int Stage(const LockStage &stage, int userns) {
  // A thread may unshare its mount namespace once it has its own fs_struct
  // (CLONE_FS); the rest of Node keeps the host's.
  if (unshare(CLONE_FS | CLONE_NEWNS) < 0) return -errno;
  // Private first: nothing mounted below may propagate to the host.
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0) return -errno;
  const std::string &dir = stage.dir;
  if (mkdir(dir.c_str(), 0755) < 0 && errno != EEXIST) return -errno;
  // 0755: the child opens these as container root, which must traverse it.
  if (mount("tmpfs", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=64k") < 0) return -errno;
  for (size_t i = 0; i < stage.binds.size(); i++) {
    const LockedBind &b = stage.binds[i];
    std::string at = dir + "/" + std::to_string(i);
    if (b.sysfs) {
      if (mkdir(at.c_str(), 0755) < 0) return -errno;
      if (mount("sysfs", at.c_str(), "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) < 0) return -errno;
      continue;
    }
    if (!b.fstype.empty()) {
      if (mkdir(at.c_str(), 0755) < 0) return -errno;
      unsigned long flags = MS_NOSUID | MS_NODEV | (b.readonly ? MS_RDONLY : 0);
      if (mount(b.source.c_str(), at.c_str(), b.fstype.c_str(), flags, nullptr) < 0) return -errno;
      continue;
    }
    if (b.is_dir) {
      if (mkdir(at.c_str(), 0755) < 0) return -errno;
    } else {
      int fd = open(at.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
      if (fd < 0) return -errno;
      close(fd);
    }
    int rc = Bind(b, at, userns);
    if (rc < 0) return rc;
  }
  return 0;
}

void *Run(void *arg) {
  auto *job = static_cast<Job *>(arg);
  job->tid = (pid_t)syscall(SYS_gettid);
  const LockStage &stage = *job->stage;
  for (const NsJoin &j : stage.join) {
    if (setns(j.fd, j.nstype) < 0) {
      job->result = -errno;
      job->failed = StagingStep::kJoin;
      return nullptr;
    }
  }
  bool idmap = false;
  for (const LockedBind &b : stage.binds) idmap |= b.idmap;
  int userns = -1, rc = 0;
  if (idmap) rc = userns = MappedUserns(stage.uid_map, stage.gid_map);
  if (rc >= 0 && !stage.binds.empty()) rc = Stage(stage, userns);
  // The idmapped mounts hold the namespace now; the container must not
  // inherit the fd.
  if (userns >= 0) close(userns);
  if (rc < 0) {
    job->result = rc;
    job->failed = StagingStep::kLock;
  } else {
    job->result = (*job->clone_fn)();
  }
  // The namespaces go with the thread; the child keeps its own.
  return nullptr;
}

}  // namespace

int WriteProcFile(pid_t pid, const char *name, const std::string &data) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, name);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  ssize_t n = write(fd, data.data(), data.size());
  int err = n < 0 ? -errno : ((size_t)n == data.size() ? 0 : -EIO);
  close(fd);
  return err;
}

long CloneOnStagingThread(const LockStage &stage, const std::function<long()> &clone_fn, StagingStep *failed) {
  Job job;
  job.stage = &stage;
  job.clone_fn = &clone_fn;
  // The thread starts with every signal blocked (it inherits our mask), so
  // no handler of Node's runs on it.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_t t;
  int e = pthread_create(&t, nullptr, Run, &job);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (e != 0) {
    *failed = StagingStep::kLock;
    return -e;
  }
  pthread_join(t, nullptr);
  // The thread is the child's parent until it is gone, and its exit
  // reparents the child to another of our threads, which delivers a
  // parent-death signal set by then. pthread_join returns before the
  // kernel has finished the exit; the task's /proc entry goes after the
  // reparenting, so wait for that before the child may run.
  char path[64];
  snprintf(path, sizeof path, "/proc/self/task/%d", (int)job.tid);
  for (int i = 0; i < 10000 && access(path, F_OK) == 0; i++) {
    struct timespec ts = {0, 100000};
    nanosleep(&ts, nullptr);
  }
  *failed = job.failed;
  return job.result;
}

}  // namespace warren
