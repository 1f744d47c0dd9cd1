// Tests for ESMTP MAIL/RCPT parameters: RFC 5321 §4.1.2 esmtp-param syntax and §4.1.1.11
// (555), RFC 1870 SIZE, RFC 6152 / RFC 3030 BODY, RFC 6531 §3.4 SMTPUTF8, RFC 3461 §4
// xtext, §4.1 NOTIFY, §4.2 ORCPT, §4.3 RET, §4.4 ENVID, §4.5 duplicates, RFC 4954 §5
// AUTH, and SECURITY.md §5 items 10-11 (parameter injection, malformed name=value).
#include "proto/smtp/params.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <string>

namespace mail::smtp {
namespace {

Extensions all_on() {
  Extensions e;
  e.auth = true;
  e.message_bytes_max = 10'000'000;
  return e;
}

MailParams mail_ok(std::string_view in, const Extensions& ext = all_on()) {
  MailParamsParse r = parse_mail_params(in, ext);
  EXPECT_TRUE(r.params.has_value()) << in << " -> " << r.error.code << " " << r.error.text;
  return r.params.value_or(MailParams{});
}

ParamError mail_err(std::string_view in, const Extensions& ext = all_on()) {
  MailParamsParse r = parse_mail_params(in, ext);
  EXPECT_FALSE(r.params.has_value()) << in;
  return r.error;
}

RcptParams rcpt_ok(std::string_view in, const Extensions& ext = all_on()) {
  RcptParamsParse r = parse_rcpt_params(in, ext);
  EXPECT_TRUE(r.params.has_value()) << in << " -> " << r.error.code << " " << r.error.text;
  return r.params.value_or(RcptParams{});
}

ParamError rcpt_err(std::string_view in, const Extensions& ext = all_on()) {
  RcptParamsParse r = parse_rcpt_params(in, ext);
  EXPECT_FALSE(r.params.has_value()) << in;
  return r.error;
}

void expect_code(const ParamError& e, std::uint16_t code, std::uint8_t subject, std::uint8_t detail) {
  EXPECT_EQ(e.code, code) << e.text;
  EXPECT_EQ(e.enh_subject, subject) << e.text;
  EXPECT_EQ(e.enh_detail, detail) << e.text;
  EXPECT_FALSE(e.text.empty());
  EXPECT_EQ(e.text.find_first_of("\r\n"), std::string::npos);
}

void expect_501(const ParamError& e) { expect_code(e, 501, 5, 4); }
void expect_555(const ParamError& e) { expect_code(e, 555, 5, 4); }

// ---- RFC 5321 §4.1.2 esmtp-param framing ------------------------------------------------

TEST(ParamsRfc5321_S4_1_2, EmptyAndSpacesGiveDefaults) {
  for (const char* in : {"", " ", "   "}) {
    const MailParams p = mail_ok(in);
    EXPECT_FALSE(p.size);
    EXPECT_EQ(p.body, BodyType::seven_bit);
    EXPECT_FALSE(p.smtputf8);
    EXPECT_EQ(p.ret, DsnRet::unspecified);
    EXPECT_FALSE(p.envid);
    EXPECT_FALSE(p.auth);
    const RcptParams r = rcpt_ok(in);
    EXPECT_FALSE(r.notify.any());
    EXPECT_FALSE(r.orcpt);
  }
}

TEST(ParamsRfc5321_S4_1_2, SeveralParametersAnyCaseExtraSpaces) {
  const MailParams p = mail_ok("  size=1000   Body=8bitmime SmtpUtf8 ret=hdrs envid=QQ314159 ");
  EXPECT_EQ(p.size, 1000u);
  EXPECT_EQ(p.body, BodyType::eight_bit_mime);
  EXPECT_TRUE(p.smtputf8);
  EXPECT_EQ(p.ret, DsnRet::headers);
  EXPECT_EQ(p.envid, "QQ314159");
}

TEST(ParamsRfc5321_S4_1_2, KeywordSyntax) {
  expect_501(mail_err("="));             // a bare "=" (SECURITY.md §5 item 11)
  expect_501(mail_err("=1000"));
  expect_501(mail_err("-SIZE=1"));       // (ALPHA / DIGIT) first
  expect_501(mail_err("SI_ZE=1"));
  expect_501(mail_err("SIZE.=1"));
  expect_501(mail_err("SIZE\t=1"));
}

TEST(ParamsRfc5321_S4_1_2, ValueSyntaxNoEqualsNoControls) {
  expect_501(mail_err("BODY=8BITMIME=x"));  // SECURITY.md §5 item 11
  expect_501(mail_err("SIZE="));
  expect_501(mail_err("SIZE=1\t2"));
  expect_501(mail_err(std::string("SIZE=1\0", 7)));
  expect_501(mail_err("ENVID=a\x7f"));
  expect_501(mail_err("ENVID=a\r\nRSET"));
  expect_501(mail_err("X-FOO=\xC3"));        // RFC 6531 §3.3: only well-formed UTF-8
  expect_555(mail_err("X-FOO=\xC3\xB6"));    // well-formed: then merely unknown
}

TEST(ParamsRfc5321_S4_1_1_11, UnknownKeywordIs555) {
  const ParamError e = mail_err("FOO=bar");
  expect_555(e);
  EXPECT_EQ(e.text, "Unsupported parameter FOO");
  expect_555(mail_err("XVERP"));
  expect_555(rcpt_err("x-something=1"));
  EXPECT_EQ(mail_err("x-" + std::string(200, 'k')).text.size(), std::string("Unsupported parameter ").size() + 32);
}

TEST(ParamsRfc5321_S4_1_2, RcptParametersAreUnknownOnMailAndViceVersa) {
  expect_555(mail_err("NOTIFY=NEVER"));
  expect_555(mail_err("ORCPT=rfc822;a@b"));
  expect_555(rcpt_err("SIZE=10"));
  expect_555(rcpt_err("BODY=8BITMIME"));
  expect_555(rcpt_err("RET=FULL"));
  expect_555(rcpt_err("SMTPUTF8"));
}

TEST(ParamsSecurity_S5_11, SixteenParametersThenTooMany) {
  std::string sixteen;
  for (int i = 0; i < 16; ++i) sixteen += " X-P" + std::to_string(i) + "=1";
  // 16 tokens pass the budget and fail later, as unknown.
  expect_555(mail_err(sixteen));
  const ParamError e = mail_err(sixteen + " SIZE=1");
  expect_501(e);
  EXPECT_EQ(e.text, "Too many parameters");
}

TEST(ParamsSecurity_S5_11, AThousandParameters) {
  std::string in;
  for (int i = 0; i < 1000; ++i) in += " SMTPUTF8";
  const ParamError e = mail_err(in);
  expect_501(e);
  EXPECT_EQ(e.text, "Too many parameters");
  expect_501(rcpt_err(in));
}

TEST(ParamsSecurity_S5_11, ValueOf1024AcceptedAnd1025Rejected) {
  expect_555(mail_err("X-FOO=" + std::string(1024, 'v')));  // within budget: just unknown
  const ParamError e = mail_err("X-FOO=" + std::string(1025, 'v'));
  expect_501(e);
  EXPECT_EQ(e.text, "Parameter value too long");
  expect_501(mail_err("ENVID=" + std::string(4096, 'v')));  // a 4 KB value
}

TEST(ParamsRfc5321_S4_1_2, FirstErrorInOrderWins) {
  expect_555(mail_err("FOO=1 SIZE=x"));
  expect_501(mail_err("SIZE=x FOO=1"));
}

TEST(ParamErrorRfc3463_S2, ReplyCarriesCodeAndEnhancedCode) {
  EXPECT_EQ(mail_err("FOO=1").reply().to_wire(true), "555 5.5.4 Unsupported parameter FOO\r\n");
  EXPECT_EQ(mail_err("SIZE=x").reply().to_wire(true), "501 5.5.4 Bad SIZE value\r\n");
  Extensions small = all_on();
  small.message_bytes_max = 10;
  EXPECT_EQ(mail_err("SIZE=11", small).reply().to_wire(true),
            "552 5.3.4 Message size exceeds fixed maximum message size\r\n");
}

// ---- RFC 1870 SIZE ------------------------------------------------------------------------

TEST(SizeRfc1870_S6_1, DeclaredSizeWithinLimit) {
  EXPECT_EQ(mail_ok("SIZE=0").size, 0u);
  EXPECT_EQ(mail_ok("SIZE=10000000").size, 10'000'000u);   // exactly the limit
  EXPECT_EQ(mail_ok("SIZE=0000000000000000012").size, 12u);  // 19 digits, leading zeros
}

TEST(SizeRfc1870_S6_1, OverTheLimitIs552_5_3_4) {
  const ParamError e = mail_err("SIZE=10000001");
  expect_code(e, 552, 3, 4);
  EXPECT_EQ(e.text, "Message size exceeds fixed maximum message size");
}

TEST(SizeRfc1870_S4, ZeroLimitMeansNoFixedMaximum) {
  Extensions e = all_on();
  e.message_bytes_max = 0;
  EXPECT_EQ(mail_ok("SIZE=18446744073709551615", e).size, UINT64_MAX);
}

TEST(SizeRfc1870_S3, MalformedValuesAre501) {
  // SECURITY.md §5 item 11: SIZE=, SIZE=99999999999999999999, SIZE=-1.
  for (const char* in : {"SIZE=", "SIZE=-1", "SIZE=+1", "SIZE=1k", "SIZE=1.5", "SIZE=0x10", "SIZE= 1",
                         "SIZE=99999999999999999999", "SIZE=18446744073709551616", "SIZE=000000000000000000001",
                         "SIZE"}) {
    const ParamError e = mail_err(in);
    expect_501(e);
  }
}

TEST(SizeRfc1870_S3, Uint64MaxIsTheLargestParsableThenLimitApplies) {
  expect_code(mail_err("SIZE=18446744073709551615"), 552, 3, 4);
}

TEST(SizeRfc1870_S6_1, SyntaxErrorsReportedBeforeOversize) {
  expect_501(mail_err("SIZE=99999999 BODY=bogus"));
}

TEST(SizeRfc1870_S4, NotAdvertisedIs555) {
  Extensions e = all_on();
  e.size = false;
  expect_555(mail_err("SIZE=10", e));
}

TEST(SizeRfc1870_S6, DuplicateIs501) { expect_501(mail_err("SIZE=10 SIZE=10")); }

// ---- RFC 6152 / RFC 3030 BODY ---------------------------------------------------------------

TEST(BodyRfc6152_S2, SevenBitAnd8BitMime) {
  EXPECT_EQ(mail_ok("BODY=7BIT").body, BodyType::seven_bit);
  EXPECT_EQ(mail_ok("BODY=8BITMIME").body, BodyType::eight_bit_mime);
  EXPECT_EQ(mail_ok("body=8bitmime").body, BodyType::eight_bit_mime);
}

TEST(BodyRfc3030_S3, BinaryMime) { EXPECT_EQ(mail_ok("BODY=BINARYMIME").body, BodyType::binary_mime); }

TEST(BodyRfc6152_S2, BadValuesAre501) {
  for (const char* in : {"BODY=", "BODY", "BODY=8BIT", "BODY=7BITMIME", "BODY=8BITMIME=x", "BODY=BINARY"})
    expect_501(mail_err(in));
}

TEST(BodyRfc6152_S2, OnlyWhenAdvertised) {
  Extensions none = all_on();
  none.eight_bit_mime = false;
  none.binary_mime = false;
  expect_555(mail_err("BODY=7BIT", none));
  Extensions only_binary = all_on();
  only_binary.eight_bit_mime = false;
  EXPECT_EQ(mail_ok("BODY=7BIT", only_binary).body, BodyType::seven_bit);
  expect_555(mail_err("BODY=8BITMIME", only_binary));
  Extensions only_8bit = all_on();
  only_8bit.binary_mime = false;
  expect_555(mail_err("BODY=BINARYMIME", only_8bit));
  EXPECT_EQ(mail_ok("BODY=8BITMIME", only_8bit).body, BodyType::eight_bit_mime);
}

TEST(BodyRfc6152_S2, DuplicateIs501) { expect_501(mail_err("BODY=7BIT BODY=8BITMIME")); }

// ---- RFC 6531 §3.4 SMTPUTF8 -------------------------------------------------------------

TEST(Smtputf8Rfc6531_S3_4, NoValue) {
  EXPECT_TRUE(mail_ok("SMTPUTF8").smtputf8);
  EXPECT_TRUE(mail_ok("smtputf8 BODY=8BITMIME").smtputf8);
  expect_501(mail_err("SMTPUTF8=yes"));
  expect_501(mail_err("SMTPUTF8="));
  expect_501(mail_err("SMTPUTF8 SMTPUTF8"));
  Extensions e = all_on();
  e.smtputf8 = false;
  expect_555(mail_err("SMTPUTF8", e));
}

// ---- RFC 3461 §4.3 RET, §4.4 ENVID, §4.5 ----------------------------------------------------

TEST(RetRfc3461_S4_3, FullOrHdrsAnyCase) {
  EXPECT_EQ(mail_ok("RET=FULL").ret, DsnRet::full);
  EXPECT_EQ(mail_ok("ret=Hdrs").ret, DsnRet::headers);
  for (const char* in : {"RET=", "RET", "RET=HEADERS", "RET=FULLX"}) expect_501(mail_err(in));
}

TEST(RetRfc3461_S4_5, DuplicateIs501) { expect_501(mail_err("RET=FULL RET=HDRS")); }

TEST(EnvidRfc3461_S4_4, XtextDecoded) {
  EXPECT_EQ(mail_ok("ENVID=QQ314159").envid, "QQ314159");
  EXPECT_EQ(mail_ok("ENVID=a+2Bb+3Dc+20d").envid, "a+b=c d");
}

TEST(EnvidRfc3461_S4_4, HundredCharactersAcceptedAnd101Rejected) {
  EXPECT_EQ(mail_ok("ENVID=" + std::string(100, 'e')).envid->size(), 100u);
  const ParamError e = mail_err("ENVID=" + std::string(101, 'e'));
  expect_501(e);
  EXPECT_EQ(e.text, "ENVID too long");
}

TEST(EnvidRfc3461_S4_4, InjectionAndNonPrintableRejected) {
  // SECURITY.md §5 item 10.
  for (const char* in : {"ENVID=+0A", "ENVID=a+0D+0Ab", "ENVID=+00", "ENVID=+01", "ENVID=+7F", "ENVID=+C3+B6",
                         "ENVID=+0a", "ENVID=+", "ENVID=+4", "ENVID=", "ENVID"})
    expect_501(mail_err(in));
}

TEST(EnvidRfc3461_S4_5, DuplicateIs501) { expect_501(mail_err("ENVID=a ENVID=b")); }

TEST(DsnRfc3461_S3, NotAdvertisedIs555) {
  Extensions e = all_on();
  e.dsn = false;
  expect_555(mail_err("RET=FULL", e));
  expect_555(mail_err("ENVID=x", e));
  expect_555(rcpt_err("NOTIFY=NEVER", e));
  expect_555(rcpt_err("ORCPT=rfc822;a@b", e));
}

// ---- RFC 4954 §5 AUTH -------------------------------------------------------------------

TEST(AuthRfc4954_S5, MailboxOrUnknown) {
  EXPECT_EQ(mail_ok("AUTH=<>").auth, "<>");
  EXPECT_EQ(mail_ok("AUTH=user@example.com").auth, "user@example.com");
  EXPECT_EQ(mail_ok("AUTH=e+2Bmc2@example.com").auth, "e+mc2@example.com");
}

TEST(AuthRfc4954_S5, InjectionAndNonMailboxRejected) {
  // SECURITY.md §5 item 10: MAIL FROM:<> AUTH=x+0AX-Injected:+20y.
  const ParamError e = mail_err("AUTH=x+0AX-Injected:+20y");
  expect_501(e);
  expect_501(mail_err("AUTH=not-a-mailbox"));
  expect_501(mail_err("AUTH=a+0D@b.c"));
  expect_501(mail_err("AUTH=a+09@b.c"));
  expect_501(mail_err("AUTH=<a@b.c>"));
  expect_501(mail_err("AUTH="));
  expect_501(mail_err("AUTH=<> AUTH=<>"));
}

TEST(AuthRfc4954_S5, OnlyWhenAdvertised) {
  Extensions e = all_on();
  e.auth = false;
  expect_555(mail_err("AUTH=<>", e));
}

// ---- RFC 3461 §4.1 NOTIFY ---------------------------------------------------------------

TEST(NotifyRfc3461_S4_1, NeverAlone) {
  const RcptParams p = rcpt_ok("NOTIFY=NEVER");
  EXPECT_TRUE(p.notify.never);
  EXPECT_FALSE(p.notify.success || p.notify.failure || p.notify.delay);
}

TEST(NotifyRfc3461_S4_1, ListAnyCase) {
  const RcptParams p = rcpt_ok("NOTIFY=success,Failure,DELAY");
  EXPECT_TRUE(p.notify.success);
  EXPECT_TRUE(p.notify.failure);
  EXPECT_TRUE(p.notify.delay);
  EXPECT_FALSE(p.notify.never);
  const RcptParams q = rcpt_ok("notify=FAILURE");
  EXPECT_TRUE(q.notify.failure);
  EXPECT_FALSE(q.notify.success);
}

TEST(NotifyRfc3461_S4_1, NeverIsExclusive) {
  const ParamError e = rcpt_err("NOTIFY=NEVER,SUCCESS");
  expect_501(e);
  expect_501(rcpt_err("NOTIFY=FAILURE,NEVER"));
  expect_501(rcpt_err("NOTIFY=NEVER,NEVER"));
}

TEST(NotifyRfc3461_S4_1, BadLists) {
  for (const char* in : {"NOTIFY=", "NOTIFY", "NOTIFY=SUCCESS,", "NOTIFY=,SUCCESS", "NOTIFY=SUCCESS,,DELAY",
                         "NOTIFY=BOGUS", "NOTIFY=SUCCESS;FAILURE"})
    expect_501(rcpt_err(in));
}

TEST(NotifyRfc3461_S4_5, DuplicateIs501) { expect_501(rcpt_err("NOTIFY=NEVER NOTIFY=NEVER")); }

// ---- RFC 3461 §4.2 ORCPT ------------------------------------------------------------------

TEST(OrcptRfc3461_S4_2, AddrTypeAndDecodedAddress) {
  const RcptParams p = rcpt_ok("NOTIFY=SUCCESS ORCPT=rfc822;Bob+2Bx@example.com");
  EXPECT_EQ(p.orcpt_type, "rfc822");
  EXPECT_EQ(p.orcpt, "Bob+x@example.com");
  EXPECT_EQ(rcpt_ok("ORCPT=RFC822;a@b").orcpt_type, "RFC822");  // kept as sent
}

TEST(OrcptRfc3461_S4_2, FiveHundredAcceptedAnd501Rejected) {
  const std::string head = "rfc822;";
  EXPECT_TRUE(rcpt_ok("ORCPT=" + head + std::string(500 - head.size(), 'o')).orcpt);
  const ParamError e = rcpt_err("ORCPT=" + head + std::string(501 - head.size(), 'o'));
  expect_501(e);
  EXPECT_EQ(e.text, "ORCPT too long");
}

TEST(OrcptRfc3461_S4_2, Malformed) {
  for (const char* in : {"ORCPT=", "ORCPT", "ORCPT=rfc822", "ORCPT=;a@b", "ORCPT=rfc822;", "ORCPT=rf(c;a@b",
                         "ORCPT=rfc822;a+2", "ORCPT=rfc822;a+2b", "ORCPT=rfc822;+1F"})
    expect_501(rcpt_err(in));
}

TEST(OrcptRfc3461_S4_2, InjectionRejected) {
  // SECURITY.md §5 item 10: RCPT TO:<a@ours.test> NOTIFY=SUCCESS ORCPT=rfc822;a+0D+0Ab@c.
  expect_501(rcpt_err("NOTIFY=SUCCESS ORCPT=rfc822;a+0D+0Ab@c"));
  expect_501(rcpt_err("ORCPT=rfc822;a+0Ab@c"));
  expect_501(rcpt_err("ORCPT=rfc822;a+00b@c"));
}

TEST(OrcptRfc3461_S4_5, DuplicateIs501) { expect_501(rcpt_err("ORCPT=rfc822;a@b ORCPT=rfc822;a@b")); }

// ---- RFC 3461 §4 xtext ---------------------------------------------------------------------

TEST(XtextRfc3461_S4, Decode) {
  EXPECT_EQ(xtext_decode(""), "");
  EXPECT_EQ(xtext_decode("abc"), "abc");
  EXPECT_EQ(xtext_decode("+2B"), "+");
  EXPECT_EQ(xtext_decode("+3D"), "=");
  EXPECT_EQ(xtext_decode("+41+42"), "AB");  // xchars MAY be hexchars
  EXPECT_EQ(xtext_decode("a+20b"), "a b");
  EXPECT_EQ(xtext_decode("+C3+B6"), "\xC3\xB6");
  EXPECT_EQ(xtext_decode("!~"), "!~");
}

TEST(XtextRfc3461_S4, DecodeRejects) {
  for (const char* bad : {"+", "+2", "a+", "+2b", "+ab", "+GG", "+-1", "=", "a=b", "a b"}) {
    EXPECT_FALSE(xtext_decode(bad)) << bad;
  }
  EXPECT_FALSE(xtext_decode("\x80"));
  EXPECT_FALSE(xtext_decode("\t"));
  EXPECT_FALSE(xtext_decode(std::string("a\0b", 3)));
}

TEST(XtextSecurity_S5_10, DecodedCrLfNulRejected) {
  EXPECT_FALSE(xtext_decode("+0D"));
  EXPECT_FALSE(xtext_decode("+0A"));
  EXPECT_FALSE(xtext_decode("+00"));
  EXPECT_FALSE(xtext_decode("x+0D+0AX-Injected:+20y"));
  EXPECT_EQ(xtext_decode("+09"), "\t");  // other controls are the caller's policy
}

TEST(XtextRfc3461_S4, Encode) {
  EXPECT_EQ(xtext_encode("abc"), "abc");
  EXPECT_EQ(xtext_encode("a+b=c d"), "a+2Bb+3Dc+20d");
  EXPECT_EQ(xtext_encode(std::string("\0\r\n\x7f\xff", 5)), "+00+0D+0A+7F+FF");
  EXPECT_EQ(xtext_encode("!~"), "!~");
}

RC_GTEST_PROP(XtextPropertyRfc3461_S4, DecodeEncodeRoundTrip, (std::string x)) {
  RC_PRE(x.find_first_of(std::string("\r\n\0", 3)) == std::string::npos);
  const std::string enc = xtext_encode(x);
  for (char c : enc) {
    const auto u = static_cast<unsigned char>(c);
    RC_ASSERT(u >= 33);
    RC_ASSERT(u <= 126);
    RC_ASSERT(c != '=');
  }
  const auto dec = xtext_decode(enc);
  RC_ASSERT(dec.has_value());
  RC_ASSERT(*dec == x);
}

RC_GTEST_PROP(XtextPropertySecurity_S5_10, DecodedNeverHoldsCrLfNul, (std::string in)) {
  const auto dec = xtext_decode(in);
  if (dec) RC_ASSERT(dec->find_first_of(std::string("\r\n\0", 3)) == std::string::npos);
}

RC_GTEST_PROP(ParamsPropertySecurity_S5_10, AcceptedValuesNeverHoldLineBreaks, (std::string in)) {
  const MailParamsParse m = parse_mail_params(in, all_on());
  if (m.params) {
    if (m.params->envid) RC_ASSERT(m.params->envid->find_first_of(std::string("\r\n\0", 3)) == std::string::npos);
    if (m.params->auth) RC_ASSERT(m.params->auth->find_first_of(std::string("\r\n\0", 3)) == std::string::npos);
  } else {
    RC_ASSERT(m.error.code >= 500);
    RC_ASSERT(m.error.text.find_first_of("\r\n") == std::string::npos);
  }
  const RcptParamsParse r = parse_rcpt_params(in, all_on());
  if (r.params && r.params->orcpt)
    RC_ASSERT(r.params->orcpt->find_first_of(std::string("\r\n\0", 3)) == std::string::npos);
}

}  // namespace
}  // namespace mail::smtp
