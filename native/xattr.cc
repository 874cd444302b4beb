// Extended attributes and device nodes, for applying image layers: Node has
// neither lsetxattr(2) and friends nor mknod(2). Every call works on the
// path itself, never on what a symlink at its last component points at
// (the l* xattr calls; mknod fails with EEXIST on anything already there).
// Errors carry `errno` (positive) and `syscall`, as in native/misc.cc.
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include <string>
#include <vector>

#include "napi-util.h"
#include "spawn.h"

namespace warren {

namespace {

std::string StringArg(const Napi::CallbackInfo &info, size_t i, const char *what) {
  if (info.Length() <= i || !info[i].IsString())
    throw Napi::TypeError::New(info.Env(), std::string("expected a string for ") + what);
  std::string s = info[i].As<Napi::String>().Utf8Value();
  // A NUL inside would silently shorten the path or name the kernel sees.
  if (s.find('\0') != std::string::npos)
    throw Napi::TypeError::New(info.Env(), std::string(what) + " contains a NUL byte");
  return s;
}

uint32_t Uint32Arg(const Napi::CallbackInfo &info, size_t i) {
  if (info.Length() <= i || !info[i].IsNumber())
    throw Napi::TypeError::New(info.Env(), "expected a number argument");
  double d = info[i].As<Napi::Number>().DoubleValue();
  if (d < 0 || d > 4294967295.0 || d != (double)(uint32_t)d)
    throw Napi::TypeError::New(info.Env(), "expected an unsigned 32-bit integer");
  return (uint32_t)d;
}

// lsetxattr(path, name, value: Buffer, flags = 0)
Napi::Value Lsetxattr(const Napi::CallbackInfo &info) {
  std::string path = StringArg(info, 0, "path");
  std::string name = StringArg(info, 1, "name");
  if (info.Length() < 3 || !info[2].IsBuffer())
    throw Napi::TypeError::New(info.Env(), "lsetxattr(path, name, value: Buffer, flags?)");
  Napi::Buffer<uint8_t> value = info[2].As<Napi::Buffer<uint8_t>>();
  int flags = info.Length() > 3 && !info[3].IsUndefined() ? IntArg(info, 3) : 0;
  if (lsetxattr(path.c_str(), name.c_str(), value.Data(), value.Length(), flags) < 0)
    throw ErrnoError(info.Env(), "lsetxattr", errno);
  return info.Env().Undefined();
}

// lgetxattr(path, name): Buffer. ENODATA when the attribute is not there.
Napi::Value Lgetxattr(const Napi::CallbackInfo &info) {
  std::string path = StringArg(info, 0, "path");
  std::string name = StringArg(info, 1, "name");
  // Size first, then read; retry when it grew in between (ERANGE).
  for (int attempt = 0; attempt < 8; attempt++) {
    ssize_t n = lgetxattr(path.c_str(), name.c_str(), nullptr, 0);
    if (n < 0) throw ErrnoError(info.Env(), "lgetxattr", errno);
    std::vector<uint8_t> buf((size_t)n + 1);
    ssize_t got = lgetxattr(path.c_str(), name.c_str(), buf.data(), buf.size());
    if (got < 0 && errno == ERANGE) continue;
    if (got < 0) throw ErrnoError(info.Env(), "lgetxattr", errno);
    return Napi::Buffer<uint8_t>::Copy(info.Env(), buf.data(), (size_t)got);
  }
  throw ErrnoError(info.Env(), "lgetxattr", ERANGE);
}

// llistxattr(path): string[] (the names the caller may see).
Napi::Value Llistxattr(const Napi::CallbackInfo &info) {
  std::string path = StringArg(info, 0, "path");
  for (int attempt = 0; attempt < 8; attempt++) {
    ssize_t n = llistxattr(path.c_str(), nullptr, 0);
    if (n < 0) throw ErrnoError(info.Env(), "llistxattr", errno);
    std::vector<char> buf((size_t)n + 1);
    ssize_t got = llistxattr(path.c_str(), buf.data(), buf.size());
    if (got < 0 && errno == ERANGE) continue;
    if (got < 0) throw ErrnoError(info.Env(), "llistxattr", errno);
    Napi::Array out = Napi::Array::New(info.Env());
    uint32_t k = 0;
    for (ssize_t i = 0; i < got;) {
      size_t len = strnlen(buf.data() + i, (size_t)(got - i));
      if (len) out.Set(k++, Napi::String::New(info.Env(), buf.data() + i, len));
      i += (ssize_t)len + 1;
    }
    return out;
  }
  throw ErrnoError(info.Env(), "llistxattr", ERANGE);
}

// lremovexattr(path, name)
Napi::Value Lremovexattr(const Napi::CallbackInfo &info) {
  std::string path = StringArg(info, 0, "path");
  std::string name = StringArg(info, 1, "name");
  if (lremovexattr(path.c_str(), name.c_str()) < 0) throw ErrnoError(info.Env(), "lremovexattr", errno);
  return info.Env().Undefined();
}

// mknod(path, mode, major, minor): `mode` holds the file type (S_IFCHR,
// S_IFBLK, S_IFIFO, S_IFREG, S_IFSOCK) and the permission bits, which the
// umask trims as usual. Never follows a symlink: an existing last component,
// whatever it is, is EEXIST.
Napi::Value Mknod(const Napi::CallbackInfo &info) {
  std::string path = StringArg(info, 0, "path");
  uint32_t mode = Uint32Arg(info, 1);
  uint32_t major = info.Length() > 2 ? Uint32Arg(info, 2) : 0;
  uint32_t minor = info.Length() > 3 ? Uint32Arg(info, 3) : 0;
  switch (mode & S_IFMT) {
    case S_IFCHR: case S_IFBLK: case S_IFIFO: case S_IFREG: case S_IFSOCK: break;
    default: throw Napi::TypeError::New(info.Env(), "mknod: mode has no (or an unsupported) file type");
  }
  if (mknodat(AT_FDCWD, path.c_str(), (mode_t)mode, makedev(major, minor)) < 0)
    throw ErrnoError(info.Env(), "mknodat", errno);
  return info.Env().Undefined();
}

}  // namespace

Napi::Object InitXattr(Napi::Env env, Napi::Object exports) {
  exports.Set("lsetxattr", Napi::Function::New(env, Lsetxattr));
  exports.Set("lgetxattr", Napi::Function::New(env, Lgetxattr));
  exports.Set("llistxattr", Napi::Function::New(env, Llistxattr));
  exports.Set("lremovexattr", Napi::Function::New(env, Lremovexattr));
  exports.Set("mknod", Napi::Function::New(env, Mknod));
  return exports;
}

}  // namespace warren
