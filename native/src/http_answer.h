// HTTP/1.x answers read off a probe's socket: when an answer is complete (so the engine can stop reading before the
// server closes), and whether it is certainly a passing health-check answer (so no JS needs to look at it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace ldir {

// How a probe knows the answer is complete before the peer closes.
enum class Framing { kUntilClose = 0, kHttp = 1, kHttpHead = 2 };

// Position just past the blank line that ends the header block starting at `from`, or 0 when not there yet.
size_t HeaderEnd(const std::vector<uint8_t>& d, size_t from);

// True once `d` holds a whole HTTP/1.x answer (interim 1xx skipped), framed by length, chunks or no body.
bool HttpAnswerComplete(const std::vector<uint8_t>& d, bool head);

// What makes a final answer pass, as ldir's JS verdict says (src/checks/http-judge.ts finalVerdict): its status among
// `statuses` (`httpstatus`), `literal` found in the body and `notLiteral` not (`receive`, `receivenot` when they are
// plain strings), both looked for in the body's first `window` bytes.
struct HttpRules {
  std::vector<std::pair<int, int>> statuses;  // inclusive ranges; empty: 200-299
  std::string literal;                        // '' = no requirement
  std::string notLiteral;                     // '' = none
  size_t window = 0;
};

// True when a final answer's status `code` is one that passes.
bool StatusPasses(const HttpRules& rules, int code);

// True only when `d` (read to the end without error) is an answer that ldir's JS verdict (src/checks/http.ts
// fastHttpVerdict) certainly calls up: a complete HTTP/1.x answer whose final status passes and whose body meets
// `rules`. Sets `*status`. Anything else (failures, redirects to follow, framings it does not judge, receive
// patterns) returns false and is left to JS, so the two can never disagree on an up.
bool HttpCertainlyUp(const std::vector<uint8_t>& d, bool head, const HttpRules& rules, int* status);

}  // namespace ldir
