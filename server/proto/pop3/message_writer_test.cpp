// pop3::MessageWriter: RETR/TOP bodies byte-stuffed (RFC 1939 §3) exactly like
// message::dot_stuff whatever the chunking, and TOP n's header + blank line + n lines (§7).
#include <gtest/gtest.h>

#include <rapidcheck/gtest.h>

#include "proto/message/dot_stuff.h"
#include "proto/pop3/message_writer.h"

namespace mail::pop3 {
namespace {

std::string whole(std::string_view m, std::optional<std::uint32_t> top = std::nullopt, std::size_t chunk = 1 << 20) {
  MessageWriter w(top);
  std::string out;
  for (std::size_t i = 0; i < m.size() && !w.done(); i += chunk) w.write(m.substr(i, chunk), out);
  w.finish(out);
  return out;
}

TEST(Pop3MessageWriter, StuffsLineStartDots_Rfc1939_3) {
  EXPECT_EQ(whole(".a\r\nb\r\n..c\r\n.\r\n"), "..a\r\nb\r\n...c\r\n..\r\n.\r\n");
  EXPECT_EQ(whole(""), ".\r\n");
  EXPECT_EQ(whole("no newline"), "no newline\r\n.\r\n");
  EXPECT_EQ(whole("x.y\r\n"), "x.y\r\n.\r\n");
}

TEST(Pop3MessageWriter, DotAcrossChunkBoundary) {
  EXPECT_EQ(whole("a\r\n.b\r\n", std::nullopt, 3), "a\r\n..b\r\n.\r\n");
  EXPECT_EQ(whole("a\r\n.b\r\n", std::nullopt, 1), "a\r\n..b\r\n.\r\n");
}

TEST(Pop3MessageWriter, TopHeaderBlankLineAndNLines_Rfc1939_7) {
  const std::string m = "Subject: x\r\nFrom: a@b\r\n\r\nl1\r\n.l2\r\nl3\r\n";
  EXPECT_EQ(whole(m, 0u), "Subject: x\r\nFrom: a@b\r\n\r\n.\r\n");
  EXPECT_EQ(whole(m, 2u), "Subject: x\r\nFrom: a@b\r\n\r\nl1\r\n..l2\r\n.\r\n");
  EXPECT_EQ(whole(m, 100u), whole(m));
  EXPECT_EQ(whole(m, 1u, 2), "Subject: x\r\nFrom: a@b\r\n\r\nl1\r\n.\r\n");
  EXPECT_EQ(whole("Subject: only header\r\n", 3u), "Subject: only header\r\n.\r\n");
}

RC_GTEST_PROP(Pop3MessageWriter, EqualsDotStuffWhateverTheChunks, ()) {
  const auto lines = *rc::gen::container<std::vector<std::string>>(
      rc::gen::container<std::string>(rc::gen::element('.', 'a', ' ', '\r', '\n')));
  std::string m;
  for (const auto& l : lines) m += l + "\r\n";
  const auto chunk = *rc::gen::inRange<std::size_t>(1, 9);
  RC_ASSERT(whole(m, std::nullopt, chunk) == message::dot_stuff(m));
}

}  // namespace
}  // namespace mail::pop3
