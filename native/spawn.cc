// Parent side of the native spawn. Runs on a libuv threadpool thread
// (Napi::AsyncWorker) so the event loop never waits for a container's setup:
// clone3 with CLONE_VM onto a private stack, write the id maps, release the
// child, then read its report pipe until EOF (exec succeeded) or an error.
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <functional>
#include <vector>

extern "C" {
#include "child/plan.h"
}
#include "linux.h"
#include "lock-mounts.h"

namespace warren {

namespace {

constexpr size_t kStackSize = 256 * 1024;
constexpr size_t kGuard = 4096;
constexpr int kMaxAllocations = 64;

#define WR_PARENT_STEP_ENUM(id, value, name) id = value,
enum ParentStep { WR_PARENT_STEPS(WR_PARENT_STEP_ENUM) };
#undef WR_PARENT_STEP_ENUM
static_assert(kStepExecHelper == WR_STEP_EXEC_HELPER, "child/plan.h and spawn.h disagree");
static_assert(kStepFdTable == WR_STEP_FD_TABLE, "child/plan.h and spawn.h disagree");

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

// A spawn in flight: everything the child reads (plan, pointer arrays, its
// state struct, its stacks) lives here until it has exec'd, so a spawn can
// stop between "maps written" and "go" while JavaScript prepares the
// container (network interfaces moved into its namespace, say).
struct Pending {
  std::vector<char> plan;
  void *allocations[kMaxAllocations];
  int n_alloc = 0;
  wr_child child;
  char *map = nullptr;
  size_t map_size = 0;
  bool forks = false;
  bool holds = false;  // the exec waits on a hold fd: WR_REPORT_HELD ends the wait
  int exec_fd = -1;   // warren-exec's memfd, until the child has its copy
  int sync_w = -1;    // our end of the "go" pipe
  int report_r = -1;  // our end of the report pipe
  pid_t pid = -1;
  int pidfd = -1;
  int op_index = 0;
  int err = 0;
  int detail = 0;  // the failing op's detail (wr_report.arg)

  void Fail(int index, int e) {
    if (err == 0) {
      op_index = index;
      err = e;
    }
  }

  ~Pending() {
    if (sync_w >= 0) close(sync_w);
    if (report_r >= 0) close(report_r);
    if (exec_fd >= 0) close(exec_fd);
    if (map) munmap(map, map_size);
    for (int i = 0; i < n_alloc; i++) free(allocations[i]);
    if (pidfd >= 0) close(pidfd);
  }

  // Clone the child and write its id maps; it then waits for "go".
  void Launch(const SpawnOptions &opts) {
    if (plan.size() < sizeof(wr_plan_header)) return Fail(kStepPlan, EINVAL);
    auto *hdr = reinterpret_cast<wr_plan_header *>(plan.data());
    size_t ops_bytes = sizeof(wr_op) * (size_t)hdr->nops;
    if (hdr->magic != WR_PLAN_MAGIC || hdr->version != WR_PLAN_VERSION ||
        sizeof(wr_plan_header) + ops_bytes + hdr->blob_len != plan.size())
      return Fail(kStepPlan, EINVAL);
    auto *ops = reinterpret_cast<wr_op *>(plan.data() + sizeof(wr_plan_header));
    char *blob = plan.data() + sizeof(wr_plan_header) + ops_bytes;
    int rc = wr_plan_prepare(ops, hdr->nops, blob, hdr->blob_len, allocations, kMaxAllocations, &n_alloc);
    if (rc != 0) return Fail(kStepPlan, -rc);
    bool execs = false;
    for (uint32_t i = 0; i < hdr->nops; i++) {
      execs |= ops[i].kind == WR_OP_EXEC;
      holds |= ops[i].kind == WR_OP_EXEC && (ops[i].flags & WR_F_HOLD);
    }
    if (execs) {
      exec_fd = ExecHelperFd(opts.exec_helper);
      if (exec_fd < 0) return Fail(kStepExecHelper, -exec_fd);
    }

    // "go" travels on a socketpair: send(MSG_NOSIGNAL) to a child that is
    // gone fails with EPIPE instead of raising SIGPIPE.
    int sync_pipe[2], report_pipe[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sync_pipe) < 0) return Fail(kStepClone, errno);
    if (pipe2(report_pipe, O_CLOEXEC) < 0) {
      int e = errno;
      close(sync_pipe[0]);
      close(sync_pipe[1]);
      return Fail(kStepClone, e);
    }
    sync_w = sync_pipe[1];
    report_r = report_pipe[0];

    for (uint32_t i = 0; i < hdr->nops; i++) forks |= ops[i].kind == WR_OP_FORK;
    size_t one = kGuard + kStackSize;
    map_size = forks ? 2 * one : one;
    map = (char *)mmap(nullptr, map_size, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
    if (map == MAP_FAILED) {
      map = nullptr;
      Fail(kStepClone, errno);
    } else {
      // Guard pages below each stack turn an overflow into a fault, not a
      // silent write into Node's heap.
      mprotect(map, kGuard, PROT_NONE);
      if (forks) mprotect(map + one, kGuard, PROT_NONE);
    }
    int cgroup_fd = -1;
    if (err == 0 && !opts.cgroup_path.empty()) {
      cgroup_fd = open(opts.cgroup_path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (cgroup_fd < 0) Fail(kStepCgroup, errno);
    }

    memset(&child, 0, sizeof child);
    child.ops = ops;
    child.nops = hdr->nops;
    child.blob = blob;
    child.blob_len = hdr->blob_len;
    child.sync_fd = sync_pipe[0];
    child.sync_peer = sync_pipe[1];
    child.report_fd = report_pipe[1];
    child.report_peer = report_pipe[0];
    child.exec_fd = exec_fd;
    child.stack2 = forks && map ? map + one + kGuard : nullptr;
    child.stack2_size = forks ? kStackSize : 0;
    for (int i = 0; i < WR_MAX_SLOTS; i++) child.slots[i] = -1;

    if (err == 0) {
      wr_clone_args args;
      memset(&args, 0, sizeof args);
      // CLONE_FILES: the child makes its own table from the low part of
      // ours first (wr_own_fd_table); a full copy would grow with every
      // container this process holds a pidfd for.
      args.flags = CLONE_VM | CLONE_FILES | WR_CLONE_PIDFD | opts.clone_flags;
      args.pidfd = (uint64_t)(uintptr_t)&pidfd;
      args.exit_signal = SIGCHLD;
      args.stack = (uint64_t)(uintptr_t)(map + kGuard);
      args.stack_size = kStackSize;
      if (cgroup_fd >= 0) {
        args.flags |= WR_CLONE_INTO_CGROUP;
        args.cgroup = (uint64_t)cgroup_fd;
      }
      // All signals blocked across the clone: a handler must never run on
      // the child's stack with Node's state. The child resets dispositions
      // and clears the mask right before execve.
      std::function<long()> clone = [&]() {
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        long r = wr_clone3(&args, sizeof args, wr_child_main, &child);
        pthread_sigmask(SIG_SETMASK, &old, nullptr);
        return r;
      };
      StagingStep failed = StagingStep::kNone;
      long r = opts.lock.binds.empty() && opts.lock.join.empty() ? clone() : CloneOnStagingThread(opts.lock, clone, &failed);
      if (r < 0) Fail(failed == StagingStep::kJoin ? kStepJoinNamespaces : failed == StagingStep::kLock ? kStepLockMounts : kStepClone, (int)-r);
      else pid = (pid_t)r;
    }
    if (pid > 0) {
      int e = 0;
      if (!opts.uid_map.empty()) {
        e = WriteProcFile(pid, "uid_map", opts.uid_map);
        if (e < 0) Fail(kStepUidMap, -e);
      }
      if (e == 0 && opts.deny_setgroups) {
        e = WriteProcFile(pid, "setgroups", "deny");
        if (e < 0) Fail(kStepSetgroups, -e);
      }
      if (e == 0 && !opts.gid_map.empty()) {
        e = WriteProcFile(pid, "gid_map", opts.gid_map);
        if (e < 0) Fail(kStepGidMap, -e);
      }
      AwaitOwnFds();
    }
    // The child has its copies (or is gone): ours of its ends go.
    close(sync_pipe[0]);
    close(report_pipe[1]);
    if (cgroup_fd >= 0) close(cgroup_fd);
    if (exec_fd >= 0) close(exec_fd);
    exec_fd = -1;
  }

  // Until its first report the child shares our fd table (CLONE_FILES), so
  // the fds it needs must stay open here: closed now, a number could be
  // reused by another thread's open and the child would use that file. The
  // report pipe cannot say EOF meanwhile (the child's end is in our table),
  // so the pidfd says whether it died first. A child in an unknown state is
  // killed and waited for (still unreaped: Finish reaps it).
  void AwaitOwnFds() {
    struct pollfd fds[2] = {{report_r, POLLIN, 0}, {pidfd, POLLIN, 0}};
    for (;;) {
      if (poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        Fail(kStepFdTable, errno);
        break;
      }
      if (fds[0].revents & POLLIN) {
        wr_report r;
        ssize_t n = read(report_r, &r, sizeof r);
        if (n < 0 && errno == EINTR) continue;
        if (n == (ssize_t)sizeof r && r.kind == WR_REPORT_OWN_FDS) return;
        if (n == (ssize_t)sizeof r && r.kind == WR_REPORT_ERROR) {
          // It failed and exits: once it is gone, nothing of ours is in use.
          Fail(r.op_index, r.err);
          if (op_index == r.op_index && err == r.err) detail = r.arg;
          siginfo_t info;
          while (waitid(P_PIDFD, pidfd, &info, WEXITED | WNOWAIT | __WALL) < 0 && errno == EINTR) {}
          return;
        }
        Fail(kStepFdTable, EPROTO);
        break;
      }
      if (fds[1].revents) {
        Fail(kStepFdTable, ECHILD);  // died before it had a table of its own
        return;
      }
    }
    syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0);
    siginfo_t info;
    while (waitid(P_PIDFD, pidfd, &info, WEXITED | WNOWAIT | __WALL) < 0 && errno == EINTR) {}
  }

  // Release the child ("go", or EOF when go is false or launching failed),
  // then read its reports until EOF (it exec'd) or an error.
  void Finish(bool go) {
    if (pid <= 0) return;
    if (go && err == 0) {
      char byte = 1;
      if (send(sync_w, &byte, 1, MSG_NOSIGNAL) != 1) Fail(kStepHandshake, errno);
    } else if (!go) {
      Fail(kStepHandshake, ECANCELED);
    }
    close(sync_w);
    sync_w = -1;

    pid_t exec_pid = pid;
    bool forked = false;
    wr_report r;
    for (;;) {
      ssize_t n = read(report_r, &r, sizeof r);
      if (n < 0 && errno == EINTR) continue;
      if (n != (ssize_t)sizeof r) break;
      // Only the intermediate of a forking plan reports a pid, and once:
      // warren-exec also holds the report pipe, in the container, and must
      // not be able to name a process for warren to adopt.
      if (r.kind == WR_REPORT_PID && forks && !forked) {
        exec_pid = r.arg;
        forked = true;
      } else if (r.kind == WR_REPORT_HELD && holds && err == 0) {
        // warren-exec found the program and waits on its hold fd: set up,
        // and no longer sharing our memory. Its exec comes later.
        break;
      } else if (r.kind == WR_REPORT_ERROR) {
        // A child told to stop reports the handshake; keep our reason.
        if (!(r.op_index == kStepHandshake && err != 0)) {
          Fail(r.op_index, r.err);
          if (op_index == r.op_index && err == r.err) detail = r.arg;
        }
      }
    }
    close(report_r);
    report_r = -1;
    munmap(map, map_size);
    map = nullptr;

    if (err != 0 || forked) {
      // The first child failed, or it was only the intermediate of an exec:
      // reap it here, it is nobody else's to wait for.
      siginfo_t info;
      while (waitid(P_PIDFD, pidfd, &info, WEXITED | __WALL) < 0 && errno == EINTR) {}
    }
    if (forked && err != 0 && exec_pid > 0) {
      siginfo_t info;
      while (waitid(P_PID, exec_pid, &info, WEXITED | __WALL) < 0 && errno == EINTR) {}
    }
    if (forked) {
      close(pidfd);
      pidfd = -1;
      if (err == 0) {
        // Our own (CLONE_PARENT) child, not yet reaped: its pid cannot have
        // been reused, so pidfd_open is race-free here.
        pidfd = (int)syscall(SYS_pidfd_open, exec_pid, 0);
        if (pidfd < 0) Fail(kStepPidfd, errno);
      }
    }
    pid = exec_pid;
  }
};

// What JavaScript holds for a paused spawn; resume() takes the Pending out.
struct PendingRef {
  Pending *p;
};

Napi::Object ErrorResult(Napi::Env env, const Pending &p) {
  Napi::Object out = Napi::Object::New(env);
  Napi::Object e = Napi::Object::New(env);
  e.Set("opIndex", p.op_index);
  e.Set("errno", p.err);
  if (p.detail != 0) e.Set("detail", p.detail);
  out.Set("error", e);
  return out;
}

// Runs Launch (unless resuming), then Finish unless the caller asked to
// pause before "go".
class SpawnWorker : public Napi::AsyncWorker {
 public:
  SpawnWorker(Napi::Env env, Pending *pending, const SpawnOptions *opts, bool pause, bool go)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), p_(pending),
        launch_(opts != nullptr), pause_(pause), go_(go) {
    if (opts) opts_ = *opts;
  }
  ~SpawnWorker() override { delete p_; }

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    if (launch_) p_->Launch(opts_);
    if (p_->err != 0 || !pause_) {
      p_->Finish(go_);
      if (p_->err == 0) start_time_ = StartTime(p_->pid);
      if (p_->err == 0 && p_->pidfd >= 0) p_->pidfd = ParkFd(p_->pidfd);
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (p_->err != 0) return deferred_.Resolve(ErrorResult(env, *p_));
    Napi::Object out = Napi::Object::New(env);
    out.Set("pid", p_->pid);
    if (pause_ && launch_) {
      // Ownership moves to JavaScript until resume(); if the handle is
      // collected without one, the finalizer lets the child go with EOF (it
      // exits) and reaps it.
      auto *ref = new PendingRef{p_};
      out.Set("paused", Napi::External<PendingRef>::New(env, ref, [](Napi::Env, PendingRef *r) {
        if (r->p) {
          r->p->Finish(false);
          delete r->p;
        }
        delete r;
      }));
      p_ = nullptr;
    } else {
      out.Set("pidfd", p_->pidfd);
      p_->pidfd = -1;  // now the caller's
      out.Set("startTime", Napi::Number::New(env, (double)start_time_));
    }
    deferred_.Resolve(out);
  }

  void OnError(const Napi::Error &e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  Pending *p_;
  SpawnOptions opts_;
  bool launch_, pause_, go_;
  long long start_time_ = -1;
};

}  // namespace

int ParkFd(int fd) {
  int parked = fcntl(fd, F_DUPFD_CLOEXEC, kParkedFdBase);
  if (parked < 0) return fd;  // a low limit (EINVAL) or none free above (EMFILE): it stays
  close(fd);
  return parked;
}

Napi::Value Spawn(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsBuffer() || !info[1].IsObject())
    throw Napi::TypeError::New(env, "spawn(plan: Buffer, options: object)");
  auto buf = info[0].As<Napi::Buffer<char>>();
  Napi::Object o = info[1].As<Napi::Object>();
  SpawnOptions opts;
  if (o.Has("cloneFlags")) opts.clone_flags = (uint64_t)o.Get("cloneFlags").As<Napi::Number>().Int64Value();
  if (o.Has("cgroupPath") && o.Get("cgroupPath").IsString())
    opts.cgroup_path = o.Get("cgroupPath").As<Napi::String>().Utf8Value();
  if (o.Has("uidMap") && o.Get("uidMap").IsString())
    opts.uid_map = o.Get("uidMap").As<Napi::String>().Utf8Value();
  if (o.Has("gidMap") && o.Get("gidMap").IsString())
    opts.gid_map = o.Get("gidMap").As<Napi::String>().Utf8Value();
  if (o.Has("execHelper") && o.Get("execHelper").IsString())
    opts.exec_helper = o.Get("execHelper").As<Napi::String>().Utf8Value();
  if (o.Has("denySetgroups")) opts.deny_setgroups = o.Get("denySetgroups").ToBoolean().Value();
  if (o.Has("lock") && o.Get("lock").IsObject()) {
    Napi::Object lock = o.Get("lock").As<Napi::Object>();
    opts.lock.dir = lock.Get("dir").As<Napi::String>().Utf8Value();
    opts.lock.uid_map = opts.uid_map;
    opts.lock.gid_map = opts.gid_map;
    Napi::Array binds = lock.Get("binds").As<Napi::Array>();
    for (uint32_t i = 0; i < binds.Length(); i++) {
      Napi::Object b = binds.Get(i).As<Napi::Object>();
      LockedBind lb;
      lb.source = b.Get("source").As<Napi::String>().Utf8Value();
      lb.recursive = b.Get("recursive").ToBoolean().Value();
      lb.is_dir = b.Get("isDir").ToBoolean().Value();
      lb.readonly = b.Get("readonly").ToBoolean().Value();
      lb.idmap = b.Get("idmap").ToBoolean().Value();
      lb.sysfs = b.Has("sysfs") && b.Get("sysfs").ToBoolean().Value();
      if (b.Has("fstype") && b.Get("fstype").IsString()) lb.fstype = b.Get("fstype").As<Napi::String>().Utf8Value();
      opts.lock.binds.push_back(std::move(lb));
    }
  }
  if (o.Has("join") && o.Get("join").IsArray()) {
    Napi::Array join = o.Get("join").As<Napi::Array>();
    for (uint32_t i = 0; i < join.Length(); i++) {
      Napi::Object j = join.Get(i).As<Napi::Object>();
      opts.lock.join.push_back({j.Get("fd").As<Napi::Number>().Int32Value(), j.Get("nstype").As<Napi::Number>().Int32Value()});
    }
  }
  bool pause = o.Has("pause") && o.Get("pause").ToBoolean().Value();
  auto *pending = new Pending();
  pending->plan.assign(buf.Data(), buf.Data() + buf.Length());
  auto *worker = new SpawnWorker(env, pending, &opts, pause, true);
  Napi::Promise p = worker->Promise();
  worker->Queue();
  return p;
}

Napi::Value Resume(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsExternal())
    throw Napi::TypeError::New(env, "resume(paused, go: boolean)");
  PendingRef *ref = info[0].As<Napi::External<PendingRef>>().Data();
  if (!ref || !ref->p) throw Napi::Error::New(env, "resume: this spawn was already resumed");
  Pending *p = ref->p;
  ref->p = nullptr;
  auto *worker = new SpawnWorker(env, p, nullptr, false, info[1].ToBoolean().Value());
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

}  // namespace warren
