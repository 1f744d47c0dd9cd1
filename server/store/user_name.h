// The one rule for the names of a server's users and aliases (the directory: [[users]] of
// the configuration, a scenario's directory.users, the Python World and Server). A user
// name is both a local part (RFC 5321 §4.1.2 dot-string) and a mailbox folder name, so it
// is kept boring; an alias is only a local part, so it may also carry UTF-8 (RFC 6531).
// Every valid user name also satisfies is_valid_mailbox_user() (mailbox_store.h) and
// sasl::is_acceptable_username() (a login identity, which is a wider set: "a@b.test").
// Pure; no I/O, no allocation.
#pragma once

#include <cstddef>
#include <string_view>

namespace mail::store {

inline constexpr std::size_t kUserNameBytesMax = 64;  // RFC 5321 §4.5.3.1.1 local-part limit

// The rules in words, for error messages ("'x/y' must be " + kUserNameRule).
inline constexpr std::string_view kUserNameRule = "1-64 of a-z A-Z 0-9 . _ - (not starting with . or -, no ..)";
inline constexpr std::string_view kAliasRule = "1-64 of a-z A-Z 0-9 . _ - or UTF-8 (not starting with . or -, no ..)";

// True when `name` is 1..kUserNameBytesMax of a-z A-Z 0-9 . _ -, does not start with '.'
// or '-' and contains no "..". Case is kept; the directory matches names ASCII
// case-insensitively.
[[nodiscard]] bool is_valid_user_name(std::string_view name) noexcept;

// As is_valid_user_name(), but bytes >= 0x80 (UTF-8) are allowed too.
[[nodiscard]] bool is_valid_alias(std::string_view alias) noexcept;

}  // namespace mail::store
