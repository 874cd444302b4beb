// Kernel uevents (src/devices/uevent.ts parses them): a NETLINK_KOBJECT_UEVENT
// socket bound to the kernel's multicast group 1, polled on the event loop.
// No udev daemon is involved: the kernel's own messages ("add@/devices/…"
// followed by KEY=value strings) arrive here as it sends them. Messages not
// sent by the kernel (nl_pid != 0: udev's rebroadcasts on group 2, or any
// process's) are dropped.
#include <errno.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "../napi-util.h"

namespace warren {

namespace {

class UeventListener : public Napi::ObjectWrap<UeventListener> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "UeventListener",
                       {InstanceMethod("ref", &UeventListener::Ref), InstanceMethod("unref", &UeventListener::Unref),
                        InstanceMethod("close", &UeventListener::Close)});
  }

  UeventListener(const Napi::CallbackInfo &info) : Napi::ObjectWrap<UeventListener>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsFunction()) throw Napi::TypeError::New(env, "new UeventListener(callback: (message: Buffer) => void)");
    fd_ = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_KOBJECT_UEVENT);
    if (fd_ < 0) throw ErrnoError(env, "socket(NETLINK_KOBJECT_UEVENT)", errno);
    // A burst (a USB hub with its ports) must not overflow the queue;
    // SO_RCVBUFFORCE needs CAP_NET_ADMIN, the plain option is the fallback.
    int size = 4 << 20;
    if (setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0) setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    struct sockaddr_nl addr = {};
    addr.nl_family = AF_NETLINK;
    addr.nl_groups = 1;  // the kernel's uevents
    if (bind(fd_, (struct sockaddr *)&addr, sizeof addr) < 0) {
      int err = errno;
      close(fd_);
      throw ErrnoError(env, "bind(NETLINK_KOBJECT_UEVENT)", err);
    }
    callback_ = Napi::Persistent(info[0].As<Napi::Function>());
    uv_loop_t *loop = nullptr;
    napi_get_uv_event_loop(env, &loop);
    poll_ = new uv_poll_t;
    int rc = uv_poll_init(loop, poll_, fd_);
    if (rc != 0) {
      delete poll_;
      poll_ = nullptr;
      close(fd_);
      throw ErrnoError(env, "uv_poll_init(uevent)", -rc);
    }
    poll_->data = this;
    uv_poll_start(poll_, UV_READABLE, &UeventListener::OnReadable);
    self_ = Napi::Persistent(info.This().As<Napi::Object>());  // alive while polling
    uv_unref(reinterpret_cast<uv_handle_t *>(poll_));           // never keeps Node alive on its own
    context_ = new Napi::AsyncContext(env, "warren:UeventListener");
    napi_add_env_cleanup_hook(env, &UeventListener::OnEnvCleanup, this);
    hooked_ = true;
  }

  ~UeventListener() override { delete context_; }

 private:
  static void OnReadable(uv_poll_t *handle, int status, int events) {
    static_cast<UeventListener *>(handle->data)->Drain();
  }

  static void OnEnvCleanup(void *arg) {
    auto *self = static_cast<UeventListener *>(arg);
    self->hooked_ = false;
    self->exiting_ = true;
    if (self->poll_) {
      uv_poll_stop(self->poll_);
      self->poll_ = nullptr;  // the loop will not run again
    }
  }

  void Drain() {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    static char buf[16384];
    for (int i = 0; i < 256 && poll_; i++) {
      struct sockaddr_nl from = {};
      struct iovec iov = {buf, sizeof buf};
      struct msghdr msg = {};
      msg.msg_name = &from;
      msg.msg_namelen = sizeof from;
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      ssize_t n = recvmsg(fd_, &msg, MSG_DONTWAIT);
      if (n < 0) {
        // ENOBUFS: the queue overflowed and messages were lost; say so.
        if (errno == ENOBUFS) Deliver(env, env.Null());
        if (errno == EINTR || errno == ENOBUFS) continue;
        return;
      }
      if (from.nl_pid != 0 || (msg.msg_flags & MSG_TRUNC)) continue;
      Deliver(env, Napi::Buffer<char>::Copy(env, buf, (size_t)n));
    }
  }

  void Deliver(Napi::Env env, Napi::Value message) {
    if (callback_.IsEmpty()) return;
    try {
      callback_.MakeCallback(env.Global(), {message}, *context_);
    } catch (const Napi::Error &e) {
      if (!exiting_) napi_fatal_exception(env, e.Value());
    }
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
    if (hooked_) {
      napi_remove_env_cleanup_hook(Env(), &UeventListener::OnEnvCleanup, this);
      hooked_ = false;
    }
    if (poll_) {
      uv_poll_stop(poll_);
      // The fd is closed once libuv is done with the handle.
      poll_->data = reinterpret_cast<void *>((intptr_t)fd_);
      uv_close(reinterpret_cast<uv_handle_t *>(poll_), [](uv_handle_t *h) {
        close((int)(intptr_t)h->data);
        delete reinterpret_cast<uv_poll_t *>(h);
      });
      poll_ = nullptr;
      fd_ = -1;
    }
    callback_.Reset();
    if (!self_.IsEmpty()) self_.Reset();
    return info.Env().Undefined();
  }

  int fd_ = -1;
  uv_poll_t *poll_ = nullptr;
  Napi::FunctionReference callback_;
  Napi::ObjectReference self_;
  Napi::AsyncContext *context_ = nullptr;
  bool hooked_ = false;
  bool exiting_ = false;
};

}  // namespace

Napi::Object InitUevent(Napi::Env env, Napi::Object exports) {
  exports.Set("UeventListener", UeventListener::Define(env));
  return exports;
}

}  // namespace warren
