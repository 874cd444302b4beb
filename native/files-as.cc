// filesAsContainer: one files-API call made with a container's
// credentials (native/child/fileop.c does the call) by the helper of
// native/vfork-helper.h: an fd it opens is ours.
#include <string.h>

#include <string>

extern "C" {
#include "child/fileop.h"
#include "child/plan.h"
}
#include "linux.h"
#include "napi-util.h"
#include "spawn.h"
#include "vfork-helper.h"

namespace warren {

namespace {

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
  long rc = RunVforkHelper(wr_fileop_main, &op);
  if (rc < 0) throw ErrnoError(env, "clone3", (int)-rc);
  if (op.result < 0) throw ErrnoError(env, op.joined ? SyscallOf(op.kind) : "setns", (int)-op.result);
  return Napi::Number::New(env, (double)op.result);
}

}  // namespace

Napi::Object InitFilesAs(Napi::Env env, Napi::Object exports) {
  exports.Set("filesAsContainer", Napi::Function::New(env, FilesAsContainer));
  return exports;
}

}  // namespace warren
