// RFC 2047 encoded-word decoding and charset conversion to UTF-8. Built-in converters for
// utf-8, us-ascii, iso-8859-1 and windows-1252 (WHATWG table); any other charset goes
// through glibc iconv. Invalid input octets become U+FFFD, so the output is always valid
// UTF-8. Pure apart from iconv (no I/O); output is bounded by a constant factor of the input.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mail::message {

// `bytes` in `charset` (a MIME charset name, case-insensitive, RFC 2978) converted to valid
// UTF-8, or nullopt when the charset is unknown. An empty charset means us-ascii.
[[nodiscard]] std::optional<std::string> charset_to_utf8(std::string_view charset,
                                                         std::string_view bytes);

// Octets that are not valid UTF-8 replaced by U+FFFD; valid input returned unchanged.
[[nodiscard]] std::string sanitize_utf8(std::string_view bytes);

// Decodes every RFC 2047 encoded-word ("=?charset[*lang]?B|Q?text?=", §2, §4, RFC 2231 §5
// language suffix) of an unfolded header field body to UTF-8. White space between two
// adjacent encoded words is dropped (§6.2); other text is kept (8-bit octets sanitized as
// UTF-8, else read as windows-1252). Malformed words and words in unknown charsets are kept
// literally (§6.3). The result is valid UTF-8.
[[nodiscard]] std::string decode_encoded_words(std::string_view text);

}  // namespace mail::message
