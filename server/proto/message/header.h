// RFC 5322 header section: split a message (or a MIME part) into header block and body
// (§2.1), list its fields with their raw byte ranges, unfold field bodies (§2.2.3) and find
// fields by name, ASCII case-insensitively (§1.2.2). Tolerant: bare LF ends a line, white
// space before the colon is allowed (obs-fld, §4.5), 8-bit octets pass through, lines that
// are not fields are skipped. Pure and bounded: no I/O, never reads outside the input, stops
// listing fields at HeaderLimits (best effort beyond them); results are views into the input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mail::message {

struct HeaderLimits {
  std::uint32_t header_block_bytes_max = 1u << 20;  // fields beyond this offset are not listed
  std::uint32_t fields_max = 2000;                  // fields beyond this count are not listed
};

// Where the header block of `text` ends: [0, body_begin) is the header block including the
// empty line that ends it (its CRLF or LF), [body_begin, size) the body. With no empty line,
// the whole text is header and body_begin == text.size(). Never more than text.size().
[[nodiscard]] std::size_t body_offset(std::string_view text) noexcept;

struct HeaderField {
  std::string_view name;   // field name, trailing WSP (obs-fld) removed; never empty
  std::string_view value;  // raw (folded) field body after the colon, line end of the last
                           // line excluded; leading WSP kept
  std::size_t begin = 0;   // offset of the field's first octet in the header block
  std::size_t end = 0;     // offset just past the field's last line end (or block end)
};

struct HeaderFields {
  std::vector<HeaderField> fields;  // in message order
  bool truncated = false;           // a limit stopped the listing
};

// Lists the fields of `header_block` (as returned by body_offset; the empty line is optional).
[[nodiscard]] HeaderFields parse_header_fields(std::string_view header_block,
                                               const HeaderLimits& limits = {});

// The first field named `name` (ASCII case-insensitive), or nullptr.
[[nodiscard]] const HeaderField* find_field(std::span<const HeaderField> fields,
                                            std::string_view name) noexcept;

// RFC 5322 §2.2.3 unfolding: every CRLF (or bare LF) immediately followed by WSP is removed;
// leading and trailing WSP of the result are trimmed. Other octets are unchanged.
[[nodiscard]] std::string unfold(std::string_view raw_value);

// The unfolded, trimmed body of the first field named `name`, or nullopt when absent.
[[nodiscard]] std::optional<std::string> field_value(std::span<const HeaderField> fields,
                                                     std::string_view name);

}  // namespace mail::message
