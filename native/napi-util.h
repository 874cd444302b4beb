// Small helpers shared by the addon's entry points: errors that carry the
// errno the way Node's own system errors do, and strict argument reading.
#ifndef WARREN_NAPI_UTIL_H
#define WARREN_NAPI_UTIL_H

#include <napi.h>
#include <string.h>
#include <uv.h>

#include <string>

namespace warren {

// The errno's name as Node gives it (libuv's table: util.getSystemErrorName),
// or "E<n>" for one libuv does not know; src/linux/errno.ts names numbers
// the same way, so `code` compares equal whichever side produced it.
inline std::string ErrnoName(int err) {
  char buf[64];
  uv_err_name_r(-err, buf, sizeof buf);  // "Unknown system error -N" when unknown
  return buf[0] == 'E' ? std::string(buf) : "E" + std::to_string(err);
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

}  // namespace warren

#endif
