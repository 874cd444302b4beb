// Watching a container's process for exit without blocking the event loop:
// the pidfd turns readable when the process exits, a uv_poll_t sees that,
// and waitid(P_PIDFD) reaps exactly that process. Nothing here calls
// waitpid(-1), so children of Node's own child_process are never touched.
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "napi-util.h"
#include "spawn.h"

namespace warren {

namespace {

class ExitWatcher : public Napi::ObjectWrap<ExitWatcher> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "ExitWatcher",
                       {InstanceMethod("ref", &ExitWatcher::Ref),
                        InstanceMethod("unref", &ExitWatcher::Unref),
                        InstanceMethod("close", &ExitWatcher::Close)});
  }

  ExitWatcher(const Napi::CallbackInfo &info) : Napi::ObjectWrap<ExitWatcher>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsFunction())
      throw Napi::TypeError::New(env, "new ExitWatcher(pidfd: number, callback: function)");
    pidfd_ = info[0].As<Napi::Number>().Int32Value();
    callback_ = Napi::Persistent(info[1].As<Napi::Function>());
    uv_loop_t *loop = nullptr;
    napi_get_uv_event_loop(env, &loop);
    poll_ = new uv_poll_t;
    int rc = uv_poll_init(loop, poll_, pidfd_);
    if (rc != 0) {
      delete poll_;
      poll_ = nullptr;
      throw ErrnoError(env, "uv_poll_init(pidfd)", -rc);
    }
    poll_->data = this;
    uv_poll_start(poll_, UV_READABLE, &ExitWatcher::OnReadable);
    self_ = Napi::Persistent(info.This().As<Napi::Object>());  // alive while polling
    uv_unref(reinterpret_cast<uv_handle_t *>(poll_));
    context_ = new Napi::AsyncContext(env, "warren:ExitWatcher");
    // An unref'd watcher can outlive the environment (Node exiting while a
    // container runs): stop polling before the environment goes away.
    napi_add_env_cleanup_hook(env, &ExitWatcher::OnEnvCleanup, this);
    hooked_ = true;
  }

  ~ExitWatcher() override { delete context_; }

 private:
  static void OnReadable(uv_poll_t *handle, int status, int events) {
    auto *self = static_cast<ExitWatcher *>(handle->data);
    (void)status;
    (void)events;
    self->Fire();
  }

  static void OnEnvCleanup(void *arg) {
    auto *self = static_cast<ExitWatcher *>(arg);
    self->hooked_ = false;
    self->exiting_ = true;
    if (self->poll_) {
      uv_poll_stop(self->poll_);
      // The loop will not run again: the handle is left to process exit.
      self->poll_ = nullptr;
    }
  }

  void Fire() {
    siginfo_t info;
    info.si_pid = 0;
    int rc;
    do rc = waitid(P_PIDFD, pidfd_, &info, WEXITED | WNOHANG | __WALL);
    while (rc < 0 && errno == EINTR);
    bool reaped = rc == 0;
    if (reaped && info.si_pid == 0) return;  // spurious: not exited yet
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    Napi::Value code = env.Null(), sig = env.Null();
    if (reaped) {
      if (info.si_code == CLD_EXITED) code = Napi::Number::New(env, info.si_status);
      else sig = Napi::Number::New(env, info.si_status);
    }
    // Not our child (ECHILD): re-adopted from another process, which cannot
    // know how it ended.
    StopPolling();
    Napi::FunctionReference cb = std::move(callback_);
    if (cb.IsEmpty()) return Release();
    // MakeCallback, not Call: it runs the microtasks the callback queues
    // (the promises awaiting this exit) and keeps async_hooks context.
    try {
      cb.MakeCallback(env.Global(), {code, sig, Napi::Boolean::New(env, reaped)}, *context_);
    } catch (const Napi::Error &e) {
      // An exception thrown by the JS callback: hand it to Node's
      // uncaughtException machinery instead of unwinding through libuv.
      if (!exiting_) napi_fatal_exception(env, e.Value());
    }
    // Only now may the wrapper (and the async context above) be collected.
    Release();
  }

  void StopPolling() {
    if (hooked_) {
      napi_remove_env_cleanup_hook(Env(), &ExitWatcher::OnEnvCleanup, this);
      hooked_ = false;
    }
    if (!poll_) return;
    uv_poll_stop(poll_);
    uv_close(reinterpret_cast<uv_handle_t *>(poll_),
             [](uv_handle_t *h) { delete reinterpret_cast<uv_poll_t *>(h); });
    poll_ = nullptr;
  }

  void Release() {
    if (!self_.IsEmpty()) self_.Reset();
  }

  void Stop() {
    StopPolling();
    Release();
  }

  Napi::Value Ref(const Napi::CallbackInfo &info) {
    if (poll_) uv_ref(reinterpret_cast<uv_handle_t *>(poll_));
    return info.Env().Undefined();
  }
  Napi::Value Unref(const Napi::CallbackInfo &info) {
    if (poll_) uv_unref(reinterpret_cast<uv_handle_t *>(poll_));
    return info.Env().Undefined();
  }
  Napi::Value Close(const Napi::CallbackInfo &info) {
    Stop();
    callback_.Reset();
    return info.Env().Undefined();
  }

  int pidfd_ = -1;
  uv_poll_t *poll_ = nullptr;
  Napi::FunctionReference callback_;
  Napi::ObjectReference self_;
  Napi::AsyncContext *context_ = nullptr;
  bool hooked_ = false;
  bool exiting_ = false;
};

}  // namespace

Napi::Object InitWait(Napi::Env env, Napi::Object exports) {
  exports.Set("ExitWatcher", ExitWatcher::Define(env));
  return exports;
}

}  // namespace warren
