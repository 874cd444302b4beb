// Small helpers shared by the addon's entry points: errors that carry the
// errno the way Node's own system errors do, and strict argument reading.
#ifndef WARREN_NAPI_UTIL_H
#define WARREN_NAPI_UTIL_H

#include <dlfcn.h>
#include <napi.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include <string>

namespace warren {

// The errno's name as Node gives it: libuv's table first (ENOTSUP, not
// EOPNOTSUPP, for 95), then libc's for the ones libuv lacks (ENOEXEC,
// ESTALE, EDQUOT …), else "E<n>". src/linux/errno.ts names numbers in the
// same order (libuv, then os.constants.errno, which has libc's names), so
// the two agree on every errno Node knows; only for the few Node has no
// name for (EUCLEAN, ENOKEY …) this gives libc's name where errnoName()
// says "E<n>". strerrorname_np (glibc 2.32) is looked up at run time so a
// prebuilt addon still loads on an older glibc.
inline std::string ErrnoName(int err) {
  char buf[64];
  uv_err_name_r(-err, buf, sizeof buf);  // "Unknown system error -N" when unknown
  if (buf[0] == 'E') return buf;
  using NameFn = const char *(*)(int);
  static const NameFn libc_name = reinterpret_cast<NameFn>(dlsym(RTLD_DEFAULT, "strerrorname_np"));
  const char *name = libc_name ? libc_name(err) : nullptr;
  return name ? std::string(name) : "E" + std::to_string(err);
}

// An Error with `code` ("EPERM"), `errno` (positive) and `syscall`, and the
// message "<syscall>: <strerror><detail>".
inline Napi::Error ErrnoError(Napi::Env env, const char *syscall, int err, const std::string &detail = "") {
  Napi::Error e = Napi::Error::New(env, std::string(syscall) + ": " + strerror(err) + detail);
  e.Set("code", Napi::String::New(env, ErrnoName(err)));
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("syscall", Napi::String::New(env, syscall));
  return e;
}

inline int IntArg(const Napi::CallbackInfo &info, size_t i) {
  if (info.Length() <= i || !info[i].IsNumber())
    throw Napi::TypeError::New(info.Env(), "expected a number argument");
  return info[i].As<Napi::Number>().Int32Value();
}

// fsconfig's messages (the "e overlayfs: …" lines read from the context fd).
inline std::string FsLog(int fsfd) {
  std::string out;
  char buf[512];
  for (int i = 0; i < 8; i++) {
    ssize_t n = read(fsfd, buf, sizeof buf - 1);
    if (n <= 0) break;
    buf[n] = 0;
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

inline Napi::Error FsError(Napi::Env env, const char *what, int err, int fsfd) {
  std::string log = fsfd >= 0 ? FsLog(fsfd) : "";
  Napi::Error e = ErrnoError(env, what, err, log.empty() ? "" : " (" + log + ")");
  if (!log.empty()) e.Set("log", Napi::String::New(env, log));
  return e;
}

}  // namespace warren

#endif
