// Reads many small files in one call, off the JS thread: a listing of
// thousands of containers (their state.json) or a stats sweep over
// thousands of cgroups (cpu.stat, memory.current, *.pressure …) costs a
// few microseconds of kernel time per file, but tens through Node's fs
// (an object, a string and often a thrown ENOENT per file). One
// AsyncWorker does the whole batch on the libuv pool, so the event loop
// stays free while it runs (src/linux/read-files.ts).
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "napi-util.h"
#include "spawn.h"

namespace warren {

namespace {

// A file larger than this is an error (EFBIG), not a reason to allocate
// without bound: every file read here is a small kernel or state file.
constexpr size_t kMaxFile = 16 << 20;

struct FileResult {
  int err = 0;
  std::string text;
};

bool IsSpace(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

// The length of `text` without its trailing whitespace. A state.json is a
// 4 KiB block of spaces ending in a newline (overwritten in place): after
// that newline, the padding goes a word at a time.
size_t TrimmedLength(const char *text, size_t len) {
  static const char kSpaces[8] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
  while (len > 0 && IsSpace(text[len - 1]) && text[len - 1] != ' ') len--;
  while (len >= 8 && memcmp(text + len - 8, kSpaces, 8) == 0) len -= 8;
  while (len > 0 && IsSpace(text[len - 1])) len--;
  return len;
}

// Reads `path` (relative to `dirfd`, or to the cwd with AT_FDCWD) into `out`,
// without its trailing whitespace (a listing of thousands would otherwise
// make a 4 KiB string of each state.json for the garbage collector). A
// file that fits the stack buffer is copied once, trimmed: allocating 4 KiB
// per file on a pool thread costs more than the read (malloc grows and
// trims that thread's arena over and over).
void ReadOne(int dirfd, const std::string &path, FileResult &out) {
  int fd = openat(dirfd, path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    out.err = errno;
    return;
  }
  char buf[8192];
  bool whole = false;
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      out.err = errno;
      break;
    }
    // A read that did not fill the buffer ended at EOF: these are regular
    // files and kernel seq files, which return all they have up to the size
    // asked for. The read that would say 0 is one syscall per file saved.
    if (out.text.empty() && (size_t)n < sizeof buf) {
      out.text.assign(buf, TrimmedLength(buf, (size_t)n));
      whole = true;
      break;
    }
    if (n == 0) break;
    if (out.text.size() + (size_t)n > kMaxFile) {
      out.err = EFBIG;
      break;
    }
    out.text.append(buf, (size_t)n);
    if ((size_t)n < sizeof buf) break;
  }
  close(fd);
  if (out.err != 0) {
    out.text.clear();
    return;
  }
  if (!whole) out.text.resize(TrimmedLength(out.text.data(), out.text.size()));
}

// Kernel files are ASCII, and V8 makes a one-byte string of Latin-1 text
// without decoding it; anything else (a state file's UTF-8 names) as UTF-8.
Napi::Value MakeString(Napi::Env env, const std::string &text) {
  for (unsigned char ch : text)
    if (ch >= 0x80) return Napi::String::New(env, text);
  napi_value v;
  NAPI_THROW_IF_FAILED(env, napi_create_string_latin1(env, text.data(), text.size(), &v), Napi::Value());
  return Napi::Value(env, v);
}

class ReadFilesWorker : public Napi::AsyncWorker {
 public:
  ReadFilesWorker(Napi::Env env, std::vector<std::string> dirs, std::vector<std::string> names)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), dirs_(std::move(dirs)),
        names_(std::move(names)), results_(dirs_.size() * names_.size()) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    // Directories that share a parent (a stats sweep's container cgroups,
    // a listing's container directories) are read through one fd of that
    // parent, `openat(parent, "dir/file")`: an fd per directory would cost
    // an open and a close each, about a tenth of a sweep over cgroups.
    std::string parent;
    int parentfd = -1;
    for (size_t d = 0; d < dirs_.size(); d++) {
      const std::string &dir = dirs_[d];
      FileResult *out = &results_[d * names_.size()];
      size_t slash = dir.find_last_of('/');
      bool split = slash != std::string::npos && slash + 1 < dir.size();
      std::string up = !split ? std::string() : slash == 0 ? std::string("/") : dir.substr(0, slash);
      if (split && (parentfd < 0 || up != parent)) {
        if (parentfd >= 0) close(parentfd);
        parent = up;
        parentfd = open(parent.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
      }
      if (!split || parentfd < 0) {
        // No parent to go through (a relative name, or one that cannot be opened): full paths.
        for (size_t n = 0; n < names_.size(); n++) ReadOne(AT_FDCWD, dir + "/" + names_[n], out[n]);
        continue;
      }
      std::string base = dir.substr(slash + 1) + "/";
      for (size_t n = 0; n < names_.size(); n++) {
        ReadOne(parentfd, base + names_[n], out[n]);
        // A directory that is not there (a container that stopped) fails
        // every file the same way: one look says so for the rest.
        if (n == 0 && (out[0].err == ENOENT || out[0].err == ENOTDIR)) {
          struct stat st;
          if (fstatat(parentfd, base.c_str(), &st, 0) != 0) {
            int err = errno;
            for (size_t k = 1; k < names_.size(); k++) out[k].err = err;
            break;
          }
        }
      }
    }
    if (parentfd >= 0) close(parentfd);
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::Array out = Napi::Array::New(env, results_.size());
    for (size_t i = 0; i < results_.size(); i++) {
      const FileResult &r = results_[i];
      if (r.err != 0) out.Set(i, Napi::Number::New(env, r.err));
      else out.Set(i, MakeString(env, r.text));
    }
    deferred_.Resolve(out);
  }

  void OnError(const Napi::Error &e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::vector<std::string> dirs_, names_;
  std::vector<FileResult> results_;
};

std::vector<std::string> StringList(const Napi::CallbackInfo &info, size_t i, const char *what) {
  if (info.Length() <= i || !info[i].IsArray()) throw Napi::TypeError::New(info.Env(), std::string(what) + ": expected an array of strings");
  Napi::Array a = info[i].As<Napi::Array>();
  std::vector<std::string> out;
  out.reserve(a.Length());
  for (uint32_t k = 0; k < a.Length(); k++) {
    Napi::Value v = a.Get(k);
    if (!v.IsString()) throw Napi::TypeError::New(info.Env(), std::string(what) + ": expected an array of strings");
    std::string s = v.As<Napi::String>().Utf8Value();
    if (s.empty() || s.find('\0') != std::string::npos) throw Napi::TypeError::New(info.Env(), std::string(what) + ": empty string or NUL");
    out.push_back(std::move(s));
  }
  return out;
}

// readFiles(dirs, names): Promise<(string | errno)[]>, entry d * names.length + n
// for dirs[d]/names[n]: the file's text without trailing whitespace, or the
// errno that reading it met.
Napi::Value ReadFiles(const Napi::CallbackInfo &info) {
  auto dirs = StringList(info, 0, "readFiles(dirs)");
  auto names = StringList(info, 1, "readFiles(names)");
  for (const auto &n : names)
    if (n.find('/') != std::string::npos || n == "." || n == "..")
      throw Napi::TypeError::New(info.Env(), "readFiles(names): a name is one path component");
  auto *w = new ReadFilesWorker(info.Env(), std::move(dirs), std::move(names));
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

}  // namespace

void InitReadFiles(Napi::Env env, Napi::Object exports) { exports.Set("readFiles", Napi::Function::New(env, ReadFiles)); }

}  // namespace warren
