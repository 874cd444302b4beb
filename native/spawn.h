#ifndef WARREN_SPAWN_H
#define WARREN_SPAWN_H

#include <napi.h>
#include <stdint.h>

#include <string>

namespace warren {

struct SpawnOptions {
  uint64_t clone_flags = 0;  // CLONE_NEW* for the first child
  std::string cgroup_path;   // cgroup2 directory to clone into (CLONE_INTO_CGROUP)
  std::string uid_map;       // written to /proc/<pid>/uid_map before "go"
  std::string gid_map;
  bool deny_setgroups = false;
};

// spawn(plan, options) -> Promise<{pid, pidfd, startTime} | {pid, paused} | {error: {opIndex, errno}}>
Napi::Value Spawn(const Napi::CallbackInfo &info);
// resume(paused, go) -> Promise<{pid, pidfd, startTime} | {error}>
Napi::Value Resume(const Napi::CallbackInfo &info);

// watchExit(pidfd, callback(code, signal, reaped)) -> ExitWatcher
Napi::Object InitWait(Napi::Env env, Napi::Object exports);
Napi::Object InitMisc(Napi::Env env, Napi::Object exports);
Napi::Object InitBpf(Napi::Env env, Napi::Object exports);
Napi::Object InitNetlink(Napi::Env env, Napi::Object exports);
Napi::Object InitFiles(Napi::Env env, Napi::Object exports);
Napi::Object InitXattr(Napi::Env env, Napi::Object exports);

}  // namespace warren

#endif
