// AuthGuard: the delay grows per failure of an IP and is capped; IP and user budgets lock
// within a window and expire after it; unknown names count like real ones; a success
// clears the user's count; memory stays bounded under a spray of names.
#include "node/auth_guard.h"

#include <gtest/gtest.h>

namespace mail::node {
namespace {

Instant at(Duration d) { return Instant(d); }

TEST(AuthGuard, DelayDoublesPerFailureOfTheIpAndIsCapped) {
  AuthGuardConfig c;
  c.failure_delay = 1s;
  c.failure_delay_max = 15s;
  AuthGuard g(c);
  EXPECT_EQ(g.record_failure("192.0.2.1", "a", at(0s)), Duration(1s));
  EXPECT_EQ(g.record_failure("192.0.2.1", "b", at(1s)), Duration(2s));
  EXPECT_EQ(g.record_failure("192.0.2.1", "c", at(2s)), Duration(4s));
  EXPECT_EQ(g.record_failure("192.0.2.1", "d", at(3s)), Duration(8s));
  EXPECT_EQ(g.record_failure("192.0.2.1", "e", at(4s)), Duration(15s));
  EXPECT_EQ(g.record_failure("192.0.2.1", "f", at(5s)), Duration(15s));
  // Another IP starts from the bottom.
  EXPECT_EQ(g.record_failure("192.0.2.2", "a", at(5s)), Duration(1s));
}

TEST(AuthGuard, IpAndUserBudgetsLockWithinTheWindowOnly) {
  AuthGuardConfig c;
  c.window = 10min;
  c.ip_failures_max = 3;
  c.user_failures_max = 2;
  AuthGuard g(c);
  (void)g.record_failure("192.0.2.1", "Alice", at(0s));
  EXPECT_FALSE(g.user_locked("alice", at(1s)));
  (void)g.record_failure("192.0.2.9", "alice", at(1s));
  EXPECT_TRUE(g.user_locked("ALICE", at(2s)));  // case-insensitive key
  EXPECT_FALSE(g.ip_locked("192.0.2.1", at(2s)));
  (void)g.record_failure("192.0.2.1", "nobody-1", at(2s));
  (void)g.record_failure("192.0.2.1", "nobody-2", at(3s));
  EXPECT_TRUE(g.ip_locked("192.0.2.1", at(4s)));
  EXPECT_FALSE(g.ip_locked("192.0.2.1", at(Duration(10min) + 1s)));
  EXPECT_FALSE(g.user_locked("alice", at(Duration(10min) + 1s)));
}

TEST(AuthGuard, UnknownNamesLockLikeRealOnesAndSuccessClearsTheUser) {
  AuthGuardConfig c;
  c.user_failures_max = 2;
  AuthGuard g(c);
  (void)g.record_failure("192.0.2.1", "no-such-user", at(0s));
  (void)g.record_failure("192.0.2.1", "no-such-user", at(1s));
  EXPECT_TRUE(g.user_locked("no-such-user", at(2s)));
  (void)g.record_failure("192.0.2.1", "bob", at(0s));
  g.record_success("bob");
  (void)g.record_failure("192.0.2.1", "bob", at(3s));
  EXPECT_FALSE(g.user_locked("bob", at(4s)));
}

// SECURITY.md: IMAP and POP3 logins share the guard's verdict (RFC 3501 §6.2.3 / RFC 1939
// §13: a failed login is answered after a delay, the same way whatever the reason).
TEST(AuthGuard, JudgeLoginRefusesALockedIpEvenWithTheRightPassword) {
  AuthGuardConfig c;
  c.ip_failures_max = 2;
  c.failure_delay = 1s;
  AuthGuard g(c);
  LoginVerdict ok = judge_login(g, "PLAIN", "bob", true, "192.0.2.1", at(0s));
  EXPECT_TRUE(ok.accepted);
  EXPECT_EQ(ok.level, rt::LogLevel::info);
  EXPECT_EQ(ok.log_line, "login PLAIN user=bob client=192.0.2.1 ok");
  LoginVerdict bad = judge_login(g, "LOGIN", "bob", false, "192.0.2.1", at(1s));
  EXPECT_FALSE(bad.accepted);
  EXPECT_EQ(bad.delay, Duration(1s));
  EXPECT_EQ(bad.level, rt::LogLevel::warn);
  EXPECT_EQ(bad.log_line, "login LOGIN user=bob client=192.0.2.1 failed");
  (void)judge_login(g, "LOGIN", "eve", false, "192.0.2.1", at(2s));
  LoginVerdict locked = judge_login(g, "PLAIN", "bob", true, "192.0.2.1", at(3s));
  EXPECT_FALSE(locked.accepted);
  EXPECT_EQ(locked.log_line, "login PLAIN user=bob client=192.0.2.1 failed (client locked out)");
  LoginVerdict odd = judge_login(g, "PLAIN", std::string("a\0b", 3), false, "192.0.2.9", at(3s));
  EXPECT_EQ(odd.log_line, "login PLAIN user=<invalid> client=192.0.2.9 failed");
}

TEST(AuthGuard, LoginMailboxIsLowerCaseUnlessMapped) {
  EXPECT_EQ(login_mailbox({}, "Bob"), "bob");
  EXPECT_EQ(login_mailbox([](std::string_view s) { return "m-" + std::string(s); }, "Bob"), "m-Bob");
}

TEST(AuthGuard, MemoryStaysBounded) {
  AuthGuardConfig c;
  c.entries_max = 100;
  AuthGuard g(c);
  for (int i = 0; i < 10000; ++i) {
    (void)g.record_failure("10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250), "u" + std::to_string(i),
                           at(Duration(i * 1000)));
  }
  // The newest entries are remembered, the oldest forgotten.
  EXPECT_EQ(g.record_failure("10.0.39.249", "x", at(Duration(10'000'000))), Duration(2s));
}

}  // namespace
}  // namespace mail::node
