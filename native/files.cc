// Files in and out of a container (src/container/files.ts): path resolution
// confined to the container's root (openat2 RESOLVE_IN_ROOT), creation with
// the owner's ids, and the detached mounts that show a stopped container's
// root. Each entry point throws an Error carrying `errno` and `syscall`.
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>

#include "linux.h"
#include "napi-util.h"
#include "spawn.h"

namespace warren {

namespace {

std::string StrArg(const Napi::CallbackInfo &info, size_t i) {
  if (info.Length() <= i || !info[i].IsString()) throw Napi::TypeError::New(info.Env(), "expected a string argument");
  std::string s = info[i].As<Napi::String>().Utf8Value();
  if (s.find('\0') != std::string::npos) throw Napi::TypeError::New(info.Env(), "string contains NUL");
  return s;
}

int OptIntArg(const Napi::CallbackInfo &info, size_t i, int dflt) {
  if (info.Length() <= i || info[i].IsUndefined() || info[i].IsNull()) return dflt;
  return IntArg(info, i);
}

// Runs a creation with the calling thread's filesystem ids set to the new
// object's owner, so it never exists, even for an instant, owned by host
// root. (Only a container without a user namespace, whose ids are the
// host's, is written as host root: the others through native/child/fileop.c.)
//
// fsuid/fsgid and capabilities are per thread (the raw syscalls, unlike
// glibc's setresuid, are not broadcast to Node's other threads), and this
// runs synchronously on the JS thread, so nothing else observes the change.
// Leaving fsuid 0 drops CAP_CHOWN, CAP_DAC_*, CAP_FOWNER, CAP_FSETID… from
// the effective set (capabilities(7)): they are raised again from the
// permitted set so the creation keeps root's reach, and everything is put
// back exactly as it was afterwards.
class AsOwner {
 public:
  AsOwner(int uid, int gid) : active_(uid >= 0) {
    if (!active_) return;
    hdr_.version = _LINUX_CAPABILITY_VERSION_3;
    hdr_.pid = 0;
    if (syscall(SYS_capget, &hdr_, saved_) < 0) {
      err_ = errno;
      active_ = false;
      return;
    }
    old_gid_ = (int)syscall(SYS_setfsgid, gid);
    old_uid_ = (int)syscall(SYS_setfsuid, uid);
    // setfsuid reports the previous value, never an error: read it back.
    if ((int)syscall(SYS_setfsuid, -1) != uid || (int)syscall(SYS_setfsgid, -1) != gid) err_ = EPERM;
    struct __user_cap_data_struct raised[2];
    memcpy(raised, saved_, sizeof raised);
    raised[0].effective = raised[0].permitted;
    raised[1].effective = raised[1].permitted;
    if (err_ == 0 && syscall(SYS_capset, &hdr_, raised) < 0) err_ = errno;
  }
  ~AsOwner() {
    if (!active_) return;
    syscall(SYS_setfsuid, old_uid_);
    syscall(SYS_setfsgid, old_gid_);
    syscall(SYS_capset, &hdr_, saved_);
  }
  int error() const { return err_; }

 private:
  bool active_;
  int err_ = 0;
  int old_uid_ = 0, old_gid_ = 0;
  struct __user_cap_header_struct hdr_ {};
  struct __user_cap_data_struct saved_[2] {};
};

// openat2(dirfd, path, {flags | O_CLOEXEC, mode, resolve}), retried on
// EAGAIN (RESOLVE_IN_ROOT's answer to a concurrent rename, openat2(2)).
int Openat2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve) {
  struct wr_open_how how;
  memset(&how, 0, sizeof how);
  how.flags = flags | O_CLOEXEC;
  how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
  how.resolve = resolve;
  int fd;
  for (int i = 0; i < 16; i++) {
    fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
    if (fd >= 0 || (errno != EAGAIN && errno != EINTR)) break;
  }
  return fd;
}

// openat2(dirfd, path, flags, mode, resolve, ownerUid?, ownerGid?) -> fd
Napi::Value FilesOpenat2(const Napi::CallbackInfo &info) {
  int dirfd = IntArg(info, 0);
  std::string path = StrArg(info, 1);
  uint64_t flags = (uint32_t)IntArg(info, 2);
  uint64_t mode = (uint32_t)IntArg(info, 3);
  uint64_t resolve = (uint32_t)IntArg(info, 4);
  AsOwner owner(OptIntArg(info, 5, -1), OptIntArg(info, 6, -1));
  if (owner.error()) throw ErrnoError(info.Env(), "setfsuid", owner.error());
  int fd = Openat2(dirfd, path.c_str(), flags, mode, resolve);
  if (fd < 0) throw ErrnoError(info.Env(), "openat2", errno);
  return Napi::Number::New(info.Env(), fd);
}

// mkdirat(dirfd, name, mode, ownerUid, ownerGid): `name` is one component
// of a directory opened safely by the caller.
Napi::Value FilesMkdirat(const Napi::CallbackInfo &info) {
  int dirfd = IntArg(info, 0);
  std::string name = StrArg(info, 1);
  int mode = IntArg(info, 2);
  AsOwner owner(OptIntArg(info, 3, -1), OptIntArg(info, 4, -1));
  if (owner.error()) throw ErrnoError(info.Env(), "setfsuid", owner.error());
  if (mkdirat(dirfd, name.c_str(), (mode_t)mode) < 0) throw ErrnoError(info.Env(), "mkdirat", errno);
  return info.Env().Undefined();
}

// unlinkat(dirfd, name, removeDir): never follows `name`.
Napi::Value FilesUnlinkat(const Napi::CallbackInfo &info) {
  int dirfd = IntArg(info, 0);
  std::string name = StrArg(info, 1);
  bool dir = info.Length() > 2 && info[2].ToBoolean().Value();
  if (unlinkat(dirfd, name.c_str(), dir ? AT_REMOVEDIR : 0) < 0) throw ErrnoError(info.Env(), "unlinkat", errno);
  return info.Env().Undefined();
}

// readlinkat(dirfd, name): a symlink's text, never followed.
Napi::Value FilesReadlinkat(const Napi::CallbackInfo &info) {
  int dirfd = IntArg(info, 0);
  std::string name = StrArg(info, 1);
  char buf[4097];
  ssize_t n = readlinkat(dirfd, name.c_str(), buf, sizeof buf - 1);
  if (n < 0) throw ErrnoError(info.Env(), "readlinkat", errno);
  return Napi::String::New(info.Env(), buf, (size_t)n);
}

// mountOverlay(lower: fd | path, upper, work, userxattr) -> fd of a
// detached overlay mount (fsopen/fsconfig/fsmount). It is in no mount
// namespace's table: it goes away when the last fd into it is closed, so a
// crash can leave nothing mounted. A lower given as an fd (an idmapped
// detached tree) is passed with FSCONFIG_SET_FD "lowerdir+" (Linux 6.13);
// older kernels get its /proc/self/fd path.
Napi::Value FilesMountOverlay(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  bool lowerIsFd = info.Length() > 0 && info[0].IsNumber();
  std::string lowerPath = lowerIsFd ? "" : StrArg(info, 0);
  int lowerFd = lowerIsFd ? IntArg(info, 0) : -1;
  std::string upper = StrArg(info, 1), work = StrArg(info, 2);
  bool userxattr = info.Length() > 3 && info[3].ToBoolean().Value();

  int fsfd = (int)syscall(SYS_fsopen, "overlay", WR_FSOPEN_CLOEXEC);
  if (fsfd < 0) throw ErrnoError(env, "fsopen", errno);
  auto cfg = [&](unsigned cmd, const char *key, const void *value, int aux) {
    return syscall(SYS_fsconfig, fsfd, cmd, key, value, aux) < 0 ? errno : 0;
  };
  int err = 0;
  const char *step = "fsconfig(lowerdir)";
  if (lowerIsFd) {
    err = cfg(WR_FSCONFIG_SET_FD, "lowerdir+", nullptr, lowerFd);
    if (err) {
      FsLog(fsfd);  // drop the "unknown parameter" message
      std::string via = "/proc/self/fd/" + std::to_string(lowerFd);
      err = cfg(WR_FSCONFIG_SET_STRING, "lowerdir", via.c_str(), 0);
    }
  } else {
    err = cfg(WR_FSCONFIG_SET_STRING, "lowerdir", lowerPath.c_str(), 0);
  }
  if (!err) step = "fsconfig(upperdir)", err = cfg(WR_FSCONFIG_SET_STRING, "upperdir", upper.c_str(), 0);
  if (!err) step = "fsconfig(workdir)", err = cfg(WR_FSCONFIG_SET_STRING, "workdir", work.c_str(), 0);
  if (!err && userxattr) step = "fsconfig(userxattr)", err = cfg(WR_FSCONFIG_SET_FLAG, "userxattr", nullptr, 0);
  if (!err) step = "fsconfig(create)", err = cfg(WR_FSCONFIG_CMD_CREATE, nullptr, nullptr, 0);
  int mfd = -1;
  if (!err) {
    step = "fsmount";
    mfd = (int)syscall(SYS_fsmount, fsfd, WR_FSMOUNT_CLOEXEC, 0);
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

// mountSetattr(treeFd, set, clear, recursive): e.g. MOUNT_ATTR_RDONLY on a
// detached copy of a read-only rootfs, so a write fails as it would inside.
Napi::Value FilesMountSetattr(const Napi::CallbackInfo &info) {
  struct wr_mount_attr attr = {(uint64_t)(uint32_t)IntArg(info, 1), (uint64_t)(uint32_t)IntArg(info, 2), 0, 0};
  bool recursive = info.Length() > 3 && info[3].ToBoolean().Value();
  long rc = syscall(SYS_mount_setattr, IntArg(info, 0), "", AT_EMPTY_PATH | (recursive ? WR_AT_RECURSIVE : 0), &attr, sizeof attr);
  if (rc < 0) throw ErrnoError(info.Env(), "mount_setattr", errno);
  return info.Env().Undefined();
}

// attachMount(treeFd, targetFd): move_mount of a detached tree onto a
// directory the caller opened safely (O_PATH, inside the same detached
// tree: Linux 6.15 allows building detached trees this way).
Napi::Value FilesAttachMount(const Napi::CallbackInfo &info) {
  long rc = syscall(SYS_move_mount, IntArg(info, 0), "", IntArg(info, 1), "",
                    WR_MOVE_MOUNT_F_EMPTY_PATH | WR_MOVE_MOUNT_T_EMPTY_PATH);
  if (rc < 0) throw ErrnoError(info.Env(), "move_mount", errno);
  return info.Env().Undefined();
}

}  // namespace

Napi::Object InitFiles(Napi::Env env, Napi::Object exports) {
  exports.Set("filesOpenat2", Napi::Function::New(env, FilesOpenat2));
  exports.Set("filesMkdirat", Napi::Function::New(env, FilesMkdirat));
  exports.Set("filesUnlinkat", Napi::Function::New(env, FilesUnlinkat));
  exports.Set("filesReadlinkat", Napi::Function::New(env, FilesReadlinkat));
  exports.Set("filesMountOverlay", Napi::Function::New(env, FilesMountOverlay));
  exports.Set("filesMountSetattr", Napi::Function::New(env, FilesMountSetattr));
  exports.Set("filesAttachMount", Napi::Function::New(env, FilesAttachMount));
  return exports;
}

}  // namespace warren
