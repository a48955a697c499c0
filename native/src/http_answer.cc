// HTTP/1.x answer framing and the engine's certain verdicts (see http_answer.h).
#include "http_answer.h"

#include <cstring>

namespace ldir {

// Position just past the blank line that ends the header block starting at `from`, or 0 when not there yet.
size_t HeaderEnd(const std::vector<uint8_t>& d, size_t from) {
  for (size_t i = from; i < d.size(); i++) {
    if (d[i] != '\n') continue;
    if (i + 1 < d.size() && d[i + 1] == '\n') return i + 2;
    if (i + 2 < d.size() && d[i + 1] == '\r' && d[i + 2] == '\n') return i + 3;
  }
  return 0;
}

// Lower-case ASCII.
static uint8_t Lower(uint8_t c) { return c >= 'A' && c <= 'Z' ? static_cast<uint8_t>(c - 'A' + 'a') : c; }

// Case-insensitive: does the header line [at, end) start with `name` (lower case, with the colon)?
static bool HeaderIs(const std::vector<uint8_t>& d, size_t at, size_t end, const char* name) {
  size_t n = strlen(name);
  if (end - at < n) return false;
  for (size_t k = 0; k < n; k++)
    if (Lower(d[at + k]) != static_cast<uint8_t>(name[k])) return false;
  return true;
}

// True once a chunked body starting at `at` has its last (zero) chunk and the end of its trailer.
static bool ChunkedComplete(const std::vector<uint8_t>& d, size_t at) {
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

namespace {

// JS String.prototype.trim for the bytes an HTTP header can hold (space, tab, CR, LF, VT, FF).
bool IsSpace(uint8_t c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

// [at, end) trimmed equals `word` (lower case) ignoring case.
bool TrimmedIs(const std::vector<uint8_t>& d, size_t at, size_t end, const char* word) {
  while (at < end && IsSpace(d[at])) at++;
  while (end > at && IsSpace(d[end - 1])) end--;
  size_t n = strlen(word);
  if (end - at != n) return false;
  for (size_t k = 0; k < n; k++)
    if (Lower(d[at + k]) != static_cast<uint8_t>(word[k])) return false;
  return true;
}

// [at, end) trimmed is one or more digits (JS /^\d+$/ after trim): its value (capped), else -1.
int64_t TrimmedDigits(const std::vector<uint8_t>& d, size_t at, size_t end) {
  while (at < end && IsSpace(d[at])) at++;
  while (end > at && IsSpace(d[end - 1])) end--;
  if (at == end) return -1;
  int64_t v = 0;
  for (size_t k = at; k < end; k++) {
    if (d[k] < '0' || d[k] > '9') return -1;
    if (v < (int64_t{1} << 50)) v = v * 10 + (d[k] - '0');
  }
  return v;
}

bool Digit(uint8_t c) { return c >= '0' && c <= '9'; }

// True when bytes [at, end) contain `literal`.
bool Contains(const std::vector<uint8_t>& d, size_t at, size_t end, const std::string& literal) {
  if (literal.empty()) return true;
  if (end < at || end - at < literal.size()) return false;
  const uint8_t first = static_cast<uint8_t>(literal[0]);
  for (size_t i = at; i + literal.size() <= end; i++) {
    if (d[i] == first && memcmp(d.data() + i, literal.data(), literal.size()) == 0) return true;
  }
  return false;
}

}  // namespace

bool StatusPasses(const HttpRules& rules, int code) {
  if (rules.statuses.empty()) return code >= 200 && code <= 299;
  for (const auto& r : rules.statuses) {
    if (code >= r.first && code <= r.second) return true;
  }
  return false;
}

bool HttpCertainlyUp(const std::vector<uint8_t>& d, bool head, const HttpRules& rules, int* status) {
  const std::string& literal = rules.literal;
  const std::string& notLiteral = rules.notLiteral;
  size_t from = 0;
  for (;;) {
    size_t end = HeaderEnd(d, from);
    if (end == 0) return false;
    size_t lineEnd = from;
    while (lineEnd < end && d[lineEnd] != '\n') lineEnd++;
    size_t textEnd = lineEnd > from && d[lineEnd - 1] == '\r' ? lineEnd - 1 : lineEnd;
    // JS: /^HTTP\/\d\.\d (\d{3})(?: |$)/ on the first line.
    if (textEnd - from < 12 || memcmp(d.data() + from, "HTTP/", 5) != 0 || !Digit(d[from + 5]) || d[from + 6] != '.' ||
        !Digit(d[from + 7]) || d[from + 8] != ' ' || !Digit(d[from + 9]) || !Digit(d[from + 10]) || !Digit(d[from + 11]) ||
        (textEnd > from + 12 && d[from + 12] != ' ')) {
      return false;
    }
    int code = (d[from + 9] - '0') * 100 + (d[from + 10] - '0') * 10 + (d[from + 11] - '0');
    if (code >= 100 && code < 200 && code != 101) {
      from = end;
      continue;
    }
    if (!StatusPasses(rules, code)) return false;  // a redirect that does not pass is followed by JS
    *status = code;
    // No body (RFC 9112, as JS's parseHttpResponse frames it): the literal cannot be there, the negative one neither.
    if (head || code == 204 || code == 304 || code < 200) return literal.empty();
    int transferEncodings = 0, contentLengths = 0;
    bool chunked = false;
    int64_t length = -1;
    for (size_t line = lineEnd + 1; line < end;) {
      size_t next = line;
      while (next < end && d[next] != '\n') next++;
      size_t colon = line;
      while (colon < next && d[colon] != ':') colon++;
      if (colon < next && colon > line) {
        if (TrimmedIs(d, line, colon, "transfer-encoding")) {
          transferEncodings++;
          chunked = TrimmedIs(d, colon + 1, next, "chunked");
        } else if (TrimmedIs(d, line, colon, "content-length")) {
          contentLengths++;
          length = TrimmedDigits(d, colon + 1, next);
        }
      }
      line = next + 1;
    }
    if (transferEncodings > 1 || (transferEncodings == 1 && !chunked)) return false;
    if (chunked) return literal.empty() && notLiteral.empty() && ChunkedComplete(d, end);
    if (contentLengths > 1 || (contentLengths == 1 && length < 0)) return false;
    size_t bodyEnd = d.size();
    if (contentLengths == 1) {
      if (static_cast<int64_t>(d.size() - end) < length) return false;
      bodyEnd = end + static_cast<size_t>(length);
    }
    if (bodyEnd - end > rules.window) bodyEnd = end + rules.window;
    return Contains(d, end, bodyEnd, literal) && (notLiteral.empty() || !Contains(d, end, bodyEnd, notLiteral));
  }
}

}  // namespace ldir
