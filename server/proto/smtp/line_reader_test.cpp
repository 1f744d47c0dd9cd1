// Tests for SMTP command-line framing: CRLF only (RFC 5321 §2.3.8), the 512-octet limit
// (§4.5.3.1.4) at its boundary pair, bounded discarding, and segmentation invariance.
#include "proto/smtp/line_reader.h"
#include "proto/smtp/chars.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <string>
#include <vector>

namespace mail::smtp {
namespace {

// Drives a reader the way the session does: a buffer, consumed bytes dropped, stop at a
// fatal status. Returns "status:line" items.
struct Driver {
  CommandLineReader reader;
  std::string buf;
  std::vector<std::string> items;
  bool dead = false;
  std::size_t buffered_max = 0;

  Driver(std::uint32_t max, std::uint32_t tolerated) : reader(max, tolerated) {}

  void feed(std::string_view in) {
    if (dead) return;
    buf += in;
    for (;;) {
      const LineResult r = reader.next(buf);
      const std::string line(r.line);
      buf.erase(0, r.consumed);
      switch (r.status) {
        case LineStatus::need_more:
          buffered_max = std::max(buffered_max, buf.size());
          if (r.consumed == 0) return;
          continue;
        case LineStatus::line: items.push_back("line:" + line); continue;
        case LineStatus::too_long: items.emplace_back("too_long"); continue;
        case LineStatus::too_long_fatal: items.emplace_back("fatal"); break;
        case LineStatus::bare_lf: items.emplace_back("bare_lf"); break;
        case LineStatus::bare_cr: items.emplace_back("bare_cr"); break;
      }
      dead = true;
      buf.clear();
      return;
    }
  }
};

std::vector<std::string> run(std::string_view in, std::uint32_t max = 512, std::uint32_t tol = 4096) {
  Driver d(max, tol);
  d.feed(in);
  return d.items;
}

using V = std::vector<std::string>;

TEST(Rfc5321_2_3_8, CrlfLines) {
  EXPECT_EQ(run("EHLO a\r\nNOOP\r\n"), (V{"line:EHLO a", "line:NOOP"}));
  EXPECT_EQ(run("\r\n"), (V{"line:"}));
  EXPECT_EQ(run("EHLO a"), V{});
  EXPECT_EQ(run("EHLO a\r"), V{});
}

TEST(Rfc5321_2_3_8, BareLfAndBareCrAreRefused) {
  EXPECT_EQ(run("EHLO a\nNOOP\r\n"), V{"bare_lf"});
  EXPECT_EQ(run("EHLO a\rNOOP\r\n"), V{"bare_cr"});
  EXPECT_EQ(run("\n"), V{"bare_lf"});
  EXPECT_EQ(run("a\r\r\n"), V{"bare_cr"});
  EXPECT_EQ(run("NOOP\r\nx\n"), (V{"line:NOOP", "bare_lf"}));
}

TEST(Rfc5321_4_5_3_1_4, LengthBoundaryPair) {
  const std::string ok(510, 'a');
  EXPECT_EQ(run(ok + "\r\n"), V{"line:" + ok});
  EXPECT_EQ(run(ok + "a\r\nNOOP\r\n"), (V{"too_long", "line:NOOP"}));
  // CRLF straddling the limit: CR is octet 512, LF octet 513.
  EXPECT_EQ(run(ok + "a\r"), V{});
  EXPECT_EQ(run(ok + "a\r\n"), V{"too_long"});
}

TEST(Rfc5321_4_5_3_1_4, ToleratedBoundaryPair) {
  EXPECT_EQ(run(std::string(98, 'a') + "\r\nX\r\n", 10, 100), (V{"too_long", "line:X"}));
  EXPECT_EQ(run(std::string(99, 'a') + "\r\nX\r\n", 10, 100), V{"fatal"});
  // Without a CRLF the session gives up as soon as no line could end in time.
  EXPECT_EQ(run(std::string(99, 'a'), 10, 100), V{"fatal"});
  EXPECT_EQ(run(std::string(98, 'a'), 10, 100), V{});
  EXPECT_EQ(run(std::string(98, 'a') + "\r", 10, 100), V{});
  EXPECT_EQ(run(std::string(99, 'a') + "\r", 10, 100), V{"fatal"});
}

TEST(Rfc5321_2_3_8, BareLfInsideADiscardedLineIsStillRefused) {
  EXPECT_EQ(run(std::string(600, 'a') + "\nNOOP\r\n"), V{"bare_lf"});
  EXPECT_EQ(run(std::string(600, 'a') + "\rNOOP\r\n"), V{"bare_cr"});
}

TEST(Rfc5321_4_5_3_1_4, DiscardingKeepsNothing) {
  Driver d(512, 1 << 30);
  for (int i = 0; i < 1000; ++i) d.feed(std::string(1000, 'x'));
  EXPECT_TRUE(d.reader.discarding());
  EXPECT_LE(d.buffered_max, 512u);
  d.feed("\r\nNOOP\r\n");
  EXPECT_EQ(d.items, (V{"too_long", "line:NOOP"}));
}

TEST(Rfc5321_4_5_3_1_4, ResetForgetsAPartialLongLine) {
  CommandLineReader r(10, 100);
  EXPECT_EQ(r.next(std::string(20, 'x')).status, LineStatus::need_more);
  EXPECT_TRUE(r.discarding());
  r.reset();
  EXPECT_FALSE(r.discarding());
  const LineResult lr = r.next("NOOP\r\n");
  EXPECT_EQ(lr.status, LineStatus::line);
  EXPECT_EQ(lr.line, "NOOP");
}

// Segmentation invariance (STYLE.md habit 2): the same items whether the bytes come at
// once or split at arbitrary points, and the buffer never holds more than the limit.
RC_GTEST_PROP(Rfc5321_2_3_8, SegmentationInvariance, ()) {
  const auto bytes = *rc::gen::container<std::string>(rc::gen::element('a', ' ', '\r', '\n', 'b'));
  const auto cuts = *rc::gen::container<std::vector<std::size_t>>(rc::gen::inRange<std::size_t>(0, bytes.size() + 1));
  Driver whole(8, 24);
  whole.feed(bytes);
  Driver split(8, 24);
  std::vector<std::size_t> points = cuts;
  std::sort(points.begin(), points.end());
  std::size_t from = 0;
  for (std::size_t p : points) {
    split.feed(std::string_view(bytes).substr(from, p - from));
    from = p;
  }
  split.feed(std::string_view(bytes).substr(from));
  RC_ASSERT(whole.items == split.items);
  RC_ASSERT(split.buffered_max <= 8u);
}


// find_line_break scans 16 octets at a time; it must agree with the byte loop from any start.
RC_GTEST_PROP(FindLineBreak, VectorScanMatchesByteLoop, ()) {
  const auto s = *rc::gen::container<std::string>(rc::gen::element('\r', '\n', '\0', 'a', 'b', 'c', 'd'));
  const auto from = *rc::gen::inRange<std::size_t>(0, s.size() + 2);
  const bool nul_too = *rc::gen::arbitrary<bool>();
  std::size_t want = std::string_view::npos;
  for (std::size_t i = from; i < s.size(); ++i) {
    if (s[i] == '\r' || s[i] == '\n' || (nul_too && s[i] == '\0')) {
      want = i;
      break;
    }
  }
  RC_ASSERT(find_line_break(s, from, nul_too) == want);
}
static_assert(find_line_break("abc\r\n") == 3);  // still usable at compile time

}  // namespace
}  // namespace mail::smtp
