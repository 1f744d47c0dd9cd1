// Parsing of DNS answers in wire format (RFC 1035 §4) for the MX (RFC 1035 §3.3.9,
// RFC 5321 §5.1, RFC 7505 null MX) and TXT (RFC 1035 §3.3.14, RFC 7208 §3.3) queries of
// PosixDns. Pure functions over a buffer — no resolver, no I/O — so tests feed canned
// answers and never send traffic.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "runtime/env.h"

namespace mail::io {

// The header's RCODE decides first: NXDOMAIN -> Errc::not_found, SERVFAIL and the others
// -> Errc::unavailable; a malformed message -> Errc::invalid. Records of other types
// (CNAME chains, signatures) are skipped; no records is ok(empty) — the caller applies
// the implicit-MX rule. A null MX's exchange is "."; names carry no trailing dot.
Result<std::vector<rt::MxRecord>> parse_mx_answer(std::span<const unsigned char> answer);

// One string per TXT record, its character-strings concatenated without separators
// (RFC 7208 §3.3: how SPF and DKIM records longer than 255 octets are split).
Result<std::vector<std::string>> parse_txt_answer(std::span<const unsigned char> answer);

// A syntactically possible domain name: 1..253 octets (a trailing dot allowed), labels of
// 1..63 octets, no control bytes, spaces or backslashes. Checked before any query.
bool valid_dns_name(std::string_view name) noexcept;

}  // namespace mail::io
