// Tests for the client-side reply parser and EHLO capability parsing (RFC 5321 §4.2,
// §4.5.3.1.5; RFC 2034 / 3463; RFC 1870, 2920, 3030, 4954 keywords). Includes the
// segmentation-invariance property: whole or split at any byte, the same replies come out.
#include "proto/smtp/reply_parser.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <string>
#include <vector>

namespace mail::smtp {
namespace {

struct Parsed {
  std::vector<Reply> replies;
  ReplyError error = ReplyError::none;
  std::size_t consumed = 0;
};

// Feeds `in` in pieces given by `cuts` (increasing offsets), collecting every reply.
Parsed parse_all(std::string_view in, const std::vector<std::size_t>& cuts = {}, ReplyLimits limits = {}) {
  ReplyParser p(limits);
  Parsed out;
  std::size_t start = 0;
  auto run = [&](std::string_view piece) {
    std::size_t pos = 0;
    while (pos < piece.size() && out.error == ReplyError::none) {
      const auto step = p.parse(piece.substr(pos));
      pos += step.consumed;
      if (step.status == ReplyParser::Status::error) {
        out.error = p.error();
      } else if (step.status == ReplyParser::Status::ok) {
        out.replies.push_back(p.take());
      } else {
        EXPECT_EQ(pos, piece.size());
      }
    }
    out.consumed += pos;
  };
  for (std::size_t c : cuts) {
    if (c <= start || c >= in.size()) continue;
    run(in.substr(start, c - start));
    start = c;
  }
  run(in.substr(start));
  return out;
}

bool same(const Reply& a, const Reply& b) {
  return a.code == b.code && a.enhanced == b.enhanced && a.lines == b.lines;
}

TEST(ReplyParser, SingleLine) {
  auto r = parse_all("250 OK\r\n");
  ASSERT_EQ(r.replies.size(), 1u);
  EXPECT_EQ(r.replies[0].code, 250);
  EXPECT_TRUE(r.replies[0].enhanced.empty());
  EXPECT_EQ(r.replies[0].lines, std::vector<std::string>{"OK"});
}

TEST(ReplyParser, CodeAloneIsALastLine) {
  // Reply-code [ SP textstring ] CRLF: the text may be omitted on the last line.
  auto r = parse_all("250\r\n");
  ASSERT_EQ(r.replies.size(), 1u);
  EXPECT_EQ(r.replies[0].lines, std::vector<std::string>{""});
  // and on continuation lines: Reply-code "-" [ textstring ]
  r = parse_all("250-\r\n250 x\r\n");
  ASSERT_EQ(r.replies.size(), 1u);
  EXPECT_EQ(r.replies[0].lines, (std::vector<std::string>{"", "x"}));
}

TEST(ReplyParser, MultiLine) {
  auto r = parse_all("250-mx.example.org Hello\r\n250-PIPELINING\r\n250 SIZE 1000\r\n");
  ASSERT_EQ(r.replies.size(), 1u);
  EXPECT_EQ(r.replies[0].lines, (std::vector<std::string>{"mx.example.org Hello", "PIPELINING", "SIZE 1000"}));
}

TEST(ReplyParser, StopsAfterOneReply) {
  ReplyParser p;
  const std::string in = "250 one\r\n354 two\r\n";
  auto s = p.parse(in);
  EXPECT_EQ(s.status, ReplyParser::Status::ok);
  EXPECT_EQ(s.consumed, 9u);
  EXPECT_EQ(p.take().code, 250);
  s = p.parse(std::string_view(in).substr(9));
  EXPECT_EQ(s.status, ReplyParser::Status::ok);
  EXPECT_EQ(p.take().code, 354);
  EXPECT_TRUE(p.idle());
}

TEST(ReplyParser, EnhancedCodeStrippedFromEveryLine) {
  auto r = parse_all("550-5.1.1 first\r\n550-5.1.1\r\n550 5.1.1 last\r\n");
  ASSERT_EQ(r.replies.size(), 1u);
  EXPECT_EQ(r.replies[0].enhanced, (EnhancedCode{5, 1, 1}));
  EXPECT_EQ(r.replies[0].lines, (std::vector<std::string>{"first", "", "last"}));
  EXPECT_EQ(r.replies[0].to_wire(true), "550-5.1.1 first\r\n550-5.1.1\r\n550 5.1.1 last\r\n");
}

TEST(ReplyParser, EnhancedCodeRules) {
  EXPECT_EQ(parse_enhanced_code("2.0.0 ok", 250), (EnhancedCode{2, 0, 0}));
  EXPECT_EQ(parse_enhanced_code("4.7.10", 454), (EnhancedCode{4, 7, 10}));
  EXPECT_EQ(parse_enhanced_code("5.123.999 x", 554), (EnhancedCode{5, 123, 999}));
  EXPECT_TRUE(parse_enhanced_code("5.1.1 class mismatch", 250).empty());
  EXPECT_TRUE(parse_enhanced_code("3.1.1 x", 354).empty());  // class 3 does not exist
  EXPECT_TRUE(parse_enhanced_code("5.1234.1 x", 550).empty());
  EXPECT_TRUE(parse_enhanced_code("5.1.1x", 550).empty());
  EXPECT_TRUE(parse_enhanced_code("5..1 x", 550).empty());
  EXPECT_TRUE(parse_enhanced_code("5.1", 550).empty());
  EXPECT_TRUE(parse_enhanced_code("", 550).empty());
  // A mismatched class stays in the text.
  auto r = parse_all("250 5.1.1 odd\r\n");
  ASSERT_EQ(r.replies.size(), 1u);
  EXPECT_TRUE(r.replies[0].enhanced.empty());
  EXPECT_EQ(r.replies[0].lines[0], "5.1.1 odd");
}

TEST(ReplyParser, BareLfTolerated) {
  auto r = parse_all("250-a\n250 b\n");
  ASSERT_EQ(r.replies.size(), 1u);
  EXPECT_EQ(r.replies[0].lines, (std::vector<std::string>{"a", "b"}));
}

TEST(ReplyParser, Garbage) {
  EXPECT_EQ(parse_all("hello\r\n").error, ReplyError::bad_code);
  EXPECT_EQ(parse_all("25\r\n").error, ReplyError::bad_code);
  EXPECT_EQ(parse_all("199 x\r\n").error, ReplyError::bad_code);
  EXPECT_EQ(parse_all("600 x\r\n").error, ReplyError::bad_code);
  EXPECT_EQ(parse_all("260 x\r\n").error, ReplyError::bad_code);  // %x30-35 second digit
  EXPECT_EQ(parse_all("2500 x\r\n").error, ReplyError::bad_separator);
  EXPECT_EQ(parse_all("250_x\r\n").error, ReplyError::bad_separator);
  EXPECT_EQ(parse_all("250-a\r\n251 b\r\n").error, ReplyError::code_mismatch);
  EXPECT_EQ(parse_all("250 a\rb\r\n").error, ReplyError::bad_character);
  EXPECT_EQ(parse_all("250 a\r\r\n").error, ReplyError::bad_character);
  EXPECT_EQ(parse_all(std::string("250 a\0b\r\n", 9)).error, ReplyError::bad_character);
  EXPECT_EQ(parse_all("\r\n").error, ReplyError::bad_code);
}

TEST(ReplyParser, ErrorIsSticky) {
  ReplyParser p;
  EXPECT_EQ(p.parse("xx\r\n").status, ReplyParser::Status::error);
  const auto s = p.parse("250 ok\r\n");
  EXPECT_EQ(s.status, ReplyParser::Status::error);
  EXPECT_EQ(s.consumed, 0u);
  p.reset();
  EXPECT_EQ(p.parse("250 ok\r\n").status, ReplyParser::Status::ok);
}

TEST(ReplyParser, LineLengthLimits) {
  // Longer than §4.5.3.1.5's 512 but within the tolerance: accepted.
  std::string ok = "250 " + std::string(1000, 'a') + "\r\n";
  EXPECT_EQ(parse_all(ok).replies.size(), 1u);
  // Exactly the tolerance, CRLF included.
  ReplyLimits lim;
  std::string edge = "250 " + std::string(lim.line_bytes_tolerated - 6, 'a') + "\r\n";
  ASSERT_EQ(edge.size(), lim.line_bytes_tolerated);
  EXPECT_EQ(parse_all(edge).replies.size(), 1u);
  std::string over = "250 " + std::string(lim.line_bytes_tolerated - 5, 'a') + "\r\n";
  EXPECT_EQ(parse_all(over).error, ReplyError::line_too_long);
  // Without any newline the buffer still stops growing at the tolerance.
  ReplyParser p;
  std::string endless(1024, 'a');
  ReplyParser::Status st = ReplyParser::Status::need_more;
  for (int i = 0; i < 10 && st == ReplyParser::Status::need_more; ++i) st = p.parse(endless).status;
  EXPECT_EQ(st, ReplyParser::Status::error);
  EXPECT_LE(p.buffered_bytes(), lim.line_bytes_tolerated);
}

TEST(ReplyParser, LineCountAndReplySizeLimits) {
  ReplyLimits lim;
  std::string many;
  for (std::uint32_t i = 0; i < lim.lines_max; ++i) many += "250-x\r\n";
  EXPECT_EQ(parse_all(many + "250 end\r\n").error, ReplyError::too_many_lines);
  std::string fits;
  for (std::uint32_t i = 0; i + 1 < lim.lines_max; ++i) fits += "250-x\r\n";
  EXPECT_EQ(parse_all(fits + "250 end\r\n").replies.size(), 1u);

  ReplyLimits small;
  small.reply_bytes_max = 8192;
  std::string big;
  for (int i = 0; i < 4; ++i) big += "250-" + std::string(3000, 'b') + "\r\n";
  EXPECT_EQ(parse_all(big + "250 x\r\n", {}, small).error, ReplyError::reply_too_long);
}

TEST(ReplyParser, EveryByteSplitOfAMultiLineReply) {
  const std::string in =
      "250-mx.example.org greets you\r\n250-PIPELINING\r\n250-SIZE 35882577\r\n250-ENHANCEDSTATUSCODES\n"
      "250 CHUNKING\r\n550-5.7.1 first\r\n550 5.7.1 second\r\n";
  const Parsed whole = parse_all(in);
  ASSERT_EQ(whole.replies.size(), 2u);
  for (std::size_t a = 1; a < in.size(); ++a) {
    for (std::size_t b = a; b < in.size(); b += 7) {
      const Parsed split = parse_all(in, {a, b});
      ASSERT_EQ(split.replies.size(), 2u) << a << "," << b;
      for (std::size_t i = 0; i < 2; ++i) EXPECT_TRUE(same(split.replies[i], whole.replies[i])) << a << "," << b;
    }
  }
}

rc::Gen<std::string> gen_text() {
  // Texts that cannot be mistaken for an enhanced code: start with a letter.
  return rc::gen::map(
      rc::gen::pair(rc::gen::elementOf(std::string("abcXYZ")),
                    rc::gen::container<std::string>(rc::gen::elementOf(std::string("abc XYZ012.-=<>@\t\x80\xff")))),
      [](std::pair<char, std::string> p) { return std::string(1, p.first) + p.second; });
}

rc::Gen<Reply> gen_reply() {
  return rc::gen::map(
      rc::gen::tuple(rc::gen::inRange(2, 6), rc::gen::inRange(0, 6), rc::gen::inRange(0, 10), rc::gen::arbitrary<bool>(),
                     rc::gen::inRange(0, 100), rc::gen::inRange(0, 100),
                     rc::gen::resize(6, rc::gen::nonEmpty(rc::gen::container<std::vector<std::string>>(gen_text())))),
      [](std::tuple<int, int, int, bool, int, int, std::vector<std::string>> t) {
        Reply r;
        r.code = static_cast<std::uint16_t>(std::get<0>(t) * 100 + std::get<1>(t) * 10 + std::get<2>(t));
        if (std::get<3>(t) && r.code / 100 != 3)
          r.enhanced = EnhancedCode{static_cast<std::uint8_t>(r.code / 100), static_cast<std::uint16_t>(std::get<4>(t)),
                                    static_cast<std::uint16_t>(std::get<5>(t))};
        r.lines = std::get<6>(t);
        return r;
      });
}

RC_GTEST_PROP(ReplyParserProp, RoundTripAndSegmentationInvariance, ()) {
  const auto replies = *rc::gen::resize(8, rc::gen::nonEmpty(rc::gen::container<std::vector<Reply>>(gen_reply())));
  const bool bare_lf = *rc::gen::arbitrary<bool>();
  std::string wire;
  for (const auto& r : replies) {
    std::string w = r.to_wire(true);
    if (bare_lf) {
      std::string lf;
      for (char c : w)
        if (c != '\r') lf.push_back(c);
      w = lf;
    }
    wire += w;
  }
  const Parsed whole = parse_all(wire);
  RC_ASSERT(whole.error == ReplyError::none);
  RC_ASSERT(whole.consumed == wire.size());
  RC_ASSERT(whole.replies.size() == replies.size());
  for (std::size_t i = 0; i < replies.size(); ++i) RC_ASSERT(same(whole.replies[i], replies[i]));

  auto cuts = *rc::gen::container<std::vector<std::size_t>>(rc::gen::inRange<std::size_t>(0, wire.size() + 1));
  std::sort(cuts.begin(), cuts.end());
  const Parsed split = parse_all(wire, cuts);
  RC_ASSERT(split.replies.size() == whole.replies.size());
  for (std::size_t i = 0; i < split.replies.size(); ++i) RC_ASSERT(same(split.replies[i], whole.replies[i]));
}

RC_GTEST_PROP(ReplyParserProp, ArbitraryBytesAreBoundedAndSegmentationInvariant, ()) {
  const auto junk = *rc::gen::container<std::string>(
      rc::gen::weightedOneOf<char>({{6, rc::gen::elementOf(std::string("25034- \r\n"))}, {1, rc::gen::arbitrary<char>()}}));
  ReplyLimits lim;
  lim.line_bytes_tolerated = 64;
  lim.lines_max = 4;
  lim.reply_bytes_max = 128;
  const Parsed whole = parse_all(junk, {}, lim);
  auto cuts = *rc::gen::container<std::vector<std::size_t>>(rc::gen::inRange<std::size_t>(0, junk.size() + 1));
  std::sort(cuts.begin(), cuts.end());
  const Parsed split = parse_all(junk, cuts, lim);
  RC_ASSERT(split.error == whole.error);
  RC_ASSERT(split.replies.size() == whole.replies.size());
  for (std::size_t i = 0; i < split.replies.size(); ++i) {
    RC_ASSERT(same(split.replies[i], whole.replies[i]));
    RC_ASSERT(split.replies[i].lines.size() <= lim.lines_max);
  }
}

Reply ehlo(std::vector<std::string> lines) { return Reply{250, {}, std::move(lines)}; }

TEST(Capabilities, Keywords) {
  const auto c = parse_capabilities(ehlo({"mx.example.org Hello client [192.0.2.1]", "pipelining", "SIZE 35882577",
                                          "8BITMIME", "AUTH PLAIN login", "AUTH=CRAM-MD5 PLAIN", "ENHANCEDSTATUSCODES",
                                          "CHUNKING", "BINARYMIME", "SMTPUTF8", "STARTTLS", "DSN", "X-EXPS=1 GSSAPI",
                                          "???", "-BAD", ""}));
  EXPECT_EQ(c.domain, "mx.example.org");
  EXPECT_TRUE(c.pipelining);
  EXPECT_TRUE(c.size);
  EXPECT_EQ(c.size_max, 35882577u);
  EXPECT_TRUE(c.eight_bit_mime);
  EXPECT_TRUE(c.chunking);
  EXPECT_TRUE(c.binary_mime);
  EXPECT_TRUE(c.smtputf8);
  EXPECT_TRUE(c.starttls);
  EXPECT_TRUE(c.dsn);
  EXPECT_TRUE(c.enhanced_status_codes);
  EXPECT_EQ(c.auth, (std::vector<std::string>{"PLAIN", "LOGIN", "CRAM-MD5"}));
  EXPECT_TRUE(c.has("Pipelining"));
  ASSERT_NE(c.find("x-exps"), nullptr);
  EXPECT_EQ(c.find("X-EXPS")->params, (std::vector<std::string>{"1", "GSSAPI"}));
  EXPECT_FALSE(c.has("???"));
  EXPECT_EQ(c.items.size(), 12u);  // the three malformed lines are skipped
}

TEST(Capabilities, SizeVariants) {
  EXPECT_EQ(parse_capabilities(ehlo({"mx", "SIZE"})).size_max, 0u);
  EXPECT_TRUE(parse_capabilities(ehlo({"mx", "SIZE"})).size);
  EXPECT_EQ(parse_capabilities(ehlo({"mx", "SIZE 0"})).size_max, 0u);
  EXPECT_EQ(parse_capabilities(ehlo({"mx", "SIZE 18446744073709551615"})).size_max, UINT64_MAX);
  EXPECT_EQ(parse_capabilities(ehlo({"mx", "SIZE 18446744073709551616"})).size_max, 0u);  // overflow
  EXPECT_EQ(parse_capabilities(ehlo({"mx", "SIZE 12x"})).size_max, 0u);
  const auto single = parse_capabilities(ehlo({"mx.example.org"}));
  EXPECT_EQ(single.domain, "mx.example.org");
  EXPECT_TRUE(single.items.empty());
  EXPECT_FALSE(single.pipelining);
}

}  // namespace
}  // namespace mail::smtp
