// libFuzzer target: core/ip_address.h. The whole input is text for parse_ip and parse_cidr.
// Checks: nothing crashes; a parsed address round-trips through to_string() and is never a
// v6 IPv4-mapped value; a parsed network contains its base, round-trips through to_string(),
// and an address parsed from the same text lies in it.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/assert.h"
#include "core/ip_address.h"

using namespace mail;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const auto ip = parse_ip(in);
  if (ip) {
    const auto back = parse_ip(ip->to_string());
    MAIL_ASSERT(back.has_value());
    MAIL_ASSERT(*back == *ip);
    // Never inside ::ffff:0:0/96 (RFC 4291 §2.5.5.2): those are returned as IPv4.
    const Cidr mapped{IpAddress{{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, false}, 96};
    MAIL_ASSERT(!contains(mapped, *ip));
  }
  const auto net = parse_cidr(in);
  if (net) {
    MAIL_ASSERT(contains(*net, net->base));
    const auto again = parse_cidr(to_string(*net));
    MAIL_ASSERT(again.has_value());
    MAIL_ASSERT(*again == *net);
    if (ip) MAIL_ASSERT(contains(*net, *ip));  // a bare address is its own /32 or /128
  }
  return 0;
}
