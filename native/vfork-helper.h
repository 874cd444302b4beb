// A short-lived helper that works in another process's namespaces for the
// JS thread: a CLONE_VM | CLONE_VFORK | CLONE_FILES child on a private
// stack. No copy of Node's memory is made, the JS thread waits the ~0.1 ms
// it lives, and an fd it opens lands in Node's table. It is its own thread
// group without CLONE_FS, so the kernel lets it setns into user and mount
// namespaces although Node is multithreaded. Used by native/files-as.cc and
// native/devices/inject.cc; `fn` is child code (native/child/).
#ifndef WARREN_VFORK_HELPER_H
#define WARREN_VFORK_HELPER_H

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>

extern "C" {
#include "child/plan.h"
}
#include "linux.h"

namespace warren {

// Runs fn(arg) in the helper and waits for it: 0, or -errno when it could
// not be started (mmap, clone3).
inline long RunVforkHelper(int (*fn)(void *), void *arg) {
  constexpr size_t kStack = 64 * 1024;
  constexpr size_t kGuard = 4096;
  // One stack, reused: calls come only from the JS thread, one at a time
  // (CLONE_VFORK: the caller waits until the helper is gone).
  static char *stack = nullptr;
  if (!stack) {
    void *m = mmap(nullptr, kGuard + kStack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (m == MAP_FAILED) return -errno;
    mprotect(m, kGuard, PROT_NONE);  // an overflow faults instead of writing below
    stack = (char *)m + kGuard;
  }
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
  long pid = wr_clone3(&args, sizeof args, fn, arg);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (pid < 0) return pid;
  siginfo_t si;
  while (waitid(P_PID, (id_t)pid, &si, WEXITED | __WALL) < 0 && errno == EINTR) {}
  return 0;
}

}  // namespace warren

#endif
