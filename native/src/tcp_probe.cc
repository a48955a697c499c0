// TCP probe engine: one epoll thread runs many non-blocking probes (connect, optionally send a request and read the
// answer until the peer closes or, for HTTP, until the answer is complete) with per-probe deadlines, and hands
// results back to JS in batches. A probe may also open an SCTP association instead of a TCP connection (a one-to-one
// SOCK_STREAM socket of IPPROTO_SCTP: connect, EINPROGRESS and SO_ERROR behave as for TCP).
#include "common.h"
#include "http_answer.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <memory>
#include <deque>
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

struct Schedule;

// A probe requested by JS, before the engine thread has opened its socket.
struct StartCommand {
  uint32_t id;
  Schedule* owner;  // the schedule whose round this is (engine thread), else null
  struct sockaddr_storage addr;
  socklen_t addrLen;
  int protocol;  // socket protocol: 0 (TCP) or IPPROTO_SCTP
  int64_t timeoutUs;
  std::shared_ptr<const std::vector<uint8_t>> payload;  // shared: a schedule hands the same request to every round
  bool hasPayload;
  size_t readLimit;
  Framing framing;
};

// A probe in flight on the engine thread.
struct Probe {
  uint32_t id;
  Schedule* owner;  // as in StartCommand
  int fd;
  Phase phase;
  int64_t startedUs;
  int64_t deadlineUs;
  std::shared_ptr<const std::vector<uint8_t>> payload;
  size_t written;
  bool hasPayload;
  size_t readLimit;
  Framing framing;
  std::vector<uint8_t> data;
};

// Rounds due within this window of the first due one start with it (early by at most this much, never drifting: the
// next round is planned from when this one was due). Rounds started together share the engine's wake-ups (the
// timer's, the connects', the answers') and the real servers' (a server woken once answers the whole batch): per
// round, a wake-up cost about as much as the probe's own system calls under emulation. At most a tenth of the check's
// interval, and at most kStartBatchMax rounds started early per turn: a window alone made batches of 250 connections
// at 10,000 checks a second (a 25 ms window overflowed a test server's accept queue, and made the p99 start lateness
// 14 ms), the cap keeps a batch small at high rates while a low rate (300 checks a second) gets few, large batches.
// The window is also no wider than the time in which kStartBatchMax rounds of all schedules come due (100 ms at 300
// checks a second, 3.2 ms at 10,000).
constexpr int64_t kStartWindowUs = 100000;
constexpr int64_t kStartWindowDivisor = 10;
constexpr int kStartBatchMax = 32;

// When the round after one due at `scheduledUs` (its place, the first round's respread included) and started at
// `startedUs` is due: src/checks/round-timing.ts nextRoundDue, the one rule for both schedulers. On time: one interval
// later. After a stall (started an interval or more late): the first time of its own place at least half an interval
// after the late start, so rounds a stall bunched together go back to their places in the interval.
int64_t NextRoundDue(int64_t scheduledUs, int64_t startedUs, int64_t intervalUs) {
  if (intervalUs <= 0 || startedUs - scheduledUs < intervalUs) return scheduledUs + intervalUs;
  const int64_t intervals = (startedUs + intervalUs / 2 - scheduledUs + intervalUs - 1) / intervalUs;  // ceil
  return scheduledUs + intervals * intervalUs;
}

// A real in a network namespace or container of this host answers the handshake inside connect() (the SYN and its
// SYN-ACK are handled before the call returns). A round that finds its connection made goes on at once (sends its
// request, or is done for a connect check) and waits for one event instead of two. A remote real never does: a miss
// costs one system call, and the next try comes this many rounds later.
constexpr uint32_t kEarlyRetryRounds = 16;

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

// Probe ids of scheduled rounds carry this bit (JS one-shot probe ids stay below it).
constexpr uint32_t kRoundBit = 0x80000000u;

// A check the engine runs itself every interval (`schedule`): JS hears only of the rounds it must judge.
struct ScheduleCommand {
  uint32_t id;
  StartCommand probe;     // what one round sends (its id is kRoundBit | id)
  int64_t intervalUs;
  int64_t firstDelayUs;   // from the schedule call to the first round
  int64_t respreadUs;     // added once, to the second round
  bool judgeHttp;         // up needs HttpCertainlyUp; else a connect is up
  HttpRules rules;        // what an answer must be to pass (judgeHttp only)
  bool reportAll;         // every round goes to JS (nothing quiet)
  size_t sampleCap;       // quiet rounds kept for JS between two takeQuiet calls
  uint32_t failureCount;  // JS's failurecount: after that many failures in a row JS has the real down (0: never quiet)
  uint32_t riseCount;     // JS's risecount (>= 1): after that many up rounds in a row JS has the real up
};

struct RoundStats;

// Engine-thread state of one schedule. Exactly one Due refers to it while it is not running, its probe while it
// runs: that is what lets both hold a plain pointer to it.
struct Schedule {
  ScheduleCommand spec;
  std::shared_ptr<RoundStats> stats;  // shared with Engine::stats (JS reads it under mu)
  bool removed;  // unscheduled while its Due was pending: erased when the Due comes up
  int64_t dueUs;
  int64_t scheduledUs;
  int64_t startedUs;
  bool running;
  uint32_t upStreak;    // certainly up rounds in a row before this round (at most riseCount): at riseCount, an up
                        // round changes nothing JS knows
  uint32_t failStreak;  // failures in a row before this round
  int lastFailErr;      // errno of the previous round when it failed without an answer (what JS's verdict depends on), else 0
  uint32_t earlyIn;     // rounds before the next try at finding the connection made inside connect() (0: this round)
  double earlyRounds;   // rounds that went on without waiting for epoll (see kEarlyRetryRounds)
};

// A quiet round, kept for JS's metrics until it takes them: certainly up after riseCount up rounds in a row (`status`
// the HTTP status, 0 for a connect), or the same failure again once JS has the real down (`status` = -errno).
struct QuietRound {
  int64_t scheduledUs;
  int64_t startedUs;
  int64_t durationUs;
  int status;
};

// What JS reads of a schedule (guarded by Engine::mu).
struct RoundStats {
  double rounds = 0;
  bool running = false;
  bool lastQuiet = false;  // the last finished round was quiet (JS has not seen it)
  int lastStatus = 0;  // as QuietRound::status
  double quietFailures = 0;  // quiet failures since the last round JS saw
  int64_t lastDurationUs = 0;
  int64_t lastStartedUs = 0;
  size_t cap = 0;  // 0: quiet rounds are only counted (below), never kept one by one
  double dropped = 0;
  // Quiet rounds since takeQuietCounts last took them: passed, failed, the sum of their durations and how many fell
  // in each duration bucket (Engine::bucketBoundsUs, one more for longer ones). Durations are first rounded to
  // 0.1 ms, as JS rounds the durations it reports, so a round lands in the bucket JS would put it in.
  double passed = 0;
  double failed = 0;
  double sumUs = 0;
  std::vector<double> buckets;
  double earlyRounds = 0;  // as Schedule::earlyRounds
  std::vector<QuietRound> quiet;
};

// A round JS must judge (not certainly up, the first up after anything else, or every round with reportAll).
struct RoundResult {
  uint32_t id;
  int err;
  Phase phase;
  int64_t elapsedUs;
  int64_t scheduledUs;
  int64_t startedUs;
  bool certainUp;
  int status;
  double quietFailuresBefore;  // quiet failures between the last round JS saw and this one (JS counts them)
  bool hasData;
  std::vector<uint8_t> data;
};

// A due round in the min-heap: the one Due of a schedule that is not running (a removed schedule is erased when popped).
struct Due {
  int64_t atUs;
  uint32_t id;
  Schedule* sched;
  bool operator>(const Due& o) const { return atUs > o.atUs; }
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
  std::deque<ProbeResult> results;       // guarded by mu
  std::vector<ScheduleCommand> schedules;  // guarded by mu: to add
  std::vector<uint32_t> unschedules;     // guarded by mu: to remove
  std::deque<RoundResult> rounds;        // guarded by mu: for JS to judge
  std::unordered_map<uint32_t, std::shared_ptr<RoundStats>> stats;  // guarded by mu
  std::vector<int64_t> bucketBoundsUs;   // guarded by mu: upper bounds of the quiet rounds' duration buckets
  Napi::FunctionReference onRound;       // JS thread only
  Napi::FunctionReference onResult;      // JS thread only: the one-shot probes' callback (the tsfn's own)
  Napi::FunctionReference setImmediate;  // JS thread only: the global, to deliver the rest of a batch next turn
  bool continuing = false;               // JS thread only: a setImmediate will deliver the rest
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
  std::unordered_map<uint32_t, Schedule> active;
  // The rounds every schedule together makes per µs (the sum of 1 / interval): sizes the start window (kStartBatchMax).
  double roundsPerUs = 0;
  std::priority_queue<Due, std::vector<Due>, std::greater<Due>> dues;
  std::vector<RoundResult> pendingRounds;
  // The time of this loop turn, read once after epoll_wait: every start, deadline and elapsed time of the turn uses
  // it. Clock reads are cheap on hardware (vDSO) but a system call (and a trap) on a VM whose clock source is not
  // the TSC; reading it per probe step cost more than the probes' own system calls there.
  int64_t now_ = 0;

  // Under mu: no command waits for the engine thread (the one queueing the first of a batch wakes it).
  bool NothingQueued() const { return starts.empty() && cancels.empty() && schedules.empty() && unschedules.empty(); }

  void Wake() {
    uint64_t one = 1;
    ssize_t n = ::write(wakefd, &one, sizeof one);
    (void)n;
  }

  // Engine thread: finishes a probe (closes its socket) and queues its result.
  void Finish(Probe& p, int err, bool withData) {
    ::close(p.fd);  // also drops its epoll registration (the fd is never duplicated)
    if (p.owner != nullptr) {
      const uint32_t probeId = p.id;
      RoundDone(*p.owner, err, p.phase, now_ - p.startedUs, p.data);
      probes.erase(probeId);
      return;
    }
    ProbeResult r;
    r.id = p.id;
    r.err = err;
    r.phase = p.phase;
    r.elapsedUs = now_ - p.startedUs;
    r.hasData = withData;
    if (withData) r.data = std::move(p.data);
    pending.push_back(std::move(r));
    const uint32_t id = p.id;  // p lives inside the map: copy the key before erasing it
    probes.erase(id);
  }

  // Engine thread: a result for a probe that never got a socket.
  void FailEarly(uint32_t id, Schedule* owner, int err) {
    if (owner != nullptr) {
      std::vector<uint8_t> none;
      RoundDone(*owner, err, Phase::kConnect, 0, none);
      return;
    }
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
      FailEarly(c.id, c.owner, EEXIST);
      return;
    }
    // Without SCTP in the kernel (no sctp module) this fails with EPROTONOSUPPORT: the probe fails with that errno.
    int fd = ::socket(c.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, c.protocol);
    if (fd < 0) {
      FailEarly(c.id, c.owner, errno);
      return;
    }
    Probe p;
    p.id = c.id;
    p.owner = c.owner;
    p.fd = fd;
    p.phase = Phase::kConnect;
    p.startedUs = now_;
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
    uint32_t events = EPOLLOUT | EPOLLIN | EPOLLRDHUP | EPOLLET;
    // The early path reads TCP_INFO: SCTP associations always wait for their epoll event.
    if (c.owner != nullptr && rc != 0 && c.protocol != IPPROTO_SCTP) {
      if (c.owner->earlyIn > 0) {
        c.owner->earlyIn--;
      } else if (GoOnEarly(stored)) {
        return;  // finished
      } else if (stored.phase == Phase::kRead) {
        events = EPOLLIN | EPOLLRDHUP | EPOLLET;  // the request is out: only the answer is awaited
      }
    }
    // Registered once for everything it will wait for, edge-triggered: no epoll_ctl between the phases.
    struct epoll_event ev {};
    ev.events = events;
    ev.data.u64 = (static_cast<uint64_t>(static_cast<uint32_t>(fd)) << 32) | c.id;
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
      Finish(stored, errno, false);
      return;
    }
    deadlines.push(Deadline{stored.deadlineUs, c.id, fd});
  }

  // Engine thread, right after a round's connect() said EINPROGRESS: when the connection is already made (or already
  // refused), goes on without waiting for epoll (see kEarlyRetryRounds). Returns true when the probe finished.
  bool GoOnEarly(Probe& p) {
    if (!p.hasPayload) {
      uint8_t info[8];  // struct tcp_info starts with tcpi_state; the kernel copies only what fits
      socklen_t len = sizeof info;
      if (getsockopt(p.fd, IPPROTO_TCP, TCP_INFO, info, &len) != 0 || len < 1) return false;
      if (info[0] == TCP_ESTABLISHED) {
        p.owner->earlyRounds++;
        Finish(p, 0, false);
        return true;
      }
      if (info[0] == TCP_CLOSE) {  // refused or unreachable already: the error is the connect's
        int soErr = 0;
        socklen_t errLen = sizeof soErr;
        if (getsockopt(p.fd, SOL_SOCKET, SO_ERROR, &soErr, &errLen) == 0 && soErr != 0) {
          p.owner->earlyRounds++;
          Finish(p, soErr, false);
          return true;
        }
      }
      p.owner->earlyIn = kEarlyRetryRounds;
      return false;
    }
    const size_t size = p.payload ? p.payload->size() : 0;
    ssize_t n = ::send(p.fd, p.payload->data(), size, MSG_NOSIGNAL);
    if (n < 0) {
      int err = errno;
      if (err == EAGAIN || err == EWOULDBLOCK || err == EINTR) {  // still connecting: the event path as usual
        p.owner->earlyIn = kEarlyRetryRounds;
        return false;
      }
      // The socket's pending error, as getsockopt(SO_ERROR) would have said on the event path: the connect's own
      // failure (refused, unreachable), unless the connection was made and lost before the request went out.
      if (err != ECONNREFUSED && err != ENETUNREACH && err != EHOSTUNREACH && err != ETIMEDOUT) p.phase = Phase::kWrite;
      p.owner->earlyRounds++;
      Finish(p, err, false);
      return true;
    }
    p.written = static_cast<size_t>(n);
    p.phase = p.written < size ? Phase::kWrite : Phase::kRead;
    p.owner->earlyRounds++;
    return false;
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
    const size_t size = p.payload ? p.payload->size() : 0;
    while (p.written < size) {
      ssize_t n = ::send(p.fd, p.payload->data() + p.written, size - p.written, MSG_NOSIGNAL);
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
    int64_t now = now_;
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

  // Under mu: counts a quiet round in its schedule's totals and duration bucket.
  void CountQuiet(RoundStats& r, bool up, int64_t elapsedUs) {
    (up ? r.passed : r.failed)++;
    const int64_t rounded = elapsedUs > 0 ? (elapsedUs + 50) / 100 * 100 : 0;
    r.sumUs += static_cast<double>(rounded);
    if (r.buckets.empty()) return;
    size_t b = 0;
    while (b < bucketBoundsUs.size() && rounded > bucketBoundsUs[b]) b++;
    if (b < r.buckets.size()) r.buckets[b]++;  // (bounds set again after this schedule was made: the rest are lost)
  }

  // Engine thread: judges a finished round, keeps it quiet or queues it for JS, and plans the next one (one interval
  // after the previous one was due, re-anchored after a stall longer than the interval; never before now).
  void RoundDone(Schedule& s, int err, Phase phase, int64_t elapsedUs, std::vector<uint8_t>& data) {
    const uint32_t id = s.spec.id;
    s.running = false;
    int status = 0;
    bool up = err == 0 && (!s.spec.judgeHttp ||
                           HttpCertainlyUp(data, s.spec.probe.framing == Framing::kHttpHead, s.spec.rules, &status));
    // An up round is quiet when JS has the real up for sure (risecount up rounds in a row before it: from down it
    // counted them all, from unknown the first was enough). A failure JS judges from the errno alone (no answer) is
    // quiet when the round before failed the same way and JS has the real down for sure (failurecount failures in a
    // row): it would only count it.
    bool bareFailure = !up && err != 0 && data.empty();
    bool quiet = !s.spec.reportAll &&
                 (up ? s.upStreak >= s.spec.riseCount
                     : bareFailure && s.spec.failureCount > 0 && s.failStreak >= s.spec.failureCount && s.lastFailErr == err);
    if (up) {
      if (s.upStreak < s.spec.riseCount) s.upStreak++;  // (bounded: past riseCount only "enough" matters)
    } else {
      s.upStreak = 0;
    }
    s.failStreak = up ? 0 : s.failStreak + 1;
    s.lastFailErr = bareFailure ? err : 0;
    int code = up ? status : -err;
    double quietBefore = 0;
    {
      std::lock_guard<std::mutex> lock(mu);
      {
        RoundStats& r = *s.stats;
        r.rounds++;
        r.running = false;
        r.lastQuiet = quiet;
        r.lastStatus = code;
        r.lastDurationUs = elapsedUs;
        r.lastStartedUs = s.startedUs;
        r.earlyRounds = s.earlyRounds;
        if (quiet) {
          if (!up) r.quietFailures++;
          if (r.cap > 0) {
            if (r.quiet.size() < r.cap) r.quiet.push_back(QuietRound{s.scheduledUs, s.startedUs, elapsedUs, code});
            else r.dropped++;
          }
          CountQuiet(r, up, elapsedUs);
        } else {
          quietBefore = r.quietFailures;
          r.quietFailures = 0;
        }
      }
    }
    if (!quiet) {
      RoundResult r;
      r.id = id;
      r.err = err;
      r.phase = phase;
      r.elapsedUs = elapsedUs;
      r.scheduledUs = s.scheduledUs;
      r.startedUs = s.startedUs;
      r.certainUp = up;
      r.status = status;
      r.quietFailuresBefore = quietBefore;
      r.hasData = s.spec.probe.hasPayload && !up;  // JS needs the answer only to judge a round that is not certainly up
      if (r.hasData) r.data = std::move(data);
      pendingRounds.push_back(std::move(r));
    }
    int64_t now = now_;
    int64_t due = NextRoundDue(s.scheduledUs + s.spec.respreadUs, s.startedUs, s.spec.intervalUs);
    s.spec.respreadUs = 0;
    s.dueUs = due > now ? due : now;
    dues.push(Due{s.dueUs, id, &s});
  }

  // Engine thread: starts every round that is due; returns ms to the next due round (-1: none).
  int StartDueRounds() {
    int64_t now = now_;
    int early = 0;  // rounds started before they were due, this turn
    while (!dues.empty()) {
      const Due d = dues.top();
      if (d.sched->removed) {
        dues.pop();
        active.erase(d.id);
        continue;
      }
      const int64_t share = d.sched->spec.intervalUs / kStartWindowDivisor;
      int64_t window = share < kStartWindowUs ? share : kStartWindowUs;
      // No wider than the time in which kStartBatchMax rounds come due: at 10,000 checks a second a 100 ms window
      // kept every round 100 ms early, in bursts that overflowed a test server's accept queue (bench:checks).
      if (roundsPerUs > 0) {
        const double fill = kStartBatchMax / roundsPerUs;
        if (fill < static_cast<double>(window)) window = static_cast<int64_t>(fill);
      }
      if (d.atUs > now + window || (d.atUs > now && early >= kStartBatchMax)) {
        int64_t ms = (d.atUs - now + 999) / 1000;
        return ms > 60000 ? 60000 : static_cast<int>(ms);
      }
      dues.pop();
      if (d.atUs > now) early++;
      Schedule& s = *d.sched;
      s.scheduledUs = s.dueUs;
      s.startedUs = now;
      s.running = true;
      {
        std::lock_guard<std::mutex> lock(mu);
        s.stats->running = true;
      }
      StartCommand c = s.spec.probe;  // a copy (the request itself is shared)
      c.owner = &s;
      Begin(c);
    }
    return -1;
  }

  // Engine thread: takes the commands JS queued; returns false when the engine is stopping.
  bool TakeCommands() {
    std::vector<StartCommand> s;
    std::vector<uint32_t> c;
    std::vector<ScheduleCommand> add;
    std::vector<uint32_t> remove;
    {
      std::lock_guard<std::mutex> lock(mu);
      if (stopping) return false;
      s.swap(starts);
      c.swap(cancels);
      add.swap(schedules);
      remove.swap(unschedules);
    }
    for (uint32_t id : remove) {
      auto it = active.find(id);
      if (it == active.end()) continue;
      if (it->second.running) {
        c.push_back(id | kRoundBit);  // its round in flight: dropped below, before anything can finish it
        active.erase(it);
      } else {
        it->second.removed = true;  // its Due still points at it
      }
    }
    int64_t now = now_;
    for (auto& cmd : add) {
      std::shared_ptr<RoundStats> st;
      {
        std::lock_guard<std::mutex> lock(mu);
        auto found = stats.find(cmd.id);
        if (found == stats.end()) continue;  // unscheduled before it started
        st = found->second;
      }
      uint32_t id = cmd.id;
      Schedule& sch = active[id];
      sch.dueUs = now + cmd.firstDelayUs;
      sch.scheduledUs = sch.dueUs;
      sch.startedUs = sch.dueUs;
      sch.running = false;
      sch.upStreak = 0;
      sch.failStreak = 0;
      sch.lastFailErr = 0;
      sch.earlyIn = 0;
      sch.earlyRounds = 0;
      sch.removed = false;
      sch.stats = std::move(st);
      sch.spec = std::move(cmd);
      dues.push(Due{sch.dueUs, id, &sch});
    }
    if (!add.empty() || !remove.empty()) {
      roundsPerUs = 0;
      for (const auto& kv : active)
        if (!kv.second.removed && kv.second.spec.intervalUs > 0) roundsPerUs += 1.0 / kv.second.spec.intervalUs;
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
    if (pending.empty() && pendingRounds.empty()) return;
    bool wasEmpty;
    {
      std::lock_guard<std::mutex> lock(mu);
      wasEmpty = results.empty() && rounds.empty();
      for (auto& r : pending) results.push_back(std::move(r));
      for (auto& r : pendingRounds) rounds.push_back(std::move(r));
    }
    pending.clear();
    pendingRounds.clear();
    if (wasEmpty) tsfn.NonBlockingCall();
  }

  // The engine thread's loop.
  void Run() {
    pthread_setname_np(pthread_self(), "ldir-probe");  // what top -H, /proc/PID/task/*/comm and benchmarks show
    struct epoll_event events[256];
    int timeout = -1;
    for (;;) {
      int n = epoll_wait(epfd, events, 256, timeout);
      if (n < 0 && errno != EINTR) break;
      now_ = NowUs();
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
      if (!active.empty()) {
        int roundIn = StartDueRounds();
        timeout = ExpireDeadlines();  // again: the rounds just started have deadlines of their own
        if (roundIn >= 0 && (timeout < 0 || roundIn < timeout)) timeout = roundIn;
      }
      Publish();
    }
    for (auto& kv : probes) ::close(kv.second.fd);
    probes.clear();
    active.clear();
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
    onRound.Reset();  // JS thread (close() or the wrapper's finalizer)
    onResult.Reset();
    setImmediate.Reset();
    ::close(epfd);
    ::close(wakefd);
    tsfn.Release();
  }
};

// JS thread: the arguments both callbacks start with: id, errno name ('' for success), phase, elapsed µs, and the
// bytes read (undefined without).
std::vector<napi_value> OutcomeArgs(Napi::Env env, uint32_t id, int err, Phase phase, int64_t elapsedUs, bool hasData,
                                    const std::vector<uint8_t>& data) {
  Napi::Value bytes = env.Undefined();
  if (hasData) bytes = Napi::Buffer<uint8_t>::Copy(env, data.data(), data.size());
  return {Napi::Number::New(env, id), Napi::String::New(env, err == 0 ? std::string() : ErrnoName(err)),
          Napi::String::New(env, PhaseName(phase)), Napi::Number::New(env, static_cast<double>(elapsedUs)), bytes};
}

// Most results handed to JS in one turn of its event loop. A turn delivering 100,000 first rounds (a big table
// starting, a switch failing under every real) held the loop for seconds: the rest waits for the next turn
// (setImmediate), so timers, the control socket and the metrics endpoint go on in between (issue 21, big tables).
constexpr size_t kDeliverMax = 256;

// JS thread: delivers the next slice of queued results to the JS callbacks, and asks for another turn when some
// are left.
void DeliverSome(Napi::Env env, const EngineRef& engine) {
  std::vector<ProbeResult> batch;
  std::vector<RoundResult> rounds;
  bool more;
  {
    std::lock_guard<std::mutex> lock(engine->mu);
    size_t n = std::min(kDeliverMax, engine->rounds.size());
    for (size_t i = 0; i < n; i++) {
      rounds.push_back(std::move(engine->rounds.front()));
      engine->rounds.pop_front();
    }
    size_t m = std::min(kDeliverMax - n, engine->results.size());
    for (size_t i = 0; i < m; i++) {
      batch.push_back(std::move(engine->results.front()));
      engine->results.pop_front();
    }
    // Publish pokes the JS thread only when it finds both empty: while anything is left, the next slice is ours.
    more = !engine->rounds.empty() || !engine->results.empty();
  }
  if (!rounds.empty() && !engine->onRound.IsEmpty()) {
    Napi::Function onRound = engine->onRound.Value();
    for (auto& r : rounds) {
      std::vector<napi_value> args = OutcomeArgs(env, r.id, r.err, r.phase, r.elapsedUs, r.hasData, r.data);
      args.insert(args.end(), {Napi::Number::New(env, static_cast<double>(r.scheduledUs)),
                               Napi::Number::New(env, static_cast<double>(r.startedUs)), Napi::Boolean::New(env, r.certainUp),
                               Napi::Number::New(env, r.status), Napi::Number::New(env, r.quietFailuresBefore)});
      try {
        onRound.Call(args);
      } catch (const Napi::Error&) {
        // as for results: one throwing callback must not lose the rest of the batch
      }
    }
  }
  if (!batch.empty() && !engine->onResult.IsEmpty()) {
    Napi::Function callback = engine->onResult.Value();
    for (auto& r : batch) {
      try {
        callback.Call(OutcomeArgs(env, r.id, r.err, r.phase, r.elapsedUs, r.hasData, r.data));
      } catch (const Napi::Error&) {
        // a throwing callback must not stop the batch nor escape into the thread-safe function machinery
      }
    }
  }
  engine->continuing = more && !engine->closed && !engine->setImmediate.IsEmpty();
  if (!engine->continuing) return;
  EngineRef keep = engine;
  Napi::Function next = Napi::Function::New(env, [keep](const Napi::CallbackInfo& info) {
    keep->continuing = false;
    if (!keep->closed) DeliverSome(info.Env(), keep);
  });
  try {
    engine->setImmediate.Value().Call({next});
  } catch (const Napi::Error&) {
    engine->continuing = false;  // the rest goes with the next batch the engine publishes
  }
}

// JS thread (thread-safe function call): delivers the first slice of the queued results.
void DeliverResults(Napi::Env env, Napi::Function, EngineRef* ctx, void*) {
  if (env == nullptr || ctx == nullptr) return;
  if ((*ctx)->continuing) return;  // a setImmediate already delivers the queue, in order
  DeliverSome(env, *ctx);
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
      InstanceMethod("schedule", &TcpProbeEngine::ScheduleJs),
      InstanceMethod("unschedule", &TcpProbeEngine::UnscheduleJs),
      InstanceMethod("roundStats", &TcpProbeEngine::RoundStatsJs),
      InstanceMethod("takeQuiet", &TcpProbeEngine::TakeQuietJs),
      InstanceMethod("takeQuietCounts", &TcpProbeEngine::TakeQuietCountsJs),
      InstanceMethod("setDurationBuckets", &TcpProbeEngine::SetDurationBucketsJs),
      InstanceMethod("now", &TcpProbeEngine::NowJs),
      // schedule() takes the passing statuses and the negative literal (an addon without them judges 2xx only).
      StaticValue("httpRules", Napi::Boolean::New(env, true)),
      // The transports a probe may use (the last argument of start and schedule); absent from older builds.
      StaticValue("protocols", Protocols(env), napi_enumerable),
    });
  }

  static Napi::Array Protocols(Napi::Env env) {
    Napi::Array a = Napi::Array::New(env, 2);
    a.Set(0u, Napi::String::New(env, "tcp"));
    a.Set(1u, Napi::String::New(env, "sctp"));
    return a;
  }

  // new TcpProbeEngine(onResult(id, errnoName, phase, elapsedUs, data | undefined)[, onRound(id, errnoName, phase,
  // elapsedUs, data | undefined, scheduledUs, startedUs, certainUp, status)]).
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
    if (info.Length() > 1 && info[1].IsFunction()) engine_->onRound = Napi::Persistent(info[1].As<Napi::Function>());
    engine_->onResult = Napi::Persistent(info[0].As<Napi::Function>());
    Napi::Value immediate = env.Global().Get("setImmediate");
    if (immediate.IsFunction()) engine_->setImmediate = Napi::Persistent(immediate.As<Napi::Function>());
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
  // start(id, address, port, timeoutMs, payload | null, readLimit[, framing 0 close/1 http/2 http HEAD[, protocol
  // 'tcp'/'sctp']]): queues a probe; throws on a bad address or protocol.
  Napi::Value Start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (engine_->closed) throw Napi::Error::New(env, "probe engine closed");
    if (info.Length() < 6 || !info[0].IsNumber() || !info[1].IsString() || !info[2].IsNumber()) {
      throw Napi::TypeError::New(env, "start(id, address, port, timeoutMs, payload, readLimit[, framing])");
    }
    StartCommand c = ProbeArgs(info, 0, 7);
    if (c.id & kRoundBit) throw Napi::RangeError::New(env, "probe id out of range");
    bool wake;
    {
      std::lock_guard<std::mutex> lock(engine_->mu);
      wake = engine_->NothingQueued();
      engine_->starts.push_back(std::move(c));
    }
    if (wake) engine_->Wake();
    return env.Undefined();
  }

  // Reads (id, address, port, timeoutMs, payload | null, readLimit, framing) starting at info[at], and the protocol
  // ('tcp' when absent or undefined, 'sctp') at info[protocolAt]; throws on bad ones.
  static StartCommand ProbeArgs(const Napi::CallbackInfo& info, size_t at, size_t protocolAt) {
    Napi::Env env = info.Env();
    StartCommand c{};
    c.id = info[at].As<Napi::Number>().Uint32Value();
    std::string address = info[at + 1].As<Napi::String>().Utf8Value();
    uint32_t port = info[at + 2].As<Napi::Number>().Uint32Value();
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
    c.timeoutUs = static_cast<int64_t>(TimeoutArg(env, info[at + 3])) * 1000;
    c.hasPayload = info[at + 4].IsBuffer();
    if (c.hasPayload) {
      auto b = info[at + 4].As<Napi::Buffer<uint8_t>>();
      c.payload = std::make_shared<const std::vector<uint8_t>>(b.Data(), b.Data() + b.Length());
    }
    double limit = info[at + 5].IsNumber() ? info[at + 5].As<Napi::Number>().DoubleValue() : 0;
    c.readLimit = limit > 0 && limit < 64.0 * 1024 * 1024 ? static_cast<size_t>(limit) : 1024 * 1024;
    uint32_t framing = info.Length() > at + 6 && info[at + 6].IsNumber() ? info[at + 6].As<Napi::Number>().Uint32Value() : 0;
    c.framing = framing == 1 ? Framing::kHttp : framing == 2 ? Framing::kHttpHead : Framing::kUntilClose;
    c.protocol = 0;
    if (info.Length() > protocolAt && !info[protocolAt].IsUndefined()) {
      std::string protocol = info[protocolAt].IsString() ? info[protocolAt].As<Napi::String>().Utf8Value() : "";
      if (protocol == "sctp") c.protocol = IPPROTO_SCTP;
      else if (protocol != "tcp") throw Napi::TypeError::New(env, "protocol must be 'tcp' or 'sctp'");
    }
    return c;
  }

  // Milliseconds argument, clamped to [0, 24 h].
  static int64_t MsArgUs(const Napi::Value& v) {
    double ms = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : 0;
    if (!(ms >= 0)) ms = 0;
    if (ms > 86400000.0) ms = 86400000.0;
    return static_cast<int64_t>(ms * 1000);
  }

  // schedule(id, address, port, timeoutMs, request | null, readLimit, framing, intervalMs, firstDelayMs, respreadMs,
  // literal | null, window, reportAll, sampleCap, failureCount, riseCount, statuses | null, notLiteral | null[,
  // protocol]): the engine runs this check every interval by itself (id < 2^31, never reused). A round goes to onRound
  // unless it is quiet (see RoundDone); the request, when given, is judged as HTTP (HttpCertainlyUp with the passing
  // statuses, an Int32Array of inclusive [from, to] pairs, and the literals), else a connect is up. riseCount may be
  // left out (1), statuses (200-299) and notLiteral (none) too; protocol 'tcp' (default) or 'sctp'.
  Napi::Value ScheduleJs(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (engine_->closed) throw Napi::Error::New(env, "probe engine closed");
    if (engine_->onRound.IsEmpty()) throw Napi::Error::New(env, "engine made without an onRound callback");
    if (info.Length() < 15 || !info[0].IsNumber() || !info[1].IsString() || !info[2].IsNumber() || !info[7].IsNumber()) {
      throw Napi::TypeError::New(env, "schedule(id, address, port, timeoutMs, request, readLimit, framing, intervalMs, "
                                      "firstDelayMs, respreadMs, literal, window, reportAll, sampleCap, failureCount, riseCount, statuses, "
                                      "notLiteral, protocol)");
    }
    ScheduleCommand s{};
    s.id = info[0].As<Napi::Number>().Uint32Value();
    if (s.id & kRoundBit) throw Napi::RangeError::New(env, "schedule id out of range");
    s.probe = ProbeArgs(info, 0, 18);
    s.probe.id = s.id | kRoundBit;
    s.intervalUs = MsArgUs(info[7]);
    if (s.intervalUs < 1000) s.intervalUs = 1000;
    s.firstDelayUs = MsArgUs(info[8]);
    s.respreadUs = MsArgUs(info[9]);
    s.judgeHttp = s.probe.hasPayload;
    if (info[10].IsBuffer()) {
      auto b = info[10].As<Napi::Buffer<char>>();
      s.rules.literal.assign(b.Data(), b.Length());
    }
    s.rules.window = info[11].IsNumber() ? static_cast<size_t>(info[11].As<Napi::Number>().DoubleValue()) : 0;
    if (info.Length() > 16 && info[16].IsTypedArray() && info[16].As<Napi::TypedArray>().TypedArrayType() == napi_int32_array) {
      auto a = info[16].As<Napi::Int32Array>();
      if (a.ElementLength() % 2 != 0) throw Napi::RangeError::New(env, "statuses must be [from, to] pairs");
      for (size_t i = 0; i + 1 < a.ElementLength(); i += 2) s.rules.statuses.emplace_back(a[i], a[i + 1]);
    }
    if (info.Length() > 17 && info[17].IsBuffer()) {
      auto b = info[17].As<Napi::Buffer<char>>();
      s.rules.notLiteral.assign(b.Data(), b.Length());
    }
    s.reportAll = info[12].ToBoolean().Value();
    double cap = info[13].IsNumber() ? info[13].As<Napi::Number>().DoubleValue() : 0;
    s.sampleCap = cap > 0 && cap < 1e6 ? static_cast<size_t>(cap) : 0;
    s.failureCount = info[14].IsNumber() ? info[14].As<Napi::Number>().Uint32Value() : 0;
    s.riseCount = info.Length() > 15 && info[15].IsNumber() ? info[15].As<Napi::Number>().Uint32Value() : 1;
    if (s.riseCount < 1) s.riseCount = 1;
    bool wake;
    {
      std::lock_guard<std::mutex> lock(engine_->mu);
      auto st = std::make_shared<RoundStats>();
      st->cap = s.sampleCap;
      st->buckets.assign(engine_->bucketBoundsUs.size() + 1, 0);
      engine_->stats[s.id] = std::move(st);
      wake = engine_->NothingQueued();
      engine_->schedules.push_back(std::move(s));
    }
    if (wake) engine_->Wake();
    return env.Undefined();
  }

  // unschedule(id): stops a schedule; its round in flight is dropped without a result.
  Napi::Value UnscheduleJs(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (engine_->closed || info.Length() < 1 || !info[0].IsNumber()) return env.Undefined();
    uint32_t id = info[0].As<Napi::Number>().Uint32Value();
    bool wake;
    {
      std::lock_guard<std::mutex> lock(engine_->mu);
      engine_->stats.erase(id);
      wake = engine_->NothingQueued();
      engine_->unschedules.push_back(id);
    }
    if (wake) engine_->Wake();
    return env.Undefined();
  }

  // roundStats(): Float64Array of 10 numbers per schedule: id, rounds, running, lastQuiet, lastStatus (-errno for a
  // failure), lastDurationUs, lastStartedUs, dropped quiet rounds, quiet failures since the last round JS saw, rounds
  // that went on without waiting for epoll.
  Napi::Value RoundStatsJs(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    std::vector<double> out;
    {
      std::lock_guard<std::mutex> lock(engine_->mu);
      out.reserve(engine_->stats.size() * 10);
      for (auto& kv : engine_->stats) {
        const RoundStats& r = *kv.second;
        out.insert(out.end(), {static_cast<double>(kv.first), r.rounds, r.running ? 1.0 : 0.0, r.lastQuiet ? 1.0 : 0.0,
                               static_cast<double>(r.lastStatus), static_cast<double>(r.lastDurationUs),
                               static_cast<double>(r.lastStartedUs), r.dropped, r.quietFailures, r.earlyRounds});
      }
    }
    auto arr = Napi::Float64Array::New(env, out.size());
    if (!out.empty()) memcpy(arr.Data(), out.data(), out.size() * sizeof(double));
    return arr;
  }

  // setDurationBuckets(boundsMs: Float64Array): upper bounds (ascending, ms) of the buckets quiet rounds are counted
  // in, for schedules made from now on.
  Napi::Value SetDurationBucketsJs(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
      throw Napi::TypeError::New(env, "setDurationBuckets(boundsMs: Float64Array)");
    }
    auto a = info[0].As<Napi::Float64Array>();
    std::vector<int64_t> bounds;
    for (size_t i = 0; i < a.ElementLength(); i++) {
      double ms = a[i];
      if (!(ms >= 0 && ms < 1e9) || (!bounds.empty() && ms * 1000 <= static_cast<double>(bounds.back()))) {
        throw Napi::RangeError::New(env, "duration bucket bounds must be ascending milliseconds");
      }
      bounds.push_back(static_cast<int64_t>(ms * 1000 + 0.5));
    }
    std::lock_guard<std::mutex> lock(engine_->mu);
    engine_->bucketBoundsUs = std::move(bounds);
    return env.Undefined();
  }

  // takeQuietCounts(): Float64Array, per schedule that had quiet rounds since the last call: id, passed, failed,
  // sum of durations (µs), then one count per duration bucket (bounds + 1). The counts start again from 0.
  Napi::Value TakeQuietCountsJs(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    std::vector<double> out;
    {
      std::lock_guard<std::mutex> lock(engine_->mu);
      for (auto& kv : engine_->stats) {
        RoundStats& r = *kv.second;
        if (r.passed + r.failed == 0) continue;
        out.insert(out.end(), {static_cast<double>(kv.first), r.passed, r.failed, r.sumUs});
        // Every schedule's buckets have the bounds' size + 1 (a schedule made before setDurationBuckets has none).
        for (size_t b = 0; b <= engine_->bucketBoundsUs.size(); b++) out.push_back(b < r.buckets.size() ? r.buckets[b] : 0);
        r.passed = r.failed = r.sumUs = 0;
        std::fill(r.buckets.begin(), r.buckets.end(), 0);
      }
    }
    auto arr = Napi::Float64Array::New(env, out.size());
    if (!out.empty()) memcpy(arr.Data(), out.data(), out.size() * sizeof(double));
    return arr;
  }

  // takeQuiet(): Float64Array of 5 numbers per quiet round kept since the last call (id, scheduledUs, startedUs,
  // durationUs, status: -errno for a failure), in schedule order then time order; the rounds are forgotten.
  Napi::Value TakeQuietJs(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    std::vector<double> out;
    {
      std::lock_guard<std::mutex> lock(engine_->mu);
      for (auto& kv : engine_->stats) {
        for (const QuietRound& q : kv.second->quiet) {
          out.insert(out.end(), {static_cast<double>(kv.first), static_cast<double>(q.scheduledUs),
                                 static_cast<double>(q.startedUs), static_cast<double>(q.durationUs),
                                 static_cast<double>(q.status)});
        }
        kv.second->quiet.clear();
      }
    }
    auto arr = Napi::Float64Array::New(env, out.size());
    if (!out.empty()) memcpy(arr.Data(), out.data(), out.size() * sizeof(double));
    return arr;
  }

  // now(): the engine's clock (CLOCK_MONOTONIC, microseconds), to place its times on JS's.
  Napi::Value NowJs(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(NowUs()));
  }

  // cancel(id): drops a probe in flight (its socket is closed; no result is delivered unless it already finished).
  Napi::Value Cancel(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (engine_->closed || info.Length() < 1 || !info[0].IsNumber()) return env.Undefined();
    bool wake;
    {
      std::lock_guard<std::mutex> lock(engine_->mu);
      wake = engine_->NothingQueued();
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
