// Small helpers shared by the addon's entry points: errors that carry the
// errno (turned into Node's code names by src/native/binding.ts callers)
// and strict argument reading.
#ifndef WARREN_NAPI_UTIL_H
#define WARREN_NAPI_UTIL_H

#include <napi.h>
#include <string.h>

#include <string>

namespace warren {

inline Napi::Error ErrnoError(Napi::Env env, const char *syscall, int err) {
  Napi::Error e = Napi::Error::New(env, std::string(syscall) + ": " + strerror(err));
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
