// RFC 5321 §4.1.2 path grammar: Reverse-path / Forward-path / Mailbox, with quoted
// local parts, address literals (IPv4, IPv6, General-address-literal), source routes
// (accepted and ignored, §4.1.1.3 and Appendix C), the null path <>, and RFC 6531
// UTF-8 local parts and domains. Pure functions, no allocation beyond the results.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "proto/smtp/limits.h"
#include "proto/smtp/reply.h"

namespace mail::smtp {

struct Mailbox {
  std::string local_part;  // as it appears on the wire: dot-string, or quoted-string with quotes
  std::string domain;      // domain name or address literal including brackets
  bool operator==(const Mailbox&) const = default;
  std::string to_string() const;  // local@domain
  bool needs_smtputf8() const noexcept;  // any octet >= 0x80 (RFC 6531 §3.3)
};

struct Path {
  std::optional<Mailbox> mailbox;  // empty only for the null reverse-path <>
  bool is_null() const noexcept { return !mailbox.has_value(); }
  std::string to_string() const;  // "<local@domain>" or "<>"; source route dropped
  bool operator==(const Path&) const = default;
};

enum class PathError : std::uint8_t {
  syntax,              // 501 5.1.7 / 5.1.3
  local_part_too_long, // 501 5.1.3 (§4.5.3.1.1)
  domain_too_long,     // 501 5.1.3 (§4.5.3.1.2)
  path_too_long,       // 501 5.1.3 (§4.5.3.1.3)
  utf8_not_allowed,    // 553 5.6.7 (RFC 6531 §3.4) when SMTPUTF8 was not requested
  null_not_allowed,    // 501 for "<>" as a forward-path
};

struct PathParse {
  std::optional<Path> path;
  PathError error = PathError::syntax;  // meaningful when !path
  std::size_t consumed = 0;             // bytes of input used by the path (incl. <>)
};

// Parses a path at the start of `in` ("<...>"). `allow_utf8` permits RFC 6531 UTF-8;
// `allow_null` permits "<>" (reverse-path only). A leading source route "@a,@b:" is
// accepted and dropped. Invalid UTF-8 is a syntax error.
// Contract: `in` must start with '<' (the session strips "FROM:" and any spaces); bytes
// after the closing '>' are left alone and `consumed` says where the path ended. On
// error `path` is empty and `consumed` is 0. Errors are reported in this order: the
// first syntax error; then local part, domain, path length (limits, §4.5.3.1.1-3; the
// local part is measured as on the wire, quotes included; the path includes "<>" and
// any source route); then utf8_not_allowed. ASCII domain labels over 63 octets
// (RFC 1035 §2.3.4) are syntax errors.
PathParse parse_path(std::string_view in, const SmtpLimits& limits, bool allow_utf8, bool allow_null);

// The whole of `in` as a bare Mailbox ("local@domain", no brackets, no source route),
// with the same rules as parse_path. For VRFY-like arguments and AUTH=/ORCPT= values.
std::optional<Mailbox> parse_mailbox(std::string_view in, const SmtpLimits& limits, bool allow_utf8);

// Short name for traces and logs ("syntax", "local_part_too_long", ...).
std::string_view to_string(PathError e) noexcept;

// The reply for a PathError (RFC 5321 §4.1.1.2-3, §4.5.3.1.10; RFC 3463 X.1.7 sender /
// X.1.3 recipient syntax; RFC 6531 §3.4 553 5.6.7). `reverse_path`: the error is for MAIL.
Reply path_error_reply(PathError e, bool reverse_path);

// Well-formed UTF-8 (RFC 3629 §4): no overlongs, no surrogates, nothing above U+10FFFF.
bool is_valid_utf8(std::string_view s) noexcept;

// Domain / address-literal check used by EHLO/HELO argument validation (§4.1.1.1).
// is_valid_domain: RFC 5321 §4.1.2 Domain (U-labels when allow_utf8), at most 255 octets.
bool is_valid_domain(std::string_view d, bool allow_utf8) noexcept;
bool is_valid_address_literal(std::string_view lit) noexcept;  // "[1.2.3.4]" / "[IPv6:...]"

// Canonical form for recipient lookup: domain lower-cased (ASCII), local part kept,
// quoted local part unquoted when it is also a valid dot-string, else re-quoted with
// the minimum of backslashes (§4.1.2: all quoted forms are equivalent). Precondition:
// `m` came from parse_path. The result parses again and is never longer than `m`.
Mailbox canonical(const Mailbox& m);

}  // namespace mail::smtp
