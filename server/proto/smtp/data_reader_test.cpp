// Tests for the DATA reader (RFC 5321 §4.5.2 transparency, §4.1.1.4 end of data) and the
// content scanner (§2.3.8 bare CR/LF, §4.5.3.1.6 line length, RFC 1870 size, §6.3 hops),
// including the property that stuffed CRLF content always reads back exactly.
#include "proto/smtp/data_reader.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <string>
#include <vector>

#include "proto/smtp/content_scanner.h"

namespace mail::smtp {
namespace {

struct Read {
  bool done = false;
  std::size_t consumed = 0;
  std::string content;
  ContentDefect defect = ContentDefect::none;
  std::uint32_t hops = 0;
};

// Feeds `pieces` in order until the end of data; content as the session would get it.
Read read_pieces(const std::vector<std::string>& pieces, const SmtpLimits& limits = {},
                 std::uint64_t size_limit = SmtpLimits{}.message_bytes_max) {
  ContentScanner scanner(limits, size_limit, true);
  DataReader reader;
  Read r;
  for (const auto& p : pieces) {
    const DataReadResult d = reader.read(p, scanner);
    r.consumed += d.consumed;
    if (d.done) {
      r.done = true;
      break;
    }
    EXPECT_EQ(d.consumed, p.size());
  }
  scanner.finish();
  r.defect = scanner.defect();
  r.hops = scanner.hops();
  r.content = scanner.take_content();
  return r;
}
Read read_all(const std::string& in) { return read_pieces({in}); }

TEST(Rfc5321_4_1_1_4, EndOfDataAtTheVeryStart) {
  const Read r = read_all(".\r\nMAIL FROM:<x@y>\r\n");
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.consumed, 3u);
  EXPECT_EQ(r.content, "");
}

TEST(Rfc5321_4_1_1_4, EndOfDataStopsRightAfterTheDotLine) {
  const Read r = read_all("a\r\nb\r\n.\r\nNOOP\r\n");
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.consumed, 9u);
  EXPECT_EQ(r.content, "a\r\nb\r\n");
  EXPECT_EQ(r.defect, ContentDefect::none);
}

TEST(Rfc5321_4_5_2, DotUnstuffing) {
  const Read r = read_all("..a\r\n.\tb\r\n..\r\n...\r\nc.\r\n.\r\n");
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.content, ".a\r\n\tb\r\n.\r\n..\r\nc.\r\n");
}

TEST(Rfc5321_4_5_2, EndOfDataSplitAnywhere) {
  const std::string in = "x\r\n..y\r\n.\r\n";
  for (std::size_t cut = 0; cut <= in.size(); ++cut) {
    const Read r = read_pieces({in.substr(0, cut), in.substr(cut)});
    EXPECT_TRUE(r.done) << cut;
    EXPECT_EQ(r.content, "x\r\n.y\r\n") << cut;
  }
}

// SECURITY.md §1: none of these ends the data; each leaves the message tainted.
TEST(Security_1, NonStandardEndingsAreContent) {
  for (std::string v : std::vector<std::string>{"\n.\n", "\n.\r", "\r.\n", "\r.\r", "\n.\r\n", "\r.\r\n", std::string("\r\n\0.\r\n", 6),
                        "\r\n.\n", "\r\n.\r", "\r\n.\r\r\n", "\r\r\n.\r\r\n"}) {
    const Read partial = read_all("body" + v + "MAIL FROM:<s@x>\r\n");
    EXPECT_FALSE(partial.done) << testing::PrintToString(v);
    const Read r = read_all("body" + v + "MAIL FROM:<s@x>\r\n.\r\n");
    EXPECT_TRUE(r.done);
    const bool nul = v.find('\0') != std::string::npos;
    EXPECT_EQ(r.defect, nul ? ContentDefect::nul : ContentDefect::bare_cr_lf) << testing::PrintToString(v);
    EXPECT_NE(r.content.find("MAIL FROM:<s@x>"), std::string::npos);
  }
}

TEST(Rfc5321_2_3_8, CrCrLfThenRealEndStillEndsButIsTainted) {
  // "\r\r\n" is a bare CR followed by CRLF: the following ".\r\n" is a real end of data.
  const Read r = read_all("a\r\r\n.\r\n");
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.defect, ContentDefect::bare_cr_lf);
}

TEST(Rfc5321_4_5_3_1_6, LineLengthBoundary) {
  EXPECT_EQ(read_all(std::string(998, 'x') + "\r\n.\r\n").defect, ContentDefect::none);
  EXPECT_EQ(read_all(std::string(999, 'x') + "\r\n.\r\n").defect, ContentDefect::line_too_long);
  // A stuffing dot is not counted.
  EXPECT_EQ(read_all("." + std::string(998, '.') + "\r\n.\r\n").defect, ContentDefect::none);
}

TEST(Rfc1870_6_3, SizeBoundaryAndNothingKeptPastIt) {
  SmtpLimits l;
  l.message_bytes_max = 10;
  EXPECT_EQ(read_pieces({"12345678\r\n.\r\n"}, l, 10).defect, ContentDefect::none);
  const Read r = read_pieces({"123456789\r\n.\r\n"}, l, 10);
  EXPECT_EQ(r.defect, ContentDefect::too_big);
  EXPECT_EQ(r.content, "");
}

TEST(Rfc5321_6_3, HopsCountedInHeaderOnly) {
  SmtpLimits l;
  l.hops_max = 1;
  EXPECT_EQ(read_pieces({"Received: a\r\nSubject: b\r\n\r\nReceived: c\r\n.\r\n"}, l).defect, ContentDefect::none);
  EXPECT_EQ(read_pieces({"Received: a\r\nReceived\t: b\r\n.\r\n"}, l).defect, ContentDefect::too_many_hops);
  // Split inside the field name.
  EXPECT_EQ(read_pieces({"Rece", "ived: a\r\nREC", "EIVED: b\r\n.\r\n"}, l).defect, ContentDefect::too_many_hops);
  // Not a Received field.
  EXPECT_EQ(read_pieces({"Received-SPF: a\r\nX-Received: b\r\n Received: c\r\n.\r\n"}, l).defect, ContentDefect::none);
}

TEST(Rfc5321_6_3, HeaderBytesBoundTheHopCount) {
  SmtpLimits l;
  l.hops_max = 1;
  l.header_bytes_max = 30;
  // The second Received: starts past header_bytes_max: not counted.
  EXPECT_EQ(read_pieces({"Received: a\r\nX-Pad: 1234567890123\r\nReceived: b\r\n.\r\n"}, l).defect,
            ContentDefect::none);
}

TEST(Rfc3030_3, ScannerWithoutLineChecksAcceptsBinary) {
  ContentScanner s(SmtpLimits{}, 100, false);
  s.append(std::string("\r\r\n\n\0", 5));
  s.append(std::string(3000, 'x'));  // too big, but no line check
  s.finish();
  EXPECT_EQ(s.defect(), ContentDefect::too_big);
  ContentScanner t(SmtpLimits{}, 100, false);
  t.append("a\rb\nc\r");
  t.finish();
  EXPECT_EQ(t.defect(), ContentDefect::none);
  EXPECT_EQ(t.take_content(), "a\rb\nc\r");
}

TEST(Rfc2045_2_8, NulInTextContentIsADefect) {
  EXPECT_EQ(read_all(std::string("a\0b\r\n.\r\n", 8)).defect, ContentDefect::nul);
  EXPECT_EQ(read_pieces({std::string("Received: a\r\n\0", 14), "x\r\n.\r\n"}).defect, ContentDefect::nul);
  ContentScanner binary(SmtpLimits{}, 100, false);
  binary.append(std::string("\0", 1));
  binary.finish();
  EXPECT_EQ(binary.defect(), ContentDefect::none);
}

TEST(Rfc5321_2_3_8, TrailingCrIsBareAtFinish) {
  ContentScanner s(SmtpLimits{}, 100, true);
  s.append("abc\r");
  EXPECT_EQ(s.defect(), ContentDefect::none);
  s.finish();
  EXPECT_EQ(s.defect(), ContentDefect::bare_cr_lf);
}

// RFC 5321 §4.5.2 sender rule, written out here as the reference the reader must invert.
std::string stuff(const std::string& content) {
  std::string out;
  bool bol = true;
  for (char c : content) {
    if (bol && c == '.') out += '.';
    out += c;
    bol = c == '\n';
  }
  return out + ".\r\n";
}

RC_GTEST_PROP(Rfc5321_4_5_2, StuffedContentReadsBackExactly, ()) {
  const auto lines = *rc::gen::container<std::vector<std::string>>(
      rc::gen::container<std::string>(rc::gen::element('.', 'a', ' ', '\t', static_cast<char>(0xc3))));
  std::string content;
  for (const auto& l : lines) content += l + "\r\n";
  const std::string wire = stuff(content) + "NEXT\r\n";
  const auto cut1 = *rc::gen::inRange<std::size_t>(0, wire.size() + 1);
  const auto cut2 = *rc::gen::inRange<std::size_t>(cut1, wire.size() + 1);
  const Read r = read_pieces({wire.substr(0, cut1), wire.substr(cut1, cut2 - cut1), wire.substr(cut2)});
  RC_ASSERT(r.done);
  RC_ASSERT(r.consumed == wire.size() - 6);
  RC_ASSERT(r.content == content);
  RC_ASSERT(r.defect == ContentDefect::none || r.defect == ContentDefect::line_too_long);
}

// Whatever the bytes, only a literal CRLF "." CRLF (or "." CRLF at the start) ends the data.
RC_GTEST_PROP(Security_1, OnlyCrlfDotCrlfEnds, ()) {
  const auto bytes = *rc::gen::container<std::string>(rc::gen::element('.', '\r', '\n', 'a', '\0'));
  const Read r = read_all(bytes);
  const std::string seen = "\r\n" + bytes.substr(0, r.consumed);
  if (r.done) {
    RC_ASSERT(seen.size() >= 5);
    RC_ASSERT(seen.substr(seen.size() - 5) == "\r\n.\r\n");
    RC_ASSERT(seen.substr(0, seen.size() - 3).find("\r\n.\r\n") == std::string::npos);
  } else {
    RC_ASSERT(seen.find("\r\n.\r\n") == std::string::npos);
  }
}

}  // namespace
}  // namespace mail::smtp
