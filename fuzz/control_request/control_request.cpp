// libFuzzer target: the control socket's request-line parser (proto/control/control_session.h),
// the bytes `cloudsdial queue ...` (or anything that can open the socket) sends.
// Byte 0: max_line (bits 0-3, 1..3841 octets), the event after the bytes (bits 4-5: none, EOF,
// timeout, shutdown) and whether the request is answered (bit 6). Byte 1 drives the piece
// sizes; the rest is the byte stream.
// Checks: never crash or assert; the request (if any) is the same whether the bytes came in
// one piece or in pieces, and equals a reference split of the first line (LF-ended, one CR
// dropped, words separated by spaces) when that line fits max_line; words are non-empty and
// without space or LF; the session buffers at most max_line octets; it writes exactly one
// response line (an answer or {"ok":false,...}) and then closes, or nothing while it
// waits; a closed session has no timeout.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/assert.h"
#include "proto/control/control_session.h"

using namespace mail;

namespace {

struct Run {
  std::optional<std::vector<std::string>> words;
  std::vector<std::string> sent;
  bool closed = false;
};

Run drive(std::string_view in, std::size_t piece, std::uint8_t knobs, const control::ControlLimits& limits) {
  const Instant t0{};
  control::ControlSession s(t0, limits);
  Run run;
  std::size_t pos = 0;
  while (pos < in.size()) {
    const std::size_t n = piece == 0 ? in.size() : std::min(piece, in.size() - pos);
    MAIL_ASSERT(s.feed(in.substr(pos, n), t0) == n);
    MAIL_ASSERT(s.buffered_bytes() <= limits.max_line);
    pos += n;
    if (piece != 0) piece = piece * 3 % 29 + 1;
  }
  switch ((knobs >> 4) & 3) {
    case 1: s.feed_eof(t0); break;
    case 2: s.handle_timeout(t0 + limits.request_timeout); break;
    case 3: s.shutdown(t0); break;
    default: break;
  }
  if (auto r = s.poll_request()) {
    MAIL_ASSERT(!r->words.empty());
    for (const auto& w : r->words) MAIL_ASSERT(!w.empty() && w.find_first_of(" \n") == std::string::npos);
    MAIL_ASSERT(!s.poll_request().has_value());  // exactly once
    run.words = r->words;
    if ((knobs & 64) != 0) s.respond("{\"ok\":true}", t0);
  }
  while (auto o = s.poll_output()) {
    if (const auto* send = std::get_if<proto::out::Send>(&*o)) {
      MAIL_ASSERT(!run.closed);
      run.sent.push_back(send->bytes);
    } else {
      MAIL_ASSERT(std::holds_alternative<proto::out::Close>(*o));
      run.closed = true;
    }
  }
  MAIL_ASSERT(run.closed == s.closed());
  if (s.closed()) {
    MAIL_ASSERT(!s.poll_timeout().has_value());
    MAIL_ASSERT(run.sent.size() == 1);
    const std::string& line = run.sent[0];
    MAIL_ASSERT(line.size() >= 2 && line.back() == '\n' && line.find('\n') == line.size() - 1);
    MAIL_ASSERT(line == "{\"ok\":true}\n" || line.rfind("{\"ok\":false,\"error\":\"", 0) == 0);
  } else {
    MAIL_ASSERT(run.sent.empty());
  }
  return run;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::uint8_t knobs = data[0];
  control::ControlLimits limits;
  limits.max_line = 1 + 256u * (knobs & 15u);
  const std::string_view in(reinterpret_cast<const char*>(data + 2), size - 2);
  const Run whole = drive(in, 0, knobs, limits);
  const Run pieces = drive(in, 1 + data[1] % 29u, knobs, limits);
  MAIL_ASSERT(whole.words == pieces.words);
  MAIL_ASSERT(whole.sent == pieces.sent);

  // The reference split of the first line.
  const std::size_t nl = in.find('\n');
  if (nl != std::string_view::npos && nl <= limits.max_line) {
    std::string_view line = in.substr(0, nl);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::vector<std::string> words;
    std::size_t i = 0;
    while (i < line.size()) {
      const std::size_t j = std::min(line.find(' ', i), line.size());
      if (j > i) words.emplace_back(line.substr(i, j - i));
      i = j + 1;
    }
    if (words.empty()) {
      MAIL_ASSERT(!whole.words.has_value());
    } else {
      MAIL_ASSERT(whole.words == words);
    }
  } else {
    MAIL_ASSERT(!whole.words.has_value());
  }
  return 0;
}
