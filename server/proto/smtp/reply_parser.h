// SMTP reply parser for the client side: bytes from a server in, whole `Reply`s out
// (RFC 5321 §4.2 multi-line replies, §4.5.3.1.5 reply-line length; RFC 2034 / 3463
// enhanced status codes), and the EHLO capability list (RFC 5321 §4.1.1.1, §2.2.2).
// Sans-IO and bounded: it never reads a socket or clock, never buffers more than one
// tolerated line plus one bounded reply, and never throws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "proto/smtp/reply.h"

namespace mail::smtp {

struct ReplyLimits {
  // RFC 5321 §4.5.3.1.5: a reply line is at most 512 octets including CRLF. Servers that
  // send longer lines are tolerated up to `line_bytes_tolerated`, then the reply is garbage.
  std::uint32_t line_bytes_max = 512;
  std::uint32_t line_bytes_tolerated = 4096;
  // A multi-line reply has no RFC bound; EHLO lists are ~20 lines. Past this it is garbage.
  std::uint32_t lines_max = 128;
  std::uint32_t reply_bytes_max = 64 * 1024;  // sum of the lines of one reply
};
static_assert(ReplyLimits{}.line_bytes_max <= ReplyLimits{}.line_bytes_tolerated);
static_assert(ReplyLimits{}.line_bytes_tolerated <= ReplyLimits{}.reply_bytes_max);
static_assert(ReplyLimits{}.lines_max >= 2);

enum class ReplyError : std::uint8_t {
  none,
  line_too_long,    // over line_bytes_tolerated
  too_many_lines,   // over lines_max
  reply_too_long,   // over reply_bytes_max
  bad_code,         // not Reply-code = %x32-35 %x30-35 %x30-39
  code_mismatch,    // a continuation line with a different code (§4.2.1)
  bad_separator,    // the code is followed by neither SP, "-" nor the end of line
  bad_character,    // NUL or a bare CR inside a line
};
std::string_view to_string(ReplyError) noexcept;

// Incremental parser. `parse` consumes input up to and including the end of one complete
// reply (then returns ok: call take()), or all of it (need_more). Errors are sticky until
// reset(). Lines may end in CRLF or a bare LF (lenient: what we *send* is always CRLF).
class ReplyParser {
 public:
  enum class Status : std::uint8_t { need_more, ok, error };
  struct Step {
    Status status = Status::need_more;
    std::size_t consumed = 0;
  };

  explicit ReplyParser(ReplyLimits limits = {}) : limits_(limits) {}

  [[nodiscard]] Step parse(std::string_view in);
  // The reply completed by the last ok; the parser is then ready for the next one.
  [[nodiscard]] Reply take();
  ReplyError error() const noexcept { return error_; }
  // True when no partial line or reply is buffered (the stream is at a reply boundary).
  bool idle() const noexcept { return line_.empty() && lines_.empty() && !done_; }
  std::size_t buffered_bytes() const noexcept { return line_.size() + reply_bytes_; }
  void reset();

 private:
  Status finish_line();  // one whole line (without its terminator) is in line_
  Status fail(ReplyError e);

  ReplyLimits limits_;
  std::string line_;                // the current, incomplete line
  std::vector<std::string> lines_;  // texts of the reply's lines so far
  std::uint16_t code_ = 0;          // code of the first line of the current reply
  std::size_t reply_bytes_ = 0;
  bool done_ = false;  // a complete reply is waiting in lines_ for take()
  ReplyError error_ = ReplyError::none;
};

// Parses "d.ddd.ddd" (RFC 3463 §2) at the start of `text` when followed by SP or the end,
// and only when its class equals `reply_code / 100` (RFC 2034 §4). Empty when absent.
EnhancedCode parse_enhanced_code(std::string_view text, std::uint16_t reply_code) noexcept;

// One EHLO keyword line: "SIZE 1000" -> {"SIZE", {"1000"}}. Keywords upper-cased.
struct Capability {
  std::string keyword;
  std::vector<std::string> params;
  bool operator==(const Capability&) const = default;
};

// The parsed 250 reply to EHLO. Unknown keywords are kept in `items` in server order;
// malformed lines are skipped (be liberal in what you accept from servers).
struct Capabilities {
  std::string domain;              // first word of the first line (the server's name)
  std::vector<Capability> items;   // every well-formed keyword line, in order
  bool pipelining = false;         // RFC 2920
  bool chunking = false;           // RFC 3030 CHUNKING (BDAT)
  bool binary_mime = false;        // RFC 3030 BINARYMIME
  bool eight_bit_mime = false;     // RFC 6152
  bool smtputf8 = false;           // RFC 6531
  bool starttls = false;           // RFC 3207
  bool dsn = false;                // RFC 3461
  bool enhanced_status_codes = false;  // RFC 2034
  bool size = false;               // RFC 1870
  std::uint64_t size_max = 0;      // SIZE's value; 0 = no fixed limit declared
  std::vector<std::string> auth;   // RFC 4954 mechanisms, upper-cased, de-duplicated

  bool has(std::string_view keyword) const noexcept;  // case-insensitive
  const Capability* find(std::string_view keyword) const noexcept;
  bool operator==(const Capabilities&) const = default;
};

Capabilities parse_capabilities(const Reply& ehlo_reply);

}  // namespace mail::smtp
