// DNS answer parsing with libresolv's ns_initparse/ns_parserr/dn_expand, which bound
// every read to the message buffer and follow compression pointers safely.
#include "io/dns_wire.h"

#include <arpa/nameser.h>
#include <netinet/in.h>
#include <resolv.h>

namespace mail::io {
namespace {

// Opens `answer` and checks RCODE; on success `msg` is ready for ns_parserr.
Status open_answer(std::span<const unsigned char> answer, ns_msg& msg) {
  if (answer.size() > 65535) return fail(Errc::invalid, "dns: answer longer than 65535 octets");
  if (ns_initparse(answer.data(), static_cast<int>(answer.size()), &msg) != 0) return fail(Errc::invalid, "dns: malformed answer");
  const int rcode = ns_msg_getflag(msg, ns_f_rcode);
  if (rcode == ns_r_noerror) return {};
  if (rcode == ns_r_nxdomain) return fail(Errc::not_found, "dns: NXDOMAIN");
  return fail(Errc::unavailable, "dns: rcode " + std::to_string(rcode));
}

}  // namespace

Result<std::vector<rt::MxRecord>> parse_mx_answer(std::span<const unsigned char> answer) {
  ns_msg msg{};
  if (auto s = open_answer(answer, msg); !s) return fail(s.error());
  std::vector<rt::MxRecord> out;
  const int count = ns_msg_count(msg, ns_s_an);
  for (int i = 0; i < count; ++i) {
    ns_rr rr{};
    if (ns_parserr(&msg, ns_s_an, i, &rr) != 0) return fail(Errc::invalid, "dns: malformed MX answer record");
    if (ns_rr_type(rr) != ns_t_mx || ns_rr_class(rr) != ns_c_in) continue;
    if (ns_rr_rdlen(rr) < 3) return fail(Errc::invalid, "dns: short MX rdata");
    const unsigned char* rdata = ns_rr_rdata(rr);
    rt::MxRecord mx;
    mx.preference = static_cast<std::uint16_t>(ns_get16(rdata));
    char name[NS_MAXDNAME];
    // Bounded by the message end, not the rdata end: compression may point anywhere.
    if (dn_expand(ns_msg_base(msg), ns_msg_end(msg), rdata + 2, name, sizeof name) < 0) {
      return fail(Errc::invalid, "dns: malformed MX exchange");
    }
    mx.exchange = name[0] == '\0' ? "." : name;
    out.push_back(std::move(mx));
  }
  return out;
}

Result<std::vector<std::string>> parse_txt_answer(std::span<const unsigned char> answer) {
  ns_msg msg{};
  if (auto s = open_answer(answer, msg); !s) return fail(s.error());
  std::vector<std::string> out;
  const int count = ns_msg_count(msg, ns_s_an);
  for (int i = 0; i < count; ++i) {
    ns_rr rr{};
    if (ns_parserr(&msg, ns_s_an, i, &rr) != 0) return fail(Errc::invalid, "dns: malformed TXT answer record");
    if (ns_rr_type(rr) != ns_t_txt || ns_rr_class(rr) != ns_c_in) continue;
    const unsigned char* p = ns_rr_rdata(rr);
    const unsigned char* end = p + ns_rr_rdlen(rr);
    std::string text;
    while (p < end) {
      const std::size_t len = *p++;
      if (len > static_cast<std::size_t>(end - p)) return fail(Errc::invalid, "dns: TXT character-string overruns its record");
      text.append(reinterpret_cast<const char*>(p), len);
      p += len;
    }
    out.push_back(std::move(text));
  }
  return out;
}

bool valid_dns_name(std::string_view name) noexcept {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty() || name.size() > 253) return false;
  std::size_t label = 0;
  for (char c : name) {
    // Hostnames only: no NUL (C API), no whitespace or control bytes, no backslash
    // (res_nquery would read it as a presentation-format escape).
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f || c == '\\') return false;
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
    } else if (++label > 63) {
      return false;
    }
  }
  return label > 0;
}

}  // namespace mail::io
