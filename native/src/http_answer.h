// HTTP/1.x answers read off a probe's socket: when an answer is complete (so the engine can stop reading before the
// server closes), and whether it is certainly a passing health-check answer (so no JS needs to look at it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace ldir {

// How a probe knows the answer is complete before the peer closes.
enum class Framing { kUntilClose = 0, kHttp = 1, kHttpHead = 2 };

// Position just past the blank line that ends the header block starting at `from`, or 0 when not there yet.
size_t HeaderEnd(const std::vector<uint8_t>& d, size_t from);

// True once `d` holds a whole HTTP/1.x answer (interim 1xx skipped), framed by length, chunks or no body.
bool HttpAnswerComplete(const std::vector<uint8_t>& d, bool head);

// True only when `d` (read to the end without error) is an answer that ldir's JS verdict (src/checks/http.ts
// fastHttpVerdict) certainly calls up: a complete HTTP/1.x answer whose final status is 2xx and, when `literal` is not
// empty, whose body's first `window` bytes contain it. Sets `*status`. Anything else (failures, redirects, framings
// it does not judge, receive patterns) returns false and is left to JS, so the two can never disagree on an up.
bool HttpCertainlyUp(const std::vector<uint8_t>& d, bool head, const std::string& literal, size_t window, int* status);

}  // namespace ldir
