// DNS answer parsing with libresolv's ns_initparse/ns_parserr/dn_expand, which bound
// every read to the message buffer and follow compression pointers safely.
#include "io/dns_wire.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <resolv.h>
#include <sys/socket.h>

#include <algorithm>

#include "core/ascii.h"
#include "core/assert.h"

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

// The owner names that count for an address query: the question name and every name a
// CNAME chain in the answer section leads to from it (RFC 1034 §3.6.2). Records may come
// in any order, so the chain is grown until a pass adds nothing; each pass adds at least
// one name or stops, and a loop adds nothing new. The chain is cut at cname_chain_max
// links (a resolver's own limit is similar), which also bounds the passes, so a hostile
// answer of thousands of CNAMEs costs linear, not quadratic, work.
constexpr std::size_t cname_chain_max = 16;

Result<std::vector<std::string>> chain_names(ns_msg& msg) {
  if (ns_msg_count(msg, ns_s_qd) < 1) return fail(Errc::invalid, "dns: answer without a question");
  ns_rr q{};
  if (ns_parserr(&msg, ns_s_qd, 0, &q) != 0) return fail(Errc::invalid, "dns: malformed question");
  std::vector<std::string> names{ascii_lower(ns_rr_name(q))};
  const int count = ns_msg_count(msg, ns_s_an);
  for (bool grew = true; grew && names.size() <= cname_chain_max;) {
    grew = false;
    for (int i = 0; i < count; ++i) {
      ns_rr rr{};
      if (ns_parserr(&msg, ns_s_an, i, &rr) != 0) return fail(Errc::invalid, "dns: malformed answer record");
      if (ns_rr_type(rr) != ns_t_cname || ns_rr_class(rr) != ns_c_in) continue;
      if (std::find(names.begin(), names.end(), ascii_lower(ns_rr_name(rr))) == names.end()) continue;
      char target[NS_MAXDNAME];
      if (dn_expand(ns_msg_base(msg), ns_msg_end(msg), ns_rr_rdata(rr), target, sizeof target) < 0) {
        return fail(Errc::invalid, "dns: malformed CNAME target");
      }
      std::string t = ascii_lower(target);
      if (std::find(names.begin(), names.end(), t) != names.end()) continue;
      names.push_back(std::move(t));
      grew = true;
    }
  }
  return names;
}

// A (RFC 1035 §3.4.1: 4 octets) or AAAA (RFC 3596 §2.2: 16 octets) records of the chain.
Result<std::vector<std::string>> parse_addresses(std::span<const unsigned char> answer, int type) {
  MAIL_ASSERT(type == ns_t_a || type == ns_t_aaaa);
  ns_msg msg{};
  if (auto s = open_answer(answer, msg); !s) return fail(s.error());
  auto names = chain_names(msg);
  if (!names) return fail(names.error());
  const int family = type == ns_t_a ? AF_INET : AF_INET6;
  const unsigned rdlen = type == ns_t_a ? 4 : 16;
  std::vector<std::string> out;
  const int count = ns_msg_count(msg, ns_s_an);
  for (int i = 0; i < count; ++i) {
    ns_rr rr{};
    if (ns_parserr(&msg, ns_s_an, i, &rr) != 0) return fail(Errc::invalid, "dns: malformed answer record");
    if (ns_rr_type(rr) != type || ns_rr_class(rr) != ns_c_in) continue;
    if (ns_rr_rdlen(rr) != rdlen) return fail(Errc::invalid, "dns: address record of the wrong length");
    if (std::find(names->begin(), names->end(), ascii_lower(ns_rr_name(rr))) == names->end()) continue;
    char text[INET6_ADDRSTRLEN];
    if (inet_ntop(family, ns_rr_rdata(rr), text, sizeof text) == nullptr) return fail(Errc::invalid, "dns: bad address");
    if (std::find(out.begin(), out.end(), text) == out.end()) out.emplace_back(text);
  }
  return out;
}

}  // namespace

Result<std::vector<std::string>> parse_a_answer(std::span<const unsigned char> answer) {
  return parse_addresses(answer, ns_t_a);
}

Result<std::vector<std::string>> parse_aaaa_answer(std::span<const unsigned char> answer) {
  return parse_addresses(answer, ns_t_aaaa);
}

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
