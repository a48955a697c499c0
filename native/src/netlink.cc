// AF_NETLINK transport: open a socket, run one send + receive-until-complete transaction off the JS thread, close.
#include "common.h"

#include <linux/netlink.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <memory>
#include <mutex>
#include <set>
#include <vector>

namespace ldir {
namespace {

using Clock = std::chrono::steady_clock;

// A netlink socket shared by its JS handle and the worker using it. The fd is closed once the socket is marked
// closed and no worker holds it, so a worker never polls an fd number that was closed and reused.
struct NlSocket {
  std::mutex mu;
  int fd = -1;
  bool closed = false;
  int busy = 0;

  // Marks the socket closed (idempotent); closes the fd now, or when the last worker releases it.
  void Close() {
    std::lock_guard<std::mutex> lock(mu);
    closed = true;
    if (busy == 0 && fd >= 0) {
      ::close(fd);
      fd = -1;
    }
  }
  // Reserves the fd for a worker; returns -1 when the socket is closed.
  int Acquire() {
    std::lock_guard<std::mutex> lock(mu);
    if (closed || fd < 0) return -1;
    ++busy;
    return fd;
  }
  // Gives the fd back; closes it if Close() happened meanwhile.
  void Release() {
    std::lock_guard<std::mutex> lock(mu);
    if (--busy == 0 && closed && fd >= 0) {
      ::close(fd);
      fd = -1;
    }
  }
  // True once Close() was called.
  bool IsClosed() {
    std::lock_guard<std::mutex> lock(mu);
    return closed;
  }
};

using NlRef = std::shared_ptr<NlSocket>;
using NlHandle = Napi::External<NlRef>;

// Type tag that marks externals created by netlinkOpen, so a foreign External is rejected instead of misread.
const napi_type_tag kNlTag = {0x6c6469722d6e6c31ULL, 0x8f3c2a4b1d7e6a55ULL};

// Returns the socket behind a JS handle; throws TypeError for anything netlinkOpen did not create.
NlRef HandleArg(Napi::Env env, const Napi::Value& v) {
  if (!v.IsExternal() || !v.As<NlHandle>().CheckTypeTag(&kNlTag)) {
    throw Napi::TypeError::New(env, "not a netlink handle");
  }
  return *v.As<NlHandle>().Data();
}

// Reads an array of sequence numbers (uint32) from a JS value; throws TypeError otherwise.
std::set<uint32_t> SeqsArg(Napi::Env env, const Napi::Value& v, const char* what) {
  std::set<uint32_t> out;
  if (v.IsUndefined() || v.IsNull()) return out;
  if (!v.IsArray()) throw Napi::TypeError::New(env, std::string(what) + " must be an array of numbers");
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Value e = a.Get(i);
    if (!e.IsNumber()) throw Napi::TypeError::New(env, std::string(what) + " must be an array of numbers");
    out.insert(e.As<Napi::Number>().Uint32Value());
  }
  return out;
}

// One transaction: send the request datagram, then collect the kernel's replies for the awaited seqs.
class TransactWorker : public Napi::AsyncWorker {
 public:
  TransactWorker(Napi::Env env, NlRef sock, NlHandle handle, std::vector<uint8_t> req, std::set<uint32_t> acks,
                 std::set<uint32_t> dumps, int timeoutMs)
      : Napi::AsyncWorker(env, "ldir:netlinkTransact"),
        deferred_(Napi::Promise::Deferred::New(env)),
        handleRef_(Napi::Persistent(handle)),  // keeps the handle (and its finalizer) alive while we run
        sock_(std::move(sock)),
        req_(std::move(req)),
        acks_(std::move(acks)),
        dumps_(std::move(dumps)),
        timeoutMs_(timeoutMs) {}

  // The promise settled by OnOK.
  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  // Worker thread: runs the transaction with the fd reserved; records an errno instead of throwing.
  void Execute() override {
    int fd = sock_->Acquire();
    if (fd < 0) {
      err_ = EBADF;
      return;
    }
    try {
      err_ = Run(fd);
    } catch (...) {  // std::bad_alloc: report, never abort
      err_ = ENOMEM;
    }
    sock_->Release();
  }

  // JS thread: resolves with the collected messages or rejects with an errno-coded Error.
  void OnOK() override {
    Napi::Env env = Env();
    if (err_ != 0) {
      deferred_.Reject(ErrnoError(env, err_, "netlinkTransact").Value());
    } else {
      deferred_.Resolve(Napi::Buffer<uint8_t>::Copy(env, out_.data(), out_.size()));
    }
  }

  // JS thread: only reached if the base class caught an exception from Execute.
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  // Discards datagrams left from an earlier, abandoned transaction (late replies, an unfinished dump, a pending
  // ENOBUFS), so they cannot be mistaken for this one's. Bounded.
  void Drain(int fd, std::vector<uint8_t>& buf) {
    for (int i = 0; i < 100000; i++) {
      ssize_t n = recv(fd, buf.data(), buf.size(), MSG_DONTWAIT | MSG_TRUNC);
      if (n < 0 && errno != EINTR && errno != ENOBUFS) return;
    }
  }

  // Appends the awaited messages of one datagram to out_ and ticks off completed seqs.
  void Consume(const uint8_t* data, ssize_t len) {
    int left = static_cast<int>(len);
    for (const nlmsghdr* h = reinterpret_cast<const nlmsghdr*>(data); NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
      uint32_t seq = h->nlmsg_seq;
      bool ack = acks_.count(seq) != 0, dump = dumps_.count(seq) != 0;
      if (!ack && !dump) continue;  // not ours: ignore
      const uint8_t* p = reinterpret_cast<const uint8_t*>(h);
      out_.insert(out_.end(), p, p + h->nlmsg_len);
      out_.resize(out_.size() + (NLMSG_ALIGN(h->nlmsg_len) - h->nlmsg_len), 0);  // keep the next header aligned
      if (h->nlmsg_type == NLMSG_ERROR) {
        acks_.erase(seq);
        dumps_.erase(seq);
      } else if (h->nlmsg_type == NLMSG_DONE) {
        dumps_.erase(seq);
      }
    }
  }

  // Sends the request and receives until every awaited seq completed; returns 0 or an errno.
  int Run(int fd) {
    std::vector<uint8_t> buf(64 * 1024);
    Drain(fd, buf);
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    ssize_t n;
    do {
      n = sendto(fd, req_.data(), req_.size(), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return errno;
    const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(timeoutMs_);
    while (!acks_.empty() || !dumps_.empty()) {
      if (sock_->IsClosed()) return EBADF;
      auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (remaining <= 0) return ETIMEDOUT;
      pollfd pfd{fd, POLLIN, 0};
      int r = poll(&pfd, 1, static_cast<int>(std::min<long long>(remaining, 100)));  // wake up to notice close()
      if (r < 0 && errno != EINTR) return errno;
      if (r <= 0) continue;
      // Peek at the datagram's full size (MSG_TRUNC) so the real read never truncates it.
      n = recv(fd, nullptr, 0, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);
      if (n < 0) {
        if (errno == EINTR || errno == EAGAIN) continue;
        return errno;  // ENOBUFS: replies were lost; the caller must resync
      }
      if (static_cast<size_t>(n) > buf.size()) buf.resize(n);
      sockaddr_nl from{};
      socklen_t fromLen = sizeof from;
      n = recvfrom(fd, buf.data(), buf.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &fromLen);
      if (n < 0) {
        if (errno == EINTR || errno == EAGAIN) continue;
        return errno;
      }
      if (from.nl_pid != 0) continue;  // only the kernel answers requests
      Consume(buf.data(), n);
    }
    return 0;
  }

  Napi::Promise::Deferred deferred_;
  Napi::Reference<NlHandle> handleRef_;
  NlRef sock_;
  std::vector<uint8_t> req_;
  std::set<uint32_t> acks_;
  std::set<uint32_t> dumps_;
  int timeoutMs_;
  int err_ = 0;
  std::vector<uint8_t> out_;
};

}  // namespace

// netlinkOpen(protocol) → { handle, portId }: bound AF_NETLINK socket with extended/capped ACKs and a big
// receive buffer. Throws an errno-coded Error (e.g. EPROTONOSUPPORT).
Napi::Value NetlinkOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber()) throw Napi::TypeError::New(env, "protocol must be a number");
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, info[0].As<Napi::Number>().Int32Value());
  if (fd < 0) throw ErrnoError(env, errno, "socket");
  sockaddr_nl addr{};
  addr.nl_family = AF_NETLINK;  // nl_pid 0: the kernel assigns the port id
  socklen_t addrLen = sizeof addr;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &addrLen) < 0) {
    int err = errno;
    ::close(fd);
    throw ErrnoError(env, err, "bind");
  }
  int one = 1;  // both options are best effort: old kernels lack them and the TS parser copes either way
  setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  int size = 8 << 20;  // FORCE needs CAP_NET_ADMIN; plain SO_RCVBUF is capped by net.core.rmem_max
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  }
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) < 0) {  // large batches in one datagram
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  }
  auto sock = std::make_shared<NlSocket>();
  sock->fd = fd;
  NlHandle handle = NlHandle::New(env, new NlRef(sock), [](Napi::Env, NlRef* ref) {
    (*ref)->Close();  // garbage-collected without netlinkClose: do not leak the fd
    delete ref;
  });
  handle.TypeTag(&kNlTag);
  Napi::Object result = Napi::Object::New(env);
  result.Set("handle", handle);
  result.Set("portId", Napi::Number::New(env, addr.nl_pid));
  return result;
}

// netlinkTransact(handle, request, seqs, dumpSeqs, timeoutMs) → Promise<Buffer> of the awaited messages.
Napi::Value NetlinkTransact(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  NlRef sock = HandleArg(env, info[0]);
  if (!info[1].IsBuffer()) throw Napi::TypeError::New(env, "request must be a Buffer");
  Napi::Buffer<uint8_t> req = info[1].As<Napi::Buffer<uint8_t>>();
  if (req.Length() < sizeof(nlmsghdr)) throw Napi::RangeError::New(env, "request is shorter than a netlink header");
  std::set<uint32_t> acks = SeqsArg(env, info[2], "seqs");
  std::set<uint32_t> dumps = SeqsArg(env, info[3], "dumpSeqs");
  int timeoutMs = TimeoutArg(env, info[4]);
  auto* worker = new TransactWorker(env, sock, info[0].As<NlHandle>(),
                                    std::vector<uint8_t>(req.Data(), req.Data() + req.Length()), std::move(acks),
                                    std::move(dumps), timeoutMs);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

// netlinkClose(handle): closes the socket; idempotent; an in-flight transaction rejects with EBADF.
Napi::Value NetlinkClose(const Napi::CallbackInfo& info) {
  HandleArg(info.Env(), info[0])->Close();
  return info.Env().Undefined();
}

}  // namespace ldir
