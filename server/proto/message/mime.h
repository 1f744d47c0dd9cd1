// MIME structure of a message (RFC 2045, RFC 2046): a tree of parts with byte offsets into
// the original text, their Content-* fields parsed (RFC 2045 §5 Content-Type with RFC 2231
// parameter continuations, §6 encoding, §7 id, §8 description, RFC 2183 disposition,
// RFC 3282 language, RFC 2557 location, RFC 1864 md5), multipart bodies split at their
// boundaries (RFC 2046 §5.1.1) and message/rfc822 / message/global bodies (RFC 2046 §5.2.1,
// RFC 6532 §3.5) parsed recursively. Pure and bounded by MimeLimits: deeper parts are leaves,
// parts beyond the count are not listed; malformed input yields a best-effort tree and never
// an assertion or an out-of-bounds read. The tree keeps no pointer into the text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proto/message/content_type.h"
#include "proto/message/header.h"

namespace mail::message {

struct MimeLimits {
  std::uint32_t depth_max = 20;    // parts nested deeper are leaves (not split, not parsed)
  std::uint32_t parts_max = 1000;  // parts beyond this count are not listed
  std::uint32_t params_max = 64;   // parameters kept per Content-Type / Content-Disposition
  HeaderLimits header;
};

struct MimePart {
  std::size_t header_begin = 0;  // offset of the part's MIME header in the message
  std::size_t body_begin = 0;    // offset of its body (just past the empty line)
  std::size_t end = 0;           // offset just past its body (boundary CRLF excluded)
  std::uint32_t depth = 0;       // 0 for the message itself
  std::size_t parent = 0;        // index into MimeTree::parts (the root is its own parent)
  std::vector<std::size_t> children;  // multipart: the body parts; message/rfc822: one child,
                                      // the encapsulated message; otherwise empty

  std::string type = "text";     // Content-Type type as written; defaults per RFC 2045 §5.2
  std::string subtype = "plain"; // and RFC 2046 §5.1.5 (message/rfc822 inside digest)
  std::vector<MimeParam> params; // defaults to charset=us-ascii with the text/plain default
  bool has_content_type = false; // a valid Content-Type field was present
  std::optional<std::string> id, description, encoding, md5, location;  // unfolded, trimmed
  std::optional<std::string> disposition;                               // RFC 2183 type
  std::vector<MimeParam> disposition_params;
  std::vector<std::string> language;                                    // RFC 3282 tags
  std::size_t lines = 0;         // text lines in the body (LFs, plus a final unterminated line)

  [[nodiscard]] bool is_multipart() const noexcept;   // type "multipart" (any case)
  [[nodiscard]] bool is_message() const noexcept;     // message/rfc822 or message/global
  [[nodiscard]] bool is_text() const noexcept;        // type "text"
  [[nodiscard]] std::size_t body_bytes() const noexcept { return end - body_begin; }
  // Decoded (UTF-8) value of the Content-Type parameter `name` (case-insensitive), or nullopt.
  [[nodiscard]] std::optional<std::string> param(std::string_view name) const;
  // The charset parameter, or "us-ascii" when absent.
  [[nodiscard]] std::string charset() const;
};

struct MimeTree {
  std::vector<MimePart> parts;  // parts[0] is the message; parents precede children
  bool truncated = false;       // a limit cut the tree (depth, count, header size)
};

// Parses `message`. Always returns at least the root part; every offset is within message.
[[nodiscard]] MimeTree parse_mime(std::string_view message, const MimeLimits& limits = {});

// Counts text lines as MimePart::lines does.
[[nodiscard]] std::size_t count_lines(std::string_view body) noexcept;

}  // namespace mail::message
