// Text of a message for IMAP SEARCH (RFC 9051 §6.4.4) and full-text indexing: header fields
// unfolded and RFC 2047-decoded, and the text/* parts transfer-decoded and converted to UTF-8;
// plus a case-insensitive substring matcher (ASCII, and Unicode simple case folding for
// Latin, Greek and Cyrillic). Pure; output bounded by `bytes_max`.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "proto/message/mime.h"

namespace mail::message {

struct SearchText {
  std::string headers;  // "Name: decoded value\n" per field of the top-level header
  std::string body;     // the decoded text parts, separated by "\n"
  bool truncated = false;
};

// Extracts the searchable text of `message` (parsed into `tree`); each of headers and body is
// cut at `bytes_max` octets (at a UTF-8 boundary). Both are valid UTF-8.
[[nodiscard]] SearchText searchable_text(std::string_view message, const MimeTree& tree,
                                         std::size_t bytes_max = 4u << 20);

// `text` with Unicode simple case folding applied (CaseFolding.txt status C+S) for ASCII,
// Latin-1, Latin Extended-A, Greek and Cyrillic; other code points unchanged. Invalid UTF-8
// is sanitized first.
[[nodiscard]] std::string fold_case(std::string_view text);

// True when `needle` occurs in `haystack`, both UTF-8, compared after fold_case. An empty
// needle matches everything (RFC 9051 §6.4.4: substring match).
[[nodiscard]] bool search_contains(std::string_view haystack, std::string_view needle);

}  // namespace mail::message
