// Parent side of the native spawn. Runs on a libuv threadpool thread
// (Napi::AsyncWorker) so the event loop never waits for a container's setup:
// clone3 with CLONE_VM onto a private stack, write the id maps, release the
// child, then read its report pipe until EOF (exec succeeded) or an error.
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

extern "C" {
#include "child/plan.h"
#include "child/sys.h"
}

namespace warren {

namespace {

constexpr size_t kStackSize = 256 * 1024;
constexpr size_t kGuard = 4096;
constexpr int kMaxAllocations = 64;

// Steps the parent itself performs; negative so they never collide with an
// op index. Mirrored in src/native/binding.ts.
enum ParentStep {
  kStepHandshake = -1,
  kStepClone = -2,
  kStepUidMap = -3,
  kStepGidMap = -4,
  kStepCgroup = -5,
  kStepPidfd = -6,
  kStepPlan = -7,
  kStepSetgroups = -8,
};

// Field 22 of /proc/<pid>/stat (start time in clock ticks): read here, off
// the event loop, while the process is still our unreaped child.
long long StartTime(pid_t pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return -1;
  buf[n] = 0;
  char *p = strrchr(buf, ')');
  if (!p) return -1;
  p += 2;  // field 3
  for (int field = 3; field < 22 && *p; p++)
    if (*p == ' ') field++;
  return strtoll(p, nullptr, 10);
}

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

class SpawnWorker : public Napi::AsyncWorker {
 public:
  SpawnWorker(Napi::Env env, std::vector<char> plan, const SpawnOptions &opts)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)),
        plan_(std::move(plan)), opts_(opts) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override { Run(); }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::Object out = Napi::Object::New(env);
    if (err_ != 0) {
      Napi::Object e = Napi::Object::New(env);
      e.Set("opIndex", op_index_);
      e.Set("errno", err_);
      out.Set("error", e);
    } else {
      out.Set("pid", pid_);
      out.Set("pidfd", pidfd_);
      out.Set("startTime", Napi::Number::New(env, (double)start_time_));
    }
    deferred_.Resolve(out);
  }

  void OnError(const Napi::Error &e) override { deferred_.Reject(e.Value()); }

 private:
  void Fail(int op_index, int err) {
    if (err_ == 0) {
      op_index_ = op_index;
      err_ = err;
    }
  }

  void Run() {
    if (plan_.size() < sizeof(wr_plan_header)) return Fail(kStepPlan, EINVAL);
    auto *hdr = reinterpret_cast<wr_plan_header *>(plan_.data());
    size_t ops_bytes = sizeof(wr_op) * (size_t)hdr->nops;
    if (hdr->magic != WR_PLAN_MAGIC || hdr->version != WR_PLAN_VERSION ||
        sizeof(wr_plan_header) + ops_bytes + hdr->blob_len != plan_.size())
      return Fail(kStepPlan, EINVAL);
    auto *ops = reinterpret_cast<wr_op *>(plan_.data() + sizeof(wr_plan_header));
    char *blob = plan_.data() + sizeof(wr_plan_header) + ops_bytes;

    void *allocations[kMaxAllocations];
    int n_alloc = 0;
    int rc = wr_plan_prepare(ops, hdr->nops, blob, hdr->blob_len, allocations, kMaxAllocations,
                             &n_alloc);
    if (rc == 0) Clone(ops, hdr->nops, blob, hdr->blob_len);
    else Fail(kStepPlan, -rc);
    for (int i = 0; i < n_alloc; i++) free(allocations[i]);
  }

  void Clone(wr_op *ops, uint32_t nops, char *blob, uint32_t blob_len) {
    int sync_pipe[2], report_pipe[2];
    if (pipe2(sync_pipe, O_CLOEXEC) < 0) return Fail(kStepClone, errno);
    if (pipe2(report_pipe, O_CLOEXEC) < 0) {
      int e = errno;
      close(sync_pipe[0]);
      close(sync_pipe[1]);
      return Fail(kStepClone, e);
    }

    bool forks = false;
    for (uint32_t i = 0; i < nops; i++) forks |= ops[i].kind == WR_OP_FORK;
    size_t one = kGuard + kStackSize;
    size_t total = forks ? 2 * one : one;
    char *map = (char *)mmap(nullptr, total, PROT_READ | PROT_WRITE,
                             MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
    int cgroup_fd = -1;
    pid_t pid = -1;
    int pidfd = -1;

    if (map == MAP_FAILED) {
      Fail(kStepClone, errno);
      map = nullptr;
    } else {
      // Guard pages below each stack turn an overflow into a fault, not a
      // silent write into Node's heap.
      mprotect(map, kGuard, PROT_NONE);
      if (forks) mprotect(map + one, kGuard, PROT_NONE);
    }
    if (map && !opts_.cgroup_path.empty()) {
      cgroup_fd = open(opts_.cgroup_path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (cgroup_fd < 0) Fail(kStepCgroup, errno);
    }

    wr_child child;
    memset(&child, 0, sizeof child);
    child.ops = ops;
    child.nops = nops;
    child.blob = blob;
    child.blob_len = blob_len;
    child.sync_fd = sync_pipe[0];
    child.sync_peer = sync_pipe[1];
    child.report_fd = report_pipe[1];
    child.report_peer = report_pipe[0];
    child.stack2 = forks && map ? map + one + kGuard : nullptr;
    child.stack2_size = forks ? kStackSize : 0;
    for (int i = 0; i < WR_MAX_SLOTS; i++) child.slots[i] = -1;

    if (err_ == 0) {
      wr_clone_args args;
      memset(&args, 0, sizeof args);
      args.flags = CLONE_VM | CLONE_PIDFD | opts_.clone_flags;
      args.pidfd = (uint64_t)(uintptr_t)&pidfd;
      args.exit_signal = SIGCHLD;
      args.stack = (uint64_t)(uintptr_t)(map + kGuard);
      args.stack_size = kStackSize;
      if (cgroup_fd >= 0) {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = (uint64_t)cgroup_fd;
      }
      // All signals blocked across the clone: a handler must never run on
      // the child's stack with Node's state. The child resets dispositions
      // and clears the mask right before execve.
      sigset_t all, old;
      sigfillset(&all);
      pthread_sigmask(SIG_SETMASK, &all, &old);
      long r = wr_clone3(&args, sizeof args, wr_child_main, &child);
      pthread_sigmask(SIG_SETMASK, &old, nullptr);
      if (r < 0) Fail(kStepClone, (int)-r);
      else pid = (pid_t)r;
    }
    close(sync_pipe[0]);
    close(report_pipe[1]);
    if (cgroup_fd >= 0) close(cgroup_fd);

    if (pid > 0) {
      int e = 0;
      if (!opts_.uid_map.empty()) {
        e = WriteProcFile(pid, "uid_map", opts_.uid_map);
        if (e < 0) Fail(kStepUidMap, -e);
      }
      if (e == 0 && opts_.deny_setgroups) {
        e = WriteProcFile(pid, "setgroups", "deny");
        if (e < 0) Fail(kStepSetgroups, -e);
      }
      if (e == 0 && !opts_.gid_map.empty()) {
        e = WriteProcFile(pid, "gid_map", opts_.gid_map);
        if (e < 0) Fail(kStepGidMap, -e);
      }
      // Go, or (after a failure) EOF, which makes the child exit.
      if (e == 0) {
        char go = 1;
        if (write(sync_pipe[1], &go, 1) != 1) Fail(kStepHandshake, errno);
      }
    }
    close(sync_pipe[1]);

    pid_t exec_pid = pid;
    bool forked = false;
    if (pid > 0) {
      wr_report r;
      for (;;) {
        ssize_t n = read(report_pipe[0], &r, sizeof r);
        if (n < 0 && errno == EINTR) continue;
        if (n != (ssize_t)sizeof r) break;
        if (r.kind == WR_REPORT_PID) {
          exec_pid = r.pid;
          forked = true;
        } else if (r.kind == WR_REPORT_ERROR) {
          Fail(r.op_index, r.err);
        }
      }
    }
    close(report_pipe[0]);
    if (map) munmap(map, total);

    if (pid > 0 && (err_ != 0 || forked)) {
      // The first child failed, or it was only the intermediate of an exec:
      // reap it here, it is nobody else's to wait for.
      siginfo_t info;
      while (waitid(P_PIDFD, pidfd, &info, WEXITED | __WALL) < 0 && errno == EINTR) {}
    }
    if (forked && err_ != 0 && exec_pid > 0) {
      siginfo_t info;
      while (waitid(P_PID, exec_pid, &info, WEXITED | __WALL) < 0 && errno == EINTR) {}
    }
    if (forked) {
      if (pidfd >= 0) close(pidfd);
      pidfd = -1;
      if (err_ == 0) {
        // Our own (CLONE_PARENT) child, not yet reaped: its pid cannot have
        // been reused, so pidfd_open is race-free here.
        pidfd = (int)syscall(SYS_pidfd_open, exec_pid, 0);
        if (pidfd < 0) Fail(kStepPidfd, errno);
      }
    }
    if (err_ != 0) {
      if (pidfd >= 0) close(pidfd);
      return;
    }
    pid_ = exec_pid;
    pidfd_ = pidfd;
    start_time_ = StartTime(exec_pid);
  }

  Napi::Promise::Deferred deferred_;
  std::vector<char> plan_;
  SpawnOptions opts_;
  int op_index_ = 0;
  int err_ = 0;
  int pid_ = -1;
  int pidfd_ = -1;
  long long start_time_ = -1;
};

}  // namespace

Napi::Value Spawn(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsBuffer() || !info[1].IsObject())
    throw Napi::TypeError::New(env, "spawn(plan: Buffer, options: object)");
  auto buf = info[0].As<Napi::Buffer<char>>();
  std::vector<char> plan(buf.Data(), buf.Data() + buf.Length());
  Napi::Object o = info[1].As<Napi::Object>();
  SpawnOptions opts;
  if (o.Has("cloneFlags")) opts.clone_flags = (uint64_t)o.Get("cloneFlags").As<Napi::Number>().Int64Value();
  if (o.Has("cgroupPath") && o.Get("cgroupPath").IsString())
    opts.cgroup_path = o.Get("cgroupPath").As<Napi::String>().Utf8Value();
  if (o.Has("uidMap") && o.Get("uidMap").IsString())
    opts.uid_map = o.Get("uidMap").As<Napi::String>().Utf8Value();
  if (o.Has("gidMap") && o.Get("gidMap").IsString())
    opts.gid_map = o.Get("gidMap").As<Napi::String>().Utf8Value();
  if (o.Has("denySetgroups")) opts.deny_setgroups = o.Get("denySetgroups").ToBoolean().Value();
  auto *worker = new SpawnWorker(env, std::move(plan), opts);
  Napi::Promise p = worker->Promise();
  worker->Queue();
  return p;
}

}  // namespace warren
