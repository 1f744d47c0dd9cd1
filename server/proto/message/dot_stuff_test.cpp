// Tests for SMTP DATA transparency (RFC 5321 §4.5.2): dot_stuff for outbound content, its
// inverse dot_unstuff, and the smuggling guard (no premature "<EOL>.<EOL>" for any CR/LF
// reading, Dovecot CVE-2026-33604). RapidCheck: unstuff(stuff(x)) == x.
#include "proto/message/dot_stuff.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <string>

namespace mail::message {
namespace {

using namespace std::string_literals;

TEST(DotStuffRfc5321_S4_5_2, PlainContentGetsTerminator) {
  EXPECT_EQ(dot_stuff("Hello\r\n"), "Hello\r\n.\r\n");
  EXPECT_EQ(dot_stuff("a\r\nb\r\n"), "a\r\nb\r\n.\r\n");
}

TEST(DotStuffRfc5321_S4_5_2, LeadingDotDoubled) {
  EXPECT_EQ(dot_stuff(".\r\n"), "..\r\n.\r\n");
  EXPECT_EQ(dot_stuff(".hidden\r\n..two\r\n"), "..hidden\r\n...two\r\n.\r\n");
  EXPECT_EQ(dot_stuff("a\r\n.\r\nb\r\n"), "a\r\n..\r\nb\r\n.\r\n");
  EXPECT_EQ(dot_stuff("a.b\r\n"), "a.b\r\n.\r\n");  // only at line starts
}

TEST(DotStuffRfc5321_S4_5_2, MissingFinalCrlfAppended) {
  EXPECT_EQ(dot_stuff("no newline"), "no newline\r\n.\r\n");
  EXPECT_EQ(dot_stuff("a\r\n."), "a\r\n..\r\n.\r\n");
  EXPECT_EQ(dot_stuff("."), "..\r\n.\r\n");
  EXPECT_EQ(dot_stuff("a\r"), "a\r\r\n.\r\n");  // a trailing bare CR stays content
  EXPECT_EQ(dot_stuff("a\n"), "a\n\r\n.\r\n");
}

TEST(DotStuffRfc5321_S4_5_2, EmptyContentIsJustTheTerminator) {
  EXPECT_EQ(dot_stuff(""), ".\r\n");
  EXPECT_EQ(dot_stuff("\r\n"), "\r\n.\r\n");
}

TEST(DotStuffCve2026_33604, DotsAfterBareCrOrLfAreDoubledToo) {
  EXPECT_EQ(dot_stuff("a\n.\nb\r\n"), "a\n..\nb\r\n.\r\n");
  EXPECT_EQ(dot_stuff("a\r.\rb\r\n"), "a\r..\rb\r\n.\r\n");
  EXPECT_EQ(dot_stuff("a\n.\r\nb\r\n"), "a\n..\r\nb\r\n.\r\n");
  EXPECT_EQ(dot_stuff("a\r\n.\rb\r\n"), "a\r\n..\rb\r\n.\r\n");
  EXPECT_EQ(dot_stuff("a\r.\r\n"), "a\r..\r\n.\r\n");
}

bool premature_end(const std::string& stuffed) {
  // Any receiver's notion of "line end, '.', line end" before the real terminator.
  const std::string body = stuffed.substr(0, stuffed.size() - 3);
  for (const char* eol1 : {"\r\n", "\n", "\r"})
    for (const char* eol2 : {"\r\n", "\n", "\r"})
      if (body.find(std::string(eol1) + "." + eol2) != std::string::npos) return true;
  return body.rfind(".\r\n", 0) == 0 || body.rfind(".\n", 0) == 0 || body.rfind(".\r", 0) == 0;
}

TEST(DotStuffSecurity_S1, SmugglingSequencesNeverSurvive) {
  for (const std::string& in : {"x\r\n.\r\nMAIL FROM:<a@b>\r\n"s, "x\n.\nMAIL FROM:<a@b>\r\n"s,
                                "x\r.\rMAIL FROM:<a@b>\r\n"s, "x\n.\r\nMAIL FROM:<a@b>\r\n"s,
                                "x\r\n.\nMAIL FROM:<a@b>\r\n"s, "x\r\n.\rMAIL\r\n"s, ".\n"s, ".\r"s}) {
    const std::string s = dot_stuff(in);
    EXPECT_FALSE(premature_end(s)) << s;
  }
}

TEST(DotUnstuffRfc5321_S4_5_2, Inverse) {
  EXPECT_EQ(dot_unstuff("Hello\r\n.\r\n"), "Hello\r\n");
  EXPECT_EQ(dot_unstuff("..\r\n.\r\n"), ".\r\n");
  EXPECT_EQ(dot_unstuff("..hidden\r\n...two\r\n.\r\n"), ".hidden\r\n..two\r\n");
  EXPECT_EQ(dot_unstuff(".\r\n"), "");
  EXPECT_EQ(dot_unstuff("\r\n.\r\n"), "\r\n");
  EXPECT_EQ(dot_unstuff("a\n..\nb\r\n.\r\n"), "a\n.\nb\r\n");
}

TEST(DotUnstuffRfc5321_S4_5_2, ReceiverRuleDropsASingleLeadingDot) {
  // "If the first character is a period and there are other characters on the line, the
  // first character is deleted."
  EXPECT_EQ(dot_unstuff(".abc\r\n.\r\n"), "abc\r\n");
}

TEST(DotUnstuffRfc5321_S4_5_2, MissingOrMisplacedTerminator) {
  EXPECT_FALSE(dot_unstuff(""));
  EXPECT_FALSE(dot_unstuff("abc\r\n"));
  EXPECT_FALSE(dot_unstuff("abc.\r\n"));            // not at a line start
  EXPECT_FALSE(dot_unstuff("abc\n.\r\n"));          // after a bare LF: not the terminator
  EXPECT_FALSE(dot_unstuff("abc\r\n.\r"));
  EXPECT_FALSE(dot_unstuff("a\r\n.\r\nb\r\n.\r\n"));  // premature terminator
  EXPECT_FALSE(dot_unstuff(".\r\nb\r\n.\r\n"));
}

// Content generator biased towards the interesting octets.
rc::Gen<std::string> gen_content(bool crlf_only) {
  auto piece = crlf_only ? rc::gen::element<std::string>(".", "..", "\r\n", "a", "b ", "\r\n.\r\n", "x.y")
                         : rc::gen::element<std::string>(".", "..", "\r\n", "\r", "\n", "a", "\r\n.\r\n", "\n.\n",
                                                         "\r.\r", "\0"s);
  return rc::gen::map(rc::gen::container<std::vector<std::string>>(piece), [](std::vector<std::string> v) {
    std::string s;
    for (auto& p : v) s += p;
    return s;
  });
}

RC_GTEST_PROP(DotStuffPropertyRfc5321_S4_5_2, UnstuffInvertsStuffForCrlfContent, ()) {
  std::string x = *gen_content(true);
  if (!x.empty() && (x.size() < 2 || x.substr(x.size() - 2) != "\r\n")) x += "\r\n";
  const auto back = dot_unstuff(dot_stuff(x));
  RC_ASSERT(back.has_value());
  RC_ASSERT(*back == x);
}

RC_GTEST_PROP(DotStuffPropertyCve2026_33604, UnstuffInvertsStuffEvenWithBareCrLf, ()) {
  std::string x = *gen_content(false);
  if (!x.empty() && (x.size() < 2 || x.substr(x.size() - 2) != "\r\n")) x += "\r\n";
  const auto back = dot_unstuff(dot_stuff(x));
  RC_ASSERT(back.has_value());
  RC_ASSERT(*back == x);
}

RC_GTEST_PROP(DotStuffPropertyRfc5321_S4_5_2, NoPrematureTerminatorForAnyInput, (std::string raw)) {
  const std::string x = raw + *gen_content(false);
  const std::string s = dot_stuff(x);
  RC_ASSERT(s.size() >= 3u);
  RC_ASSERT(s.substr(s.size() - 3) == ".\r\n");
  RC_ASSERT(s.find("\r\n.\r\n") == std::string::npos || s.find("\r\n.\r\n") == s.size() - 5);
  RC_ASSERT(!premature_end(s));
  RC_ASSERT(s.size() <= 2 * x.size() + 5);
}

RC_GTEST_PROP(DotStuffPropertyRfc5321_S4_5_2, ArbitraryStuffedInputNeverCrashes, (std::string raw)) {
  const auto r = dot_unstuff(raw + ".\r\n");
  if (r) RC_ASSERT(r->size() <= raw.size());
}

// The byte-at-a-time definition; dot_stuff scans 16 octets at a time and must agree with it
// at every offset, block boundary and carry (inputs of mostly '.', CR, LF, up to ~200 octets).
std::string reference_stuff(std::string_view in) {
  std::string out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '.' && (i == 0 || in[i - 1] == '\r' || in[i - 1] == '\n')) out += '.';
    out += in[i];
  }
  if (!in.empty() && (in.size() < 2 || in.substr(in.size() - 2) != "\r\n")) out += "\r\n";
  return out + ".\r\n";
}

RC_GTEST_PROP(DotStuffPropertyRfc5321_S4_5_2, VectorScanMatchesByteDefinition, ()) {
  const auto x = *rc::gen::container<std::string>(rc::gen::element('.', '\r', '\n', 'a'));
  RC_ASSERT(dot_stuff(x) == reference_stuff(x));
}

}  // namespace
}  // namespace mail::message
