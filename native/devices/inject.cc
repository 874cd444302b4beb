// Devices into a running container (src/devices/trees.ts): the detached
// mount of a block device's filesystem, and mount injection by the helper of
// native/vfork-helper.h, which joins the container's namespaces
// (native/child/inject.c).
#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>

extern "C" {
#include "../child/inject.h"
}
#include "../linux.h"
#include "../napi-util.h"
#include "../spawn.h"
#include "../vfork-helper.h"

namespace warren {

namespace {

const char *StepName(int step, int kind) {
  switch (step) {
    case WR_INJECT_STEP_SETNS: return "setns";
    case WR_INJECT_STEP_CREDS: return "setresuid";
    case WR_INJECT_STEP_WALK: return "openat2";
    case WR_INJECT_STEP_TARGET: return "openat2";
    case WR_INJECT_STEP_MOUNT: return kind == WR_INJECT_ATTACH ? "move_mount" : "umount2";
    case WR_INJECT_STEP_STAGE: return "lock-readonly";
  }
  return "inject";
}

// deviceInject(pidfd, userns, kind, treeFd, path, isDir, created, stage?) -> created
Napi::Value DeviceInject(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 7 || !info[4].IsString()) throw Napi::TypeError::New(env, "deviceInject(pidfd, userns, kind, treeFd, path, isDir, created)");
  std::string path = info[4].As<Napi::String>().Utf8Value();
  if (path.find('\0') != std::string::npos) throw Napi::TypeError::New(env, "path contains NUL");
  struct wr_inject op;
  memset(&op, 0, sizeof op);
  op.pidfd = IntArg(info, 0);
  op.userns = info[1].ToBoolean().Value();
  op.kind = IntArg(info, 2);
  op.treefd = IntArg(info, 3);
  op.path = path.c_str();
  op.isdir = info[5].ToBoolean().Value();
  op.created = info[6].ToBoolean().Value();
  std::string stage = info.Length() > 7 && info[7].IsString() ? info[7].As<Napi::String>().Utf8Value() : "";
  if (stage.find('\0') != std::string::npos) throw Napi::TypeError::New(env, "stage contains NUL");
  op.stage = stage.empty() ? nullptr : stage.c_str();
  long rc = RunVforkHelper(wr_inject_main, &op);
  if (rc < 0) throw ErrnoError(env, "clone3", (int)-rc);
  if (op.result < 0) {
    Napi::Error e = ErrnoError(env, StepName(op.step, op.kind), (int)-op.result);
    e.Set("step", Napi::Number::New(env, op.step));
    throw e;
  }
  return Napi::Boolean::New(env, op.created != 0);
}

// mountDevice(source, fstype, readonly) -> fd of a detached mount of the
// filesystem on a block device (fsopen/fsconfig/fsmount): in no mount
// table, gone with its last fd, so nothing is left mounted on the host.
Napi::Value MountDevice(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsString() || !info[1].IsString()) throw Napi::TypeError::New(env, "mountDevice(source, fstype, readonly)");
  std::string source = info[0].As<Napi::String>().Utf8Value(), fstype = info[1].As<Napi::String>().Utf8Value();
  bool ro = info[2].ToBoolean().Value();
  int fsfd = (int)syscall(SYS_fsopen, fstype.c_str(), WR_FSOPEN_CLOEXEC);
  if (fsfd < 0) throw ErrnoError(env, "fsopen", errno);
  auto cfg = [&](unsigned cmd, const char *key, const void *value) {
    return syscall(SYS_fsconfig, fsfd, cmd, key, value, 0) < 0 ? errno : 0;
  };
  const char *step = "fsconfig(source)";
  int err = cfg(WR_FSCONFIG_SET_STRING, "source", source.c_str());
  if (!err && ro) step = "fsconfig(ro)", err = cfg(WR_FSCONFIG_SET_FLAG, "ro", nullptr);
  if (!err) step = "fsconfig(create)", err = cfg(WR_FSCONFIG_CMD_CREATE, nullptr, nullptr);
  int mfd = -1;
  if (!err) {
    step = "fsmount";
    mfd = (int)syscall(SYS_fsmount, fsfd, WR_FSMOUNT_CLOEXEC, ro ? WR_MOUNT_ATTR_RDONLY : 0);
    if (mfd < 0) err = errno;
  }
  if (err) {
    Napi::Error e = FsError(env, step, err, fsfd);
    close(fsfd);
    throw e;
  }
  close(fsfd);
  return Napi::Number::New(env, mfd);
}

}  // namespace

Napi::Object InitDeviceInject(Napi::Env env, Napi::Object exports) {
  exports.Set("deviceInject", Napi::Function::New(env, DeviceInject));
  exports.Set("mountDevice", Napi::Function::New(env, MountDevice));
  return exports;
}

}  // namespace warren
