// IMAP string output (RFC 9051 §4.3, §9 grammar: string = quoted / literal, nstring): a
// value is written quoted when it is short 7-bit text without CR, LF or NUL, else as a
// synchronizing-literal-shaped "{n}\r\n<octets>" (the server's literal form, §4.3); NIL for
// an absent nstring. NUL octets (never allowed in a literal, §4.3) are dropped.
// Pure: appends to the caller's string.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mail::imap {

// True when `s` may be written as a quoted string (at most 1024 octets of 7-bit TEXT-CHAR).
[[nodiscard]] bool quotable(std::string_view s) noexcept;
// Appends `s` as a quoted string (with '"' and '\' escaped) or as a literal.
void append_string(std::string& out, std::string_view s);
// Appends NIL when `s` is nullopt, else append_string.
void append_nstring(std::string& out, const std::optional<std::string>& s);
void append_nstring(std::string& out, std::optional<std::string_view> s);

}  // namespace mail::imap
