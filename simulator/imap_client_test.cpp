// The simulator's sans-IO IMAP client: framing (tags, LITERAL+ appends), response
// splitting with server literals (RFC 9051 §4.3) fed in any chunking, and the response
// codes the IMAP checker reads (RFC 4315 APPENDUID/COPYUID, RFC 9051 §7.1, RFC 7162).
#include "simulator/imap_client.h"

#include <gtest/gtest.h>

namespace mail::sim {
namespace {

TEST(ImapClient, FramesTaggedCommandsAndLiteralPlusAppendRfc7888) {
  ImapClient c;
  EXPECT_EQ(c.command("NOOP"), "A1 NOOP\r\n");
  EXPECT_EQ(c.last_tag(), "A1");
  EXPECT_EQ(c.append("Drafts", "\\Seen", "ab\r\n"), "A2 APPEND Drafts (\\Seen) {4+}\r\nab\r\n\r\n");
  EXPECT_EQ(c.last_tag(), "A2");
}

std::vector<ImapResponse> feed_in_pieces(std::string_view wire, std::size_t piece) {
  ImapClient c;
  std::vector<ImapResponse> out;
  for (std::size_t i = 0; i < wire.size(); i += piece) {
    c.feed(wire.substr(i, piece));
    while (auto r = c.poll()) out.push_back(std::move(*r));
  }
  EXPECT_TRUE(c.error().empty());
  return out;
}

TEST(ImapClient, SplitsResponsesWithLiteralsWhateverTheChunkingRfc9051Section4_3) {
  const std::string body = "X-Sim-Id: a7\r\n\r\nline {3}\r\n";
  const std::string wire = "* 2 EXISTS\r\n* 2 FETCH (UID 9 MODSEQ (12) BODY[] {" + std::to_string(body.size()) +
                           "}\r\n" + body + ")\r\n+ idling\r\nA3 OK [APPENDUID 17 9] done\r\n";
  for (std::size_t piece : {std::size_t{1}, std::size_t{2}, std::size_t{7}, wire.size()}) {
    auto rs = feed_in_pieces(wire, piece);
    ASSERT_EQ(rs.size(), 4u) << piece;
    EXPECT_EQ(rs[0].status, "EXISTS");
    EXPECT_EQ(rs[1].status, "FETCH");
    ASSERT_EQ(rs[1].literals.size(), 1u);
    EXPECT_EQ(rs[1].literals[0], body);
    EXPECT_EQ(rs[2].kind, ImapResponse::Kind::continuation);
    EXPECT_EQ(rs[3].kind, ImapResponse::Kind::tagged);
    EXPECT_EQ(rs[3].tag, "A3");
    EXPECT_EQ(rs[3].status, "OK");
    auto f = parse_fetch(rs[1]);
    ASSERT_TRUE(f.has_value());
    EXPECT_EQ(f->uid, 9u);
    ASSERT_TRUE(f->body_literal.has_value());
    EXPECT_EQ(*f->body_literal, 0u);
    EXPECT_EQ(f->modseq, 12u);
    auto a = parse_appenduid(rs[3].text);
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(a->uidvalidity, 17u);
    EXPECT_EQ(a->uid, 9u);
  }
}

TEST(ImapClient, FetchWithoutBodyHasNoLiteralAndBodyAfterAnotherLiteralIsTheSecond) {
  ImapClient c;
  c.feed("* 1 FETCH (UID 4 FLAGS (\\Seen))\r\n* 1 FETCH (UID 4 BODY[HEADER] {2}\r\nab BODY[] {3}\r\nxyz)\r\n");
  auto r1 = c.poll();
  auto r2 = c.poll();
  ASSERT_TRUE(r1 && r2);
  auto f1 = parse_fetch(*r1);
  ASSERT_TRUE(f1.has_value());
  EXPECT_FALSE(f1->body_literal.has_value());
  auto f2 = parse_fetch(*r2);
  ASSERT_TRUE(f2.has_value());
  ASSERT_TRUE(f2->body_literal.has_value());
  EXPECT_EQ(r2->literals.at(*f2->body_literal), "xyz");
}

TEST(ImapClient, ResponseCodesRfc4315AndRfc7162) {
  auto c = parse_copyuid("A5 OK [COPYUID 38505 304,319:320 3956:3958] Done");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->uidvalidity, 38505u);
  EXPECT_EQ(c->source, (std::vector<std::uint32_t>{304, 319, 320}));
  EXPECT_EQ(c->dest, (std::vector<std::uint32_t>{3956, 3957, 3958}));
  EXPECT_FALSE(parse_copyuid("A5 OK [COPYUID 1 1:2 3] Done").has_value());  // sizes differ
  EXPECT_EQ(response_code_number("* OK [UIDNEXT 4392] Predicted next UID", "UIDNEXT"), 4392u);
  EXPECT_EQ(response_code_number("* OK [HIGHESTMODSEQ 715194045007]", "HIGHESTMODSEQ"), 715194045007u);
  EXPECT_FALSE(response_code_number("* OK [UIDVALIDITY 3857529045]", "UIDNEXT").has_value());
  EXPECT_FALSE(parse_appenduid("A1 OK APPEND completed").has_value());
}

TEST(ImapClient, OversizedLiteralIsAnError) {
  ImapClient c;
  c.feed("* 1 FETCH (BODY[] {99999999999}\r\n");
  EXPECT_FALSE(c.poll().has_value());
  EXPECT_FALSE(c.error().empty());
}

}  // namespace
}  // namespace mail::sim
