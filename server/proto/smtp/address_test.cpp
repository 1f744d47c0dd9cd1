// Tests for the RFC 5321 §4.1.2 / §4.1.3 path parser with RFC 6531 §3.3 UTF-8 and the
// §4.5.3.1.1-3 size limits: every error path, boundary pairs, and RapidCheck round trips
// (parse -> to_string -> parse) over generated dot-strings, quoted strings and literals.
#include "proto/smtp/address.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <string>

namespace mail::smtp {
namespace {

PathParse P(std::string_view s, bool utf8 = false, bool null = false) {
  return parse_path(s, SmtpLimits{}, utf8, null);
}

bool ok(std::string_view s, bool utf8 = false) { return P(s, utf8).path.has_value(); }

PathError err(std::string_view s, bool utf8 = false, bool null = false) {
  const PathParse r = P(s, utf8, null);
  EXPECT_FALSE(r.path.has_value()) << s;
  EXPECT_EQ(r.consumed, 0u) << s;
  return r.error;
}

std::string domain_of_length(std::size_t n) {
  // Labels of 63 octets (RFC 1035 §2.3.4) separated by dots, exactly n octets in all.
  std::string d;
  while (d.size() < n) {
    if (!d.empty()) d.push_back('.');
    const std::size_t room = n - d.size();
    std::size_t label = room > 63 ? 63 : room;
    // Never leave a 1-octet remainder that would need an empty label next time.
    if (room > 63 && room - 63 == 1) label = 62;
    d.append(label, 'a');
  }
  return d;
}

// ---- §4.1.2 basic Path / Mailbox -------------------------------------------------------

TEST(PathRfc5321_S4_1_2, SimpleMailbox) {
  const PathParse r = P("<user@example.com>");
  ASSERT_TRUE(r.path);
  ASSERT_TRUE(r.path->mailbox);
  EXPECT_EQ(r.path->mailbox->local_part, "user");
  EXPECT_EQ(r.path->mailbox->domain, "example.com");
  EXPECT_EQ(r.consumed, 18u);
  EXPECT_EQ(r.path->to_string(), "<user@example.com>");
  EXPECT_EQ(r.path->mailbox->to_string(), "user@example.com");
  EXPECT_FALSE(r.path->is_null());
}

TEST(PathRfc5321_S4_1_2, TrailingInputIsLeftAndConsumedSaysWhere) {
  const PathParse r = P("<a@b.c> SIZE=100 BODY=8BITMIME");
  ASSERT_TRUE(r.path);
  EXPECT_EQ(r.consumed, 7u);
  const PathParse r2 = P("<a@b.c>>>");
  ASSERT_TRUE(r2.path);
  EXPECT_EQ(r2.consumed, 7u);
}

TEST(PathRfc5321_S4_1_2, MustStartWithAngleBracket) {
  EXPECT_EQ(err("a@b.c"), PathError::syntax);
  EXPECT_EQ(err(" <a@b.c>"), PathError::syntax);  // the session strips spaces, not us
  EXPECT_EQ(err(""), PathError::syntax);
  EXPECT_EQ(err("<"), PathError::syntax);
}

TEST(PathRfc5321_S4_1_2, MustEndWithAngleBracket) {
  EXPECT_EQ(err("<a@b.c"), PathError::syntax);
  EXPECT_EQ(err("<a@b.c >"), PathError::syntax);
  EXPECT_EQ(err("<a@b.c\r\n"), PathError::syntax);
  EXPECT_EQ(err("<a @b.c>"), PathError::syntax);
  EXPECT_EQ(err("< a@b.c>"), PathError::syntax);
}

TEST(PathRfc5321_S4_1_2, NeedsAtAndBothSides) {
  EXPECT_EQ(err("<ab.c>"), PathError::syntax);
  EXPECT_EQ(err("<a@>"), PathError::syntax);
  EXPECT_EQ(err("<a@@b.c>"), PathError::syntax);
  EXPECT_EQ(err("<a@b@c>"), PathError::syntax);
  EXPECT_EQ(err("<postmaster>"), PathError::syntax);  // RCPT TO:<Postmaster> is the session's special case
}

// ---- §4.1.2 Reverse-path = Path / "<>" -------------------------------------------------

TEST(PathRfc5321_S4_1_2, NullReversePathWhenAllowed) {
  const PathParse r = P("<> SIZE=10", false, true);
  ASSERT_TRUE(r.path);
  EXPECT_TRUE(r.path->is_null());
  EXPECT_EQ(r.consumed, 2u);
  EXPECT_EQ(r.path->to_string(), "<>");
}

TEST(PathRfc5321_S4_1_2, NullForwardPathRejected) {
  EXPECT_EQ(err("<>"), PathError::null_not_allowed);
  EXPECT_EQ(err("<>", true, false), PathError::null_not_allowed);
}

TEST(PathRfc5321_S4_1_2, NullPathVariantsAreSyntaxErrors) {
  EXPECT_EQ(err("< >", false, true), PathError::syntax);
  EXPECT_EQ(err("<@a:>", false, true), PathError::syntax);
  EXPECT_EQ(err("<\"\">", false, true), PathError::syntax);
}

// ---- §4.1.2 Dot-string ----------------------------------------------------------------

TEST(DotStringRfc5321_S4_1_2, EveryAtextCharacterAccepted) {
  const std::string atext = "!#$%&'*+-/=?^_`{|}~ABCXYZabcxyz0189";
  const PathParse r = P("<" + atext + "@example.com>");
  ASSERT_TRUE(r.path);
  EXPECT_EQ(r.path->mailbox->local_part, atext);
}

TEST(DotStringRfc5321_S4_1_2, DotsBetweenAtoms) {
  EXPECT_TRUE(ok("<first.middle.last@example.com>"));
  EXPECT_EQ(err("<.a@b.c>"), PathError::syntax);
  EXPECT_EQ(err("<a.@b.c>"), PathError::syntax);
  EXPECT_EQ(err("<a..b@b.c>"), PathError::syntax);
  EXPECT_EQ(err("<.@b.c>"), PathError::syntax);
}

TEST(DotStringRfc5321_S4_1_2, SpecialsNeedQuoting) {
  for (const char* bad : {"<a b@c.d>", "<a(b@c.d>", "<a)b@c.d>", "<a,b@c.d>", "<a:b@c.d>", "<a;b@c.d>",
                          "<a<b@c.d>", "<a>b@c.d>", "<a[b@c.d>", "<a]b@c.d>", "<a\\b@c.d>", "<a\"b@c.d>"}) {
    EXPECT_FALSE(ok(bad)) << bad;
  }
}

TEST(DotStringRfc5321_S4_1_2, ControlCharactersRejected) {
  for (char c : {'\0', '\t', '\r', '\n', '\x1f', '\x7f'}) {
    std::string s = "<a";
    s.push_back(c);
    s += "b@c.d>";
    EXPECT_EQ(err(s), PathError::syntax) << static_cast<int>(c);
  }
}

// ---- §4.1.2 Quoted-string -------------------------------------------------------------

TEST(QuotedStringRfc5321_S4_1_2, SpacesAndSpecialsInsideQuotes) {
  const PathParse r = P("<\"john doe (x), <y>; [z]:@\"@example.com>");
  ASSERT_TRUE(r.path);
  EXPECT_EQ(r.path->mailbox->local_part, "\"john doe (x), <y>; [z]:@\"");
}

TEST(QuotedStringRfc5321_S4_1_2, QuotedPairEscapesQuoteAndBackslash) {
  ASSERT_TRUE(ok("<\"a\\\"b\"@c.d>"));
  ASSERT_TRUE(ok("<\"a\\\\b\"@c.d>"));
  ASSERT_TRUE(ok("<\"\\a\\ \\~\"@c.d>"));  // quoted-pairSMTP = %d92 %d32-126: any graphic or SP
}

TEST(QuotedStringRfc5321_S4_1_2, EmptyQuotedStringIsALocalPart) {
  const PathParse r = P("<\"\"@c.d>");
  ASSERT_TRUE(r.path);
  EXPECT_EQ(r.path->mailbox->local_part, "\"\"");
}

TEST(QuotedStringRfc5321_S4_1_2, BareQuoteOrBackslashRejected) {
  EXPECT_EQ(err("<\"a\"b\"@c.d>"), PathError::syntax);
  EXPECT_EQ(err("<\"a\\\"@c.d>"), PathError::syntax);  // the escaped quote leaves it open
  EXPECT_EQ(err("<\"abc@c.d>"), PathError::syntax);     // unterminated
  EXPECT_EQ(err("<\"a\"\"b\"@c.d>"), PathError::syntax);
  EXPECT_EQ(err("<\"a\".b@c.d>"), PathError::syntax);   // no mixing of forms in SMTP
}

TEST(QuotedStringRfc5321_S4_1_2, ControlsRejectedEvenEscaped) {
  EXPECT_EQ(err(std::string("<\"a\tb\"@c.d>")), PathError::syntax);
  EXPECT_EQ(err(std::string("<\"a\\\tb\"@c.d>")), PathError::syntax);
  EXPECT_EQ(err(std::string("<\"a\\\rb\"@c.d>")), PathError::syntax);
  EXPECT_EQ(err(std::string("<\"a\x7f\"@c.d>")), PathError::syntax);
  EXPECT_EQ(err(std::string("<\"a\0\"@c.d>", 9)), PathError::syntax);
  EXPECT_EQ(err(std::string("<\"a\\\x7f\"@c.d>")), PathError::syntax);
}

TEST(QuotedStringRfc6531_S3_3, Utf8QtextAllowedButNotInQuotedPair) {
  EXPECT_TRUE(ok("<\"jöhn dœ\"@example.com>", true));
  EXPECT_EQ(err("<\"jöhn\"@example.com>", false), PathError::utf8_not_allowed);
  // quoted-pairSMTP is not extended by RFC 6531: "\" + non-ASCII is malformed.
  EXPECT_EQ(err("<\"\\ö\"@example.com>", true), PathError::syntax);
}

// ---- §4.1.2 Domain ---------------------------------------------------------------------

TEST(DomainRfc5321_S4_1_2, SubDomainLetDigLdhStr) {
  EXPECT_TRUE(ok("<a@example.com>"));
  EXPECT_TRUE(ok("<a@localhost>"));
  EXPECT_TRUE(ok("<a@123.example>"));
  EXPECT_TRUE(ok("<a@a-b--c.d>"));
  EXPECT_TRUE(ok("<a@xn--bcher-kva.example>"));
  EXPECT_TRUE(ok("<a@1.2.3.4>"));  // a Domain of digit labels, not a literal
}

TEST(DomainRfc5321_S4_1_2, BadLabelsRejected) {
  for (const char* bad : {"<a@-b.c>", "<a@b-.c>", "<a@b.-c>", "<a@b_c.d>", "<a@b..c>", "<a@.b.c>",
                          "<a@b.c.>", "<a@b c>", "<a@b!c>", "<a@b/c>", "<a@b\"c>"}) {
    EXPECT_EQ(err(bad), PathError::syntax) << bad;
  }
}

TEST(DomainRfc1035_S2_3_4, LabelOf63OctetsAcceptedAnd64Rejected) {
  EXPECT_TRUE(ok("<a@" + std::string(63, 'x') + ".com>"));
  EXPECT_EQ(err("<a@" + std::string(64, 'x') + ".com>"), PathError::syntax);
}

TEST(DomainRfc5321_S4_1_2, CaseIsKept) {
  const PathParse r = P("<A@ExAmple.COM>");
  ASSERT_TRUE(r.path);
  EXPECT_EQ(r.path->mailbox->domain, "ExAmple.COM");
}

// ---- §4.1.3 address literals -----------------------------------------------------------

TEST(AddressLiteralRfc5321_S4_1_3, Ipv4) {
  EXPECT_TRUE(ok("<a@[192.0.2.1]>"));
  EXPECT_TRUE(ok("<a@[0.0.0.0]>"));
  EXPECT_TRUE(ok("<a@[255.255.255.255]>"));
  EXPECT_TRUE(ok("<a@[001.02.3.004]>"));  // Snum = 1*3DIGIT
  for (const char* bad : {"<a@[256.1.1.1]>", "<a@[1.1.1]>", "<a@[1.1.1.1.1]>", "<a@[1..1.1]>", "<a@[1.1.1.]>",
                          "<a@[.1.1.1]>", "<a@[0001.1.1.1]>", "<a@[1.1.1.1a]>", "<a@[ 1.1.1.1]>", "<a@[]>",
                          "<a@[1.1.1.1>", "<a@1.1.1.1]>", "<a@[999.1.1.1]>", "<a@[-1.1.1.1]>"}) {
    EXPECT_EQ(err(bad), PathError::syntax) << bad;
  }
}

TEST(AddressLiteralRfc5321_S4_1_3, Ipv6Full) {
  EXPECT_TRUE(is_valid_address_literal("[IPv6:2001:db8:0:0:0:0:0:1]"));
  EXPECT_TRUE(is_valid_address_literal("[IPv6:FFFF:ffff:0000:1:a:B:c:D]"));
  EXPECT_FALSE(is_valid_address_literal("[IPv6:1:2:3:4:5:6:7]"));
  EXPECT_FALSE(is_valid_address_literal("[IPv6:1:2:3:4:5:6:7:8:9]"));
  EXPECT_FALSE(is_valid_address_literal("[IPv6:12345:2:3:4:5:6:7:8]"));
  EXPECT_FALSE(is_valid_address_literal("[IPv6:g:2:3:4:5:6:7:8]"));
  EXPECT_FALSE(is_valid_address_literal("[IPv6::1:2:3:4:5:6:7:8]"));
  EXPECT_FALSE(is_valid_address_literal("[IPv6:1:2:3:4:5:6:7:8:]"));
}

TEST(AddressLiteralRfc5321_S4_1_3, Ipv6Comp) {
  EXPECT_TRUE(is_valid_address_literal("[IPv6:::]"));
  EXPECT_TRUE(is_valid_address_literal("[IPv6:::1]"));
  EXPECT_TRUE(is_valid_address_literal("[IPv6:1::]"));
  EXPECT_TRUE(is_valid_address_literal("[IPv6:2001:db8::1]"));
  EXPECT_TRUE(is_valid_address_literal("[IPv6:1:2:3::4:5:6]"));   // 6 groups besides "::"
  EXPECT_TRUE(is_valid_address_literal("[IPv6:1:2:3:4:5:6::]"));
  EXPECT_TRUE(is_valid_address_literal("[IPv6:::1:2:3:4:5:6]"));
  // "::" stands for at least two groups: 7 others is too many in RFC 5321 (RFC 4291
  // would allow it, RFC 5321 §4.1.3 does not).
  EXPECT_FALSE(is_valid_address_literal("[IPv6:1:2:3:4::5:6:7]"));
  EXPECT_FALSE(is_valid_address_literal("[IPv6:1:2:3:4:5:6:7::]"));
  EXPECT_FALSE(is_valid_address_literal("[IPv6:::1:2:3:4:5:6:7]"));
  EXPECT_FALSE(is_valid_address_literal("[IPv6:1::2::3]"));
  EXPECT_FALSE(is_valid_address_literal("[IPv6::::1]"));
  EXPECT_FALSE(is_valid_address_literal("[IPv6:1:::2]"));
  EXPECT_FALSE(is_valid_address_literal("[IPv6::1]"));
  EXPECT_FALSE(is_valid_address_literal("[IPv6:1:]"));
}

TEST(AddressLiteralRfc5321_S4_1_3, Ipv6v4FullAndComp) {
  EXPECT_TRUE(is_valid_address_literal("[IPv6:1:2:3:4:5:6:192.0.2.1]"));
  EXPECT_FALSE(is_valid_address_literal("[IPv6:1:2:3:4:5:192.0.2.1]"));
  EXPECT_FALSE(is_valid_address_literal("[IPv6:1:2:3:4:5:6:7:192.0.2.1]"));
  EXPECT_TRUE(is_valid_address_literal("[IPv6:::192.0.2.1]"));
  EXPECT_TRUE(is_valid_address_literal("[IPv6:::ffff:192.0.2.1]"));
  EXPECT_TRUE(is_valid_address_literal("[IPv6:1:2:3:4::192.0.2.1]"));
  EXPECT_TRUE(is_valid_address_literal("[IPv6:1:2::3:4:192.0.2.1]"));
  // No more than 4 groups besides "::" and the IPv4 part.
  EXPECT_FALSE(is_valid_address_literal("[IPv6:1:2:3:4:5::192.0.2.1]"));
  EXPECT_FALSE(is_valid_address_literal("[IPv6:1:2:3::4:5:192.0.2.1]"));
  EXPECT_FALSE(is_valid_address_literal("[IPv6:::256.0.2.1]"));
  EXPECT_FALSE(is_valid_address_literal("[IPv6:::192.0.2.1:1]"));   // IPv4 only last
  EXPECT_FALSE(is_valid_address_literal("[IPv6:192.0.2.1::]"));
}

TEST(AddressLiteralRfc5234_S2_3, Ipv6TagIsCaseInsensitive) {
  EXPECT_TRUE(is_valid_address_literal("[ipv6:::1]"));
  EXPECT_TRUE(is_valid_address_literal("[IPV6:::1]"));
  EXPECT_TRUE(ok("<a@[ipv6:2001:db8::1]>"));
}

TEST(AddressLiteralRfc5321_S4_1_3, MalformedIpv6DoesNotFallBackToGeneral) {
  EXPECT_FALSE(is_valid_address_literal("[IPv6:zzz]"));
  EXPECT_FALSE(is_valid_address_literal("[IPv6:]"));
}

TEST(AddressLiteralRfc5321_S4_1_3, GeneralAddressLiteral) {
  EXPECT_TRUE(is_valid_address_literal("[x-tag:anything!goes~here]"));
  EXPECT_TRUE(is_valid_address_literal("[X400:c=us;a=x]"));
  EXPECT_TRUE(ok("<a@[x-tag:abc]>"));
  EXPECT_FALSE(is_valid_address_literal("[tag-:x]"));    // Ldh-str ends with Let-dig
  EXPECT_FALSE(is_valid_address_literal("[:x]"));        // empty tag
  EXPECT_FALSE(is_valid_address_literal("[tag:]"));      // 1*dcontent
  EXPECT_FALSE(is_valid_address_literal("[ta_g:x]"));
  EXPECT_FALSE(is_valid_address_literal("[tag:a b]"));   // SP is not dcontent
  EXPECT_FALSE(is_valid_address_literal("[tag:a[b]"));   // "[" "\" "]" are not dcontent
  EXPECT_FALSE(is_valid_address_literal("[tag:a\\b]"));
  EXPECT_FALSE(is_valid_address_literal("[tag:a]b]"));
}

TEST(AddressLiteralRfc5321_S4_1_3, Utf8NeverInLiterals) {
  EXPECT_EQ(err("<a@[x-tag:ö]>", true), PathError::syntax);
  EXPECT_FALSE(is_valid_address_literal("[x-tag:ö]"));
}

TEST(AddressLiteralRfc5321_S4_1_3, ValidatorNeedsBrackets) {
  EXPECT_FALSE(is_valid_address_literal("1.2.3.4"));
  EXPECT_FALSE(is_valid_address_literal("[1.2.3.4"));
  EXPECT_FALSE(is_valid_address_literal("[1.2.3.4]x"));
  EXPECT_FALSE(is_valid_address_literal(""));
  EXPECT_FALSE(is_valid_address_literal("[]"));
}

// ---- §4.1.1.3 / Appendix C source routes ---------------------------------------------

TEST(SourceRouteRfc5321_S4_1_1_3, AcceptedAndDropped) {
  const PathParse r = P("<@hosta.int,@jkl.org:userc@d.bar.org> SIZE=1");
  ASSERT_TRUE(r.path);
  EXPECT_EQ(r.path->mailbox->local_part, "userc");
  EXPECT_EQ(r.path->mailbox->domain, "d.bar.org");
  EXPECT_EQ(r.path->to_string(), "<userc@d.bar.org>");
  EXPECT_EQ(r.consumed, 37u);
  EXPECT_TRUE(ok("<@a:b@c>"));
}

TEST(SourceRouteRfc5321_AppendixC, Malformed) {
  for (const char* bad : {"<@a,b@c>", "<@:b@c>", "<@a,:b@c>", "<@a,@b b@c>", "<@a@b:c@d>", "<@a;@b:c@d>",
                          "<@a,,@b:c@d>", "<@-a:b@c>", "<@a:>", "<@a:@b:c@d>"}) {
    EXPECT_EQ(err(bad, false, true), PathError::syntax) << bad;
  }
}

TEST(SourceRouteRfc5321_S4_1_2, AtDomainIsADomainNotALiteral) {
  EXPECT_EQ(err("<@[1.2.3.4]:a@b>"), PathError::syntax);
}

TEST(SourceRouteRfc5321_S4_5_3_1_3, RouteCountsTowardsPathLength) {
  SmtpLimits l;
  l.path_bytes_max = 256;
  const std::string mbox = "a@b.c";
  std::string route = "@" + std::string(63, 'r') + "." + std::string(63, 'r') + "." + std::string(63, 'r') + ":";
  std::string path = "<" + route + mbox + ">";
  ASSERT_LE(path.size(), 256u);
  EXPECT_TRUE(parse_path(path, l, false, false).path);
  route = "@" + std::string(63, 'r') + "," + route;
  path = "<" + route + mbox + ">";
  ASSERT_GT(path.size(), 256u);
  EXPECT_EQ(parse_path(path, l, false, false).error, PathError::path_too_long);
}

// ---- RFC 6531 §3.3 UTF-8 ---------------------------------------------------------------

TEST(Utf8Rfc6531_S3_3, InternationalisedMailboxes) {
  for (const char* s : {"<用户@例子.广告>", "<δοκιμή@παράδειγμα.δοκιμή>", "<アカウント@ドメイン.テスト>",
                        "<我買@屋企.香港>", "<Dörte@Sörensen.example.com>", "<👍@example.com>"}) {
    const PathParse r = P(s, true);
    ASSERT_TRUE(r.path) << s;
    EXPECT_TRUE(r.path->mailbox->needs_smtputf8()) << s;
    EXPECT_EQ(r.path->to_string(), s);
  }
}

TEST(Utf8Rfc6531_S3_4, NonAsciiWithoutSmtputf8) {
  EXPECT_EQ(err("<用户@example.com>"), PathError::utf8_not_allowed);
  EXPECT_EQ(err("<user@例子.广告>"), PathError::utf8_not_allowed);
  EXPECT_EQ(err("<@例子.广告:user@example.com>"), PathError::utf8_not_allowed);
}

TEST(Utf8Rfc6531_S3_3, AsciiMailboxDoesNotNeedSmtputf8) {
  const PathParse r = P("<user@example.com>", true);
  ASSERT_TRUE(r.path);
  EXPECT_FALSE(r.path->mailbox->needs_smtputf8());
}

TEST(Utf8Rfc3629_S4, MalformedUtf8IsSyntaxEvenWhenAllowed) {
  const char* bad[] = {
      "<a\xC0\x80@b.c>",          // overlong NUL
      "<a\xC1\xBF@b.c>",          // overlong
      "<a\xE0\x80\xAF@b.c>",      // overlong "/"
      "<a\xF0\x80\x80\xAF@b.c>",  // overlong 4-byte
      "<a\xED\xA0\x80@b.c>",      // UTF-16 surrogate U+D800
      "<a\xED\xBF\xBF@b.c>",      // surrogate U+DFFF
      "<a\xF4\x90\x80\x80@b.c>",  // above U+10FFFF
      "<a\xF5\x80\x80\x80@b.c>",
      "<a\xFF@b.c>",
      "<a\x80@b.c>",              // stray continuation
      "<a\xE4\xB8@b.c>",          // truncated
      "<a\xE4\xB8>",              // truncated at end
      "<a@b\xC3.c>",
      "<\"a\xC3\"@b.c>",
  };
  for (const char* s : bad) {
    EXPECT_EQ(err(s, true), PathError::syntax) << s;
    EXPECT_FALSE(ok(s, false)) << s;
  }
}

TEST(Utf8Rfc3629_S4, BoundaryCodePointsAccepted) {
  EXPECT_TRUE(ok("<a\xC2\x80@b.c>", true));          // U+0080
  EXPECT_TRUE(ok("<a\xED\x9F\xBF@b.c>", true));      // U+D7FF
  EXPECT_TRUE(ok("<a\xEE\x80\x80@b.c>", true));      // U+E000
  EXPECT_TRUE(ok("<a\xF4\x8F\xBF\xBF@b.c>", true));  // U+10FFFF
  EXPECT_TRUE(ok("<a\xF0\x90\x80\x80@b.c>", true));  // U+10000
}

TEST(Utf8Rfc5890_S2_3_2_1, ULabelHyphenRules) {
  EXPECT_TRUE(ok("<a@bü-c.de>", true));
  EXPECT_EQ(err("<a@-bü.de>", true), PathError::syntax);
  EXPECT_EQ(err("<a@bü-.de>", true), PathError::syntax);
  EXPECT_EQ(err("<a@b ü.de>", true), PathError::syntax);
}

TEST(Utf8Rfc3629_S4, IsValidUtf8) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8("plain"));
  EXPECT_TRUE(is_valid_utf8("用户 δοκιμή 👍"));
  EXPECT_FALSE(is_valid_utf8("\xC0\x80"));
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));
  EXPECT_FALSE(is_valid_utf8("a\xE4"));
}

// ---- §4.5.3.1.1-3 size limits: boundary pairs ------------------------------------------

TEST(LimitsRfc5321_S4_5_3_1_1, LocalPart64AcceptedAnd65Rejected) {
  EXPECT_TRUE(ok("<" + std::string(64, 'l') + "@example.com>"));
  EXPECT_EQ(err("<" + std::string(65, 'l') + "@example.com>"), PathError::local_part_too_long);
}

TEST(LimitsRfc5321_S4_5_3_1_1, QuotedLocalPartMeasuredWithQuotes) {
  EXPECT_TRUE(ok("<\"" + std::string(62, 'q') + "\"@example.com>"));
  EXPECT_EQ(err("<\"" + std::string(63, 'q') + "\"@example.com>"), PathError::local_part_too_long);
}

TEST(LimitsRfc5321_S4_5_3_1_1, TenKilobyteLocalPart) {
  EXPECT_EQ(err("<" + std::string(10240, 'l') + "@example.com>"), PathError::local_part_too_long);
}

TEST(LimitsRfc5321_S4_5_3_1_2, Domain255AcceptedAnd256Rejected) {
  const std::string d255 = domain_of_length(255);
  const std::string d256 = domain_of_length(256);
  ASSERT_EQ(d255.size(), 255u);
  ASSERT_EQ(d256.size(), 256u);
  // Default limits: a 255-octet domain with 63-octet labels is received (SECURITY.md §6 #1).
  EXPECT_TRUE(ok("<a@" + d255 + ">"));
  EXPECT_EQ(err("<a@" + d256 + ">"), PathError::domain_too_long);
}

TEST(LimitsRfc5321_S4_5_3_1, Largest64LocalAnd255DomainTogether) {
  // §4.5.3.1: receivers MUST be able to receive objects of at least these sizes.
  EXPECT_TRUE(ok("<" + std::string(64, 'l') + "@" + domain_of_length(255) + ">"));
  EXPECT_TRUE(ok("<\"" + std::string(62, 'q') + "\"@" + domain_of_length(255) + ">"));
}

TEST(LimitsRfc5321_S4_5_3_1_2, LiteralCountsWithBrackets) {
  SmtpLimits l;
  l.domain_bytes_max = 11;
  EXPECT_TRUE(parse_path("<a@[192.0.2.1]>", l, false, false).path);     // 11 octets
  EXPECT_EQ(parse_path("<a@[192.0.2.10]>", l, false, false).error, PathError::domain_too_long);
}

TEST(LimitsRfc5321_S4_5_3_1_2, TenKilobyteDomain) {
  EXPECT_EQ(err("<a@" + domain_of_length(10240) + ">"), PathError::domain_too_long);
}

TEST(LimitsRfc5321_S4_5_3_1_3, Path256AcceptedAnd257RejectedUnderStrictLimit) {
  SmtpLimits l;
  l.path_bytes_max = 256;  // the literal RFC figure, brackets included
  // "<" + 64 + "@" + 189 + ">" = 256
  const std::string p256 = "<" + std::string(64, 'l') + "@" + domain_of_length(189) + ">";
  const std::string p257 = "<" + std::string(64, 'l') + "@" + domain_of_length(190) + ">";
  ASSERT_EQ(p256.size(), 256u);
  ASSERT_EQ(p257.size(), 257u);
  EXPECT_TRUE(parse_path(p256, l, false, false).path);
  const PathParse r = parse_path(p257, l, false, false);
  EXPECT_FALSE(r.path);
  EXPECT_EQ(r.error, PathError::path_too_long);
}

TEST(LimitsRfc5321_S4_5_3_1_3, DefaultPath322AcceptedAnd323Rejected) {
  // Default limit: 64 + "@" + 255 + "<>" = 322 (see limits.h); a source route can push a
  // path past it.
  ASSERT_EQ(SmtpLimits{}.path_bytes_max, 322u);
  const std::string p322 = "<" + std::string(64, 'l') + "@" + domain_of_length(255) + ">";
  ASSERT_EQ(p322.size(), 322u);
  EXPECT_TRUE(ok(p322));
  const std::string r322 = "<@r:" + std::string(64, 'l') + "@" + domain_of_length(252) + ">";
  const std::string r323 = "<@r:" + std::string(64, 'l') + "@" + domain_of_length(253) + ">";
  ASSERT_EQ(r322.size(), 322u);
  ASSERT_EQ(r323.size(), 323u);
  EXPECT_TRUE(ok(r322));
  EXPECT_EQ(err(r323), PathError::path_too_long);
}

TEST(LimitsRfc5321_S4_5_3_1, SyntaxErrorsWinOverLengths) {
  EXPECT_EQ(err("<" + std::string(100, 'l') + "@bad_domain>"), PathError::syntax);
  EXPECT_EQ(err("<" + std::string(100, 'l') + "@ok.example"), PathError::syntax);  // no '>'
}

TEST(LimitsRfc5321_S4_5_3_1, LengthsInOrderLocalDomainPathThenUtf8) {
  SmtpLimits l;
  l.local_part_bytes_max = 3;
  l.domain_bytes_max = 5;
  l.path_bytes_max = 10;
  EXPECT_EQ(parse_path("<abcd@abcdef>", l, false, false).error, PathError::local_part_too_long);
  EXPECT_EQ(parse_path("<abc@abcdef>", l, false, false).error, PathError::domain_too_long);
  EXPECT_EQ(parse_path("<abc@abcde>", l, false, false).error, PathError::path_too_long);
  EXPECT_TRUE(parse_path("<ab@abcde>", l, false, false).path);
  EXPECT_EQ(parse_path("<ö@abc>", l, false, false).error, PathError::utf8_not_allowed);
  EXPECT_EQ(parse_path("<öö@abc>", l, false, false).error, PathError::local_part_too_long);  // octets
}

// ---- parse_mailbox ----------------------------------------------------------------------

TEST(ParseMailboxRfc5321_S4_1_2, WholeInputIsOneMailbox) {
  auto m = parse_mailbox("user@example.com", SmtpLimits{}, false);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->to_string(), "user@example.com");
  EXPECT_TRUE(parse_mailbox("\"a b\"@[192.0.2.1]", SmtpLimits{}, false));
  EXPECT_FALSE(parse_mailbox("<user@example.com>", SmtpLimits{}, false));
  EXPECT_FALSE(parse_mailbox("user@example.com x", SmtpLimits{}, false));
  EXPECT_FALSE(parse_mailbox("@a:user@example.com", SmtpLimits{}, false));
  EXPECT_FALSE(parse_mailbox("", SmtpLimits{}, false));
  EXPECT_FALSE(parse_mailbox("user@example.com>", SmtpLimits{}, false));
  EXPECT_FALSE(parse_mailbox("用户@例子.广告", SmtpLimits{}, false));
  EXPECT_TRUE(parse_mailbox("用户@例子.广告", SmtpLimits{}, true));
}

// ---- stand-alone validators (EHLO argument, §4.1.1.1) ------------------------------------

TEST(IsValidDomainRfc5321_S4_1_1_1, EhloArgument) {
  EXPECT_TRUE(is_valid_domain("mail.example.com", false));
  EXPECT_TRUE(is_valid_domain("localhost", false));
  EXPECT_FALSE(is_valid_domain("", false));
  EXPECT_FALSE(is_valid_domain("mail.example.com.", false));
  EXPECT_FALSE(is_valid_domain("[192.0.2.1]", false));  // literals have their own check
  EXPECT_FALSE(is_valid_domain("under_score.example", false));
  EXPECT_FALSE(is_valid_domain("例子.广告", false));
  EXPECT_TRUE(is_valid_domain("例子.广告", true));
  EXPECT_TRUE(is_valid_domain(domain_of_length(255), false));
  EXPECT_FALSE(is_valid_domain(domain_of_length(256), false));
  EXPECT_FALSE(is_valid_domain("a\r\nb", false));
}

// ---- PathError mapping ----------------------------------------------------------------------

TEST(PathErrorReplyRfc3463_S3_2, SenderAndRecipientCodes) {
  EXPECT_EQ(path_error_reply(PathError::syntax, true).to_wire(true), "501 5.1.7 Bad sender address syntax\r\n");
  EXPECT_EQ(path_error_reply(PathError::syntax, false).to_wire(true), "501 5.1.3 Bad recipient address syntax\r\n");
  EXPECT_EQ(path_error_reply(PathError::path_too_long, false).to_wire(true), "501 5.1.3 Path too long\r\n");
  EXPECT_EQ(path_error_reply(PathError::local_part_too_long, true).code, 501);
  EXPECT_EQ(path_error_reply(PathError::domain_too_long, true).code, 501);
  EXPECT_EQ(path_error_reply(PathError::null_not_allowed, false).code, 501);
  const Reply u = path_error_reply(PathError::utf8_not_allowed, true);
  EXPECT_EQ(u.code, 553);  // RFC 6531 §3.4
  EXPECT_EQ(u.enhanced, (EnhancedCode{5, 6, 7}));
  EXPECT_EQ(to_string(PathError::path_too_long), "path_too_long");
}

// ---- canonical(): §4.1.2 "all quoted forms MUST be treated as equivalent" ----------------

Mailbox mb(std::string_view path) {
  PathParse r = parse_path(path, SmtpLimits{}, true, false);
  EXPECT_TRUE(r.path) << path;
  return r.path ? *r.path->mailbox : Mailbox{"x", "y"};
}

TEST(CanonicalRfc5321_S4_1_2, DomainLowerCasedLocalPartKept) {
  const Mailbox c = canonical(mb("<John.Smith@Example.COM>"));
  EXPECT_EQ(c.local_part, "John.Smith");
  EXPECT_EQ(c.domain, "example.com");
}

TEST(CanonicalRfc5321_S4_1_2, QuotedDotStringIsUnquoted) {
  EXPECT_EQ(canonical(mb("<\"john\"@x.y>")).local_part, "john");
  EXPECT_EQ(canonical(mb("<\"j\\ohn.smith\"@x.y>")).local_part, "john.smith");
  EXPECT_EQ(canonical(mb("<\"jöhn\"@x.y>")).local_part, "jöhn");
}

TEST(CanonicalRfc5321_S4_1_2, MinimalQuotingKept) {
  EXPECT_EQ(canonical(mb("<\"john doe\"@x.y>")).local_part, "\"john doe\"");
  EXPECT_EQ(canonical(mb("<\"j\\o\\h\\n\\ doe\"@x.y>")).local_part, "\"john doe\"");
  EXPECT_EQ(canonical(mb("<\"a\\\"b\"@x.y>")).local_part, "\"a\\\"b\"");
  EXPECT_EQ(canonical(mb("<\"a\\\\b\"@x.y>")).local_part, "\"a\\\\b\"");
  EXPECT_EQ(canonical(mb("<\"a..b\"@x.y>")).local_part, "\"a..b\"");
  EXPECT_EQ(canonical(mb("<\".a\"@x.y>")).local_part, "\".a\"");
  EXPECT_EQ(canonical(mb("<\"\"@x.y>")).local_part, "\"\"");
}

TEST(CanonicalRfc5321_S4_1_2, LiteralDomainLowerCased) {
  EXPECT_EQ(canonical(mb("<a@[IPv6:2001:DB8::1]>")).domain, "[ipv6:2001:db8::1]");
}

// ---- RapidCheck: parse -> to_string -> parse ------------------------------------------------

const std::string kAtext = "!#$%&'*+-/=?^_`{|}~abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const std::string kLetDig = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const std::vector<std::string> kUtf8Chars = {"ö", "ß", "用", "户", "δ", "👍", "\xC2\x80", "\xF4\x8F\xBF\xBF"};

rc::Gen<std::string> gen_atom(bool utf8) {
  auto ascii = rc::gen::map(rc::gen::elementOf(kAtext), [](char c) { return std::string(1, c); });
  auto piece = utf8 ? rc::gen::weightedOneOf<std::string>({{4, ascii}, {1, rc::gen::elementOf(kUtf8Chars)}})
                    : ascii;
  return rc::gen::map(rc::gen::container<std::vector<std::string>>(piece), [](std::vector<std::string> v) {
    std::string s;
    for (std::size_t i = 0; i < v.size() && i < 10; ++i) s += v[i];  // whole characters only
    return s.empty() ? std::string("x") : s;
  });
}

rc::Gen<std::string> gen_dot_string(bool utf8) {
  return rc::gen::map(rc::gen::container<std::vector<std::string>>(gen_atom(utf8)), [](std::vector<std::string> v) {
    std::string s;
    for (std::size_t i = 0; i < v.size() && i < 4; ++i) s += (i ? "." : "") + v[i];
    if (s.empty()) s = "a";
    // Cutting inside a UTF-8 sequence would make the generator produce invalid input.
    while (s.size() > 40) s = s.substr(0, s.rfind('.') == std::string::npos ? 0 : s.rfind('.'));
    return s.empty() ? std::string("b") : s;
  });
}

rc::Gen<std::string> gen_quoted(bool utf8) {
  // Content characters, each either plain qtext, or escaped (always for '"' and '\').
  auto ch = rc::gen::map(rc::gen::pair(rc::gen::inRange(32, 127), rc::gen::arbitrary<bool>()),
                         [](std::pair<int, bool> p) {
                           const char c = static_cast<char>(p.first);
                           if (c == '"' || c == '\\' || p.second) return std::string("\\") + c;
                           return std::string(1, c);
                         });
  auto piece = utf8 ? rc::gen::weightedOneOf<std::string>({{5, ch}, {1, rc::gen::elementOf(kUtf8Chars)}}) : ch;
  return rc::gen::map(rc::gen::container<std::vector<std::string>>(piece), [](std::vector<std::string> v) {
    std::string s = "\"";
    std::size_t body = 0;
    for (auto& p : v) {
      if (body + p.size() > 50) break;
      s += p;
      body += p.size();
    }
    return s + "\"";
  });
}

rc::Gen<std::string> gen_label(bool utf8) {
  return rc::gen::map(
      rc::gen::tuple(rc::gen::elementOf(kLetDig),
                     rc::gen::container<std::string>(rc::gen::elementOf(kLetDig + "-")),
                     rc::gen::elementOf(kLetDig), rc::gen::arbitrary<bool>(), rc::gen::elementOf(kUtf8Chars)),
      [utf8](std::tuple<char, std::string, char, bool, std::string> t) {
        std::string mid = std::get<1>(t).substr(0, 20);
        if (utf8 && std::get<3>(t)) mid += std::get<4>(t);
        std::string l(1, std::get<0>(t));
        if (std::get<3>(t)) l += mid + std::string(1, std::get<2>(t));
        return l;
      });
}

rc::Gen<std::string> gen_domain(bool utf8) {
  return rc::gen::map(rc::gen::container<std::vector<std::string>>(gen_label(utf8)), [](std::vector<std::string> v) {
    std::string d;
    for (std::size_t i = 0; i < v.size() && i < 5; ++i) d += (i ? "." : "") + v[i];
    return d.empty() ? std::string("example") : d;
  });
}

std::string hex_group(unsigned v) {
  static const char* kHex = "0123456789abcdef";
  std::string s;
  do {
    s.insert(s.begin(), kHex[v % 16]);
    v /= 16;
  } while (v);
  return s;
}

rc::Gen<std::string> gen_literal() {
  auto v4 = rc::gen::map(rc::gen::container<std::vector<int>>(4, rc::gen::inRange(0, 256)), [](std::vector<int> o) {
    return std::to_string(o[0]) + "." + std::to_string(o[1]) + "." + std::to_string(o[2]) + "." + std::to_string(o[3]);
  });
  auto v6 = rc::gen::map(
      rc::gen::tuple(rc::gen::container<std::vector<unsigned>>(8, rc::gen::inRange(0u, 65536u)), rc::gen::inRange(0, 9),
                     rc::gen::inRange(2, 9), rc::gen::arbitrary<bool>(), v4),
      [](std::tuple<std::vector<unsigned>, int, int, bool, std::string> t) {
        const auto& g = std::get<0>(t);
        const bool with_v4 = std::get<3>(t);
        const int n = with_v4 ? 6 : 8;
        std::vector<std::string> parts;
        for (int i = 0; i < n; ++i) parts.push_back(hex_group(g[i]));
        // Compress a run of >= 2 groups into "::" at a random place, or not at all.
        const int start = std::get<1>(t) % (n + 1);
        const int len = std::get<2>(t);
        std::string s;
        if (start + len <= n && std::get<1>(t) < 8) {
          for (int i = 0; i < start; ++i) s += (i ? ":" : "") + parts[i];
          s += "::";
          for (int i = start + len; i < n; ++i) s += parts[i] + (i + 1 < n ? ":" : "");
          if (with_v4) s += (start + len < n ? ":" : "") + std::get<4>(t);
        } else {
          for (int i = 0; i < n; ++i) s += (i ? ":" : "") + parts[i];
          if (with_v4) s += ":" + std::get<4>(t);
        }
        return "IPv6:" + s;
      });
  auto general = rc::gen::map(rc::gen::container<std::string>(rc::gen::elementOf(std::string("abcXYZ09!~^_=-"))),
                              [](std::string c) { return "x-tag:" + (c.empty() ? std::string("z") : c.substr(0, 30)); });
  return rc::gen::map(rc::gen::oneOf(v4, v6, general), [](std::string b) { return "[" + b + "]"; });
}

rc::Gen<std::string> gen_path(bool utf8) {
  auto local = rc::gen::oneOf(gen_dot_string(utf8), gen_quoted(utf8));
  auto domain = rc::gen::weightedOneOf<std::string>({{3, gen_domain(utf8)}, {1, gen_literal()}});
  return rc::gen::map(rc::gen::pair(local, domain),
                      [](std::pair<std::string, std::string> p) { return "<" + p.first + "@" + p.second + ">"; });
}

RC_GTEST_PROP(PathPropertyRfc5321_S4_1_2, GeneratedAsciiPathsParseAndRoundTrip, ()) {
  const std::string wire = *gen_path(false);
  const PathParse r = parse_path(wire, SmtpLimits{}, false, false);
  RC_ASSERT(r.path.has_value());
  RC_ASSERT(r.consumed == wire.size());
  RC_ASSERT(r.path->to_string() == wire);
  const PathParse again = parse_path(r.path->to_string(), SmtpLimits{}, false, false);
  RC_ASSERT(again.path == r.path);
  RC_ASSERT(!r.path->mailbox->needs_smtputf8());
}

RC_GTEST_PROP(PathPropertyRfc6531_S3_3, GeneratedUtf8PathsParseAndRoundTrip, ()) {
  const std::string wire = *gen_path(true);
  const PathParse r = parse_path(wire, SmtpLimits{}, true, false);
  RC_ASSERT(r.path.has_value());
  RC_ASSERT(r.path->to_string() == wire);
  RC_ASSERT(parse_path(r.path->to_string(), SmtpLimits{}, true, false).path == r.path);
  // Without SMTPUTF8 the same path is refused exactly when it has non-ASCII octets.
  const PathParse ascii = parse_path(wire, SmtpLimits{}, false, false);
  RC_ASSERT(ascii.path.has_value() == !r.path->mailbox->needs_smtputf8());
  if (!ascii.path) RC_ASSERT(ascii.error == PathError::utf8_not_allowed);
}

RC_GTEST_PROP(PathPropertyRfc5321_S4_1_1_3, SourceRouteIsDropped, ()) {
  const std::string wire = *gen_path(false);
  const auto hops = *rc::gen::container<std::vector<std::string>>(rc::gen::resize(3, gen_domain(false)));
  RC_PRE(!hops.empty());
  std::string route;
  for (std::size_t i = 0; i < hops.size() && i < 3; ++i) route += (i ? ",@" : "@") + hops[i];
  const std::string routed = "<" + route + ":" + wire.substr(1);
  SmtpLimits l;
  l.path_bytes_max = 4096;
  const PathParse r = parse_path(routed, l, false, false);
  RC_ASSERT(r.path.has_value());
  RC_ASSERT(r.consumed == routed.size());
  RC_ASSERT(r.path->to_string() == wire);
}

RC_GTEST_PROP(CanonicalPropertyRfc5321_S4_1_2, IdempotentParsesAndNeverLonger, ()) {
  const std::string wire = *gen_path(true);
  const PathParse r = parse_path(wire, SmtpLimits{}, true, false);
  RC_ASSERT(r.path.has_value());
  const Mailbox c = canonical(*r.path->mailbox);
  RC_ASSERT(canonical(c) == c);
  RC_ASSERT(c.local_part.size() <= r.path->mailbox->local_part.size());
  const PathParse cp = parse_path("<" + c.to_string() + ">", SmtpLimits{}, true, false);
  RC_ASSERT(cp.path.has_value());
  RC_ASSERT(*cp.path->mailbox == c);
}

RC_GTEST_PROP(PathPropertyRfc5321_S4_1_2, ArbitraryBytesNeverCrashAndConsumeUpToBracket, (std::string in)) {
  for (int flags = 0; flags < 4; ++flags) {
    const std::string s = "<" + in;
    const PathParse r = parse_path(s, SmtpLimits{}, flags & 1, flags & 2);
    if (r.path) {
      RC_ASSERT(r.consumed >= 2u);
      RC_ASSERT(r.consumed <= s.size());
      RC_ASSERT(s[r.consumed - 1] == '>');
      RC_ASSERT(parse_path(r.path->to_string(), SmtpLimits{}, flags & 1, flags & 2).path == r.path);
    } else {
      RC_ASSERT(r.consumed == 0u);
    }
  }
}

}  // namespace
}  // namespace mail::smtp
