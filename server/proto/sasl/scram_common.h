// Internal: the RFC 5802 §7 grammar pieces both SCRAM sides use (scram.cpp, the server;
// scram_client.cpp, the client). Not for use outside proto/sasl. Pure functions.
#pragma once

#include <optional>
#include <string_view>

namespace mail::sasl::scram {

// RFC 5802 §7 "printable": 0x21..0x7E except ','; a nonce is one or more of them.
inline bool is_printable_nonce(std::string_view n) noexcept {
  if (n.empty()) return false;
  for (const char ch : n) {
    if (ch < 0x21 || ch > 0x7E || ch == ',') return false;
  }
  return true;
}

// The value of attribute `key` at the front of `rest` ("k=value[,...]"), advancing `rest`
// past it and its comma; nullopt when `rest` does not start with "k=".
inline std::optional<std::string_view> take_attr(std::string_view& rest, char key) {
  if (rest.size() < 2 || rest[0] != key || rest[1] != '=') return std::nullopt;
  const std::size_t comma = rest.find(',');
  const std::string_view value = rest.substr(2, comma == std::string_view::npos ? rest.npos : comma - 2);
  rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
  return value;
}

}  // namespace mail::sasl::scram
