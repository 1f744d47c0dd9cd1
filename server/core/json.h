// JSON text helpers for the few places that write JSON by hand (the control socket's
// answers, the simulator's run reports): a string literal per RFC 8259 §7. Pure.
#pragma once

#include <string>
#include <string_view>

namespace mail {

// `s` as a JSON string literal with its quotes: '"' and '\\' escaped, control characters
// (and DEL) as \u00XX; other bytes (UTF-8) pass through as they are.
inline std::string json_string(std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20 || c == 0x7f) {
      out += "\\u00";
      out += hex[c >> 4];
      out += hex[c & 0xf];
    } else {
      out += ch;
    }
  }
  out += '"';
  return out;
}

}  // namespace mail
