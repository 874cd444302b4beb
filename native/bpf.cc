// eBPF device programs for a container's cgroup: load, attach, detach,
// query. The program itself is built in TypeScript (src/cgroup/devices.ts);
// these are thin wrappers over bpf(2). Each throws an Error carrying
// `errno` (positive) and `syscall`, like misc.cc.
#include <errno.h>
#include <linux/bpf.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "napi-util.h"
#include "spawn.h"

namespace warren {

namespace {

long Bpf(int cmd, union bpf_attr *attr) {
  long rc;
  do rc = syscall(SYS_bpf, cmd, attr, sizeof *attr);
  while (rc < 0 && errno == EINTR);
  return rc;
}

uint32_t Uint32Arg(const Napi::CallbackInfo &info, size_t i) {
  if (info.Length() <= i || !info[i].IsNumber())
    throw Napi::TypeError::New(info.Env(), "expected a number argument");
  return info[i].As<Napi::Number>().Uint32Value();
}

// bpfProgLoadDevice(insns: Buffer, name: string, license: string) -> fd
// (close-on-exec, as every bpf fd). A failed load is retried once with a
// 64 KiB verifier log, whose text goes into the error (message and `log`).
Napi::Value ProgLoadDevice(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsBuffer() || !info[1].IsString())
    throw Napi::TypeError::New(env, "bpfProgLoadDevice(insns: Buffer, name: string, license?: string)");
  Napi::Buffer<uint8_t> insns = info[0].As<Napi::Buffer<uint8_t>>();
  std::string name = info[1].As<Napi::String>().Utf8Value();
  std::string license = info.Length() > 2 && info[2].IsString() ? info[2].As<Napi::String>().Utf8Value() : "GPL";
  if (insns.Length() == 0 || insns.Length() % sizeof(struct bpf_insn) != 0)
    throw Napi::RangeError::New(env, "the program must be a non-empty list of 8-byte instructions");
  if (name.size() >= BPF_OBJ_NAME_LEN)
    throw Napi::RangeError::New(env, "the program name must be shorter than 16 bytes");

  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  attr.insn_cnt = (uint32_t)(insns.Length() / sizeof(struct bpf_insn));
  attr.insns = (uint64_t)(uintptr_t)insns.Data();
  attr.license = (uint64_t)(uintptr_t)license.c_str();
  attr.expected_attach_type = BPF_CGROUP_DEVICE;
  memcpy(attr.prog_name, name.data(), name.size());
  int fd = (int)Bpf(BPF_PROG_LOAD, &attr);
  if (fd >= 0) return Napi::Number::New(env, fd);
  int err = errno;
  if (err == EPERM || err == ENOMEM || err == E2BIG) throw ErrnoError(env, "bpf(BPF_PROG_LOAD)", err);

  std::vector<char> log(64 * 1024, '\0');
  attr.log_level = 1;
  attr.log_size = (uint32_t)log.size();
  attr.log_buf = (uint64_t)(uintptr_t)log.data();
  fd = (int)Bpf(BPF_PROG_LOAD, &attr);
  if (fd >= 0) return Napi::Number::New(env, fd);  // a transient failure
  err = errno;
  log.back() = '\0';
  std::string text(log.data());
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  Napi::Error e = ErrnoError(env, "bpf(BPF_PROG_LOAD)", err, text.empty() ? "" : "\nverifier log:\n" + text);
  e.Set("log", Napi::String::New(env, text));
  throw e;
}

// bpfProgAttach(progFd, cgroupFd, flags, replaceFd?) for BPF_CGROUP_DEVICE.
Napi::Value ProgAttach(const Napi::CallbackInfo &info) {
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.attach_bpf_fd = (uint32_t)IntArg(info, 0);
  attr.target_fd = (uint32_t)IntArg(info, 1);
  attr.attach_type = BPF_CGROUP_DEVICE;
  attr.attach_flags = Uint32Arg(info, 2);
  if (info.Length() > 3 && info[3].IsNumber()) attr.replace_bpf_fd = (uint32_t)IntArg(info, 3);
  if (Bpf(BPF_PROG_ATTACH, &attr) < 0) throw ErrnoError(info.Env(), "bpf(BPF_PROG_ATTACH)", errno);
  return info.Env().Undefined();
}

// bpfProgDetach(progFd, cgroupFd) for BPF_CGROUP_DEVICE.
Napi::Value ProgDetach(const Napi::CallbackInfo &info) {
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.attach_bpf_fd = (uint32_t)IntArg(info, 0);
  attr.target_fd = (uint32_t)IntArg(info, 1);
  attr.attach_type = BPF_CGROUP_DEVICE;
  if (Bpf(BPF_PROG_DETACH, &attr) < 0) throw ErrnoError(info.Env(), "bpf(BPF_PROG_DETACH)", errno);
  return info.Env().Undefined();
}

// bpfProgQuery(cgroupFd) -> ids of the device programs attached to that
// cgroup itself (not the effective ones inherited from its ancestors).
Napi::Value ProgQuery(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int cgroup = IntArg(info, 0);
  std::vector<uint32_t> ids(64);
  for (;;) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.query.target_fd = (uint32_t)cgroup;
    attr.query.attach_type = BPF_CGROUP_DEVICE;
    attr.query.prog_ids = (uint64_t)(uintptr_t)ids.data();
    attr.query.prog_cnt = (uint32_t)ids.size();
    if (Bpf(BPF_PROG_QUERY, &attr) < 0) {
      // ENOSPC: more programs than room; prog_cnt holds how many there are.
      if (errno == ENOSPC && attr.query.prog_cnt > ids.size()) {
        ids.resize(attr.query.prog_cnt + 16);
        continue;
      }
      throw ErrnoError(env, "bpf(BPF_PROG_QUERY)", errno);
    }
    Napi::Array out = Napi::Array::New(env, attr.query.prog_cnt);
    for (uint32_t i = 0; i < attr.query.prog_cnt && i < ids.size(); i++) out.Set(i, Napi::Number::New(env, ids[i]));
    return out;
  }
}

int ProgFdById(Napi::Env env, uint32_t id) {
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.prog_id = id;
  int fd = (int)Bpf(BPF_PROG_GET_FD_BY_ID, &attr);
  if (fd < 0) throw ErrnoError(env, "bpf(BPF_PROG_GET_FD_BY_ID)", errno);
  return fd;
}

// bpfProgGetFdById(id) -> fd (close-on-exec); the caller closes it.
Napi::Value ProgGetFdById(const Napi::CallbackInfo &info) {
  return Napi::Number::New(info.Env(), ProgFdById(info.Env(), Uint32Arg(info, 0)));
}

// bpfProgInfo(id) -> {id, type, name, tag}: tag is the 8-byte program hash
// in hex, as bpftool prints it.
Napi::Value ProgInfo(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int fd = ProgFdById(env, Uint32Arg(info, 0));
  struct bpf_prog_info pi;
  memset(&pi, 0, sizeof pi);
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.info.bpf_fd = (uint32_t)fd;
  attr.info.info_len = sizeof pi;
  attr.info.info = (uint64_t)(uintptr_t)&pi;
  long rc = Bpf(BPF_OBJ_GET_INFO_BY_FD, &attr);
  int err = errno;
  close(fd);
  if (rc < 0) throw ErrnoError(env, "bpf(BPF_OBJ_GET_INFO_BY_FD)", err);
  char name[BPF_OBJ_NAME_LEN + 1];
  memcpy(name, pi.name, BPF_OBJ_NAME_LEN);
  name[BPF_OBJ_NAME_LEN] = '\0';
  static const char hex[] = "0123456789abcdef";
  std::string tag;
  for (size_t i = 0; i < BPF_TAG_SIZE; i++) {
    tag += hex[pi.tag[i] >> 4];
    tag += hex[pi.tag[i] & 15];
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("id", Napi::Number::New(env, pi.id));
  out.Set("type", Napi::Number::New(env, pi.type));
  out.Set("name", Napi::String::New(env, name));
  out.Set("tag", Napi::String::New(env, tag));
  return out;
}

}  // namespace

Napi::Object InitBpf(Napi::Env env, Napi::Object exports) {
  exports.Set("bpfProgLoadDevice", Napi::Function::New(env, ProgLoadDevice));
  exports.Set("bpfProgAttach", Napi::Function::New(env, ProgAttach));
  exports.Set("bpfProgDetach", Napi::Function::New(env, ProgDetach));
  exports.Set("bpfProgQuery", Napi::Function::New(env, ProgQuery));
  exports.Set("bpfProgGetFdById", Napi::Function::New(env, ProgGetFdById));
  exports.Set("bpfProgInfo", Napi::Function::New(env, ProgInfo));
  return exports;
}

}  // namespace warren
