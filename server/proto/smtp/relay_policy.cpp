// Relay decision: route_of splits an address for routing (by its domain only) and
// decide_relay applies the anti-relay rule (RFC 2505 §2.6; RFC 5321 §3.6.2 lets a server
// refuse to relay). Pure functions: no I/O, no DNS, no allocation beyond the results.
// Configuration errors (un-normalised local domains) are programmer errors and asserted.
#include "proto/smtp/relay_policy.h"

#include <algorithm>

#include "core/ascii.h"
#include "core/assert.h"

namespace mail::smtp {

namespace {

// RFC 5321 §4.1.3 Snum = 1*3DIGIT is decimal, so "[127.0.0.01]" is 127.0.0.1 and must be
// recognised as ours; parse_ip refuses leading zeros (octal ambiguity elsewhere), so they
// are dropped from every dotted part first. Only the last ':'-group can hold dots.
std::string strip_snum_zeros(std::string_view body) {
  const std::size_t colon = body.rfind(':');
  const std::size_t start = colon == std::string_view::npos ? 0 : colon + 1;
  std::string out(body.substr(0, start));
  std::string_view quad = body.substr(start);
  bool at_part_start = true;
  for (std::size_t i = 0; i < quad.size(); ++i) {
    const char c = quad[i];
    const bool more_digits = i + 1 < quad.size() && is_digit(static_cast<unsigned char>(quad[i + 1]));
    if (at_part_start && c == '0' && more_digits) continue;  // a leading zero of a longer part
    out.push_back(c);
    at_part_start = c == '.';
  }
  return out;
}

// The IP address an address literal names ("[1.2.3.4]", "[IPv6:...]"), or nullopt for a
// General-address-literal or a malformed one.
std::optional<IpAddress> literal_address(std::string_view lit) {
  if (lit.size() < 3 || lit.front() != '[' || lit.back() != ']') return std::nullopt;
  const std::string_view body = lit.substr(1, lit.size() - 2);
  const std::size_t colon = body.find(':');
  if (colon == std::string_view::npos) return parse_ip(strip_snum_zeros(body));
  // "IPv6:" is an ABNF string, case-insensitive (RFC 5234 §2.3).
  if (!iequals(body.substr(0, colon), "IPv6")) return std::nullopt;
  return parse_ip(strip_snum_zeros(body.substr(colon + 1)));
}

bool is_ours(const IpAddress& ip, const RelayPolicy& policy) {
  if (ip.is_loopback()) return true;
  return std::find(policy.own_addresses.begin(), policy.own_addresses.end(), ip) != policy.own_addresses.end();
}

bool is_trusted(std::string_view peer, const RelayPolicy& policy) {
  const auto ip = parse_ip(peer);
  if (!ip) return false;
  return std::any_of(policy.trusted_networks.begin(), policy.trusted_networks.end(),
                     [&](const Cidr& net) { return contains(net, *ip); });
}

}  // namespace

std::string canonical_domain(std::string_view domain) {
  if (!domain.empty() && domain.back() == '.') domain.remove_suffix(1);
  return ascii_lower(domain);
}

std::string_view to_string(RelayVerdict v) noexcept {
  switch (v) {
    case RelayVerdict::local: return "local";
    case RelayVerdict::relay: return "relay";
    case RelayVerdict::deny: return "deny";
  }
  return "unknown";
}

AddressRoute route_of(const Mailbox& mailbox, const RelayPolicy& policy) {
  MAIL_ASSERT(!mailbox.domain.empty());
  for (const std::string& d : policy.local_domains) {
    MAIL_ASSERT(!d.empty());
    MAIL_ASSERT(canonical_domain(d) == d);
  }
  AddressRoute r;
  if (mailbox.domain.front() == '[') {
    const auto ip = literal_address(mailbox.domain);
    if (!ip) {
      // A General-address-literal (§4.1.3) names no address we know how to reach or own.
      r.where = Destination::remote;
      r.domain = mailbox.domain;
      return r;
    }
    if (is_ours(*ip, policy)) {
      // §4.1.3: a literal of our own address is mail for us, delivered as to our domain.
      r.where = Destination::local;
      r.own_literal = true;
      r.domain = policy.local_domains.empty() ? std::string() : policy.local_domains.front();
      return r;
    }
    r.where = Destination::remote;
    r.domain.append(ip->v4 ? "[" : "[IPv6:").append(ip->to_string()).append("]");
    return r;
  }
  // RFC 5321 §2.4: domains are case-insensitive. A trailing dot (an absolute DNS name) is the
  // same domain; parse_path refuses it today, but other callers (routing, ORCPT) may not.
  r.domain = canonical_domain(mailbox.domain);
  const bool local = std::find(policy.local_domains.begin(), policy.local_domains.end(), r.domain) !=
                     policy.local_domains.end();
  r.where = local ? Destination::local : Destination::remote;
  MAIL_ASSERT(!r.own_literal);
  return r;
}

RelayDecision decide_relay(const Mailbox& rcpt, const RelayClient& client, const RelayPolicy& policy) {
  RelayDecision d;
  d.route = route_of(rcpt, policy);
  if (d.route.where == Destination::local) {
    d.verdict = RelayVerdict::local;
  } else if (client.authenticated || is_trusted(client.address, policy)) {
    d.verdict = RelayVerdict::relay;
  } else {
    // RFC 2505 §2.6 / RFC 5321 §3.6.2; 554 5.7.1 (RFC 3463 §3.8 "delivery not authorized")
    // and the text are Postfix's, which tests and operators recognise.
    d.verdict = RelayVerdict::deny;
    std::string text;
    text.reserve(rcpt.local_part.size() + rcpt.domain.size() + 26);
    text.push_back('<');
    text.append(rcpt.local_part).append("@").append(rcpt.domain);
    text.append(">: Relay access denied");
    d.reply = Reply::make(554, {5, 7, 1}, std::move(text));
  }
  MAIL_ASSERT((d.verdict == RelayVerdict::deny) == (d.reply.code != 0));
  MAIL_ASSERT(d.verdict != RelayVerdict::local || d.route.where == Destination::local);
  return d;
}

}  // namespace mail::smtp
