// UTF-8 (RFC 3629) code points in and out: the one encoder and strict decoder every layer
// uses (mailbox names, RFC 2047 words, search folding). Pure, no allocation but `out`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mail {

// Appends `cp` (at most U+10FFFF) as UTF-8.
void append_utf8(std::string& out, std::uint32_t cp);

// Decodes the code point at s[i] into `cp`; returns its length in octets, 0 when it is
// ill-formed (truncated, overlong, a surrogate, beyond U+10FFFF; RFC 3629 §4). i < s.size().
std::size_t next_utf8(std::string_view s, std::size_t i, std::uint32_t& cp) noexcept;

// Every code point of `s` appended to `out`; false (out partly filled) when ill-formed.
bool utf8_code_points(std::string_view s, std::vector<std::uint32_t>& out);

bool is_valid_utf8(std::string_view s) noexcept;

}  // namespace mail
