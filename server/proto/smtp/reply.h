// SMTP replies: code, enhanced status code (RFC 3463 / RFC 2034) and text lines, and
// their wire form (RFC 5321 §4.2: "250-" continuation lines, "250 " last line).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mail::smtp {

struct EnhancedCode {
  std::uint8_t cls = 0;      // 2, 4 or 5; 0 = none
  std::uint16_t subject = 0;
  std::uint16_t detail = 0;
  bool empty() const noexcept { return cls == 0; }
  std::string to_string() const;  // "2.1.0"
  friend bool operator==(const EnhancedCode&, const EnhancedCode&) = default;
};

struct Reply {
  std::uint16_t code = 0;  // 3 digits, RFC 5321 §4.2
  EnhancedCode enhanced;   // omitted on the wire when empty (e.g. 220 greeting, 354)
  std::vector<std::string> lines;  // at least one; no CR or LF inside

  static Reply make(std::uint16_t code, EnhancedCode enh, std::string text) {
    return Reply{code, enh, {std::move(text)}};
  }
  bool positive() const noexcept { return code >= 200 && code < 400; }
  bool transient() const noexcept { return code >= 400 && code < 500; }
  bool permanent() const noexcept { return code >= 500; }
  // Wire form. With `enhanced_codes` the enhanced code prefixes every line's text.
  // "250-a\r\n250 b\r\n"; an empty last text gives "250\r\n". Asserts (programmer
  // errors): 200 <= code <= 599, at least one line, no CR or LF in any line, and an
  // enhanced class equal to code / 100 (RFC 3463 §2). Lines are not length-checked:
  // keep each under 512 octets with the code (RFC 5321 §4.5.3.1.5).
  std::string to_wire(bool enhanced_codes) const;
};

}  // namespace mail::smtp
