// IP addresses and CIDR networks as values: RFC 791 dotted quads, RFC 4291 §2.2 IPv6 text
// (with "::" and an embedded IPv4 tail), RFC 5952 §4 canonical output, RFC 4632 prefixes.
// An IPv4-mapped IPv6 address (RFC 4291 §2.5.5.2, "::ffff:a.b.c.d") is always held as its
// IPv4 address, so one host has one value. Pure: no I/O, no resolver, no sockets, no
// locale; never throws, allocates only the strings it returns.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mail {

struct IpAddress {
  std::array<std::uint8_t, 16> bytes{};  // v4: bytes[0..3], the rest zero; v6: all 16
  bool v4 = false;                       // never a v6 IPv4-mapped address (normalised to v4)
  friend bool operator==(const IpAddress&, const IpAddress&) = default;
  // "192.0.2.1" or the RFC 5952 §4 form ("2001:db8::1": lower case, no leading zeros,
  // the longest run of two or more zero groups as "::", the first such run on a tie).
  std::string to_string() const;
  // 127.0.0.0/8 (RFC 1122 §3.2.1.3) or ::1 (RFC 4291 §2.5.3).
  bool is_loopback() const noexcept;
};

// The address in `text`, or nullopt. IPv4: exactly four decimal parts 0..255 of 1-3 digits
// without leading zeros ("01.2.3.4" is rejected: some parsers read it as octal). IPv6:
// RFC 4291 §2.2 forms 1-3 (1-4 hex digits a group, at most one "::", an IPv4 tail as the
// last 32 bits); no zone ("%eth0"), no brackets, no prefix. "::ffff:a.b.c.d" (or the same
// in hex) yields the IPv4 address.
std::optional<IpAddress> parse_ip(std::string_view text) noexcept;

struct Cidr {
  IpAddress base;          // host bits are zero
  std::uint8_t prefix = 0; // <= 32 for v4, <= 128 for v6
  friend bool operator==(const Cidr&, const Cidr&) = default;
};

// "10.0.0.0/8", "2001:db8::/32"; a bare address is /32 or /128. Host bits may be set and are
// masked off ("10.1.2.3/8" is 10.0.0.0/8). The prefix is decimal without leading zeros. An
// IPv4-mapped network "::ffff:a.b.c.d/N" with N >= 96 is the IPv4 network /N-96; with N < 96
// it would straddle both families and is rejected.
std::optional<Cidr> parse_cidr(std::string_view text) noexcept;

// "10.0.0.0/8": parse_cidr(to_string(c)) == c.
std::string to_string(const Cidr& net);

// The first `prefix` bits of `ip` equal those of `net.base`. An IPv4 address never matches an
// IPv6 network and vice versa (mapped addresses are IPv4 already, see above).
bool contains(const Cidr& net, const IpAddress& ip) noexcept;

}  // namespace mail
