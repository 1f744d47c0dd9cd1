// IMAP section addressing over a MimeTree (RFC 9051 §6.4.5 BODY[<section>], RFC 3516 §4.2
// BINARY[<section-binary>]): find part "1.2.3", extract HEADER, HEADER.FIELDS (list),
// HEADER.FIELDS.NOT, TEXT, MIME or the whole part, and apply a <origin.count> partial.
// Pure: no I/O; results are substrings of the message or built from its fields.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "proto/message/mime.h"

namespace mail::message {

enum class SectionText : std::uint8_t { none, header, header_fields, header_fields_not, text, mime };

struct Section {
  std::vector<std::uint32_t> part;   // "1.2.3" -> {1, 2, 3}; empty = the message itself
  SectionText text = SectionText::none;
  std::vector<std::string> fields;   // HEADER.FIELDS / HEADER.FIELDS.NOT names
};

// Parses the text between the brackets of BODY[...] (e.g. "1.2.HEADER.FIELDS (From To)",
// "TEXT", "3.MIME", ""), case-insensitively; nullopt when it is not a section-spec.
// MIME needs a part number (RFC 9051 §6.4.5).
[[nodiscard]] std::optional<Section> parse_section(std::string_view spec);

// Index into tree.parts of the part a numeric path addresses, or nullopt when there is none.
// The empty path is the message (index 0). Numbering (RFC 9051 §6.4.5): the children of a
// multipart are 1..n; a non-multipart message (or encapsulated message) has the single part
// 1, itself; the parts of a message/rfc822 part are those of its encapsulated message.
[[nodiscard]] std::optional<std::size_t> find_part(const MimeTree& tree,
                                                   std::span<const std::uint32_t> path);

// The octets of BODY[section] of `message` (parsed into `tree`), or nullopt when the part
// does not exist, or HEADER/TEXT addresses a part that is not a message (RFC 9051 §6.4.5).
// HEADER.FIELDS(.NOT) yields the matching (non-matching) fields as written, each ending in
// a line end, then CRLF; HEADER and MIME include the ending empty line.
[[nodiscard]] std::optional<std::string> extract_section(std::string_view message,
                                                         const MimeTree& tree,
                                                         const Section& section);

// BINARY[part] (RFC 3516 §4.2): the part's body with its Content-Transfer-Encoding removed.
// Errc::not_found when the part does not exist or is multipart (the caller's choice),
// Errc::unsupported for an unknown encoding (NO [UNKNOWN-CTE], RFC 3516 §4.3).
[[nodiscard]] Result<std::string> extract_binary(std::string_view message, const MimeTree& tree,
                                                 std::span<const std::uint32_t> part);

// The <origin.count> window of `data` (RFC 9051 §6.4.5 partial): empty when origin is past
// the end; count clipped to what remains. No count means to the end.
[[nodiscard]] std::string_view partial(std::string_view data, std::uint64_t origin,
                                       std::optional<std::uint64_t> count) noexcept;

}  // namespace mail::message
