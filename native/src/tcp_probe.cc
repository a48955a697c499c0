// TCP probe engine: one epoll thread runs many non-blocking probes (connect, optionally send a request and read the
// answer until the peer closes or, for HTTP, until the answer is complete) with per-probe deadlines, and hands
// results back to JS in batches.
#include "common.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <memory>
#include <mutex>
#include <queue>
#include <thread>
#include <unordered_map>
#include <vector>

namespace ldir {
namespace {

// Monotonic clock in microseconds.
int64_t NowUs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

// Phase a probe is in (and the phase a failure happened in, reported to JS).
enum class Phase { kConnect, kWrite, kRead };

const char* PhaseName(Phase p) {
  switch (p) {
    case Phase::kConnect: return "connect";
    case Phase::kWrite: return "write";
    case Phase::kRead: return "read";
  }
  return "connect";
}

// How a probe knows the answer is complete before the peer closes.
enum class Framing { kUntilClose = 0, kHttp = 1, kHttpHead = 2 };

// Position just past the blank line that ends the header block starting at `from`, or 0 when not there yet.
size_t HeaderEnd(const std::vector<uint8_t>& d, size_t from) {
  for (size_t i = from; i < d.size(); i++) {
    if (d[i] != '\n') continue;
    if (i + 1 < d.size() && d[i + 1] == '\n') return i + 2;
    if (i + 2 < d.size() && d[i + 1] == '\r' && d[i + 2] == '\n') return i + 3;
  }
  return 0;
}

// Case-insensitive: does the header line [at, end) start with `name` (lower case, with the colon)?
bool HeaderIs(const std::vector<uint8_t>& d, size_t at, size_t end, const char* name) {
  size_t n = strlen(name);
  if (end - at < n) return false;
  for (size_t k = 0; k < n; k++) {
    uint8_t c = d[at + k];
    if (c >= 'A' && c <= 'Z') c = static_cast<uint8_t>(c - 'A' + 'a');
    if (c != static_cast<uint8_t>(name[k])) return false;
  }
  return true;
}

// True once a chunked body starting at `at` has its last (zero) chunk and the end of its trailer.
bool ChunkedComplete(const std::vector<uint8_t>& d, size_t at) {
  for (;;) {
    size_t lineEnd = at;
    while (lineEnd < d.size() && d[lineEnd] != '\n') lineEnd++;
    if (lineEnd >= d.size()) return false;
    uint64_t size = 0;
    size_t k = at;
    int digits = 0;
    for (; k < lineEnd; k++) {
      uint8_t c = d[k];
      int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
      if (v < 0) break;
      if (++digits > 15) return false;  // absurd size: let the read limit or the close end it
      size = size * 16 + static_cast<uint64_t>(v);
    }
    if (digits == 0) return false;
    if (size == 0) return HeaderEnd(d, lineEnd) != 0;  // the trailer (usually empty) ends with a blank line
    uint64_t next = lineEnd + 1 + size;
    if (next >= d.size()) return false;
    at = static_cast<size_t>(next);
    if (at < d.size() && d[at] == '\r') at++;
    if (at < d.size() && d[at] == '\n') at++;
  }
}

// True once `d` holds a whole HTTP/1.x answer (interim 1xx skipped), framed by length, chunks or no body.
bool HttpAnswerComplete(const std::vector<uint8_t>& d, bool head) {
  size_t from = 0;
  for (;;) {
    size_t end = HeaderEnd(d, from);
    if (end == 0) return false;
    if (end - from < 12 || memcmp(d.data() + from, "HTTP/", 5) != 0) return true;  // not HTTP: nothing more to wait for
    int status = (d[from + 9] - '0') * 100 + (d[from + 10] - '0') * 10 + (d[from + 11] - '0');
    if (status >= 100 && status < 200 && status != 101) {
      from = end;
      continue;
    }
    if (head || status == 204 || status == 304 || status < 200) return true;
    bool chunked = false;
    int64_t length = -1;
    size_t line = from;
    while (line < end) {
      size_t lineEnd = line;
      while (lineEnd < end && d[lineEnd] != '\n') lineEnd++;
      if (HeaderIs(d, line, lineEnd, "transfer-encoding:")) {
        for (size_t k = line; k + 7 <= lineEnd; k++) {
          if (HeaderIs(d, k, lineEnd, "chunked")) chunked = true;
        }
      } else if (HeaderIs(d, line, lineEnd, "content-length:")) {
        int64_t v = 0;
        bool any = false;
        for (size_t k = line + 15; k < lineEnd; k++) {
          if (d[k] >= '0' && d[k] <= '9') {
            v = v * 10 + (d[k] - '0');
            any = true;
            if (v > (int64_t{1} << 40)) break;
          } else if (d[k] != ' ' && d[k] != '\t' && d[k] != '\r') {
            any = false;
            break;
          }
        }
        if (any) length = v;
      }
      line = lineEnd + 1;
    }
    if (chunked) return ChunkedComplete(d, end);
    if (length >= 0) return static_cast<int64_t>(d.size() - end) >= length;
    return false;  // delimited by the close
  }
}

// A probe requested by JS, before the engine thread has opened its socket.
struct StartCommand {
  uint32_t id;
  struct sockaddr_storage addr;
  socklen_t addrLen;
  int64_t timeoutUs;
  std::vector<uint8_t> payload;
  bool hasPayload;
  size_t readLimit;
  Framing framing;
};

// A probe in flight on the engine thread.
struct Probe {
  uint32_t id;
  int fd;
  Phase phase;
  int64_t startedUs;
  int64_t deadlineUs;
  std::vector<uint8_t> payload;
  size_t written;
  bool hasPayload;
  size_t readLimit;
  Framing framing;
  std::vector<uint8_t> data;
};

// What JS receives for a finished probe: errno 0 = success (connected, or the answer read until the peer closed).
struct ProbeResult {
  uint32_t id;
  int err;
  Phase phase;
  int64_t elapsedUs;
  bool hasData;
  std::vector<uint8_t> data;
};

// A deadline in the min-heap; stale entries (probe finished, or id reused) are skipped when popped.
struct Deadline {
  int64_t atUs;
  uint32_t id;
  int fd;
  bool operator>(const Deadline& o) const { return atUs > o.atUs; }
};

struct Engine;
using EngineRef = std::shared_ptr<Engine>;
void DeliverResults(Napi::Env env, Napi::Function callback, EngineRef* ctx, void* unused);
using ResultsTsfn = Napi::TypedThreadSafeFunction<EngineRef, void, DeliverResults>;

// State shared by the JS handle, the engine thread and the thread-safe function.
struct Engine {
  std::mutex mu;
  std::vector<StartCommand> starts;      // guarded by mu
  std::vector<uint32_t> cancels;         // guarded by mu
  std::vector<ProbeResult> results;      // guarded by mu
  bool stopping = false;                 // guarded by mu
  int epfd = -1;
  int wakefd = -1;
  std::thread thread;
  ResultsTsfn tsfn;
  std::atomic<bool> closed{false};

  // Engine-thread state.
  std::unordered_map<uint32_t, Probe> probes;
  std::priority_queue<Deadline, std::vector<Deadline>, std::greater<Deadline>> deadlines;
  std::vector<ProbeResult> pending;  // results made during one loop turn, published together

  void Wake() {
    uint64_t one = 1;
    ssize_t n = ::write(wakefd, &one, sizeof one);
    (void)n;
  }

  // Engine thread: finishes a probe (closes its socket) and queues its result.
  void Finish(Probe& p, int err, bool withData) {
    ::close(p.fd);  // also drops its epoll registration (the fd is never duplicated)
    ProbeResult r;
    r.id = p.id;
    r.err = err;
    r.phase = p.phase;
    r.elapsedUs = NowUs() - p.startedUs;
    r.hasData = withData;
    if (withData) r.data = std::move(p.data);
    pending.push_back(std::move(r));
    const uint32_t id = p.id;  // p lives inside the map: copy the key before erasing it
    probes.erase(id);
  }

  // Engine thread: a result for a probe that never got a socket.
  void FailEarly(uint32_t id, int err) {
    ProbeResult r;
    r.id = id;
    r.err = err;
    r.phase = Phase::kConnect;
    r.elapsedUs = 0;
    r.hasData = false;
    pending.push_back(std::move(r));
  }

  // Engine thread: opens the socket of a new probe and starts its non-blocking connect.
  void Begin(StartCommand& c) {
    if (probes.count(c.id)) {
      FailEarly(c.id, EEXIST);
      return;
    }
    int fd = ::socket(c.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      FailEarly(c.id, errno);
      return;
    }
    Probe p;
    p.id = c.id;
    p.fd = fd;
    p.phase = Phase::kConnect;
    p.startedUs = NowUs();
    p.deadlineUs = p.startedUs + c.timeoutUs;
    p.payload = std::move(c.payload);
    p.written = 0;
    p.hasPayload = c.hasPayload;
    p.readLimit = c.readLimit;
    p.framing = c.framing;
    int rc = ::connect(fd, reinterpret_cast<struct sockaddr*>(&c.addr), c.addrLen);
    int err = rc == 0 ? 0 : errno;
    auto& stored = probes.emplace(c.id, std::move(p)).first->second;
    if (rc != 0 && err != EINPROGRESS) {
      Finish(stored, err, false);
      return;
    }
    // Registered once for everything it will wait for, edge-triggered: no epoll_ctl between the phases.
    struct epoll_event ev {};
    ev.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP | EPOLLET;
    ev.data.u64 = (static_cast<uint64_t>(static_cast<uint32_t>(fd)) << 32) | c.id;
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
      Finish(stored, errno, false);
      return;
    }
    deadlines.push(Deadline{stored.deadlineUs, c.id, fd});
  }

  // Engine thread: the connect finished (or failed); on success either done, or on to sending the request.
  void OnConnectReady(Probe& p, uint32_t events) {
    if (!(events & EPOLLOUT) && !(events & (EPOLLERR | EPOLLHUP))) return;  // nothing for this phase yet
    if (events & (EPOLLERR | EPOLLHUP)) {  // the error itself only when there is one: one syscall less per success
      int soErr = 0;
      socklen_t len = sizeof soErr;
      if (getsockopt(p.fd, SOL_SOCKET, SO_ERROR, &soErr, &len) != 0) soErr = errno;
      if (soErr != 0) {
        Finish(p, soErr, false);
        return;
      }
    }
    if (!p.hasPayload) {
      Finish(p, 0, false);
      return;
    }
    p.phase = Phase::kWrite;
    OnWritable(p);
  }

  // Engine thread: sends what is left of the request; then waits for the answer.
  void OnWritable(Probe& p) {
    while (p.written < p.payload.size()) {
      ssize_t n = ::send(p.fd, p.payload.data() + p.written, p.payload.size() - p.written, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;  // still EPOLLOUT
        if (errno == EINTR) continue;
        Finish(p, errno, true);
        return;
      }
      p.written += static_cast<size_t>(n);
    }
    p.phase = Phase::kRead;  // the answer's arrival raises an EPOLLIN edge after this point
  }

  // Engine thread: reads until the peer closes, an error, or the read limit.
  void OnReadable(Probe& p) {
    uint8_t buf[16384];
    for (;;) {
      size_t room = p.readLimit > p.data.size() ? p.readLimit - p.data.size() : 0;
      if (room == 0) {
        Finish(p, 0, true);
        return;
      }
      ssize_t n = ::recv(p.fd, buf, room < sizeof buf ? room : sizeof buf, 0);
      if (n > 0) {
        p.data.insert(p.data.end(), buf, buf + n);
        if (p.framing != Framing::kUntilClose && HttpAnswerComplete(p.data, p.framing == Framing::kHttpHead)) {
          Finish(p, 0, true);  // whole answer here: a server ignoring `Connection: close` costs no time
          return;
        }
        continue;
      }
      if (n == 0) {
        Finish(p, 0, true);
        return;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      if (errno == EINTR) continue;
      Finish(p, errno, true);
      return;
    }
  }

  // Engine thread: dispatches one epoll event to its probe.
  void OnEvent(const struct epoll_event& ev) {
    uint32_t id = static_cast<uint32_t>(ev.data.u64 & 0xffffffffu);
    int fd = static_cast<int>(ev.data.u64 >> 32);
    auto it = probes.find(id);
    if (it == probes.end() || it->second.fd != fd) return;
    Probe& p = it->second;
    // One edge may carry several phases' news (connected + answer already there): run the phases in order.
    if (p.phase == Phase::kConnect) OnConnectReady(p, ev.events);
    else if (p.phase == Phase::kWrite && (ev.events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) OnWritable(p);
    auto again = probes.find(id);
    if (again == probes.end() || again->second.fd != fd || again->second.phase != Phase::kRead) return;
    if (ev.events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)) OnReadable(again->second);
  }

  // Engine thread: fails every probe whose deadline has passed with ETIMEDOUT; returns ms to the next deadline.
  int ExpireDeadlines() {
    int64_t now = NowUs();
    while (!deadlines.empty()) {
      const Deadline d = deadlines.top();
      auto it = probes.find(d.id);
      if (it == probes.end() || it->second.fd != d.fd || it->second.deadlineUs != d.atUs) {
        deadlines.pop();
        continue;
      }
      if (d.atUs > now) {
        int64_t ms = (d.atUs - now + 999) / 1000;
        return ms > 60000 ? 60000 : static_cast<int>(ms);
      }
      deadlines.pop();
      Finish(it->second, ETIMEDOUT, true);
    }
    return -1;
  }

  // Engine thread: takes the commands JS queued; returns false when the engine is stopping.
  bool TakeCommands() {
    std::vector<StartCommand> s;
    std::vector<uint32_t> c;
    {
      std::lock_guard<std::mutex> lock(mu);
      if (stopping) return false;
      s.swap(starts);
      c.swap(cancels);
    }
    for (uint32_t id : c) {
      auto it = probes.find(id);
      if (it == probes.end()) continue;
      epoll_ctl(epfd, EPOLL_CTL_DEL, it->second.fd, nullptr);
      ::close(it->second.fd);
      probes.erase(it);
    }
    for (auto& cmd : s) Begin(cmd);
    return true;
  }

  // Engine thread: publishes this turn's results and pokes the JS thread once per batch.
  void Publish() {
    if (pending.empty()) return;
    bool wasEmpty;
    {
      std::lock_guard<std::mutex> lock(mu);
      wasEmpty = results.empty();
      if (wasEmpty) results.swap(pending);
      else
        for (auto& r : pending) results.push_back(std::move(r));
    }
    pending.clear();
    if (wasEmpty) tsfn.NonBlockingCall();
  }

  // The engine thread's loop.
  void Run() {
    struct epoll_event events[256];
    int timeout = -1;
    for (;;) {
      int n = epoll_wait(epfd, events, 256, timeout);
      if (n < 0 && errno != EINTR) break;
      bool woken = false;
      for (int i = 0; i < n; i++) {
        if (events[i].data.u64 == UINT64_MAX) {
          woken = true;
          continue;
        }
        OnEvent(events[i]);
      }
      if (woken) {
        uint64_t v;
        ssize_t r = ::read(wakefd, &v, sizeof v);
        (void)r;
        if (!TakeCommands()) break;
      }
      timeout = ExpireDeadlines();
      Publish();
    }
    for (auto& kv : probes) ::close(kv.second.fd);
    probes.clear();
  }

  // JS thread: stops the engine thread and releases everything; idempotent.
  void Close() {
    if (closed.exchange(true)) return;
    {
      std::lock_guard<std::mutex> lock(mu);
      stopping = true;
    }
    Wake();
    if (thread.joinable()) thread.join();
    ::close(epfd);
    ::close(wakefd);
    tsfn.Release();
  }
};

// JS thread (thread-safe function call): delivers every queued result to the JS callback.
void DeliverResults(Napi::Env env, Napi::Function callback, EngineRef* ctx, void*) {
  if (env == nullptr || ctx == nullptr) return;
  std::vector<ProbeResult> batch;
  {
    std::lock_guard<std::mutex> lock((*ctx)->mu);
    batch.swap((*ctx)->results);
  }
  for (auto& r : batch) {
    Napi::Value data = env.Undefined();
    if (r.hasData) data = Napi::Buffer<uint8_t>::Copy(env, r.data.data(), r.data.size());
    Napi::Value errName = r.err == 0 ? Napi::String::New(env, "") : Napi::String::New(env, ErrnoName(r.err));
    try {
      callback.Call({Napi::Number::New(env, r.id), errName, Napi::String::New(env, PhaseName(r.phase)),
                     Napi::Number::New(env, static_cast<double>(r.elapsedUs)), data});
    } catch (const Napi::Error&) {
      // a throwing callback must not stop the batch nor escape into the thread-safe function machinery
    }
  }
}

// The JS side of an engine: `new TcpProbeEngine(onResult)`; methods start, cancel, ref, unref, close.
class TcpProbeEngine : public Napi::ObjectWrap<TcpProbeEngine> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "TcpProbeEngine", {
      InstanceMethod("start", &TcpProbeEngine::Start),
      InstanceMethod("cancel", &TcpProbeEngine::Cancel),
      InstanceMethod("ref", &TcpProbeEngine::Ref),
      InstanceMethod("unref", &TcpProbeEngine::Unref),
      InstanceMethod("close", &TcpProbeEngine::CloseJs),
    });
  }

  // new TcpProbeEngine(onResult(id, errnoName, phase, elapsedUs, data | undefined)).
  explicit TcpProbeEngine(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TcpProbeEngine>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsFunction()) throw Napi::TypeError::New(env, "onResult must be a function");
    engine_ = std::make_shared<Engine>();
    engine_->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (engine_->epfd < 0) throw ErrnoError(env, errno, "epoll_create1");
    engine_->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (engine_->wakefd < 0) {
      int err = errno;
      ::close(engine_->epfd);
      throw ErrnoError(env, err, "eventfd");
    }
    struct epoll_event ev {};
    ev.events = EPOLLIN;
    ev.data.u64 = UINT64_MAX;
    epoll_ctl(engine_->epfd, EPOLL_CTL_ADD, engine_->wakefd, &ev);
    auto* context = new EngineRef(engine_);
    engine_->tsfn = ResultsTsfn::New(
        env, info[0].As<Napi::Function>(), "ldir:tcpProbe", 0, 1, context,
        [](Napi::Env, void*, EngineRef* ctx) { delete ctx; }, static_cast<void*>(nullptr));
    engine_->tsfn.Unref(env);
    Engine* raw = engine_.get();
    engine_->thread = std::thread([raw] { raw->Run(); });
  }

  ~TcpProbeEngine() override {
    if (engine_) engine_->Close();
  }

 private:
  // start(id, address, port, timeoutMs, payload | null, readLimit[, framing 0 close/1 http/2 http HEAD]): queues a
  // probe; throws on a bad address.
  Napi::Value Start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (engine_->closed) throw Napi::Error::New(env, "probe engine closed");
    if (info.Length() < 6 || !info[0].IsNumber() || !info[1].IsString() || !info[2].IsNumber()) {
      throw Napi::TypeError::New(env, "start(id, address, port, timeoutMs, payload, readLimit[, framing])");
    }
    StartCommand c{};
    c.id = info[0].As<Napi::Number>().Uint32Value();
    std::string address = info[1].As<Napi::String>().Utf8Value();
    uint32_t port = info[2].As<Napi::Number>().Uint32Value();
    if (port > 65535) throw Napi::RangeError::New(env, "port out of range");
    auto* sin = reinterpret_cast<struct sockaddr_in*>(&c.addr);
    auto* sin6 = reinterpret_cast<struct sockaddr_in6*>(&c.addr);
    if (inet_pton(AF_INET, address.c_str(), &sin->sin_addr) == 1) {
      sin->sin_family = AF_INET;
      sin->sin_port = htons(static_cast<uint16_t>(port));
      c.addrLen = sizeof *sin;
    } else if (inet_pton(AF_INET6, address.c_str(), &sin6->sin6_addr) == 1) {
      sin6->sin6_family = AF_INET6;
      sin6->sin6_port = htons(static_cast<uint16_t>(port));
      c.addrLen = sizeof *sin6;
    } else {
      throw ErrnoError(env, EINVAL, "inet_pton");
    }
    c.timeoutUs = static_cast<int64_t>(TimeoutArg(env, info[3])) * 1000;
    c.hasPayload = info[4].IsBuffer();
    if (c.hasPayload) {
      auto b = info[4].As<Napi::Buffer<uint8_t>>();
      c.payload.assign(b.Data(), b.Data() + b.Length());
    }
    double limit = info[5].IsNumber() ? info[5].As<Napi::Number>().DoubleValue() : 0;
    c.readLimit = limit > 0 && limit < 64.0 * 1024 * 1024 ? static_cast<size_t>(limit) : 1024 * 1024;
    uint32_t framing = info.Length() > 6 && info[6].IsNumber() ? info[6].As<Napi::Number>().Uint32Value() : 0;
    c.framing = framing == 1 ? Framing::kHttp : framing == 2 ? Framing::kHttpHead : Framing::kUntilClose;
    bool wake;
    {
      std::lock_guard<std::mutex> lock(engine_->mu);
      wake = engine_->starts.empty() && engine_->cancels.empty();
      engine_->starts.push_back(std::move(c));
    }
    if (wake) engine_->Wake();
    return env.Undefined();
  }

  // cancel(id): drops a probe in flight (its socket is closed; no result is delivered unless it already finished).
  Napi::Value Cancel(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (engine_->closed || info.Length() < 1 || !info[0].IsNumber()) return env.Undefined();
    bool wake;
    {
      std::lock_guard<std::mutex> lock(engine_->mu);
      wake = engine_->starts.empty() && engine_->cancels.empty();
      engine_->cancels.push_back(info[0].As<Napi::Number>().Uint32Value());
    }
    if (wake) engine_->Wake();
    return env.Undefined();
  }

  // ref(): keeps the Node event loop alive while probes are in flight.
  Napi::Value Ref(const Napi::CallbackInfo& info) {
    if (!engine_->closed) engine_->tsfn.Ref(info.Env());
    return info.Env().Undefined();
  }

  // unref(): lets the process exit while idle.
  Napi::Value Unref(const Napi::CallbackInfo& info) {
    if (!engine_->closed) engine_->tsfn.Unref(info.Env());
    return info.Env().Undefined();
  }

  // close(): stops the engine thread; probes in flight are dropped without results. Idempotent.
  Napi::Value CloseJs(const Napi::CallbackInfo& info) {
    engine_->Close();
    return info.Env().Undefined();
  }

  EngineRef engine_;
};

}  // namespace

// Exports the TcpProbeEngine class.
Napi::Function TcpProbeEngineClass(Napi::Env env) { return TcpProbeEngine::Define(env); }

}  // namespace ldir
