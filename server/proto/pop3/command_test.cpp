// pop3::parse_command: keywords case-insensitive (RFC 1939 §3), message numbers decimal
// 1..2^31-1, TOP's line count from 0, argument counts, unknown keywords.
#include <gtest/gtest.h>

#include "proto/pop3/command.h"

namespace mail::pop3 {
namespace {

TEST(Pop3Command, KeywordsAreCaseInsensitive_Rfc1939_3) {
  EXPECT_TRUE(std::holds_alternative<cmd::Stat>(*parse_command("stat").command));
  EXPECT_TRUE(std::holds_alternative<cmd::Quit>(*parse_command("QuIt").command));
  EXPECT_TRUE(std::holds_alternative<cmd::Capa>(*parse_command("capa").command));
}

TEST(Pop3Command, MessageNumbers) {
  auto r = parse_command("RETR 7");
  ASSERT_TRUE(r.command);
  EXPECT_EQ(std::get<cmd::Retr>(*r.command).msg, 7u);
  EXPECT_EQ(std::get<cmd::Dele>(*parse_command("DELE 2147483647").command).msg, 2147483647u);
  EXPECT_FALSE(parse_command("DELE 2147483648").command);
  EXPECT_FALSE(parse_command("RETR 0").command);
  EXPECT_FALSE(parse_command("RETR -1").command);
  EXPECT_FALSE(parse_command("RETR +1").command);
  EXPECT_FALSE(parse_command("RETR 1x").command);
  EXPECT_FALSE(parse_command("RETR").command);
  EXPECT_FALSE(parse_command("RETR 1 2").command);
  EXPECT_FALSE(parse_command("RETR 99999999999999999999").command);
}

TEST(Pop3Command, ListAndUidlTakeAnOptionalNumber) {
  EXPECT_FALSE(std::get<cmd::List>(*parse_command("LIST").command).msg);
  EXPECT_EQ(*std::get<cmd::List>(*parse_command("LIST 3").command).msg, 3u);
  EXPECT_EQ(*std::get<cmd::Uidl>(*parse_command("uidl 4").command).msg, 4u);
  EXPECT_FALSE(parse_command("LIST a").command);
  EXPECT_FALSE(parse_command("UIDL 1 2").command);
}

TEST(Pop3Command, TopLinesMayBeZero_Rfc1939_7) {
  auto t = std::get<cmd::Top>(*parse_command("TOP 1 0").command);
  EXPECT_EQ(t.msg, 1u);
  EXPECT_EQ(t.lines, 0u);
  EXPECT_FALSE(parse_command("TOP 1").command);
  EXPECT_FALSE(parse_command("TOP 0 5").command);
}

TEST(Pop3Command, PassKeepsSpaces) {
  EXPECT_EQ(std::get<cmd::Pass>(*parse_command("PASS  my secret ").command).password, " my secret ");
  EXPECT_FALSE(parse_command("PASS").command);
  EXPECT_EQ(std::get<cmd::User>(*parse_command("USER bob").command).name, "bob");
  EXPECT_FALSE(parse_command("USER").command);
}

TEST(Pop3Command, AuthWithInitialResponse_Rfc5034_4) {
  auto a = std::get<cmd::Auth>(*parse_command("AUTH PLAIN =").command);
  EXPECT_EQ(a.mechanism, "PLAIN");
  ASSERT_TRUE(a.initial);
  EXPECT_EQ(*a.initial, "=");
  EXPECT_TRUE(std::get<cmd::Auth>(*parse_command("AUTH").command).mechanism.empty());
  EXPECT_FALSE(parse_command("AUTH A B C").command);
}

TEST(Pop3Command, UnknownAndExtraArguments) {
  EXPECT_EQ(parse_command("LAST").error, "Unknown command");  // removed by RFC 1939
  EXPECT_FALSE(parse_command("").command);
  EXPECT_FALSE(parse_command("STAT 1").command);
  EXPECT_FALSE(parse_command("NOOP x").command);
  EXPECT_TRUE(std::holds_alternative<cmd::Apop>(*parse_command("APOP mrose c4c9334bac560ecc979e58001b3e22fb").command));
}

}  // namespace
}  // namespace mail::pop3
