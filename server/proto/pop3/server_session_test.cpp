// pop3::ServerSession, driven as a client would: greeting (RFC 1939 §4), CAPA per state
// (RFC 2449 §5-6), USER/PASS (§7) and AUTH with initial response (RFC 5034 §4), STLS and
// its pipelining hole (RFC 2595 §4, CVE-2011-0411), the TRANSACTION commands (§5), UPDATE
// on QUIT only (§6), response codes (RFC 2449 §8, RFC 3206), error budget, timeouts (§3).
#include <gtest/gtest.h>

#include <string>

#include "proto/imap/session_harness.h"  // FakeCrypto / FakeStore ("user" / "pencil")
#include "proto/pop3/server_session.h"
#include "proto/sasl/base64.h"

namespace mail::pop3 {
namespace {

bool has(const std::string& hay, std::string_view needle) { return hay.find(needle) != std::string::npos; }

struct Pop3Session : ::testing::Test {
  imap::testing::FakeCrypto crypto;
  imap::testing::FakeStore store;
  Instant now{};
  std::optional<ServerSession> s;
  std::string out;
  std::vector<Event> events;

  SessionConfig config(bool plaintext = true, bool starttls = false) {
    SessionConfig c;
    c.crypto = &crypto;
    c.credentials = &store;
    c.plaintext_without_tls = plaintext;
    c.starttls_available = starttls;
    return c;
  }
  void start(SessionConfig c) {
    s.emplace(std::move(c), now);
    drain();
  }
  void drain() {
    while (auto o = s->poll_output()) {
      if (auto* b = std::get_if<proto::out::Send>(&*o)) out += b->bytes;
      else if (std::holds_alternative<proto::out::StartTls>(*o)) out += "<StartTls>";
      else if (std::holds_alternative<proto::out::Close>(*o)) out += "<Close>";
    }
    while (auto e = s->poll_event()) events.push_back(std::move(*e));
  }
  std::size_t feed(std::string_view in) {
    auto n = s->feed(in, now);
    drain();
    return n;
  }
  std::string take() { return std::exchange(out, {}); }
  template <class E>
  E next() {
    EXPECT_FALSE(events.empty());
    if (events.empty()) return E{};
    E* e = std::get_if<E>(&events.front());
    EXPECT_NE(e, nullptr);
    E copy = e ? *e : E{};
    events.erase(events.begin());
    return copy;
  }
  static std::vector<MaildropEntry> drop3() {
    return {{10, 100, "u10"}, {11, 200, "u11"}, {15, 300, "u15"}};
  }
  // Logs in with USER/PASS and the maildrop `m`.
  void login(std::vector<MaildropEntry> m = drop3()) {
    start(config());
    feed("USER user\r\nPASS pencil\r\n");
    auto a = next<ev::Auth>();
    ASSERT_TRUE(a.success);
    s->complete_auth(a.id, true, std::move(m), now);
    drain();
    take();
  }
};

TEST_F(Pop3Session, GreetingIsPositive_Rfc1939_4) {
  start(config());
  EXPECT_EQ(take(), "+OK Cloudsdial POP3 ready\r\n");
  EXPECT_EQ(s->state(), State::authorization);
}

TEST_F(Pop3Session, CapaBeforeLogin_Rfc2449_5) {
  start(config(true, true));
  take();
  feed("CAPA\r\n");
  const auto c = take();
  EXPECT_TRUE(c.starts_with("+OK"));
  for (auto cap : {"TOP\r\n", "USER\r\n", "UIDL\r\n", "RESP-CODES\r\n", "PIPELINING\r\n", "EXPIRE NEVER\r\n",
                   "LOGIN-DELAY 0\r\n", "SASL SCRAM-SHA-256 PLAIN LOGIN\r\n", "STLS\r\n", "UTF8\r\n",
                   "IMPLEMENTATION Cloudsdial\r\n"})
    EXPECT_TRUE(has(c, cap)) << cap;
  EXPECT_TRUE(c.ends_with("\r\n.\r\n"));
}

TEST_F(Pop3Session, CapaAfterLoginKeepsUserAndSaslButNotStls_Rfc2449_5_Rfc5034_3) {
  login();
  feed("CAPA\r\n");
  const auto c = take();
  EXPECT_TRUE(has(c, "USER\r\n"));
  EXPECT_TRUE(has(c, "SASL SCRAM-SHA-256 PLAIN LOGIN\r\n"));
  EXPECT_FALSE(has(c, "STLS"));
  EXPECT_TRUE(has(c, "UIDL\r\n"));
}

TEST_F(Pop3Session, NoUserCapaWithoutTlsOffLoopback_Rfc2595_4) {
  start(config(false, true));
  feed("CAPA\r\n");
  const auto c = take();
  EXPECT_FALSE(has(c, "USER\r\n"));
  EXPECT_TRUE(has(c, "SASL SCRAM-SHA-256\r\n"));
  feed("USER user\r\n");
  EXPECT_TRUE(has(take(), "-ERR [AUTH]"));
  feed("AUTH PLAIN " + sasl::base64_encode(std::string("\0user\0pencil", 12)) + "\r\n");
  EXPECT_TRUE(has(take(), "-ERR [AUTH]"));
  EXPECT_TRUE(events.empty());
}

TEST_F(Pop3Session, UserPassLogin_Rfc1939_7) {
  start(config());
  take();
  feed("USER user\r\n");
  EXPECT_EQ(take(), "+OK Send PASS\r\n");
  feed("PASS pencil\r\n");
  auto a = next<ev::Auth>();
  EXPECT_TRUE(a.success);
  EXPECT_EQ(a.authcid, "user");
  s->complete_auth(a.id, true, drop3(), now);
  drain();
  EXPECT_EQ(take(), "+OK Logged in: 3 messages (600 octets)\r\n");
  EXPECT_EQ(s->state(), State::transaction);
}

TEST_F(Pop3Session, WrongPasswordIsAuthCode_Rfc3206_4) {
  start(config());
  take();
  feed("USER user\r\nPASS wrong\r\n");
  auto a = next<ev::Auth>();
  EXPECT_FALSE(a.success);
  s->complete_auth(a.id, false, {}, now);
  drain();
  EXPECT_EQ(take(), "+OK Send PASS\r\n-ERR [AUTH] Authentication failed\r\n");
  EXPECT_EQ(s->state(), State::authorization);
  feed("PASS pencil\r\n");  // USER must come again
  EXPECT_TRUE(has(take(), "-ERR USER first"));
}

TEST_F(Pop3Session, InUseRefusal_Rfc2449_8_1_2) {
  start(config());
  take();
  feed("USER user\r\nPASS pencil\r\n");
  auto a = next<ev::Auth>();
  s->complete_auth(a.id, false, {}, now, "[IN-USE] Maildrop is locked by another session");
  drain();
  EXPECT_TRUE(has(take(), "-ERR [IN-USE] Maildrop is locked"));
  EXPECT_EQ(s->state(), State::authorization);
}

TEST_F(Pop3Session, AuthPlainInitialResponse_Rfc5034_4) {
  start(config());
  take();
  feed("AUTH PLAIN " + sasl::base64_encode(std::string("\0user\0pencil", 12)) + "\r\n");
  auto a = next<ev::Auth>();
  EXPECT_TRUE(a.success);
  EXPECT_EQ(a.mechanism, "PLAIN");
}

TEST_F(Pop3Session, AuthPlainChallengeThenResponse_Rfc5034_4) {
  start(config());
  take();
  feed("AUTH PLAIN\r\n");
  EXPECT_EQ(take(), "+ \r\n");
  feed(sasl::base64_encode(std::string("\0user\0pencil", 12)) + "\r\n");
  EXPECT_TRUE(next<ev::Auth>().success);
}

TEST_F(Pop3Session, AuthCancelled_Rfc5034_4) {
  start(config());
  take();
  feed("AUTH LOGIN\r\n");
  EXPECT_TRUE(take().starts_with("+ "));
  feed("*\r\n");
  EXPECT_EQ(take(), "-ERR Authentication cancelled\r\n");
  feed("NOOP\r\n");  // back to commands
  EXPECT_TRUE(take().starts_with("-ERR"));
}

TEST_F(Pop3Session, ApopRefused) {
  start(config());
  take();
  feed("APOP user c4c9334bac560ecc979e58001b3e22fb\r\n");
  EXPECT_TRUE(take().starts_with("-ERR APOP is not supported"));
  EXPECT_TRUE(events.empty());
}

TEST_F(Pop3Session, StlsDiscardsPipelinedPlaintext_Rfc2595_4) {
  start(config(true, true));
  take();
  feed("STLS\r\nUSER user\r\nPASS pencil\r\n");
  EXPECT_EQ(take(), "+OK Begin TLS negotiation\r\n<StartTls>");
  feed("CAPA\r\n");  // still before the handshake: dropped
  EXPECT_EQ(take(), "");
  s->tls_established(now);
  feed("PASS pencil\r\n");  // the USER before STLS is forgotten
  EXPECT_TRUE(has(take(), "-ERR USER first"));
  feed("CAPA\r\n");
  EXPECT_FALSE(has(take(), "STLS"));
  feed("STLS\r\n");
  EXPECT_TRUE(take().starts_with("-ERR"));
  EXPECT_TRUE(events.empty());
}

TEST_F(Pop3Session, StatListUidl_Rfc1939_5_7) {
  login();
  feed("STAT\r\n");
  EXPECT_EQ(take(), "+OK 3 600\r\n");
  feed("LIST\r\n");
  EXPECT_EQ(take(), "+OK 3 messages (600 octets)\r\n1 100\r\n2 200\r\n3 300\r\n.\r\n");
  feed("LIST 2\r\nLIST 4\r\n");
  EXPECT_EQ(take(), "+OK 2 200\r\n-ERR No such message\r\n");
  feed("UIDL\r\n");
  EXPECT_EQ(take(), "+OK\r\n1 u10\r\n2 u11\r\n3 u15\r\n.\r\n");
  feed("uidl 3\r\n");
  EXPECT_EQ(take(), "+OK 3 u15\r\n");
}

TEST_F(Pop3Session, DeleMarksAndRsetUnmarks_Rfc1939_5) {
  login();
  feed("DELE 2\r\n");
  EXPECT_EQ(take(), "+OK Message 2 deleted\r\n");
  feed("DELE 2\r\nRETR 2\r\nLIST 2\r\nUIDL 2\r\n");
  EXPECT_EQ(take(), "-ERR Message 2 already deleted\r\n-ERR Message 2 already deleted\r\n"
                    "-ERR Message 2 already deleted\r\n-ERR Message 2 already deleted\r\n");
  feed("STAT\r\nLIST\r\n");
  EXPECT_EQ(take(), "+OK 2 400\r\n+OK 2 messages (400 octets)\r\n1 100\r\n3 300\r\n.\r\n");
  feed("RSET\r\nSTAT\r\n");
  EXPECT_EQ(take(), "+OK Maildrop has 3 messages (600 octets)\r\n+OK 3 600\r\n");
}

TEST_F(Pop3Session, RetrStreamsStuffedBody_Rfc1939_7) {
  login();
  feed("RETR 1\r\nNOOP\r\n");
  auto r = next<ev::Retrieve>();
  EXPECT_EQ(r.uid, 10u);
  EXPECT_FALSE(r.top_lines);
  EXPECT_EQ(take(), "");  // NOOP waits: one command at a time, in order
  EXPECT_TRUE(s->send_message(r.id, "Subject: a\r\n\r\n.dot"));
  drain();
  EXPECT_TRUE(s->send_message(r.id, "\r\n.\r\n"));
  s->complete_retrieve(r.id, true, now);
  drain();
  EXPECT_EQ(take(), "+OK Message follows\r\nSubject: a\r\n\r\n..dot\r\n..\r\n.\r\n");
  feed("");  // the driver feeds what was left
  (void)s->feed("NOOP\r\n", now);
  drain();
  EXPECT_EQ(take(), "+OK\r\n");
}

TEST_F(Pop3Session, TopAsksForLines_Rfc1939_7) {
  login();
  feed("TOP 3 1\r\n");
  auto r = next<ev::Retrieve>();
  EXPECT_EQ(r.uid, 15u);
  ASSERT_TRUE(r.top_lines);
  EXPECT_EQ(*r.top_lines, 1u);
  EXPECT_FALSE(s->send_message(r.id, "H: v\r\n\r\nb1\r\nb2\r\n"));  // it has what it needs
  s->complete_retrieve(r.id, true, now);
  drain();
  EXPECT_EQ(take(), "+OK Message follows\r\nH: v\r\n\r\nb1\r\n.\r\n");
}

TEST_F(Pop3Session, RetrReadFailureIsSysTemp_Rfc3206_5) {
  login();
  feed("RETR 1\r\n");
  auto r = next<ev::Retrieve>();
  s->complete_retrieve(r.id, false, now);
  drain();
  EXPECT_EQ(take(), "-ERR [SYS/TEMP] Cannot read the message now\r\n");
  EXPECT_FALSE(s->closed());
}

TEST_F(Pop3Session, QuitInTransactionDeletesMarked_Rfc1939_6) {
  login();
  feed("DELE 1\r\nDELE 3\r\n");
  take();
  feed("QUIT\r\n");
  auto u = next<ev::Update>();
  EXPECT_EQ(u.deleted_uids, (std::vector<std::uint32_t>{10, 15}));
  EXPECT_EQ(s->state(), State::update);
  EXPECT_EQ(take(), "");  // +OK only once deleted durably
  s->complete_update(u.id, true, now);
  drain();
  EXPECT_EQ(take(), "+OK Logging out, messages deleted\r\n<Close>");
}

TEST_F(Pop3Session, QuitUpdateFailureIsSysTemp_Rfc1939_6) {
  login();
  feed("DELE 1\r\nQUIT\r\n");
  take();
  auto u = next<ev::Update>();
  s->complete_update(u.id, false, now);
  drain();
  EXPECT_TRUE(take().starts_with("-ERR [SYS/TEMP]"));
  EXPECT_TRUE(s->closed());
}

TEST_F(Pop3Session, EofDeletesNothing_Rfc1939_6) {
  login();
  feed("DELE 1\r\n");
  take();
  s->feed_eof(now);
  drain();
  EXPECT_TRUE(events.empty());
  EXPECT_TRUE(s->closed());
}

TEST_F(Pop3Session, QuitInAuthorizationEmitsNothing_Rfc1939_5) {
  start(config());
  take();
  feed("QUIT\r\n");
  EXPECT_EQ(take(), "+OK Logging out\r\n<Close>");
  EXPECT_TRUE(events.empty());
}

TEST_F(Pop3Session, StateChecks_Rfc1939_3) {
  start(config());
  take();
  feed("STAT\r\n");
  EXPECT_TRUE(take().starts_with("-ERR"));
  login();
  feed("USER user\r\nSTLS\r\nAUTH PLAIN\r\nUTF8\r\n");
  const auto t = take();
  EXPECT_EQ(t, "-ERR Not valid in the TRANSACTION state\r\n-ERR Not valid in the TRANSACTION state\r\n"
               "-ERR Not valid in the TRANSACTION state\r\n-ERR Not valid in the TRANSACTION state\r\n");
}

TEST_F(Pop3Session, Utf8InAuthorization_Rfc6856_2) {
  start(config());
  take();
  feed("UTF8\r\n");
  EXPECT_TRUE(take().starts_with("+OK"));
}

TEST_F(Pop3Session, LongLineIsRefused_Rfc2449_4) {
  login();
  feed("NOOP " + std::string(600, 'x'));
  feed(std::string(100, 'y') + "\r\nSTAT\r\n");
  EXPECT_EQ(take(), "-ERR Line too long\r\n+OK 3 600\r\n");
  // 255 octets (RFC 2449 §4 maximum) are accepted.
  feed("LIST " + std::string(248, '0') + "1\r\n");
  EXPECT_EQ(take(), "-ERR Invalid message number\r\n");  // parsed, not refused as too long
}

TEST_F(Pop3Session, ErrorBudgetCloses) {
  start(config());
  take();
  std::string junk;
  for (int i = 0; i < 10; ++i) junk += "BOGUS\r\n";
  feed(junk);
  const auto t = take();
  EXPECT_TRUE(t.ends_with("-ERR Too many invalid commands\r\n<Close>"));
  EXPECT_TRUE(s->closed());
}

TEST_F(Pop3Session, LoginTimeoutIsAbsolute) {
  start(config());
  take();
  const auto deadline = *s->poll_timeout();
  now = now + 30s;
  feed("NOOP\r\n");
  EXPECT_EQ(*s->poll_timeout(), deadline);
}

TEST_F(Pop3Session, IdleTimeoutAtLeastTenMinutes_Rfc1939_3) {
  login();
  const auto t0 = now;
  EXPECT_GE(*s->poll_timeout() - t0, Duration(10min));
  s->handle_timeout(now + 9min);
  drain();
  EXPECT_FALSE(s->closed());
  s->handle_timeout(now + 10min);
  drain();
  EXPECT_TRUE(take().starts_with("-ERR Autologout"));
  EXPECT_TRUE(s->closed());
}

TEST_F(Pop3Session, ChunkedInputGivesTheSameAnswers) {
  login();
  const std::string script = "STAT\r\nLIST 1\r\nDELE 2\r\nUIDL\r\nRSET\r\nNOOP\r\n";
  feed(script);
  const auto whole = take();
  login();
  for (char c : script) feed(std::string_view(&c, 1));
  EXPECT_EQ(take(), whole);
}

TEST_F(Pop3Session, ShutdownWhileUpdateWaits) {
  login();
  feed("DELE 1\r\nQUIT\r\n");
  take();
  auto u = next<ev::Update>();
  s->shutdown(now, false);
  drain();
  EXPECT_FALSE(s->closed());
  s->complete_update(u.id, true, now);
  drain();
  EXPECT_TRUE(take().starts_with("+OK"));
}

}  // namespace
}  // namespace mail::pop3
