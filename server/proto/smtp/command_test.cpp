// Tests for the SMTP command table and command-line splitting (RFC 5321 §4.1.1, §2.4),
// BDAT arguments (RFC 3030 §2) and EHLO/HELO argument checks (§4.1.1.1).
#include "proto/smtp/command.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <limits>
#include <string>

namespace mail::smtp {
namespace {

TEST(Rfc5321_2_4, VerbsMatchCaseInsensitively) {
  for (std::string_view line : {"MAIL FROM:<a@b>", "mail FROM:<a@b>", "MaIl FROM:<a@b>"}) {
    const Command c = parse_command(line);
    ASSERT_NE(c.spec, nullptr) << line;
    EXPECT_EQ(c.spec->id, Verb::mail);
    EXPECT_EQ(c.arg, "FROM:<a@b>");
  }
}

TEST(Rfc5321_4_1_1, SplitsVerbAndTrimsArgument) {
  Command c = parse_command("  NOOP   hello world \t ");
  ASSERT_NE(c.spec, nullptr);
  EXPECT_EQ(c.verb, "NOOP");
  EXPECT_EQ(c.arg, "hello world");
  c = parse_command("RSET");
  EXPECT_EQ(c.spec->id, Verb::rset);
  EXPECT_EQ(c.arg, "");
  c = parse_command("EHLO\tclient");
  EXPECT_EQ(c.spec->id, Verb::ehlo);
  EXPECT_EQ(c.arg, "client");
}

TEST(Rfc5321_4_2_4, UnknownVerbHasNoSpec) {
  EXPECT_EQ(parse_command("TURN").spec, nullptr);
  EXPECT_EQ(parse_command("MAILX FROM:<a@b>").spec, nullptr);
  EXPECT_EQ(parse_command("").spec, nullptr);
  EXPECT_EQ(parse_command("MAI").spec, nullptr);
}

TEST(Postfix_ForbiddenCommands, HttpAndHeaderLinesAreForbidden) {
  for (std::string_view line : {"GET / HTTP/1.1", "post /", "HEAD /", "PUT /x", "CONNECT a:25 HTTP/1.1",
                                "OPTIONS *", "User-Agent: x", "host: a", "Received: from x"}) {
    const Command c = parse_command(line);
    ASSERT_NE(c.spec, nullptr) << line;
    EXPECT_EQ(c.spec->id, Verb::forbidden) << line;
  }
  // "Host" without the colon is just an unknown word.
  EXPECT_EQ(parse_command("Host a").spec, nullptr);
}

TEST(Postfix_JunkCommandLimit, JunkFlags) {
  for (const CommandSpec& s : kCommandTable) {
    const bool expected = s.id == Verb::noop || s.id == Verb::rset || s.id == Verb::vrfy || s.id == Verb::help ||
                          s.id == Verb::expn || s.id == Verb::ehlo || s.id == Verb::helo;
    EXPECT_EQ(s.junk, expected) << s.verb;
  }
}

TEST(Rfc5321_4_1_4, AllowedStates) {
  auto spec = [](std::string_view v) { return parse_command(v).spec; };
  EXPECT_EQ(spec("MAIL")->allowed, state_bit(State::ready));
  EXPECT_EQ(spec("RCPT")->allowed, state_bit(State::mail) | state_bit(State::rcpt));
  EXPECT_EQ(spec("DATA")->allowed, state_bit(State::rcpt));
  EXPECT_EQ(spec("BDAT")->allowed, kCommandStates);  // sequenced after the size is known
  EXPECT_EQ(spec("NOOP")->allowed, kCommandStates);  // §4.1.4: any time
  EXPECT_EQ(spec("STARTTLS")->allowed, state_bit(State::greeting) | state_bit(State::ready));
  EXPECT_EQ(kCommandStates & state_bit(State::data), 0);
  EXPECT_EQ(kCommandStates & state_bit(State::tls_handshake), 0);
}

TEST(Rfc5321_4_1_1, LineDefects) {
  EXPECT_EQ(line_defect("NOOP"), LineDefect::none);
  EXPECT_EQ(line_defect(std::string_view("NO\0OP", 5)), LineDefect::nul);
  EXPECT_EQ(line_defect(""), LineDefect::empty);
  EXPECT_EQ(line_defect(" \t "), LineDefect::empty);
}

TEST(Rfc3030_2, BdatArguments) {
  auto p = parse_bdat_args("0");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->size, 0u);
  EXPECT_FALSE(p->last);
  p = parse_bdat_args("1000 LAST");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->size, 1000u);
  EXPECT_TRUE(p->last);
  p = parse_bdat_args("7  last");
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->last);
  p = parse_bdat_args("18446744073709551615");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->size, std::numeric_limits<std::uint64_t>::max());
  for (std::string_view bad : {"", "x", "-1", "+1", "1.5", "5LAST", "5 LAST x", "5 FIRST", "18446744073709551616",
                               "99999999999999999999999", " 5", "LAST"}) {
    EXPECT_FALSE(parse_bdat_args(bad)) << bad;
  }
}

RC_GTEST_PROP(Rfc3030_2, BdatSizeRoundTrips, (std::uint64_t n, bool last)) {
  const std::string arg = std::to_string(n) + (last ? " LAST" : "");
  const auto p = parse_bdat_args(arg);
  RC_ASSERT(p.has_value());
  RC_ASSERT(p->size == n);
  RC_ASSERT(p->last == last);
}

TEST(Rfc5321_4_1_1_1, HeloArguments) {
  for (std::string_view ok : {"mx.example", "[192.0.2.1]", "[IPv6:::1]", "b\xc3\xbc" "cher.example", "my_pc", "1.2.3.4",
                              "x"}) {
    EXPECT_TRUE(is_acceptable_helo(ok)) << ok;
  }
  const std::string long_name(256, 'a');
  for (std::string_view bad : {std::string_view(""), std::string_view("a b"), std::string_view("a\x01"),
                               std::string_view("\xff"), std::string_view(long_name)}) {
    EXPECT_FALSE(is_acceptable_helo(bad)) << bad;
  }
}

RC_GTEST_PROP(Rfc5321_4_1_1, ParseNeverFailsAndViewsStayInside, (std::string line)) {
  const Command c = parse_command(line);
  const char* b = line.data();
  const char* e = line.data() + line.size();
  RC_ASSERT(c.verb.empty() || (c.verb.data() >= b && c.verb.data() + c.verb.size() <= e));
  RC_ASSERT(c.arg.empty() || (c.arg.data() >= b && c.arg.data() + c.arg.size() <= e));
  if (c.spec != nullptr) RC_ASSERT(c.verb.size() == c.spec->verb.size());
}

}  // namespace
}  // namespace mail::smtp
