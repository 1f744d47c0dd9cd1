// SMTP AUTH in the sans-IO session (RFC 4954): the EHLO keyword and which mechanisms go
// without TLS (§4, §6: 538), 504/534/503/501/500 refusals, the 334 exchange for PLAIN,
// LOGIN and SCRAM-SHA-256 (RFC 7677 §3 vector), "*" cancellation, the application verdict,
// AUTH= on MAIL (§5), submission's 530 and STARTTLS forgetting the identity (RFC 3207 §4.2).
#include <gtest/gtest.h>

#include "proto/sasl/base64.h"
#include "proto/sasl/test_support.h"
#include "proto/smtp/client_session.h"
#include "proto/smtp/session_harness.h"

namespace mail::smtp {
namespace {

using sasl::base64_decode;
using sasl::base64_encode;
using testing::codes;
using testing::Harness;

const std::string kSalt = *base64_decode("W22ZaJ0SNY7soEsUEjb6gQ==");

struct AuthFixture : ::testing::Test {
  AuthFixture() {
    store.users["user"] = sasl::derive_scram_credentials(crypto, "pencil", kSalt, 4096);
    store.users["tim"] = sasl::derive_scram_credentials(crypto, "tanstaaftanstaaf", "salt-tim", 4096);
  }
  ServerConfig config(bool starttls = false) {
    ServerConfig c = testing::test_config();
    c.auth.crypto = &crypto;
    c.auth.credentials = &store;
    c.starttls_available = starttls;
    return c;
  }
  SessionInfo tls_info() {
    SessionInfo i;
    i.tls = true;
    return i;
  }
  static std::string plain(std::string_view user, std::string_view pass) {
    return base64_encode(std::string(1, '\0') + std::string(user) + std::string(1, '\0') + std::string(pass));
  }
  sasl::testing::ScriptedCrypto crypto;
  sasl::testing::MapStore store;
};

TEST_F(AuthFixture, Rfc4954_S3_EhloOffersOnlyScramWithoutTls) {
  Harness h(config());
  h.take();
  h.feed("EHLO c.test\r\n");
  const std::string ehlo = h.take();
  EXPECT_NE(ehlo.find("250-AUTH SCRAM-SHA-256\r\n"), std::string::npos) << ehlo;
  EXPECT_EQ(ehlo.find("PLAIN"), std::string::npos);
}

TEST_F(AuthFixture, Rfc4954_S3_EhloOffersAllUnderTls) {
  Harness h(config(), tls_info());
  h.take();
  h.feed("EHLO c.test\r\n");
  EXPECT_NE(h.take().find("250-AUTH SCRAM-SHA-256 PLAIN LOGIN\r\n"), std::string::npos);
}

TEST_F(AuthFixture, NotOfferedWithoutCredentialsOrAfterHelo) {
  Harness plain_session;  // no auth configured
  plain_session.take();
  plain_session.feed("EHLO c.test\r\n");
  EXPECT_EQ(plain_session.take().find("AUTH"), std::string::npos);
  plain_session.feed("AUTH PLAIN " + plain("tim", "tanstaaftanstaaf") + "\r\n");
  EXPECT_EQ(plain_session.take().substr(0, 10), "502 5.5.1 ");

  Harness h(config(), tls_info());
  h.take();
  h.feed("HELO c.test\r\n");
  h.take();
  h.feed("AUTH PLAIN " + plain("tim", "tanstaaftanstaaf") + "\r\n");
  EXPECT_EQ(h.take().substr(0, 10), "503 5.5.1 ");
}

TEST_F(AuthFixture, Rfc4954_S6_PlaintextMechanismWithoutTlsIs538) {
  Harness h(config());
  h.ehlo();
  h.feed("AUTH PLAIN " + plain("tim", "tanstaaftanstaaf") + "\r\n");
  EXPECT_EQ(h.take(), "538 5.7.11 Encryption required for requested authentication mechanism\r\n");
  h.feed("AUTH LOGIN\r\n");
  EXPECT_EQ(h.take().substr(0, 11), "538 5.7.11 ");
  EXPECT_TRUE(h.all<ev::Auth>().empty());
}

TEST_F(AuthFixture, PlaintextAllowedWithoutTlsWhenConfigured) {
  ServerConfig c = config();
  c.auth.plaintext_without_tls = true;
  Harness h(c);
  h.take();
  h.feed("EHLO c.test\r\n");
  EXPECT_NE(h.take().find("AUTH SCRAM-SHA-256 PLAIN LOGIN"), std::string::npos);
  h.feed("AUTH PLAIN " + plain("tim", "tanstaaftanstaaf") + "\r\n");
  EXPECT_EQ(h.take(), "235 2.7.0 Authentication successful\r\n");
}

TEST_F(AuthFixture, Rfc4954_S4_PlainWithInitialResponseThenSecondAuthIs503) {
  Harness h(config(), tls_info());
  h.ehlo();
  h.feed("AUTH PLAIN " + plain("tim", "tanstaaftanstaaf") + "\r\n");
  EXPECT_EQ(h.take(), "235 2.7.0 Authentication successful\r\n");
  ASSERT_EQ(h.all<ev::Auth>().size(), 1u);
  EXPECT_TRUE(h.all<ev::Auth>()[0].success);
  EXPECT_EQ(h.all<ev::Auth>()[0].authcid, "tim");
  EXPECT_EQ(h.all<ev::Auth>()[0].mechanism, "PLAIN");
  EXPECT_EQ(h.session.auth_identity(), "tim");
  h.feed("AUTH PLAIN " + plain("tim", "tanstaaftanstaaf") + "\r\n");
  EXPECT_EQ(h.take(), "503 5.5.1 Error: already authenticated\r\n");
}

TEST_F(AuthFixture, Rfc4954_S4_EmptyChallengeKeepsTheSpace) {
  Harness h(config(), tls_info());
  h.ehlo();
  h.feed("AUTH PLAIN\r\n");
  EXPECT_EQ(h.take(), "334 \r\n");  // continue-req = "334" SP [base64] CRLF
  h.feed(plain("tim", "tanstaaftanstaaf") + "\r\n");
  EXPECT_EQ(h.take(), "235 2.7.0 Authentication successful\r\n");
}

TEST_F(AuthFixture, WrongPasswordGoesToTheApplicationAsAFailure) {
  Harness h(config(), tls_info());
  h.ehlo();
  h.feed("AUTH PLAIN " + plain("tim", "wrong") + "\r\n");
  EXPECT_EQ(h.take(), "535 5.7.8 Authentication credentials invalid\r\n");
  ASSERT_EQ(h.all<ev::Auth>().size(), 1u);
  EXPECT_FALSE(h.all<ev::Auth>()[0].success);
  EXPECT_EQ(h.all<ev::Auth>()[0].failure, sasl::Failure::bad_credentials);
  EXPECT_TRUE(h.session.auth_identity().empty());
  // A later attempt is allowed (budgets are the application's).
  h.feed("AUTH PLAIN " + plain("tim", "tanstaaftanstaaf") + "\r\n");
  EXPECT_EQ(h.take().substr(0, 4), "235 ");
}

TEST_F(AuthFixture, ApplicationMayRefuseAGoodPassword) {
  Harness h(config(), tls_info());
  h.decide = [](const Event& e) -> std::optional<Reply> {
    if (std::holds_alternative<ev::Auth>(e)) return Reply::make(454, {4, 7, 0}, "Temporary authentication failure");
    return testing::default_verdict(e);
  };
  h.ehlo();
  h.feed("AUTH PLAIN " + plain("tim", "tanstaaftanstaaf") + "\r\n");
  EXPECT_EQ(h.take(), "454 4.7.0 Temporary authentication failure\r\n");
  EXPECT_TRUE(h.session.auth_identity().empty());
}

TEST_F(AuthFixture, LoginExchange) {
  Harness h(config(), tls_info());
  h.ehlo();
  h.feed("AUTH LOGIN\r\n");
  EXPECT_EQ(h.take(), "334 VXNlcm5hbWU6\r\n");  // "Username:"
  h.feed(base64_encode("tim") + "\r\n");
  EXPECT_EQ(h.take(), "334 UGFzc3dvcmQ6\r\n");  // "Password:"
  h.feed(base64_encode("tanstaaftanstaaf") + "\r\n");
  EXPECT_EQ(h.take(), "235 2.7.0 Authentication successful\r\n");
}

TEST_F(AuthFixture, Rfc7677_S3_ScramSha256OverSmtp) {
  ServerConfig c = config();
  c.auth.sasl.scram_nonce_chars = 30;
  crypto.nonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
  Harness h(c);  // SCRAM is offered without TLS: the password never crosses the wire
  h.ehlo();
  h.feed("AUTH SCRAM-SHA-256 " + base64_encode("n,,n=user,r=rOprNGfwEbeRWgbNEkqO") + "\r\n");
  std::string wire = h.take();
  ASSERT_EQ(wire.substr(0, 4), "334 ");
  EXPECT_EQ(*base64_decode(wire.substr(4, wire.size() - 6)),
            "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
  h.feed(base64_encode("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                       "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=") +
         "\r\n");
  wire = h.take();
  ASSERT_EQ(wire.substr(0, 4), "334 ");
  EXPECT_EQ(*base64_decode(wire.substr(4, wire.size() - 6)), "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
  h.feed("\r\n");
  EXPECT_EQ(h.take(), "235 2.7.0 Authentication successful\r\n");
  EXPECT_EQ(h.session.auth_identity(), "user");
}

TEST_F(AuthFixture, Rfc4954_S4_CancelMalformedAndTooLong) {
  Harness h(config(), tls_info());
  h.ehlo();
  h.feed("AUTH LOGIN\r\n");
  h.take();
  h.feed("*\r\n");
  EXPECT_EQ(h.take(), "501 5.0.0 Authentication aborted\r\n");
  h.feed("AUTH PLAIN\r\n");
  h.take();
  h.feed("!!!not-base64\r\n");
  EXPECT_EQ(h.take(), "501 5.5.2 Error: invalid SASL response\r\n");
  h.feed("AUTH PLAIN\r\n");
  h.take();
  h.feed(std::string(5000, 'A') + "\r\n");
  EXPECT_EQ(h.take(), "500 5.5.6 Authentication Exchange line is too long\r\n");
  // The session is still usable and nothing was authenticated.
  h.feed("NOOP\r\n");
  EXPECT_EQ(codes(h.take()), std::vector<int>{250});
  EXPECT_TRUE(h.all<ev::Auth>().empty());
}

TEST_F(AuthFixture, Rfc4954_S4_UnknownMechanismIs504AndPolicyExcludedIs534) {
  ServerConfig c = config();
  c.auth.mechanisms = {sasl::Mechanism::scram_sha_256};
  Harness h(c, tls_info());
  h.ehlo();
  h.feed("AUTH CRAM-MD5\r\n");
  EXPECT_EQ(h.take(), "504 5.5.4 Unrecognized authentication type\r\n");
  h.feed("AUTH PLAIN " + plain("tim", "tanstaaftanstaaf") + "\r\n");
  EXPECT_EQ(h.take(), "534 5.7.9 Authentication mechanism is too weak\r\n");
  h.feed("AUTH\r\n");
  EXPECT_EQ(h.take().substr(0, 10), "501 5.5.4 ");
}

TEST_F(AuthFixture, Rfc4954_S4_NotDuringATransaction) {
  Harness h(config(), tls_info());
  h.ehlo();
  h.feed("MAIL FROM:<a@b.test>\r\n");
  h.take();
  h.feed("AUTH PLAIN " + plain("tim", "tanstaaftanstaaf") + "\r\n");
  EXPECT_EQ(h.take(), "503 5.5.1 Error: MAIL transaction in progress\r\n");
}

TEST_F(AuthFixture, Rfc4954_S5_AuthParameterTrustedOnlyWhenAuthenticated) {
  Harness h(config(), tls_info());
  h.ehlo();
  h.feed_sync("MAIL FROM:<a@b.test> AUTH=forged@b.test\r\nRCPT TO:<x@y.test>\r\nDATA\r\n.\r\n");
  ASSERT_EQ(h.messages(), 1u);
  EXPECT_EQ(h.all<ev::Message>()[0].envelope.mail_params.auth, "<>");
  EXPECT_EQ(h.all<ev::Message>()[0].envelope.auth_identity, "");
  h.feed("AUTH PLAIN " + plain("tim", "tanstaaftanstaaf") + "\r\n");
  h.feed_sync("MAIL FROM:<tim@b.test> AUTH=tim@b.test\r\nRCPT TO:<x@y.test>\r\nDATA\r\n.\r\n");
  ASSERT_EQ(h.messages(), 2u);
  EXPECT_EQ(h.all<ev::Message>()[1].envelope.mail_params.auth, "tim@b.test");
  EXPECT_EQ(h.all<ev::Message>()[1].envelope.auth_identity, "tim");
}

TEST_F(AuthFixture, Rfc4954_S5_AuthParameterUnknownWhereAuthIsNotOffered) {
  Harness h;
  h.ehlo();
  h.feed("MAIL FROM:<a@b.test> AUTH=<>\r\n");
  EXPECT_EQ(h.take().substr(0, 4), "555 ");
}

TEST_F(AuthFixture, Rfc6409_S4_3_SubmissionRequiresAuthBeforeMail) {
  ServerConfig c = config();
  c.auth.required = true;
  Harness h(c, tls_info());
  h.ehlo();
  h.feed("MAIL FROM:<tim@b.test>\r\n");
  EXPECT_EQ(h.take(), "530 5.7.0 Authentication required\r\n");
  // Pipelined: AUTH with an initial response, then MAIL in the same packet; MAIL waits for
  // the AUTH verdict and then runs authenticated.
  h.feed("AUTH PLAIN " + plain("tim", "tanstaaftanstaaf") + "\r\nMAIL FROM:<tim@b.test>\r\n");
  EXPECT_EQ(codes(h.take()), (std::vector<int>{235, 250}));
}

TEST_F(AuthFixture, Rfc3207_S4_2_StarttlsForgetsTheIdentity) {
  // Authenticate in cleartext (allowed here by configuration), then upgrade.
  ServerConfig c = config(/*starttls=*/true);
  c.auth.plaintext_without_tls = true;
  Harness g(c);
  g.ehlo();
  g.feed("AUTH PLAIN " + plain("tim", "tanstaaftanstaaf") + "\r\n");
  ASSERT_EQ(g.session.auth_identity(), "tim");
  g.take();
  g.feed("STARTTLS\r\n");
  EXPECT_EQ(codes(g.take()), std::vector<int>{220});
  g.session.tls_established(g.now);
  g.drain();
  EXPECT_TRUE(g.session.auth_identity().empty());
  g.feed("EHLO c.test\r\n");
  EXPECT_NE(g.take().find("AUTH SCRAM-SHA-256 PLAIN LOGIN"), std::string::npos);
  g.feed("AUTH PLAIN " + plain("tim", "tanstaaftanstaaf") + "\r\n");
  EXPECT_EQ(g.take().substr(0, 4), "235 ");
}

TEST_F(AuthFixture, PendingVerdictHoldsTheExchangeOutcome) {
  Harness h(config(), tls_info());
  h.decide = [](const Event& e) -> std::optional<Reply> {
    if (std::holds_alternative<ev::Auth>(e)) return std::nullopt;  // the application is slow (failure delay)
    return testing::default_verdict(e);
  };
  h.ehlo();
  h.feed("AUTH PLAIN " + plain("tim", "bad") + "\r\nNOOP\r\n");
  EXPECT_EQ(h.take(), "");  // nothing until the verdict, NOOP waits (RFC 2920 order)
  EXPECT_FALSE(h.session.poll_timeout().has_value());
  h.answer(Reply::make(535, {5, 7, 8}, "Authentication credentials invalid"));
  EXPECT_EQ(codes(h.take()), (std::vector<int>{535, 250}));
}

// --- Our ClientSession against our ServerSession (RFC 4954 both sides) -------------------

// Shuttles bytes between a ClientSession and the server Harness until both are quiet; a
// STARTTLS handshake is a null one (both sides simply agree).
struct ClientPair {
  ClientSession client;
  Harness& server;
  std::vector<ev::TransactionResult> results;
  std::vector<ev::Authenticated> auths;
  std::string client_sent;

  ClientPair(ClientConfig cfg, Harness& h) : client(std::move(cfg), h.now), server(h) {}

  void run() {
    for (int round = 0; round < 1000; ++round) {
      bool progress = false;
      while (auto o = client.poll_output()) {
        progress = true;
        if (auto* b = std::get_if<out::Send>(&*o)) {
          client_sent += b->bytes;
          EXPECT_EQ(server.feed(b->bytes), "");
        } else if (std::holds_alternative<out::StartTls>(*o)) {
          server.session.tls_established(server.now);
          server.drain();
          client.tls_established(server.now);
        }
      }
      while (auto e = client.poll_event()) {
        progress = true;
        if (auto* r = std::get_if<ev::TransactionResult>(&*e)) results.push_back(std::move(*r));
        if (auto* a = std::get_if<ev::Authenticated>(&*e)) auths.push_back(*a);
      }
      const std::string back = server.take();
      if (!back.empty() && !client.closed()) {
        EXPECT_EQ(client.feed(back, server.now), back.size());
        progress = true;
      }
      if (!progress) return;
    }
    ADD_FAILURE() << "the pair did not become idle";
  }

  void send_one() {
    MailTransaction tx;
    tx.mail_from = Path{Mailbox{"tim", "b.test"}};
    tx.recipients.push_back(Recipient{Path{Mailbox{"x", "mx.test"}}, {}});
    tx.content = "Subject: t\r\n\r\nhi\r\n";
    (void)client.submit(std::move(tx), server.now);
    client.quit(server.now);
    run();
  }
};

ClientConfig client_auth(std::string user, std::string password, std::vector<sasl::Mechanism> mechs, Crypto* crypto) {
  ClientConfig c;
  c.helo_name = "c.test";
  c.auth = ClientAuth{std::move(user), std::move(password), std::move(mechs), false, crypto};
  return c;
}

TEST_F(AuthFixture, ClientScramSha256AgainstOurServerWithoutTls) {
  ServerConfig c = config();
  c.auth.required = true;  // submission: nothing before AUTH
  Harness h(c);
  ClientPair p(client_auth("user", "pencil", {sasl::Mechanism::scram_sha_256, sasl::Mechanism::plain}, &crypto), h);
  p.send_one();
  ASSERT_EQ(p.results.size(), 1u);
  EXPECT_TRUE(p.results[0].accepted) << p.results[0].reply.code;
  EXPECT_TRUE(p.client.authenticated());
  ASSERT_EQ(p.auths.size(), 1u);
  EXPECT_EQ(p.auths[0].mechanism, sasl::Mechanism::scram_sha_256);
  EXPECT_EQ(h.messages(), 1u);
  EXPECT_EQ(h.all<ev::Message>()[0].envelope.auth_identity, "user");
  // SCRAM went in cleartext, the password never did.
  EXPECT_EQ(p.client_sent.find("pencil"), std::string::npos);
  EXPECT_EQ(p.client_sent.find(base64_encode("pencil")), std::string::npos);
}

TEST_F(AuthFixture, ClientScramWrongPasswordFailsWithTheServers535) {
  ServerConfig c = config();
  c.auth.required = true;
  Harness h(c);
  ClientPair p(client_auth("user", "crayon", {sasl::Mechanism::scram_sha_256}, &crypto), h);
  p.send_one();
  ASSERT_EQ(p.results.size(), 1u);
  EXPECT_FALSE(p.results[0].accepted);
  EXPECT_FALSE(p.results[0].local);
  EXPECT_EQ(p.results[0].reply.code, 535);
  EXPECT_FALSE(p.client.authenticated());
  EXPECT_EQ(h.messages(), 0u);
  EXPECT_TRUE(p.client.closed());
}

TEST_F(AuthFixture, ClientPlainAfterStartTlsAndLoginAgainstOurServer) {
  for (sasl::Mechanism m : {sasl::Mechanism::plain, sasl::Mechanism::login}) {
    ServerConfig c = config(/*starttls=*/true);
    c.auth.required = true;
    Harness h(c);
    ClientConfig cc = client_auth("tim", "tanstaaftanstaaf", {m}, nullptr);
    cc.use_starttls = true;
    cc.require_tls = true;
    ClientPair p(std::move(cc), h);
    p.send_one();
    ASSERT_EQ(p.results.size(), 1u);
    EXPECT_TRUE(p.results[0].accepted) << p.results[0].reply.code;
    EXPECT_TRUE(p.client.tls());
    ASSERT_EQ(p.auths.size(), 1u);
    EXPECT_EQ(p.auths[0].mechanism, m);
    EXPECT_EQ(h.all<ev::Message>().at(0).envelope.auth_identity, "tim");
  }
}

TEST_F(AuthFixture, ClientWithoutTlsDoesNotOfferItsPasswordAndServerRefusesMail) {
  // Our server offers only SCRAM in cleartext; a PLAIN-only client fails locally (530: no
  // mechanism), a client without credentials gets the server's 530 at MAIL.
  ServerConfig c = config();
  c.auth.required = true;
  {
    Harness h(c);
    ClientPair p(client_auth("tim", "tanstaaftanstaaf", {sasl::Mechanism::plain}, nullptr), h);
    p.send_one();
    ASSERT_EQ(p.results.size(), 1u);
    EXPECT_TRUE(p.results[0].local);
    EXPECT_EQ(p.results[0].reply.code, 530);
    EXPECT_EQ(p.client_sent.find("AUTH"), std::string::npos);
  }
  {
    Harness h(c);
    ClientConfig cc;
    cc.helo_name = "c.test";
    ClientPair p(cc, h);
    p.send_one();
    ASSERT_EQ(p.results.size(), 1u);
    EXPECT_FALSE(p.results[0].local);
    EXPECT_EQ(p.results[0].reply.code, 530);
  }
}

// A scripted impostor: it echoes a well-formed server-first for the client's nonce but
// cannot produce the ServerSignature (it does not hold the credentials).
TEST_F(AuthFixture, ClientScramRejectsAServerThatCannotProveItself) {
  const ClientConfig cc = client_auth("user", "pencil", {sasl::Mechanism::scram_sha_256}, &crypto);
  for (const bool skip_server_final : {false, true}) {
    SCOPED_TRACE(skip_server_final ? "235 without server-final" : "wrong ServerSignature");
    ClientSession s(cc, testing::t0());
    MailTransaction tx;
    tx.mail_from = Path{Mailbox{"tim", "b.test"}};
    tx.recipients.push_back(Recipient{Path{Mailbox{"x", "mx.test"}}, {}});
    tx.content = "x\r\n";
    (void)s.submit(std::move(tx), testing::t0());
    std::vector<ev::TransactionResult> results;
    auto exchange = [&](std::string_view in) {
      (void)s.feed(in, testing::t0());
      std::string sent;
      while (auto o = s.poll_output())
        if (auto* b = std::get_if<out::Send>(&*o)) sent += b->bytes;
      while (auto e = s.poll_event())
        if (auto* r = std::get_if<ev::TransactionResult>(&*e)) results.push_back(*r);
      return sent;
    };
    exchange("220 mx\r\n");
    const std::string auth = exchange("250-mx\r\n250 AUTH SCRAM-SHA-256\r\n");
    const std::string prefix = "AUTH SCRAM-SHA-256 ";
    ASSERT_EQ(auth.substr(0, prefix.size()), prefix);
    const auto first = base64_decode(auth.substr(prefix.size(), auth.size() - prefix.size() - 2));
    ASSERT_TRUE(first.has_value());
    ASSERT_EQ(first->substr(0, 12), "n,,n=user,r=");
    const std::string cnonce = first->substr(12);
    EXPECT_EQ(cnonce.size(), 24u);
    const std::string server_first = "r=" + cnonce + "srv,s=" + base64_encode(kSalt) + ",i=4096";
    const std::string final_wire = exchange("334 " + base64_encode(server_first) + "\r\n");
    ASSERT_GT(final_wire.size(), 2u);
    const auto final_message = base64_decode(final_wire.substr(0, final_wire.size() - 2));
    ASSERT_TRUE(final_message.has_value());
    const std::string want = "c=biws,r=" + cnonce + "srv,p=";
    EXPECT_EQ(final_message->substr(0, want.size()), want);
    if (skip_server_final) {
      EXPECT_EQ(exchange("235 2.7.0 ok\r\n"), "QUIT\r\n");
    } else {
      EXPECT_EQ(exchange("334 " + base64_encode("v=" + base64_encode(std::string(32, 'x'))) + "\r\n"), "*\r\n");
      EXPECT_EQ(exchange("501 5.7.0 Authentication cancelled\r\n"), "QUIT\r\n");
    }
    ASSERT_EQ(results.size(), 1u);
    EXPECT_TRUE(results[0].local);
    EXPECT_EQ(results[0].reply.code, 535);
    EXPECT_FALSE(s.authenticated());
  }
}

}  // namespace
}  // namespace mail::smtp
