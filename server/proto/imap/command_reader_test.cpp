// Tests for the IMAP command reader: framing, literals of every form (RFC 9051 §4.3,
// RFC 7888, RFC 3516), limits and the way a refused command is skipped, raw lines.
#include "proto/imap/command_reader.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mail::imap {
namespace {

using namespace std::string_literals;

struct Out {
  std::vector<RawCommand> commands;
  std::vector<ReadError> errors;
  std::vector<std::string> raw;
  int pending = 0;
};

// Feeds `in` in one piece, accepting every synchronising literal.
Out run(CommandReader& r, std::string_view in, bool accept = true) {
  Out o;
  while (true) {
    const ReadResult res = r.next(in);
    in.remove_prefix(res.consumed);
    switch (res.event) {
      case ReadEvent::need_more: EXPECT_TRUE(in.empty()); return o;
      case ReadEvent::command: o.commands.push_back(r.take_command()); break;
      case ReadEvent::raw_line: o.raw.push_back(r.take_raw_line()); break;
      case ReadEvent::error: o.errors.push_back(r.error()); break;
      case ReadEvent::literal_pending:
        ++o.pending;
        if (accept) r.accept_literal();
        else r.reject_literal();
        break;
    }
  }
}

TEST(ImapCommandReader, SimpleLinesCrlfAndBareLf_Rfc9051_2_2) {
  CommandReader r;
  const Out o = run(r, "a1 NOOP\r\na2 CAPABILITY\n\r\na3 LOGOUT\r\n");
  ASSERT_EQ(o.commands.size(), 3u);
  EXPECT_EQ(o.commands[0].text, "a1 NOOP");
  EXPECT_EQ(o.commands[1].text, "a2 CAPABILITY");
  EXPECT_EQ(o.commands[2].text, "a3 LOGOUT");
  EXPECT_TRUE(r.idle());
}

TEST(ImapCommandReader, PartialLineIsBuffered) {
  CommandReader r;
  EXPECT_EQ(r.next("a1 NO").event, ReadEvent::need_more);
  EXPECT_EQ(r.next("OP\r").event, ReadEvent::need_more);
  const ReadResult res = r.next("\nrest");
  EXPECT_EQ(res.event, ReadEvent::command);
  EXPECT_EQ(res.consumed, 1u);
  EXPECT_EQ(r.take_command().text, "a1 NOOP");
}

TEST(ImapCommandReader, SynchronisingLiteralWaitsForTheSession_Rfc9051_4_3) {
  CommandReader r;
  ReadResult res = r.next("A1 LOGIN {3}\r\nfoo");
  EXPECT_EQ(res.event, ReadEvent::literal_pending);
  EXPECT_EQ(res.consumed, 14u);
  EXPECT_EQ(r.pending_literal_bytes(), 3u);
  EXPECT_EQ(r.pending_tag(), "A1");
  EXPECT_EQ(r.pending_text(), "A1 LOGIN {3}");
  EXPECT_EQ(r.next("foo").event, ReadEvent::literal_pending);  // nothing read before the decision
  r.accept_literal();
  const Out o = run(r, "foo x\r\n");
  ASSERT_EQ(o.commands.size(), 1u);
  EXPECT_EQ(o.commands[0].text, "A1 LOGIN {3} x");
  EXPECT_EQ(o.commands[0].literals[0].bytes, "foo");
}

TEST(ImapCommandReader, LiteralBytesAreKeptApartFromTheText) {
  CommandReader r;
  const std::string in = "A1 LOGIN {5}\r\na\r\n\0b {3+}\r\n\"x\"\r\n"s;
  const Out o = run(r, in);
  EXPECT_EQ(o.pending, 1);
  ASSERT_EQ(o.commands.size(), 1u);
  const RawCommand& c = o.commands[0];
  EXPECT_EQ(c.text, "A1 LOGIN {5} {3+}");
  ASSERT_EQ(c.literals.size(), 2u);
  EXPECT_EQ(c.literals[0].bytes, std::string("a\r\n\0b", 5));
  EXPECT_EQ(c.literals[0].at, 12u);
  EXPECT_FALSE(c.literals[0].non_sync);
  EXPECT_EQ(c.literals[1].bytes, "\"x\"");
  EXPECT_EQ(c.literals[1].at, 17u);
  EXPECT_TRUE(c.literals[1].non_sync);
}

TEST(ImapCommandReader, NonSyncLiteralNeedsNoContinuation_Rfc7888_3) {
  CommandReader r;
  const Out o = run(r, "A1 APPEND INBOX {2+}\r\nhi\r\n");
  EXPECT_EQ(o.pending, 0);
  ASSERT_EQ(o.commands.size(), 1u);
  EXPECT_EQ(o.commands[0].literals[0].bytes, "hi");
}

TEST(ImapCommandReader, Literal8_Rfc3516_4_3) {
  CommandReader r;
  const Out o = run(r, "A1 APPEND INBOX ~{3+}\r\n\0\1\2\r\n"s);
  ASSERT_EQ(o.commands.size(), 1u);
  EXPECT_TRUE(o.commands[0].literals[0].binary);
  EXPECT_EQ(o.commands[0].literals[0].bytes, std::string("\0\1\2", 3));
}

TEST(ImapCommandReader, ZeroLengthLiterals_Rfc9051_4_3) {
  CommandReader r;
  const Out o = run(r, "A1 LOGIN {0}\r\n {0+}\r\n\r\n");
  EXPECT_EQ(o.pending, 1);
  ASSERT_EQ(o.commands.size(), 1u);
  EXPECT_EQ(o.commands[0].text, "A1 LOGIN {0} {0+}");
  EXPECT_EQ(o.commands[0].literals.size(), 2u);
}

TEST(ImapCommandReader, RejectedSyncLiteralIsNeverRead_Rfc9051_4_3) {
  CommandReader r;
  const Out o = run(r, "A1 APPEND INBOX {100}\r\nA2 NOOP\r\n", false);
  EXPECT_EQ(o.pending, 1);
  ASSERT_EQ(o.commands.size(), 1u);
  EXPECT_EQ(o.commands[0].text, "A2 NOOP");
}

TEST(ImapCommandReader, TooBigSyncLiteralIsAnErrorAndNotRead_Rfc7889_4) {
  ReaderLimits lim;
  lim.literal_bytes_max = 10;
  lim.command_bytes_max = 1000;
  CommandReader r(lim);
  const Out o = run(r, "A1 APPEND INBOX {11}\r\nA2 NOOP\r\n");
  ASSERT_EQ(o.errors.size(), 1u);
  EXPECT_EQ(o.errors[0].kind, ReadErrorKind::literal_too_big);
  EXPECT_FALSE(o.errors[0].fatal);
  EXPECT_EQ(o.errors[0].tag, "A1");
  EXPECT_EQ(o.pending, 0);
  ASSERT_EQ(o.commands.size(), 1u);
  EXPECT_EQ(o.commands[0].text, "A2 NOOP");
}

TEST(ImapCommandReader, TooBigNonSyncLiteralIsSwallowed) {
  ReaderLimits lim;
  lim.literal_bytes_max = 4;
  lim.command_bytes_max = 1000;
  CommandReader r(lim);
  const Out o = run(r, "A1 APPEND INBOX {10+}\r\n0123456789 (more {2+}\r\nxy)\r\nA2 NOOP\r\n");
  ASSERT_EQ(o.errors.size(), 1u);
  EXPECT_EQ(o.errors[0].kind, ReadErrorKind::literal_too_big);
  EXPECT_FALSE(o.errors[0].fatal);
  ASSERT_EQ(o.commands.size(), 1u);
  EXPECT_EQ(o.commands[0].text, "A2 NOOP");
}

TEST(ImapCommandReader, NonSyncOverDiscardBoundIsFatal) {
  ReaderLimits lim;
  lim.literal_bytes_max = 4;
  lim.command_bytes_max = 1000;
  lim.discard_bytes_max = 100;
  CommandReader r(lim);
  const Out o = run(r, "A1 APPEND INBOX {101+}\r\n");
  ASSERT_EQ(o.errors.size(), 1u);
  EXPECT_TRUE(o.errors[0].fatal);
}

TEST(ImapCommandReader, LiteralMinusCapsNonSyncAt4096_Rfc7888_4) {
  ReaderLimits lim;
  lim.literal_minus = true;
  CommandReader r(lim);
  const Out o = run(r, "A1 APPEND INBOX {4097+}\r\n" + std::string(4097, 'x') + "\r\nA2 NOOP\r\n");
  ASSERT_EQ(o.errors.size(), 1u);
  EXPECT_EQ(o.errors[0].kind, ReadErrorKind::non_sync_too_big);
  ASSERT_EQ(o.commands.size(), 1u);
  EXPECT_EQ(o.commands[0].text, "A2 NOOP");
  CommandReader ok(lim);
  const Out o2 = run(ok, "A1 APPEND INBOX {4096+}\r\n" + std::string(4096, 'x') + "\r\n");
  EXPECT_TRUE(o2.errors.empty());
  ASSERT_EQ(o2.commands.size(), 1u);
  EXPECT_EQ(o2.commands[0].literals[0].bytes.size(), 4096u);
}

TEST(ImapCommandReader, OverlongLineIsSkippedAndReported) {
  ReaderLimits lim;
  lim.line_bytes_max = 32;
  CommandReader r(lim);
  const Out o = run(r, "T7 SEARCH " + std::string(100, 'x') + "\r\nA2 NOOP\r\n");
  ASSERT_EQ(o.errors.size(), 1u);
  EXPECT_EQ(o.errors[0].kind, ReadErrorKind::line_too_long);
  EXPECT_EQ(o.errors[0].tag, "T7");
  ASSERT_EQ(o.commands.size(), 1u);
  EXPECT_EQ(o.commands[0].text, "A2 NOOP");
}

TEST(ImapCommandReader, OverlongLineEndingInNonSyncLiteralSkipsTheLiteral) {
  ReaderLimits lim;
  lim.line_bytes_max = 32;
  CommandReader r(lim);
  std::string in = "T7 X " + std::string(100, 'x') + " {5+}\r\nA9 NO\r\nA2 NOOP\r\n";
  const Out o = run(r, in);
  ASSERT_EQ(o.errors.size(), 1u);
  ASSERT_EQ(o.commands.size(), 1u);
  EXPECT_EQ(o.commands[0].text, "A2 NOOP");
}

TEST(ImapCommandReader, TooManyLiterals) {
  ReaderLimits lim;
  lim.literals_max = 2;
  CommandReader r(lim);
  const Out o = run(r, "A1 X {1+}\r\na {1+}\r\nb {1+}\r\nc\r\nA2 NOOP\r\n");
  ASSERT_EQ(o.errors.size(), 1u);
  EXPECT_EQ(o.errors[0].kind, ReadErrorKind::too_many_literals);
  ASSERT_EQ(o.commands.size(), 1u);
  EXPECT_EQ(o.commands[0].text, "A2 NOOP");
}

TEST(ImapCommandReader, CommandTooBig) {
  ReaderLimits lim;
  lim.literal_bytes_max = 10;
  lim.command_bytes_max = 30;
  CommandReader r(lim);
  const Out o = run(r, "A1 X {10+}\r\n0123456789 {10+}\r\n0123456789 {10}\r\nA2 NOOP\r\n");
  ASSERT_EQ(o.errors.size(), 1u);
  EXPECT_EQ(o.errors[0].kind, ReadErrorKind::command_too_big);
  ASSERT_EQ(o.commands.size(), 1u);
  EXPECT_EQ(o.commands[0].text, "A2 NOOP");
}

TEST(ImapCommandReader, OverflowingLiteralCountIsBad) {
  CommandReader r;
  const Out o = run(r, "A1 X {99999999999999999999}\r\nA2 NOOP\r\n");
  ASSERT_EQ(o.errors.size(), 1u);
  EXPECT_EQ(o.errors[0].kind, ReadErrorKind::bad_literal);
  ASSERT_EQ(o.commands.size(), 1u);
}

TEST(ImapCommandReader, RawLineModeForAuthenticateAndIdle_Rfc9051_6_2_2_Rfc2177) {
  CommandReader r;
  Out o = run(r, "A1 IDLE\r\n");
  ASSERT_EQ(o.commands.size(), 1u);
  r.expect_raw_line();
  o = run(r, "DONE\r\nA2 NOOP {3}\r\n");
  ASSERT_EQ(o.raw.size(), 1u);
  EXPECT_EQ(o.raw[0], "DONE");
  ASSERT_EQ(o.pending, 1);  // after the raw line, command mode again
}

TEST(ImapCommandReader, EmptyLinesAreIgnored) {
  CommandReader r;
  const Out o = run(r, "\r\n\r\nA1 NOOP\r\n");
  ASSERT_EQ(o.commands.size(), 1u);
  EXPECT_EQ(o.commands[0].text, "A1 NOOP");
}

}  // namespace
}  // namespace mail::imap
