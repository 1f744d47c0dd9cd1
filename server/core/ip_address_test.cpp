// core/ip_address.h: accepted and rejected text forms (RFC 791 dotted quads, RFC 4291 §2.2
// IPv6 forms, §2.5.5.2 mapped addresses), RFC 5952 §4 output, CIDR parsing and matching
// (RFC 4632), and RapidCheck properties: parse(to_string(ip)) == ip, and every address is in
// each of its own prefixes.
#include "core/ip_address.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <string>

namespace mail {
namespace {

std::string canon(std::string_view s) {
  const auto ip = parse_ip(s);
  return ip ? ip->to_string() : std::string("(none)");
}

bool in(std::string_view net, std::string_view ip) {
  const auto n = parse_cidr(net);
  const auto a = parse_ip(ip);
  EXPECT_TRUE(n.has_value()) << net;
  EXPECT_TRUE(a.has_value()) << ip;
  return n && a && contains(*n, *a);
}

TEST(ParseIp, Ipv4DottedQuad) {
  const auto ip = parse_ip("192.0.2.1");
  ASSERT_TRUE(ip.has_value());
  EXPECT_TRUE(ip->v4);
  EXPECT_EQ(ip->bytes[0], 192);
  EXPECT_EQ(ip->bytes[3], 1);
  EXPECT_EQ(ip->bytes[4], 0);
  EXPECT_EQ(ip->to_string(), "192.0.2.1");
  EXPECT_EQ(canon("0.0.0.0"), "0.0.0.0");
  EXPECT_EQ(canon("255.255.255.255"), "255.255.255.255");
}

TEST(ParseIp, Ipv4RejectsLeadingZerosAndOtherShapes) {
  for (const char* bad : {"01.2.3.4", "1.2.3.04", "1.2.3.00", "256.0.0.1", "1.2.3", "1.2.3.4.5", "1..2.3",
                          ".1.2.3", "1.2.3.", "1.2.3.4 ", " 1.2.3.4", "0x7f.0.0.1", "127.1", "2130706433",
                          "1.2.3.1000", "", "a.b.c.d", "1.2.3.4/8", "+1.2.3.4"}) {
    EXPECT_FALSE(parse_ip(bad).has_value()) << bad;
  }
}

TEST(ParseIp, Ipv6FormsOfRfc4291Section2_2) {
  EXPECT_EQ(canon("2001:DB8:0:0:8:800:200C:417A"), "2001:db8::8:800:200c:417a");
  EXPECT_EQ(canon("2001:db8::8:800:200c:417a"), "2001:db8::8:800:200c:417a");
  EXPECT_EQ(canon("FF01::101"), "ff01::101");
  EXPECT_EQ(canon("::1"), "::1");
  EXPECT_EQ(canon("::"), "::");
  EXPECT_EQ(canon("1::"), "1::");
  EXPECT_EQ(canon("0:0:0:0:0:0:13.1.68.3"), "::d01:4403");  // form 3, IPv4 tail
  EXPECT_EQ(canon("::13.1.68.3"), "::d01:4403");
  EXPECT_EQ(canon("1:2:3:4:5:6:7:8"), "1:2:3:4:5:6:7:8");
  EXPECT_EQ(canon("1:2:3:4:5:6::8"), "1:2:3:4:5:6:0:8");  // RFC 5952 §4.2.2: no "::" for one group
  EXPECT_EQ(canon("0001:0db8::0001"), "1:db8::1");         // RFC 5952 §4.1
  EXPECT_EQ(canon("1:0:0:2:0:0:0:3"), "1:0:0:2::3");       // §4.2.3: the longest run
  EXPECT_EQ(canon("1:0:0:2:3:0:0:4"), "1::2:3:0:0:4");     // §4.2.3: the first of equal runs
}

TEST(ParseIp, Ipv6Rejects) {
  for (const char* bad : {":::", "1::2::3", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", ":1::", "1::2:", "::1:",
                          "12345::", "g::", "1:2:3:4:5:6:7::8", "::1.2.3.04", "1.2.3.4::", "::1.2.3.4:5",
                          "1:2:3:4:5:6:7:1.2.3.4", "fe80::1%eth0", "[::1]", "::1/128", "1:2:3:4:5:6:7:8::",
                          "::ffff:256.1.1.1", ":"}) {
    EXPECT_FALSE(parse_ip(bad).has_value()) << bad;
  }
  EXPECT_FALSE(parse_ip(std::string(46, '0')).has_value());
}

TEST(ParseIp, MappedIpv4IsNormalisedToIpv4_Rfc4291Section2_5_5_2) {
  const auto ip = parse_ip("::ffff:10.1.2.3");
  ASSERT_TRUE(ip.has_value());
  EXPECT_TRUE(ip->v4);
  EXPECT_EQ(*ip, *parse_ip("10.1.2.3"));
  EXPECT_EQ(canon("::FFFF:0a01:0203"), "10.1.2.3");
  EXPECT_EQ(canon("0:0:0:0:0:ffff:127.0.0.1"), "127.0.0.1");
  // ::ffff:x with x not in the mapped position is plain IPv6.
  EXPECT_EQ(canon("::ffff:1"), "::ffff:1");
}

TEST(IpAddress, Loopback) {
  EXPECT_TRUE(parse_ip("127.0.0.1")->is_loopback());
  EXPECT_TRUE(parse_ip("127.255.0.9")->is_loopback());
  EXPECT_TRUE(parse_ip("::1")->is_loopback());
  EXPECT_TRUE(parse_ip("::ffff:127.0.0.1")->is_loopback());
  EXPECT_FALSE(parse_ip("128.0.0.1")->is_loopback());
  EXPECT_FALSE(parse_ip("::")->is_loopback());
  EXPECT_FALSE(parse_ip("::2")->is_loopback());
  EXPECT_FALSE(parse_ip("1::1")->is_loopback());
  EXPECT_FALSE(parse_ip("0.0.0.0")->is_loopback());
}

TEST(ParseCidr, PrefixesAndMaskedHostBits_Rfc4632) {
  const auto n = parse_cidr("10.1.2.3/8");
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(n->prefix, 8);
  EXPECT_EQ(to_string(*n), "10.0.0.0/8");
  EXPECT_EQ(to_string(*parse_cidr("192.0.2.1")), "192.0.2.1/32");
  EXPECT_EQ(to_string(*parse_cidr("2001:db8::1")), "2001:db8::1/128");
  EXPECT_EQ(to_string(*parse_cidr("2001:db8:ffff::/32")), "2001:db8::/32");
  EXPECT_EQ(to_string(*parse_cidr("0.0.0.0/0")), "0.0.0.0/0");
  EXPECT_EQ(to_string(*parse_cidr("10.255.255.255/9")), "10.128.0.0/9");
  EXPECT_EQ(to_string(*parse_cidr("::/0")), "::/0");
  EXPECT_EQ(to_string(*parse_cidr("::ffff:10.0.0.0/104")), "10.0.0.0/8");
  for (const char* bad : {"10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/08", "10.0.0.0/-1", "10.0.0.0/8/8",
                          "/8", "10.0.0/8", "10.0.0.0/8 ", "::ffff:10.0.0.0/95", "10.0.0.0/1000", ""}) {
    EXPECT_FALSE(parse_cidr(bad).has_value()) << bad;
  }
}

TEST(Contains, MatchesByPrefix) {
  EXPECT_TRUE(in("10.0.0.0/8", "10.255.1.2"));
  EXPECT_FALSE(in("10.0.0.0/8", "11.0.0.0"));
  EXPECT_TRUE(in("10.128.0.0/9", "10.200.0.1"));
  EXPECT_FALSE(in("10.128.0.0/9", "10.127.255.255"));
  EXPECT_TRUE(in("192.0.2.1", "192.0.2.1"));
  EXPECT_FALSE(in("192.0.2.1", "192.0.2.2"));
  EXPECT_TRUE(in("0.0.0.0/0", "203.0.113.9"));
  EXPECT_TRUE(in("2001:db8::/32", "2001:db8:1::5"));
  EXPECT_FALSE(in("2001:db8::/32", "2001:db9::5"));
  EXPECT_TRUE(in("2001:db8::/33", "2001:db8:7fff::"));
  EXPECT_FALSE(in("2001:db8::/33", "2001:db8:8000::"));
}

TEST(Contains, FamiliesNeverMix) {
  EXPECT_FALSE(in("::/0", "10.0.0.1"));
  EXPECT_FALSE(in("0.0.0.0/0", "::1"));
  EXPECT_FALSE(in("::/96", "0.0.0.1"));  // IPv4-compatible form is IPv6, not IPv4
  // A mapped client address is its IPv4 address, so IPv4 networks match it.
  EXPECT_TRUE(in("10.0.0.0/8", "::ffff:10.1.2.3"));
  EXPECT_TRUE(in("::ffff:10.0.0.0/104", "10.9.9.9"));
}

rc::Gen<IpAddress> gen_ip() {
  return rc::gen::map(rc::gen::pair(rc::gen::arbitrary<bool>(), rc::gen::container<std::vector<std::uint8_t>>(
                                                                     16, rc::gen::weightedOneOf<std::uint8_t>(
                                                                             {{3, rc::gen::just<std::uint8_t>(0)},
                                                                              {4, rc::gen::arbitrary<std::uint8_t>()}}))),
                      [](const std::pair<bool, std::vector<std::uint8_t>>& p) {
                        IpAddress ip;
                        ip.v4 = p.first;
                        for (std::size_t i = 0; i < (ip.v4 ? 4u : 16u); ++i) ip.bytes[i] = p.second[i];
                        // A mapped IPv6 address is, by construction, its IPv4 address.
                        if (!ip.v4 && ip.bytes[10] == 0xff && ip.bytes[11] == 0xff) ip.bytes[9] = 1;
                        return ip;
                      });
}

RC_GTEST_PROP(IpAddressProperty, ParseOfToStringIsIdentity, ()) {
  const IpAddress ip = *gen_ip();
  const std::string text = ip.to_string();
  const auto back = parse_ip(text);
  RC_ASSERT(back.has_value());
  RC_ASSERT(*back == ip);
  RC_ASSERT(back->to_string() == text);
}

RC_GTEST_PROP(IpAddressProperty, EveryPrefixOfAnAddressContainsIt, ()) {
  const IpAddress ip = *gen_ip();
  const int len = *rc::gen::inRange(0, ip.v4 ? 33 : 129);
  std::string text = ip.to_string();
  text.push_back('/');
  text.append(std::to_string(len));
  const auto net = parse_cidr(text);
  RC_ASSERT(net.has_value());
  RC_ASSERT(net->prefix == len);
  RC_ASSERT(contains(*net, ip));
  RC_ASSERT(parse_cidr(to_string(*net)) == net);
  // Flipping the first bit inside the prefix leaves the network.
  if (len > 0) {
    IpAddress other = ip;
    const int bit = *rc::gen::inRange(0, len);
    other.bytes[static_cast<std::size_t>(bit / 8)] ^= static_cast<std::uint8_t>(0x80 >> (bit % 8));
    RC_ASSERT(!contains(*net, other));
  }
}

}  // namespace
}  // namespace mail
