#ifndef WARREN_SPAWN_H
#define WARREN_SPAWN_H

#include <napi.h>
#include <stdint.h>

#include <string>
#include <vector>

#include "lock-mounts.h"

namespace warren {

// Steps the parent itself performs, reported as negative op indexes so they
// never collide with a plan op. Exported through `abi.parentSteps`
// (native/abi.cc); src/native/binding.ts holds the names, a test compares.
#define WR_PARENT_STEPS(X)              \
  X(kStepHandshake, -1, "handshake")    \
  X(kStepClone, -2, "clone")            \
  X(kStepUidMap, -3, "uid-map")         \
  X(kStepGidMap, -4, "gid-map")         \
  X(kStepCgroup, -5, "cgroup")          \
  X(kStepPidfd, -6, "pidfd")            \
  X(kStepPlan, -7, "plan")              \
  X(kStepSetgroups, -8, "setgroups")    \
  X(kStepLockMounts, -9, "lock-mounts")  \
  X(kStepJoinNamespaces, -10, "join-namespaces") \
  X(kStepExecHelper, -11, "exec-helper") \
  X(kStepFdTable, -12, "fd-table")

struct SpawnOptions {
  uint64_t clone_flags = 0;  // CLONE_NEW* for the first child
  std::string cgroup_path;   // cgroup2 directory to clone into (CLONE_INTO_CGROUP)
  std::string uid_map;       // written to /proc/<pid>/uid_map before "go"
  std::string gid_map;
  bool deny_setgroups = false;
  // The staging thread's work (lock-mounts.h): namespaces joined instead of
  // made (fds the caller keeps open), and host binds staged where the
  // kernel locks their flags.
  LockStage lock;
  // warren-exec's path, read once into the sealed memfd (exec-helper.cc).
  std::string exec_helper;
};

// A new O_CLOEXEC fd of the sealed memfd holding warren-exec (made from
// `path` on first use, or again if it was changed), or -errno.
int ExecHelperFd(const std::string &path);

// spawn(plan, options) -> Promise<{pid, pidfd, startTime} | {pid, paused} | {error: {opIndex, errno}}>
// Where the pidfds this process holds are kept: above the fds a start
// needs (its pipes, stdio, the fds it passes on), which the kernel hands
// out lowest first. A child copies our fd table only up to its highest
// needed fd (native/child/fds.c wr_own_fd_table), so with a pidfd per
// running container kept low, every start would copy and close them all.
constexpr int kParkedFdBase = 1024;

// `fd` moved to the lowest free number at or above kParkedFdBase
// (close-on-exec); unchanged when the limit on open files leaves no room.
int ParkFd(int fd);

Napi::Value Spawn(const Napi::CallbackInfo &info);
// resume(paused, go) -> Promise<{pid, pidfd, startTime} | {error}>
Napi::Value Resume(const Napi::CallbackInfo &info);

// watchExit(pidfd, callback(code, signal, reaped)) -> ExitWatcher
Napi::Object InitWait(Napi::Env env, Napi::Object exports);
Napi::Object InitMisc(Napi::Env env, Napi::Object exports);
Napi::Object InitBpf(Napi::Env env, Napi::Object exports);
Napi::Object InitNetlink(Napi::Env env, Napi::Object exports);
Napi::Object InitFiles(Napi::Env env, Napi::Object exports);
Napi::Object InitFilesAs(Napi::Env env, Napi::Object exports);
Napi::Object InitXattr(Napi::Env env, Napi::Object exports);
Napi::Object InitAbi(Napi::Env env, Napi::Object exports);
Napi::Object InitDeviceInject(Napi::Env env, Napi::Object exports);
Napi::Object InitUevent(Napi::Env env, Napi::Object exports);
void InitReadFiles(Napi::Env env, Napi::Object exports);

}  // namespace warren

#endif
