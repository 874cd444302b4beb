// Read-only host binds the container's root cannot make writable. See
// lock-mounts.h; mount_namespaces(7) "Restrictions on mount namespaces" is
// the kernel rule this relies on.
#include "lock-mounts.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "linux.h"

namespace warren {

namespace {

struct Job {
  const std::vector<NsJoin> *join;
  const std::string *dir;
  const std::vector<LockedBind> *binds;
  const std::function<long()> *clone_fn;
  long result = 0;
  StagingStep failed = StagingStep::kNone;
  pid_t tid = 0;
};

int Stage(const std::string &dir, const std::vector<LockedBind> &binds) {
  // A thread may unshare its mount namespace once it has its own fs_struct
  // (CLONE_FS); the rest of Node keeps the host's.
  if (unshare(CLONE_FS | CLONE_NEWNS) < 0) return -errno;
  // Private first: nothing mounted below may propagate to the host.
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0) return -errno;
  if (mkdir(dir.c_str(), 0755) < 0 && errno != EEXIST) return -errno;
  // 0755: the child opens these as container root, which must traverse it.
  if (mount("tmpfs", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=64k") < 0) return -errno;
  for (size_t i = 0; i < binds.size(); i++) {
    const LockedBind &b = binds[i];
    std::string at = dir + "/" + std::to_string(i);
    if (b.sysfs) {
      if (mkdir(at.c_str(), 0755) < 0) return -errno;
      if (mount("sysfs", at.c_str(), "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) < 0) return -errno;
      continue;
    }
    if (b.is_dir) {
      if (mkdir(at.c_str(), 0755) < 0) return -errno;
    } else {
      int fd = open(at.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
      if (fd < 0) return -errno;
      close(fd);
    }
    if (mount(b.source.c_str(), at.c_str(), nullptr, MS_BIND | (b.recursive ? MS_REC : 0), nullptr) < 0) return -errno;
    // mount_setattr changes only the read-only flag (a remount would have
    // to repeat the source's other flags) and, with AT_RECURSIVE, the
    // submounts' too.
    wr_mount_attr attr = {WR_MOUNT_ATTR_RDONLY, 0, 0, 0};
    if (syscall(SYS_mount_setattr, AT_FDCWD, at.c_str(), b.recursive ? WR_AT_RECURSIVE : 0, &attr, sizeof attr) < 0)
      return -errno;
  }
  return 0;
}

void *Run(void *arg) {
  auto *job = static_cast<Job *>(arg);
  job->tid = (pid_t)syscall(SYS_gettid);
  for (const NsJoin &j : *job->join) {
    if (setns(j.fd, j.nstype) < 0) {
      job->result = -errno;
      job->failed = StagingStep::kJoin;
      return nullptr;
    }
  }
  int rc = job->binds->empty() ? 0 : Stage(*job->dir, *job->binds);
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

long CloneOnStagingThread(const std::vector<NsJoin> &join, const std::string &dir, const std::vector<LockedBind> &binds,
                          const std::function<long()> &clone_fn, StagingStep *failed) {
  Job job;
  job.join = &join;
  job.dir = &dir;
  job.binds = &binds;
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
