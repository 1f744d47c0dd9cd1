// Structured MIME field values: Content-Type (RFC 2045 §5.1), Content-Disposition
// (RFC 2183 §2) and their parameters with RFC 2231 continuations, charsets and languages
// (§3, §4), and Content-Language (RFC 3282 §2). Lenient reader of RFC 5322 §3.2.2 CFWS
// (nested comments) and quoted-strings. Pure; parameter count bounded by the caller.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mail::message {

// One parameter (RFC 2045 §5.1 / RFC 2231). Continuations (name*0, name*1*, ...) are joined
// under the bare name. When any section was extended (name*=charset'lang'%XX), the name keeps
// a trailing '*' and the value is "charset'lang'<joined percent-encoded text>" (the form IMAP
// BODYSTRUCTURE carries, as Dovecot does); `utf8` is the decoded value either way.
struct MimeParam {
  std::string name;   // as written (case kept), continuation suffix removed
  std::string value;  // quoted-string unquoted
  std::string utf8;   // the value decoded (RFC 2231 §4 charset, RFC 2047 words) to UTF-8
};

struct ContentType {
  std::string type;     // as written; empty when the field is not type "/" subtype
  std::string subtype;
  std::vector<MimeParam> params;
};

// Parses an unfolded Content-Type value; type is empty when it is invalid (the caller then
// applies the RFC 2045 §5.2 default).
[[nodiscard]] ContentType parse_content_type(std::string_view value, std::uint32_t params_max);

struct Disposition {
  std::string type;     // "inline", "attachment", ... as written; empty when invalid
  std::vector<MimeParam> params;
};
[[nodiscard]] Disposition parse_disposition(std::string_view value, std::uint32_t params_max);

// RFC 3282 Content-Language: the comma-separated language tags, comments removed.
[[nodiscard]] std::vector<std::string> parse_language(std::string_view value);

// The first token of a structured value with comments removed (Content-Transfer-Encoding).
[[nodiscard]] std::string first_token(std::string_view value);

}  // namespace mail::message
