// rtnetlink transport: a NETLINK_ROUTE socket (optionally created inside
// another network namespace) and a synchronous request/reply exchange.
// Encoding and decoding of the messages is TypeScript
// (src/network/rtnetlink.ts); this file only moves bytes and turns a
// kernel NLMSG_ERROR into a thrown Error carrying `errno` and `syscall`.
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "linux.h"
#include "napi-util.h"
#include "spawn.h"

namespace warren {

namespace {

// Sets up and binds a NETLINK_ROUTE socket created in the current netns.
// Returns 0 or an errno, with *what naming the failing call; closes fd on error.
int ConfigureSocket(int fd, const char **what) {
  int one = 1;
  // Dumps of many links come in many datagrams; the kernel fills the queue
  // only as we read, but a roomy buffer keeps a large reply in one go.
  int rcvbuf = 4 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0)
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  int sndbuf = 1 << 20;
  (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  // rtnetlink answers from inside sendmsg/recvmsg, so a reply is always
  // ready; the timeout only guards against a request that gets no answer.
  struct timeval tv = {10, 0};
  (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (setsockopt(fd, SOL_NETLINK, WR_NETLINK_EXT_ACK, &one, sizeof one) < 0) {
    *what = "setsockopt(NETLINK_EXT_ACK)";
    return errno;
  }
  if (setsockopt(fd, SOL_NETLINK, WR_NETLINK_CAP_ACK, &one, sizeof one) < 0) {
    *what = "setsockopt(NETLINK_CAP_ACK)";
    return errno;
  }
  struct sockaddr_nl sa;
  memset(&sa, 0, sizeof sa);
  sa.nl_family = AF_NETLINK;
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    *what = "bind";
    return errno;
  }
  return 0;
}

// netlinkSocket(netnsFd) -> fd. With netnsFd >= 0 the socket is created in
// that network namespace: setns(CLONE_NEWNET) is per thread and allowed in a
// multithreaded process, and a netlink socket stays in the netns it was
// created in. The calling thread switches back right after socket().
Napi::Value NetlinkSocket(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int netns = IntArg(info, 0);
  int fd;
  if (netns >= 0) {
    int saved = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (saved < 0) throw ErrnoError(env, "open(/proc/thread-self/ns/net)", errno);
    if (setns(netns, CLONE_NEWNET) < 0) {
      int err = errno;
      close(saved);
      throw ErrnoError(env, "setns", err);
    }
    fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    int err = errno;
    // A thread left in the wrong netns would silently create every later
    // socket of this thread (Node's main thread) there: crash instead.
    if (setns(saved, CLONE_NEWNET) < 0) abort();
    close(saved);
    if (fd < 0) throw ErrnoError(env, "socket", err);
  } else {
    fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) throw ErrnoError(env, "socket", errno);
  }
  const char *what = nullptr;
  int err = ConfigureSocket(fd, &what);
  if (err != 0) {
    close(fd);
    throw ErrnoError(env, what, err);
  }
  return Napi::Number::New(env, fd);
}

// How a request message is answered, and whether it has been.
enum Until { UNTIL_ACK, UNTIL_DONE, UNTIL_REPLY };
struct Pending {
  uint32_t seq;
  Until until;
  bool done;
};

// The extended ack message (NLMSGERR_ATTR_MSG) of an NLMSG_ERROR or
// NLMSG_DONE, or "".
std::string ExtAckMessage(const struct nlmsghdr *h) {
  if (!(h->nlmsg_flags & WR_NLM_F_ACK_TLVS)) return "";
  size_t off = NLMSG_HDRLEN;
  if (h->nlmsg_type == NLMSG_ERROR) {
    if (h->nlmsg_len < NLMSG_HDRLEN + sizeof(struct nlmsgerr)) return "";
    const struct nlmsgerr *e = (const struct nlmsgerr *)NLMSG_DATA(h);
    off += sizeof(struct nlmsgerr);
    if (!(h->nlmsg_flags & WR_NLM_F_CAPPED)) {
      if (e->msg.nlmsg_len < NLMSG_HDRLEN) return "";
      off += NLMSG_ALIGN(e->msg.nlmsg_len - NLMSG_HDRLEN);
    }
  } else {
    off += NLMSG_ALIGN(sizeof(int));
  }
  const char *base = (const char *)h;
  while (off + NLA_HDRLEN <= h->nlmsg_len) {
    const struct nlattr *a = (const struct nlattr *)(base + off);
    if (a->nla_len < NLA_HDRLEN || off + a->nla_len > h->nlmsg_len) break;
    if ((a->nla_type & NLA_TYPE_MASK) == WR_NLMSGERR_ATTR_MSG) {
      const char *s = base + off + NLA_HDRLEN;
      size_t n = strnlen(s, a->nla_len - NLA_HDRLEN);
      return std::string(s, n);
    }
    off += NLA_ALIGN(a->nla_len);
  }
  return "";
}

// netlinkTalk(fd, request) -> Buffer: sends the request (one or more
// messages) and reads until each of its messages is answered: NLMSG_DONE
// (or an error) for a dump, the NLMSG_ERROR ack for NLM_F_ACK, any reply
// otherwise. Returns the data messages received (acks and dones left out).
// The first kernel error is thrown, after the whole reply has been read, as
// an Error with `errno`, `syscall: "netlink"` and `extack`.
Napi::Value NetlinkTalk(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int fd = IntArg(info, 0);
  if (info.Length() < 2 || !info[1].IsBuffer()) throw Napi::TypeError::New(env, "expected a Buffer request");
  Napi::Buffer<uint8_t> req = info[1].As<Napi::Buffer<uint8_t>>();
  const uint8_t *data = req.Data();
  size_t len = req.Length();

  std::vector<Pending> pending;
  {
    size_t off = 0;
    while (off < len) {
      if (len - off < NLMSG_HDRLEN) throw Napi::TypeError::New(env, "truncated netlink request");
      struct nlmsghdr h;
      memcpy(&h, data + off, sizeof h);
      if (h.nlmsg_len < NLMSG_HDRLEN || h.nlmsg_len > len - off)
        throw Napi::TypeError::New(env, "malformed netlink request");
      // rtnetlink's GET requests are the types 2 mod 4 (RTM_GETLINK, …);
      // for the others NLM_F_ROOT/MATCH mean REPLACE/EXCL, not a dump.
      bool get = h.nlmsg_type >= RTM_BASE && (h.nlmsg_type & 3) == 2;
      Until until;
      if (get && (h.nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP) until = UNTIL_DONE;
      else if (h.nlmsg_flags & NLM_F_ACK) until = UNTIL_ACK;
      else if (get) until = UNTIL_REPLY;
      else  // a change without NLM_F_ACK gets no answer when it succeeds
        throw Napi::TypeError::New(env, "netlink request without NLM_F_ACK: its success would never be answered");
      pending.push_back({h.nlmsg_seq, until, false});
      off += NLMSG_ALIGN(h.nlmsg_len);
    }
    if (pending.empty()) throw Napi::TypeError::New(env, "empty netlink request");
  }

  struct sockaddr_nl kernel;
  memset(&kernel, 0, sizeof kernel);
  kernel.nl_family = AF_NETLINK;
  ssize_t sent;
  do sent = sendto(fd, data, len, 0, (struct sockaddr *)&kernel, sizeof kernel);
  while (sent < 0 && errno == EINTR);
  if (sent < 0) throw ErrnoError(env, "sendto", errno);
  if ((size_t)sent != len) throw ErrnoError(env, "sendto", EMSGSIZE);

  std::vector<uint8_t> buf(64 * 1024);
  std::vector<uint8_t> out;
  int first_err = 0;
  std::string first_msg;
  size_t left = pending.size();
  while (left > 0) {
    struct sockaddr_nl from;
    struct iovec iov = {buf.data(), buf.size()};
    struct msghdr mh;
    memset(&mh, 0, sizeof mh);
    mh.msg_name = &from;
    mh.msg_namelen = sizeof from;
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    // Peek with MSG_TRUNC for the datagram's real size, grow, then read it.
    ssize_t n;
    do n = recvmsg(fd, &mh, MSG_PEEK | MSG_TRUNC);
    while (n < 0 && errno == EINTR);
    if (n < 0) throw ErrnoError(env, "recvmsg", errno == EAGAIN ? ETIMEDOUT : errno);
    if ((size_t)n > buf.size()) {
      buf.resize(((size_t)n + 4095) & ~(size_t)4095);
      iov.iov_base = buf.data();
      iov.iov_len = buf.size();
    }
    mh.msg_namelen = sizeof from;
    do n = recvmsg(fd, &mh, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0) throw ErrnoError(env, "recvmsg", errno == EAGAIN ? ETIMEDOUT : errno);
    if (from.nl_pid != 0) continue;  // not from the kernel

    size_t off = 0;
    while (off + NLMSG_HDRLEN <= (size_t)n) {
      const struct nlmsghdr *h = (const struct nlmsghdr *)(buf.data() + off);
      if (h->nlmsg_len < NLMSG_HDRLEN || h->nlmsg_len > (size_t)n - off) break;
      size_t next = off + NLMSG_ALIGN(h->nlmsg_len);
      Pending *p = nullptr;
      for (auto &q : pending)
        if (!q.done && q.seq == h->nlmsg_seq) {
          p = &q;
          break;
        }
      if (p == nullptr || h->nlmsg_type == NLMSG_NOOP) {  // stale reply of an earlier exchange
        off = next;
        continue;
      }
      // NLMSG_ERROR ends any request (an ack, or the error of a failed
      // one); NLMSG_DONE ends a dump.
      if (h->nlmsg_type == NLMSG_ERROR || h->nlmsg_type == NLMSG_DONE) {
        int err = 0;  // nlmsgerr.error, or the int payload of NLMSG_DONE
        if (h->nlmsg_len >= NLMSG_HDRLEN + sizeof(int)) memcpy(&err, NLMSG_DATA(h), sizeof err);
        if (err < 0 && first_err == 0) {
          first_err = -err;
          first_msg = ExtAckMessage(h);
        }
        p->done = true;
        left--;
      } else {
        size_t end = next < (size_t)n ? next : (size_t)n;
        out.insert(out.end(), buf.data() + off, buf.data() + end);
        out.resize(NLMSG_ALIGN(out.size()), 0);
        // A plain request (no ack, no dump) is answered by its one reply.
        if (p->until == UNTIL_REPLY && !(h->nlmsg_flags & NLM_F_MULTI)) {
          p->done = true;
          left--;
        }
      }
      off = next;
    }
  }

  if (first_err != 0) {
    Napi::Error e = ErrnoError(env, "netlink", first_err, first_msg.empty() ? "" : " (" + first_msg + ")");
    if (!first_msg.empty()) e.Set("extack", Napi::String::New(env, first_msg));
    throw e;
  }
  return Napi::Buffer<uint8_t>::Copy(env, out.data(), out.size());
}

}  // namespace

Napi::Object InitNetlink(Napi::Env env, Napi::Object exports) {
  exports.Set("netlinkSocket", Napi::Function::New(env, NetlinkSocket));
  exports.Set("netlinkTalk", Napi::Function::New(env, NetlinkTalk));
  return exports;
}

}  // namespace warren
