// Relay decision table (issue 13): every classic open-relay trick is sent through parse_path
// FIRST, exactly as a client would send it, and only then through decide_relay. RFC 5321
// §3.6.1 (source routes), §3.6.2 (mail eXchangers / relaying), §4.1.3 (address literals),
// §2.3.11 (the local part is interpreted only by the destination host), RFC 2505 (anti-spam
// recommendations: §2.6 no unauthorised relaying, §2.5 no '%' hacks).
#include "proto/smtp/relay_policy.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <string>

namespace mail::smtp {
namespace {

RelayPolicy policy() {
  RelayPolicy p;
  p.local_domains = {"local", "other.local"};
  p.own_addresses = {*parse_ip("192.0.2.10"), *parse_ip("2001:db8::10")};
  return p;
}

const RelayClient kStranger{false, "203.0.113.5"};
const RelayClient kUser{true, "203.0.113.5"};

// The recipient as the parser gives it, or nullopt on a parse error.
std::optional<Mailbox> rcpt(std::string_view path) {
  const PathParse p = parse_path(path, SmtpLimits{}, false, false);
  if (!p.path) return std::nullopt;
  return *p.path->mailbox;
}

// Parses, then decides; a parse error is reported as deny with code 501 (what RCPT answers).
RelayDecision decide(std::string_view path, const RelayClient& client, const RelayPolicy& p = policy()) {
  const auto m = rcpt(path);
  if (!m) {
    RelayDecision d;
    d.reply = Reply::make(501, {5, 1, 3}, "syntax");
    return d;
  }
  return decide_relay(*m, client, p);
}

RelayVerdict verdict(std::string_view path, const RelayClient& client, const RelayPolicy& p = policy()) {
  return decide(path, client, p).verdict;
}

TEST(RelayPolicy, LocalDomainFromAnyone_Rfc2505Section2_6) {
  const RelayDecision d = decide("<u@local>", kStranger);
  EXPECT_EQ(d.verdict, RelayVerdict::local);
  EXPECT_EQ(d.route.where, Destination::local);
  EXPECT_EQ(d.route.domain, "local");
  EXPECT_FALSE(d.route.own_literal);
  EXPECT_EQ(d.reply.code, 0);
  EXPECT_EQ(verdict("<u@other.local>", kStranger), RelayVerdict::local);
  // A sub-domain of a local domain is another domain.
  EXPECT_EQ(verdict("<u@sub.local>", kStranger), RelayVerdict::deny);
}

TEST(RelayPolicy, RemoteDomainFromStrangerIsDeniedWithPostfixText_Rfc5321Section3_6_2) {
  const RelayDecision d = decide("<u@remote>", kStranger);
  EXPECT_EQ(d.verdict, RelayVerdict::deny);
  EXPECT_EQ(d.route.where, Destination::remote);
  EXPECT_EQ(d.route.domain, "remote");
  EXPECT_EQ(d.reply.to_wire(true), "554 5.7.1 <u@remote>: Relay access denied\r\n");
}

TEST(RelayPolicy, AuthenticatedClientRelays) {
  const RelayDecision d = decide("<u@remote>", kUser);
  EXPECT_EQ(d.verdict, RelayVerdict::relay);
  EXPECT_EQ(d.route.domain, "remote");
  EXPECT_EQ(d.reply.code, 0);
  EXPECT_EQ(verdict("<u@local>", kUser), RelayVerdict::local);
}

TEST(RelayPolicy, UpperCaseDomainsAreTheSameDomain_Rfc5321Section2_4) {
  const RelayDecision d = decide("<u@LOCAL>", kStranger);
  EXPECT_EQ(d.verdict, RelayVerdict::local);
  EXPECT_EQ(d.route.domain, "local");
  EXPECT_EQ(verdict("<u@Other.Local>", kStranger), RelayVerdict::local);
  const RelayDecision r = decide("<u@ReMoTe.Example>", kStranger);
  EXPECT_EQ(r.verdict, RelayVerdict::deny);
  EXPECT_EQ(r.route.domain, "remote.example");
}

// RFC 2505 §2.5 and RFC 5321 §2.3.11: '%' and '!' in the local part are for the destination
// host, which is us. The user lookup then fails (550 5.1.1), never a relay.
TEST(RelayPolicy, PercentHackIsLocal_Rfc2505Section2_5) {
  const RelayDecision d = decide("<u%remote@local>", kStranger);
  EXPECT_EQ(d.verdict, RelayVerdict::local);
  EXPECT_EQ(d.route.domain, "local");
  EXPECT_EQ(verdict("<u%remote@local>", kUser), RelayVerdict::local);
}

TEST(RelayPolicy, BangPathIsLocal_Rfc5321Section2_3_11) {
  EXPECT_EQ(verdict("<remote!u@local>", kStranger), RelayVerdict::local);
  EXPECT_EQ(verdict("<remote!u@local>", kUser), RelayVerdict::local);
}

TEST(RelayPolicy, QuotedAtInLocalPartIsLocal_Rfc5321Section4_1_2) {
  const auto m = rcpt("<\"u@remote\"@local>");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->domain, "local");
  EXPECT_EQ(verdict("<\"u@remote\"@local>", kStranger), RelayVerdict::local);
  EXPECT_EQ(verdict("<\"u@remote\"@local>", kUser), RelayVerdict::local);
  // And the other way round: a local-looking quoted part does not make remote mail local.
  EXPECT_EQ(verdict("<\"u@local\"@remote>", kStranger), RelayVerdict::deny);
}

// §3.6.1 / §4.1.1.3: the source route is dropped by the parser; the destination is the
// mailbox's domain. "@local:u@remote" is therefore remote mail: denied to strangers.
TEST(RelayPolicy, SourceRouteThroughUsToRemoteIsDenied_Rfc5321Section3_6_1) {
  const auto m = rcpt("<@local:u@remote>");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->domain, "remote");
  EXPECT_EQ(verdict("<@local:u@remote>", kStranger), RelayVerdict::deny);
  EXPECT_EQ(verdict("<@local,@other.local:u@remote>", kStranger), RelayVerdict::deny);
  EXPECT_EQ(verdict("<@local:u@remote>", kUser), RelayVerdict::relay);
  // A route through a remote host to a local mailbox is simply local mail.
  EXPECT_EQ(verdict("<@remote:u@local>", kStranger), RelayVerdict::local);
}

TEST(RelayPolicy, DoubleAtIsASyntaxError_Rfc5321Section4_1_2) {
  EXPECT_FALSE(rcpt("<u@remote@local>").has_value());
  const RelayDecision d = decide("<u@remote@local>", kStranger);
  EXPECT_EQ(d.verdict, RelayVerdict::deny);
  EXPECT_EQ(d.reply.code, 501);
}

TEST(RelayPolicy, TrailingDotNeverRelaysAStranger_Rfc5321Section4_1_2) {
  // The parser refuses a trailing dot (Domain has no empty sub-domain)...
  EXPECT_FALSE(rcpt("<u@local.>").has_value());
  EXPECT_FALSE(rcpt("<u@remote.>").has_value());
  EXPECT_NE(verdict("<u@remote.>", kStranger), RelayVerdict::relay);
  EXPECT_NE(verdict("<u@local.>", kStranger), RelayVerdict::relay);
  // ...and should another caller hand one over, "local." is our domain, "remote." is remote.
  const RelayDecision l = decide_relay(Mailbox{"u", "local."}, kStranger, policy());
  EXPECT_EQ(l.verdict, RelayVerdict::local);
  EXPECT_EQ(l.route.domain, "local");
  const RelayDecision r = decide_relay(Mailbox{"u", "Remote."}, kStranger, policy());
  EXPECT_EQ(r.verdict, RelayVerdict::deny);
  EXPECT_EQ(r.route.domain, "remote");
  EXPECT_EQ(decide_relay(Mailbox{"u", "remote."}, kUser, policy()).verdict, RelayVerdict::relay);
  // Only ONE dot is a spelling of the same name; "local.." is not our domain.
  EXPECT_EQ(decide_relay(Mailbox{"u", "local.."}, kStranger, policy()).verdict, RelayVerdict::deny);
}

TEST(RelayPolicy, ForeignAddressLiteralIsRemote_Rfc5321Section4_1_3) {
  const RelayDecision d = decide("<u@[192.0.2.1]>", kStranger);
  EXPECT_EQ(d.verdict, RelayVerdict::deny);
  EXPECT_EQ(d.route.where, Destination::remote);
  EXPECT_EQ(d.route.domain, "[192.0.2.1]");
  EXPECT_EQ(d.reply.to_wire(true), "554 5.7.1 <u@[192.0.2.1]>: Relay access denied\r\n");
  const RelayDecision a = decide("<u@[192.0.2.1]>", kUser);
  EXPECT_EQ(a.verdict, RelayVerdict::relay);
  EXPECT_EQ(a.route.domain, "[192.0.2.1]");
  // Normalised: Snum leading zeros, IPv6 case and compression, mapped IPv6 as IPv4.
  EXPECT_EQ(decide("<u@[192.000.002.001]>", kUser).route.domain, "[192.0.2.1]");
  EXPECT_EQ(decide("<u@[IPv6:2001:DB8:0:0:0:0:0:1]>", kUser).route.domain, "[IPv6:2001:db8::1]");
  EXPECT_EQ(decide("<u@[ipv6:::FFFF:192.0.2.1]>", kUser).route.domain, "[192.0.2.1]");
  EXPECT_EQ(verdict("<u@[IPv6:2001:db8::1]>", kStranger), RelayVerdict::deny);
}

TEST(RelayPolicy, OwnAddressLiteralIsLocal_Rfc5321Section4_1_3) {
  for (const char* path : {"<u@[127.0.0.1]>", "<u@[IPv6:::1]>", "<u@[127.0.0.01]>", "<u@[127.1.2.3]>",
                           "<u@[IPv6:::ffff:127.0.0.1]>", "<u@[192.0.2.10]>", "<u@[IPv6:2001:DB8::10]>",
                           "<u@[IPv6:::FFFF:192.0.2.10]>"}) {
    const RelayDecision d = decide(path, kStranger);
    EXPECT_EQ(d.verdict, RelayVerdict::local) << path;
    EXPECT_TRUE(d.route.own_literal) << path;
    EXPECT_EQ(d.route.domain, "local") << path;  // local_domains[0]
  }
  RelayPolicy none = policy();
  none.local_domains.clear();
  const RelayDecision d = decide("<u@[127.0.0.1]>", kStranger, none);
  EXPECT_EQ(d.verdict, RelayVerdict::local);
  EXPECT_EQ(d.route.domain, "");
  // Not ours: a neighbour of an own address.
  EXPECT_EQ(verdict("<u@[192.0.2.11]>", kStranger), RelayVerdict::deny);
}

TEST(RelayPolicy, GeneralAddressLiteralIsRemote_Rfc5321Section4_1_3) {
  const RelayDecision d = decide("<u@[x-tag:127.0.0.1]>", kStranger);
  EXPECT_EQ(d.verdict, RelayVerdict::deny);
  EXPECT_EQ(d.route.where, Destination::remote);
  EXPECT_EQ(d.route.domain, "[x-tag:127.0.0.1]");
}

TEST(RelayPolicy, TrustedNetworksRelay_Rfc2505Section2_6) {
  RelayPolicy p = policy();
  p.trusted_networks = {*parse_cidr("10.0.0.0/8"), *parse_cidr("2001:db8:1::/48")};
  EXPECT_EQ(verdict("<u@remote>", RelayClient{false, "10.1.2.3"}, p), RelayVerdict::relay);
  EXPECT_EQ(verdict("<u@remote>", RelayClient{false, "11.1.2.3"}, p), RelayVerdict::deny);
  EXPECT_EQ(verdict("<u@remote>", RelayClient{false, "2001:db8:1:ffff::9"}, p), RelayVerdict::relay);
  EXPECT_EQ(verdict("<u@remote>", RelayClient{false, "2001:db8:2::9"}, p), RelayVerdict::deny);
  // An IPv4 client seen on a dual-stack socket arrives as a mapped IPv6 address.
  EXPECT_EQ(verdict("<u@remote>", RelayClient{false, "::ffff:10.1.2.3"}, p), RelayVerdict::relay);
  EXPECT_EQ(verdict("<u@remote>", RelayClient{false, "::ffff:11.1.2.3"}, p), RelayVerdict::deny);
  // An address the parser does not accept is never trusted.
  EXPECT_EQ(verdict("<u@remote>", RelayClient{false, "010.1.2.3"}, p), RelayVerdict::deny);
  EXPECT_EQ(verdict("<u@remote>", RelayClient{false, ""}, p), RelayVerdict::deny);
  EXPECT_EQ(verdict("<u@remote>", RelayClient{false, "[10.1.2.3]"}, p), RelayVerdict::deny);
}

TEST(RelayPolicy, LoopbackIsNotTrustedByDefault) {
  EXPECT_EQ(verdict("<u@remote>", RelayClient{false, "127.0.0.1"}), RelayVerdict::deny);
  EXPECT_EQ(verdict("<u@remote>", RelayClient{false, "::1"}), RelayVerdict::deny);
  EXPECT_EQ(verdict("<u@local>", RelayClient{false, "127.0.0.1"}), RelayVerdict::local);
}

TEST(RelayPolicy, EmptyPolicyMakesEverythingRemote) {
  const RelayPolicy empty;
  EXPECT_EQ(verdict("<u@local>", kStranger, empty), RelayVerdict::deny);
  EXPECT_EQ(verdict("<u@local>", kUser, empty), RelayVerdict::relay);
}

TEST(RelayPolicy, CanonicalDomain) {
  EXPECT_EQ(canonical_domain("Example.COM."), "example.com");
  EXPECT_EQ(canonical_domain("a.."), "a.");
  EXPECT_EQ(to_string(RelayVerdict::deny), "deny");
}

// Whatever a stranger puts in the local part, the verdict follows the domain alone.
RC_GTEST_PROP(RelayPolicyProperty, LocalPartNeverChangesTheDestination, ()) {
  std::string local = *rc::gen::container<std::string>(
      rc::gen::elementOf(std::string("abcu%!@.:,\"\\+=-_ []<>")));
  local.resize(std::min<std::size_t>(local.size(), 30));  // quoted, it stays under 64 octets (§4.5.3.1.1)
  const bool to_local = *rc::gen::arbitrary<bool>();
  std::string quoted = "\"";
  for (char c : local) {
    if (c == '"' || c == '\\') quoted.push_back('\\');
    quoted.push_back(c);
  }
  quoted.push_back('"');
  std::string path = "<";
  path.append(quoted).append(to_local ? "@local>" : "@remote>");
  const auto m = rcpt(path);
  RC_ASSERT(m.has_value());
  const RelayDecision d = decide_relay(*m, kStranger, policy());
  RC_ASSERT(d.verdict == (to_local ? RelayVerdict::local : RelayVerdict::deny));
  RC_ASSERT(d.route.domain == (to_local ? "local" : "remote"));
}

}  // namespace
}  // namespace mail::smtp
