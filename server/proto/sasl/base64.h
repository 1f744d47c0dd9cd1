// Strict base64 (RFC 4648 §4) for SASL exchanges (RFC 4954 §4, RFC 4422 §3).
// Decoding rejects whitespace, missing padding, non-alphabet octets and non-zero pad bits,
// so one wire form maps to one value. Pure functions: no I/O, no allocation beyond output.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mail::sasl {

// Returns the padded base64 form of `in`.
[[nodiscard]] std::string base64_encode(std::string_view in);
// Returns the decoded octets, or nullopt when `in` is not canonical padded base64.
[[nodiscard]] std::optional<std::string> base64_decode(std::string_view in);

}  // namespace mail::sasl
