// Parsing of DNS answers in wire format (RFC 1035 §4) for the MX (RFC 1035 §3.3.9,
// RFC 5321 §5.1, RFC 7505 null MX), TXT (RFC 1035 §3.3.14, RFC 7208 §3.3), A (RFC 1035
// §3.4.1) and AAAA (RFC 3596 §2.2) queries of PosixDns. Pure functions over a buffer — no
// resolver, no I/O — so tests and the fuzzer (fuzz/dns_answer) feed canned answers and
// never send traffic.
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

// The addresses of an A (IPv4, dotted quad) or AAAA (IPv6, RFC 5952 text) answer, in
// answer order, duplicates removed. Only records owned by the question name or by a name
// that a CNAME chain in the answer section leads to from it count (RFC 1034 §3.6.2, §4.3.2
// step 3a: a resolver returns the chain and the target's records together); the chain is
// followed in any record order, and loops end it. RCODEs as above; NODATA is ok(empty); a
// message without a question, or an A/AAAA record of the wrong length, is Errc::invalid.
Result<std::vector<std::string>> parse_a_answer(std::span<const unsigned char> answer);
Result<std::vector<std::string>> parse_aaaa_answer(std::span<const unsigned char> answer);

// A syntactically possible domain name: 1..253 octets (a trailing dot allowed), labels of
// 1..63 octets, no control bytes, spaces or backslashes. Checked before any query.
bool valid_dns_name(std::string_view name) noexcept;

}  // namespace mail::io
