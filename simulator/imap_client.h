// A tiny sans-IO IMAP client for the simulator's IMAP workload (imap_workload.h): it frames
// tagged commands (APPEND with a non-synchronizing literal, RFC 7888 LITERAL+, so no
// continuation wait), and splits the server's bytes into responses — untagged ("* ..."),
// continuation ("+ ...") and tagged completion — with the server's literals ("{n}\r\n" then
// n octets, RFC 9051 §4.3) kept apart. No sockets, no clock: the caller feeds bytes and
// writes what command() returns. Plus helpers that pull the response codes the checker
// needs (APPENDUID, COPYUID, UIDNEXT, UIDVALIDITY, HIGHESTMODSEQ, FETCH UID + BODY[]).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mail::sim {

struct ImapResponse {
  enum class Kind : std::uint8_t { untagged, continuation, tagged };
  Kind kind = Kind::untagged;
  std::string tag;     // tagged only
  std::string status;  // tagged: "OK" / "NO" / "BAD"; untagged: first word after "* "
  std::string text;    // the whole response without CRLF; each literal replaced by "{n}"
  std::vector<std::string> literals;  // the literals' octets, in order
};

class ImapClient {
 public:
  // A response (with its literals) larger than this is a protocol error.
  static constexpr std::size_t kResponseBytesMax = 4u << 20;

  // "<tag> <args>\r\n"; the tag is returned by last_tag().
  std::string command(std::string_view args);
  // "<tag> APPEND <folder> (<flags>) {n+}\r\n<message>\r\n" (RFC 7888 §3).
  std::string append(std::string_view folder, std::string_view flags, std::string_view message);
  const std::string& last_tag() const noexcept { return tag_; }

  void feed(std::string_view bytes) { in_ += bytes; }
  // The next complete response; nullopt: more bytes needed (or error() set).
  std::optional<ImapResponse> poll();
  const std::string& error() const noexcept { return error_; }
  std::size_t buffered_bytes() const noexcept { return in_.size(); }

 private:
  std::string in_;
  std::string tag_;
  std::uint64_t next_tag_ = 1;
  std::string error_;
};

// Response-code helpers (RFC 4315 §3 APPENDUID/COPYUID, RFC 9051 §7.1 UIDNEXT/UIDVALIDITY,
// RFC 7162 §3.1.2.1 HIGHESTMODSEQ). nullopt when the code is absent or malformed.
std::optional<std::uint64_t> response_code_number(std::string_view text, std::string_view code);
struct AppendUid {
  std::uint32_t uidvalidity = 0;
  std::uint32_t uid = 0;
};
std::optional<AppendUid> parse_appenduid(std::string_view text);
struct CopyUid {
  std::uint32_t uidvalidity = 0;
  std::vector<std::uint32_t> source, dest;  // expanded uid-sets, pairwise
};
std::optional<CopyUid> parse_copyuid(std::string_view text);
// "* n FETCH (... UID u ... BODY[] {k} ...)": the UID and, when present, the BODY[] literal
// index (into ImapResponse::literals).
struct FetchData {
  std::uint32_t uid = 0;
  std::optional<std::size_t> body_literal;
  std::optional<std::uint64_t> modseq;
};
std::optional<FetchData> parse_fetch(const ImapResponse& r);

}  // namespace mail::sim
