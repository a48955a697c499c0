// syslog transport: RFC 3164 datagrams, as glibc's syslog(3) sends them, to /dev/log (or a given unix socket path);
// a write never blocks for long and never throws: it returns "" or the errno name of why the message was dropped.
#include "common.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <chrono>
#include <cstdio>
#include <string>

namespace ldir {
namespace {

using Clock = std::chrono::steady_clock;

// How long a write may wait for room when the receiver's queue is full; after a drop, writes within kDropQuiet do
// not wait at all (a wedged syslog daemon must not slow the event loop down by kWaitMs per message).
constexpr int kWaitMs = 20;
constexpr auto kDropQuiet = std::chrono::seconds(1);

// One syslog connection: a non-blocking unix datagram socket connected to the receiver, created on first use and
// re-created when the receiver went away (syslog daemon restarted, /dev/log recreated).
struct SyslogConn {
  int fd = -1;
  bool closed = false;
  std::string ident;
  int facility = 1;
  sockaddr_un addr{};
  socklen_t addrLen = 0;
  bool recentDrop = false;
  Clock::time_point lastDrop{};

  ~SyslogConn() { CloseFd(); }

  // Closes the socket if open.
  void CloseFd() {
    if (fd >= 0) {
      ::close(fd);
      fd = -1;
    }
  }

  // Creates the socket and connects it to the receiver's path; returns 0 or an errno.
  int Connect() {
    CloseFd();
    int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s < 0) return errno;
    int r;
    do {
      r = connect(s, reinterpret_cast<sockaddr*>(&addr), addrLen);
    } while (r < 0 && errno == EINTR);
    if (r < 0) {
      int e = errno;
      ::close(s);
      return e;
    }
    fd = s;
    return 0;
  }

  // Sends one datagram without waiting (connecting first when needed); returns 0 or an errno.
  int SendOnce(const std::string& msg) {
    if (fd < 0) {
      int e = Connect();
      if (e != 0) return e;
    }
    ssize_t n;
    do {
      n = send(fd, msg.data(), msg.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return n < 0 ? errno : 0;
  }

  // Sends one datagram: reconnects once when the receiver was replaced, waits up to kWaitMs once for room.
  int Send(const std::string& msg) {
    int e = SendOnce(msg);
    if (e == ECONNREFUSED || e == ENOTCONN || e == EPIPE || e == ECONNRESET || e == EDESTADDRREQ || e == EBADF) {
      CloseFd();
      e = SendOnce(msg);
    }
    if (e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS) {
      const Clock::time_point now = Clock::now();
      if (!(recentDrop && now - lastDrop < kDropQuiet) && fd >= 0) {
        pollfd p{fd, POLLOUT, 0};
        if (poll(&p, 1, kWaitMs) > 0) e = SendOnce(msg);
      }
      if (e != 0) {
        recentDrop = true;
        lastDrop = now;
      }
    }
    if (e == 0) recentDrop = false;
    return e;
  }
};

using SyslogHandle = Napi::External<SyslogConn>;

// Type tag that marks externals created by syslogOpen, so a foreign External is rejected instead of misread.
const napi_type_tag kSyslogTag = {0x6c6469722d736c31ULL, 0x2b9e4d6a0c51f7e3ULL};

const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// The RFC 3164 header glibc writes: "<PRI>Mmm dd hh:mm:ss ident[pid]: " in local time, English month names.
std::string Header(int pri, const std::string& ident) {
  time_t now = time(nullptr);
  struct tm tm {};
  localtime_r(&now, &tm);
  char buf[64];
  snprintf(buf, sizeof buf, "<%d>%s %2d %02d:%02d:%02d ", pri, kMonths[tm.tm_mon % 12], tm.tm_mday, tm.tm_hour, tm.tm_min,
           tm.tm_sec);
  return std::string(buf) + ident + "[" + std::to_string(getpid()) + "]: ";
}

// Returns the connection behind a JS handle; throws TypeError for anything syslogOpen did not create.
SyslogConn* HandleArg(Napi::Env env, const Napi::Value& v) {
  if (!v.IsExternal() || !v.As<SyslogHandle>().CheckTypeTag(&kSyslogTag)) {
    throw Napi::TypeError::New(env, "not a syslog handle");
  }
  return v.As<SyslogHandle>().Data();
}

// Reads an integer in [lo, hi] from a JS value; throws TypeError otherwise.
int IntArg(Napi::Env env, const Napi::Value& v, int lo, int hi, const char* what) {
  if (!v.IsNumber()) throw Napi::TypeError::New(env, std::string(what) + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= lo && d <= hi) || d != static_cast<int>(d)) {
    throw Napi::TypeError::New(env, std::string(what) + " must be an integer from " + std::to_string(lo) + " to " +
                                        std::to_string(hi));
  }
  return static_cast<int>(d);
}

}  // namespace

// syslogOpen(ident, facility, path = "/dev/log"): a handle; the socket itself is made on the first write. Throws
// TypeError for bad arguments only.
Napi::Value SyslogOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw Napi::TypeError::New(env, "ident must be a string");
  std::string ident = info[0].As<Napi::String>().Utf8Value();
  bool identOk = !ident.empty() && ident.size() <= 64;
  for (unsigned char c : ident) identOk = identOk && c > ' ' && c != 0x7f && c != ':' && c != '[' && c != ']';
  if (!identOk) {
    throw Napi::TypeError::New(env, "ident must be 1 to 64 bytes without spaces, ':', '[', ']' or control characters");
  }
  int facility = IntArg(env, info[1], 0, 23, "facility");
  std::string path = "/dev/log";
  if (!info[2].IsUndefined() && !info[2].IsNull()) {
    if (!info[2].IsString()) throw Napi::TypeError::New(env, "path must be a string");
    path = info[2].As<Napi::String>().Utf8Value();
  }
  auto* conn = new SyslogConn();
  if (path.empty() || path.size() >= sizeof conn->addr.sun_path || path.find('\0') != std::string::npos) {
    delete conn;
    throw Napi::TypeError::New(env, "path must be a unix socket path of 1 to 107 bytes");
  }
  tzset();  // localtime_r does not read TZ by itself
  conn->ident = ident;
  conn->facility = facility;
  conn->addr.sun_family = AF_UNIX;
  memcpy(conn->addr.sun_path, path.data(), path.size());
  conn->addrLen = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
  SyslogHandle handle = SyslogHandle::New(env, conn, [](Napi::Env, SyslogConn* c) { delete c; });
  handle.TypeTag(&kSyslogTag);
  return handle;
}

// syslogWrite(handle, severity 0..7, message): "" when sent, else the errno name of why it was dropped (ENOENT: no
// receiver; EAGAIN: its queue is full; EBADF: the handle was closed). Throws TypeError for bad arguments only.
Napi::Value SyslogWrite(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  SyslogConn* conn = HandleArg(env, info[0]);
  int severity = IntArg(env, info[1], 0, 7, "severity");
  if (!info[2].IsString()) throw Napi::TypeError::New(env, "message must be a string");
  if (conn->closed) return Napi::String::New(env, "EBADF");
  std::string msg = Header(conn->facility * 8 + severity, conn->ident) + info[2].As<Napi::String>().Utf8Value();
  int e = conn->Send(msg);
  return Napi::String::New(env, e == 0 ? std::string() : ErrnoName(e));
}

// syslogClose(handle): closes the socket; later writes return "EBADF". Idempotent.
Napi::Value SyslogClose(const Napi::CallbackInfo& info) {
  SyslogConn* conn = HandleArg(info.Env(), info[0]);
  conn->closed = true;
  conn->CloseFd();
  return info.Env().Undefined();
}

}  // namespace ldir
