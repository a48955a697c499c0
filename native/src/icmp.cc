// ICMP sockets: create a ping (SOCK_DGRAM) or raw socket, and the raw fallback's send + wait-for-echo-reply worker.
#include "common.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <vector>

namespace ldir {
namespace {

using Clock = std::chrono::steady_clock;

// Sends one ICMP echo request on a caller-owned fd and waits for the matching echo reply.
class RawPingWorker : public Napi::AsyncWorker {
 public:
  RawPingWorker(Napi::Env env, int fd, std::string dest, std::vector<uint8_t> packet, int timeoutMs)
      : Napi::AsyncWorker(env, "ldir:icmpRawTransact"),
        deferred_(Napi::Promise::Deferred::New(env)),
        fd_(fd),
        dest_(std::move(dest)),
        packet_(std::move(packet)),
        timeoutMs_(timeoutMs) {}

  // The promise settled by OnOK.
  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  // Worker thread: records an errno instead of throwing.
  void Execute() override {
    try {
      err_ = Run();
    } catch (...) {  // std::bad_alloc: report, never abort
      err_ = ENOMEM;
    }
  }

  // JS thread: resolves with { from, packet, rttUs }, with null on timeout, or rejects with an errno-coded Error.
  void OnOK() override {
    Napi::Env env = Env();
    if (err_ != 0) return deferred_.Reject(ErrnoError(env, err_, "icmpRawTransact").Value());
    if (!got_) return deferred_.Resolve(env.Null());
    Napi::Object r = Napi::Object::New(env);
    r.Set("from", Napi::String::New(env, from_));
    r.Set("packet", Napi::Buffer<uint8_t>::Copy(env, reply_.data(), reply_.size()));
    r.Set("rttUs", Napi::Number::New(env, rttUs_));
    deferred_.Resolve(r);
  }

  // JS thread: only reached if the base class caught an exception from Execute.
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  // True when an ICMP message (no IP header) is the echo reply to our request: same identifier and sequence.
  bool Matches(const uint8_t* icmp, size_t len, bool v6) const {
    return len >= 8 && icmp[0] == (v6 ? 129 : 0) && icmp[1] == 0 && icmp[4] == packet_[4] &&
           icmp[5] == packet_[5] && icmp[6] == packet_[6] && icmp[7] == packet_[7];
  }

  // Resolves the numeric destination, sends, then polls until a matching reply or the deadline; 0 or an errno.
  int Run() {
    int domain = 0, type = 0;
    socklen_t optLen = sizeof domain;
    if (getsockopt(fd_, SOL_SOCKET, SO_DOMAIN, &domain, &optLen) < 0) return errno;
    optLen = sizeof type;
    if (getsockopt(fd_, SOL_SOCKET, SO_TYPE, &type, &optLen) < 0) return errno;
    if (domain != AF_INET && domain != AF_INET6) return EAFNOSUPPORT;
    addrinfo hints{}, *ai = nullptr;
    hints.ai_family = domain;
    hints.ai_flags = AI_NUMERICHOST;  // an address (with optional %scope), never a name lookup
    if (getaddrinfo(dest_.c_str(), nullptr, &hints, &ai) != 0 || ai == nullptr) return EINVAL;
    sockaddr_storage to{};
    socklen_t toLen = ai->ai_addrlen;
    memcpy(&to, ai->ai_addr, ai->ai_addrlen);
    freeaddrinfo(ai);
    const bool v6 = domain == AF_INET6;
    const Clock::time_point t0 = Clock::now();
    ssize_t n;
    do {
      n = sendto(fd_, packet_.data(), packet_.size(), 0, reinterpret_cast<sockaddr*>(&to), toLen);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return errno;
    const Clock::time_point deadline = t0 + std::chrono::milliseconds(timeoutMs_);
    std::vector<uint8_t> buf(65536);
    for (;;) {
      auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (remaining <= 0) return 0;  // timeout: resolve null
      pollfd pfd{fd_, POLLIN, 0};
      int r = poll(&pfd, 1, static_cast<int>(remaining));
      if (r < 0 && errno != EINTR) return errno;
      if (r <= 0) continue;
      sockaddr_storage from{};
      socklen_t fromLen = sizeof from;
      n = recvfrom(fd_, buf.data(), buf.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &fromLen);
      const Clock::time_point t1 = Clock::now();
      if (n < 0) {
        if (errno == EINTR || errno == EAGAIN) continue;
        if (errno == EHOSTUNREACH || errno == ENETUNREACH || errno == ECONNREFUSED) continue;  // queued ICMP errors
        return errno;
      }
      const uint8_t* icmp = buf.data();
      size_t len = static_cast<size_t>(n);
      if (!v6 && type == SOCK_RAW) {  // IPv4 raw sockets deliver the IP header too
        size_t ihl = len > 0 ? static_cast<size_t>(buf[0] & 0x0f) * 4 : 0;
        if (ihl < 20 || ihl > len) continue;
        icmp += ihl;
        len -= ihl;
      }
      if (!Matches(icmp, len, v6)) continue;  // our own request on loopback, other hosts' traffic, errors
      char text[INET6_ADDRSTRLEN] = "";
      const void* addr = v6 ? static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(&from)->sin6_addr)
                            : static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(&from)->sin_addr);
      inet_ntop(domain, addr, text, sizeof text);
      from_ = text;
      reply_.assign(icmp, icmp + len);
      rttUs_ = std::chrono::duration<double, std::micro>(t1 - t0).count();
      got_ = true;
      return 0;
    }
  }

  Napi::Promise::Deferred deferred_;
  int fd_;
  std::string dest_;
  std::vector<uint8_t> packet_;
  int timeoutMs_;
  int err_ = 0;
  bool got_ = false;
  std::string from_;
  std::vector<uint8_t> reply_;
  double rttUs_ = 0;
};

}  // namespace

// icmpOpen(family 4|6, raw) → fd: non-blocking, close-on-exec ICMP socket. Throws an errno-coded Error
// (EACCES: ping_group_range excludes us; EPERM: raw without CAP_NET_RAW).
Napi::Value IcmpOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int family = info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 0;
  if (family != 4 && family != 6) throw Napi::TypeError::New(env, "family must be 4 or 6");
  bool raw = info[1].ToBoolean().Value();
  int fd = socket(family == 6 ? AF_INET6 : AF_INET, (raw ? SOCK_RAW : SOCK_DGRAM) | SOCK_CLOEXEC | SOCK_NONBLOCK,
                  family == 6 ? int{IPPROTO_ICMPV6} : int{IPPROTO_ICMP});
  if (fd < 0) throw ErrnoError(env, errno, "socket");
  return Napi::Number::New(env, fd);
}

// icmpRawTransact(fd, destAddress, packet, timeoutMs) → Promise<{ from, packet, rttUs } | null>. The fd stays
// owned by the caller, who must not close it, nor run two of these on it, while one is pending.
Napi::Value IcmpRawTransact(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber()) throw Napi::TypeError::New(env, "fd must be a number");
  if (!info[1].IsString()) throw Napi::TypeError::New(env, "destAddress must be a string");
  if (!info[2].IsBuffer()) throw Napi::TypeError::New(env, "packet must be a Buffer");
  Napi::Buffer<uint8_t> pkt = info[2].As<Napi::Buffer<uint8_t>>();
  if (pkt.Length() < 8) throw Napi::RangeError::New(env, "packet is shorter than an ICMP echo header");
  int fd = info[0].As<Napi::Number>().Int32Value();
  std::string dest = info[1].As<Napi::String>().Utf8Value();
  int timeoutMs = TimeoutArg(env, info[3]);
  auto* worker = new RawPingWorker(env, fd, std::move(dest),
                                   std::vector<uint8_t>(pkt.Data(), pkt.Data() + pkt.Length()), timeoutMs);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

}  // namespace ldir
