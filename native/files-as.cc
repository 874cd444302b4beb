// filesAsContainer: one files-API call made with a container's credentials (native/child/fileop.c does the call). The helper is a
// CLONE_VM | CLONE_VFORK | CLONE_FILES child: no copy of Node's memory, the
// JS thread waits the ~0.1 ms it lives, and an fd it opens is ours.
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include <string>

extern "C" {
#include "child/fileop.h"
#include "child/plan.h"
}
#include "linux.h"
#include "napi-util.h"
#include "spawn.h"

namespace warren {

namespace {

constexpr size_t kStack = 64 * 1024;
constexpr size_t kGuard = 4096;

// One stack, reused: calls come only from the JS thread, one at a time
// (CLONE_VFORK: we wait until the helper is gone).
char *Stack() {
  static char *stack = nullptr;
  if (!stack) {
    void *m = mmap(nullptr, kGuard + kStack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (m == MAP_FAILED) return nullptr;
    mprotect(m, kGuard, PROT_NONE);  // an overflow faults instead of writing below
    stack = (char *)m + kGuard;
  }
  return stack;
}

const char *SyscallOf(int kind) {
  switch (kind) {
    case WR_FILEOP_OPEN: return "openat2";
    case WR_FILEOP_MKDIR: return "mkdirat";
    case WR_FILEOP_UNLINK: return "unlinkat";
    case WR_FILEOP_CHOWN: return "fchownat";
    case WR_FILEOP_CHMOD: return "fchmodat2";
  }
  return "fileop";
}

// filesAsContainer(nsfd, kind, dirfd, path, flags, mode, resolve, uid, gid) -> number
Napi::Value FilesAsContainer(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[3].IsString()) throw Napi::TypeError::New(env, "filesAsContainer(nsfd, kind, dirfd, path, ...)");
  std::string path = info[3].As<Napi::String>().Utf8Value();
  if (path.find('\0') != std::string::npos) throw Napi::TypeError::New(env, "path contains NUL");
  auto num = [&](size_t i) { return info.Length() > i && info[i].IsNumber() ? info[i].As<Napi::Number>().Int64Value() : 0; };
  struct wr_fileop op;
  memset(&op, 0, sizeof op);
  op.nsfd = IntArg(info, 0);
  op.kind = IntArg(info, 1);
  op.dirfd = IntArg(info, 2);
  op.path = path.c_str();
  op.flags = (uint64_t)num(4);
  op.mode = (uint64_t)num(5);
  op.resolve = (uint64_t)num(6);
  op.uid = (int)num(7);
  op.gid = (int)num(8);
  char *stack = Stack();
  if (!stack) throw ErrnoError(env, "mmap", errno);

  wr_clone_args args;
  memset(&args, 0, sizeof args);
  args.flags = CLONE_VM | CLONE_VFORK | CLONE_FILES;
  args.exit_signal = 0;  // nobody's SIGCHLD: reaped right here
  args.stack = (uint64_t)(uintptr_t)stack;
  args.stack_size = kStack;
  // No handler of Node's may run on the helper's stack: it starts with
  // every signal blocked and exits without unblocking any.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  long pid = wr_clone3(&args, sizeof args, wr_fileop_main, &op);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (pid < 0) throw ErrnoError(env, "clone3", (int)-pid);
  siginfo_t si;
  while (waitid(P_PID, (id_t)pid, &si, WEXITED | __WALL) < 0 && errno == EINTR) {}
  if (op.result < 0) throw ErrnoError(env, op.joined ? SyscallOf(op.kind) : "setns", (int)-op.result);
  return Napi::Number::New(env, (double)op.result);
}

}  // namespace

Napi::Object InitFilesAs(Napi::Env env, Napi::Object exports) {
  exports.Set("filesAsContainer", Napi::Function::New(env, FilesAsContainer));
  return exports;
}

}  // namespace warren
