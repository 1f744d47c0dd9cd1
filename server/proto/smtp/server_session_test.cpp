// smtp::ServerSession transcript tests: every command, reply code path and limit (at its
// boundary pair), pipelining order, DATA, BDAT, STARTTLS, timeouts, error budget and
// shutdown. Test names carry the RFC section they check. Smuggling: smuggling_test.cpp;
// properties: server_session_property_test.cpp.
#include "proto/smtp/server_session.h"

#include <gtest/gtest.h>

#include <string>

#include "proto/smtp/session_harness.h"

namespace mail::smtp {
namespace {

using testing::codes;
using testing::Harness;
using testing::test_config;

constexpr std::string_view kTx = "MAIL FROM:<s@example.org>\r\nRCPT TO:<r@mx.test>\r\nDATA\r\n";

std::string line_of(std::size_t n, char c = 'x') { return std::string(n, c); }

// ---------------------------------------------------------------------------------------
// Greeting, EHLO, HELO.

TEST(Rfc5321_4_2, GreetingIs220WithoutEnhancedCode) {
  Harness h;
  EXPECT_EQ(h.out, "220 mx.test ESMTP Cloudsdial\r\n");
  EXPECT_EQ(h.session.state(), State::greeting);
}

TEST(Rfc5321_4_1_1_1, EhloListsExtensionsWithoutEnhancedCodes) {
  Harness h;
  h.take();
  h.feed("EHLO client.test\r\n");
  EXPECT_EQ(h.out,
            "250-mx.test\r\n250-PIPELINING\r\n250-SIZE 36700160\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n"
            "250-BINARYMIME\r\n250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n");
  EXPECT_EQ(h.session.state(), State::ready);
  auto helos = h.all<ev::Helo>();
  ASSERT_EQ(helos.size(), 1u);
  EXPECT_EQ(helos[0].name, "client.test");
  EXPECT_TRUE(helos[0].extended);
}

TEST(Rfc3207_4, EhloOffersStarttlsOnlyWhenAvailable) {
  ServerConfig c = test_config();
  c.starttls_available = true;
  Harness h(c);
  h.take();
  h.feed("EHLO a\r\n");
  EXPECT_NE(h.out.find("250-STARTTLS\r\n"), std::string::npos);
  SessionInfo tls;
  tls.tls = true;  // implicit TLS: nothing to start
  Harness h2(c, tls);
  h2.take();
  h2.feed("EHLO a\r\n");
  EXPECT_EQ(h2.out.find("STARTTLS"), std::string::npos);
}

TEST(Rfc5321_4_1_1_1, EhloFollowsConfigFlags) {
  ServerConfig c = test_config();
  c.pipelining = false;
  c.chunking = false;  // takes BINARYMIME with it (RFC 3030 §3 (3))
  c.dsn = false;
  c.smtputf8 = false;
  c.eight_bit_mime = false;
  c.enhanced_status_codes = false;
  c.limits.message_bytes_max = 100000;
  Harness h(c);
  h.take();
  h.feed("EHLO a\r\nNOOP\r\n");
  EXPECT_EQ(h.out, "250-mx.test\r\n250 SIZE 100000\r\n250 Ok\r\n");
}

TEST(Rfc5321_4_1_1_1, HeloIsOneLine) {
  Harness h;
  h.take();
  h.feed("HELO client.test\r\n");
  EXPECT_EQ(h.out, "250 mx.test\r\n");
  EXPECT_FALSE(h.all<ev::Helo>().at(0).extended);
}

TEST(Rfc5321_4_1_1_1, EmptyArgumentIs501) {
  Harness h;
  h.take();
  h.feed("EHLO\r\nHELO \r\n");
  EXPECT_EQ(h.out, "501 5.5.4 Syntax: EHLO hostname\r\n501 5.5.4 Syntax: HELO hostname\r\n");
  EXPECT_EQ(h.session.state(), State::greeting);  // §4.1.4: state unchanged
}

TEST(Rfc5321_4_1_1_1, InvalidArgumentIs501) {
  Harness h;
  h.take();
  h.feed("EHLO a b\r\nEHLO a\x01"
         "b\r\nEHLO \xff\xfe\r\n");
  EXPECT_EQ(codes(h.out), (std::vector<int>{501, 501, 501}));
  EXPECT_EQ(h.session.state(), State::greeting);
}

TEST(Rfc5321_4_1_1_1, AcceptsLiteralsUtf8AndPostfixLenientNames) {
  for (std::string name : {"[192.0.2.1]", "[IPv6:2001:db8::1]", "b\xc3\xbc" "cher.example", "my_host", "192.0.2.1",
                           "localhost", "a.b.c"}) {
    Harness h;
    h.take();
    h.feed("EHLO " + name + "\r\n");
    EXPECT_EQ(codes(h.out), std::vector<int>{250}) << name;
  }
}

TEST(Rfc5321_4_1_4, EhloResetsTransaction) {
  Harness h;
  h.ehlo();
  h.feed("MAIL FROM:<a@b.example>\r\nRCPT TO:<c@mx.test>\r\nEHLO again\r\nDATA\r\n");
  EXPECT_EQ(codes(h.out), (std::vector<int>{250, 250, 250, 503}));
  EXPECT_EQ(h.all<ev::TransactionReset>().size(), 1u);
  EXPECT_EQ(h.session.state(), State::ready);
}

TEST(Rfc5321_2_4, VerbsAreCaseInsensitive) {
  Harness h;
  h.take();
  h.feed("ehlo a\r\nmAiL fRoM:<a@b.example>\r\nrcpt to:<c@mx.test>\r\ndata\r\n");
  h.feed("x\r\n.\r\nnoop\r\nquit\r\n");
  EXPECT_EQ(codes(h.out), (std::vector<int>{250, 250, 250, 354, 250, 250, 221}));
  EXPECT_EQ(h.messages(), 1u);
}

// ---------------------------------------------------------------------------------------
// Command order (RFC 5321 §4.1.4, §3.3).

TEST(Rfc5321_4_1_4, MailRcptDataBeforeHeloAre503) {
  Harness h;
  h.take();
  h.feed("MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n");
  EXPECT_EQ(h.out,
            "503 5.5.1 Error: send HELO/EHLO first\r\n503 5.5.1 Error: send HELO/EHLO first\r\n"
            "503 5.5.1 Error: send HELO/EHLO first\r\n");
  EXPECT_TRUE(h.all<ev::MailFrom>().empty());
}

TEST(Rfc5321_4_1_4, NoopRsetVrfyHelpWorkBeforeHelo) {
  Harness h;
  h.take();
  h.feed("NOOP\r\nRSET\r\nVRFY x\r\nHELP\r\n");
  EXPECT_EQ(codes(h.out), (std::vector<int>{250, 250, 252, 214}));
}

TEST(Rfc5321_4_1_4, RcptWithoutMailIs503) {
  Harness h;
  h.ehlo();
  h.feed("RCPT TO:<c@mx.test>\r\n");
  EXPECT_EQ(h.out, "503 5.5.1 Error: need MAIL command\r\n");
}

TEST(Rfc5321_4_1_4, DataWithoutMailIs503) {
  Harness h;
  h.ehlo();
  h.feed("DATA\r\n");
  EXPECT_EQ(h.out, "503 5.5.1 Error: need RCPT command\r\n");
}

TEST(Rfc5321_3_3, DataWithoutValidRecipientIs554) {
  Harness h;
  h.decide = [](const Event& e) -> std::optional<Reply> {
    if (std::holds_alternative<ev::RcptTo>(e)) return Reply::make(550, {5, 1, 1}, "User unknown");
    return testing::default_verdict(e);
  };
  h.ehlo();
  // RFC 2920: the whole batch in one write; the 554 comes right after the failed RCPTs.
  h.feed("MAIL FROM:<a@b.example>\r\nRCPT TO:<x@mx.test>\r\nRCPT TO:<y@mx.test>\r\nDATA\r\n");
  EXPECT_EQ(h.out,
            "250 2.1.0 Ok\r\n550 5.1.1 User unknown\r\n550 5.1.1 User unknown\r\n"
            "554 5.5.1 Error: no valid recipients\r\n");
  EXPECT_EQ(h.session.state(), State::mail);
}

TEST(Rfc5321_4_1_4, NestedMailIs503) {
  Harness h;
  h.ehlo();
  h.feed("MAIL FROM:<a@b.example>\r\nMAIL FROM:<c@d.example>\r\n");
  EXPECT_EQ(h.out, "250 2.1.0 Ok\r\n503 5.5.1 Error: nested MAIL command\r\n");
  EXPECT_EQ(h.all<ev::MailFrom>().size(), 1u);
}

// ---------------------------------------------------------------------------------------
// MAIL (RFC 5321 §4.1.1.2) and its parameters.

TEST(Rfc5321_4_1_1_2, MailAcceptsLenientSpacesAfterColon) {
  for (std::string cmd : {"MAIL FROM:<a@b.example>", "MAIL FROM: <a@b.example>", "MAIL FROM:   <a@b.example>",
                          "MAIL  FROM:<a@b.example>  "}) {
    Harness h;
    h.ehlo();
    h.feed(cmd + "\r\n");
    EXPECT_EQ(h.out, "250 2.1.0 Ok\r\n") << cmd;
    ASSERT_EQ(h.all<ev::MailFrom>().size(), 1u);
    EXPECT_EQ(h.all<ev::MailFrom>()[0].path.to_string(), "<a@b.example>");
  }
}

TEST(Rfc5321_4_1_1_2, MailSyntaxErrors) {
  Harness h;
  h.ehlo();
  h.feed("MAIL\r\nMAIL TO:<a@b.example>\r\nMAIL FROM:\r\nMAIL FROM:a@b.example\r\nMAIL FROM:<a@b.example>x\r\n");
  EXPECT_EQ(h.out,
            "501 5.5.4 Syntax: MAIL FROM:<address>\r\n501 5.5.4 Syntax: MAIL FROM:<address>\r\n"
            "501 5.5.4 Syntax: MAIL FROM:<address>\r\n501 5.1.7 Bad sender address syntax\r\n"
            "501 5.5.4 Syntax: MAIL FROM:<address>\r\n");
  EXPECT_TRUE(h.all<ev::MailFrom>().empty());
  EXPECT_EQ(h.session.state(), State::ready);
}

TEST(Rfc5321_4_1_1_2, NullReversePathAccepted) {
  Harness h;
  h.ehlo();
  h.feed("MAIL FROM:<>\r\n");
  EXPECT_EQ(h.out, "250 2.1.0 Ok\r\n");
  EXPECT_TRUE(h.all<ev::MailFrom>().at(0).path.is_null());
}

TEST(Rfc1870_6, DeclaredSizeBoundary) {
  ServerConfig c = test_config();
  c.limits.message_bytes_max = 100000;
  Harness h(c);
  h.ehlo();
  h.feed("MAIL FROM:<a@b.example> SIZE=100000\r\nRSET\r\nMAIL FROM:<a@b.example> SIZE=100001\r\n");
  EXPECT_EQ(codes(h.out), (std::vector<int>{250, 250, 552}));
  EXPECT_NE(h.out.find("552 5.3.4 "), std::string::npos);
}

TEST(Rfc5321_4_1_1_1, NoExtensionsAfterHelo) {
  Harness h;
  h.feed("HELO a\r\nMAIL FROM:<a@b.example> BODY=8BITMIME\r\nMAIL FROM:<a@b.example> SIZE=10\r\n");
  EXPECT_EQ(codes(h.take()), (std::vector<int>{220, 250, 555, 555}));
  h.feed("MAIL FROM:<a@b.example>\r\n");
  EXPECT_EQ(codes(h.out), std::vector<int>{250});
}

TEST(Rfc6531_3_4, Utf8PathNeedsSmtputf8) {
  Harness h;
  h.ehlo();
  h.feed("MAIL FROM:<j\xc3\xb6rg@b.example>\r\n");
  EXPECT_EQ(h.take(), "553 5.6.7 Non-ASCII address requires SMTPUTF8\r\n");
  h.feed("MAIL FROM:<j\xc3\xb6rg@b.example> SMTPUTF8\r\nRCPT TO:<m\xc3\xa4x@mx.test>\r\n");
  EXPECT_EQ(codes(h.take()), (std::vector<int>{250, 250}));
  EXPECT_TRUE(h.all<ev::MailFrom>().at(0).params.smtputf8);
  h.feed("RSET\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<m\xc3\xa4x@mx.test>\r\n");
  EXPECT_EQ(h.out, "250 2.0.0 Ok\r\n250 2.1.0 Ok\r\n553 5.6.7 Non-ASCII address requires SMTPUTF8\r\n");
}

TEST(Rfc3461_4, DsnParametersReachTheEnvelope) {
  Harness h;
  h.ehlo();
  h.feed_sync("MAIL FROM:<a@b.example> RET=HDRS ENVID=QQ314159\r\nRCPT TO:<c@mx.test> NOTIFY=SUCCESS,FAILURE "
         "ORCPT=rfc822;c@mx.test\r\nDATA\r\nx\r\n.\r\n");
  ASSERT_EQ(h.messages(), 1u);
  const Envelope env = h.all<ev::Message>()[0].envelope;
  EXPECT_EQ(env.mail_params.ret, DsnRet::headers);
  EXPECT_EQ(env.mail_params.envid, "QQ314159");
  ASSERT_EQ(env.recipients.size(), 1u);
  EXPECT_TRUE(env.recipients[0].params.notify.success);
  EXPECT_TRUE(env.recipients[0].params.notify.failure);
  EXPECT_EQ(env.recipients[0].params.orcpt, "c@mx.test");
}

TEST(Security_5_10, XtextInjectionInParametersIsRefused) {
  Harness h;
  h.ehlo();
  h.feed("MAIL FROM:<a@b.example> ENVID=+0AX-Injected:+20y\r\n");
  EXPECT_EQ(codes(h.out), std::vector<int>{501});
  EXPECT_TRUE(h.all<ev::MailFrom>().empty());
}

TEST(Security_5_11, MalformedParametersAre501Or555) {
  Harness h;
  h.ehlo();
  h.feed("MAIL FROM:<a@b.example> SIZE=\r\nMAIL FROM:<a@b.example> SIZE=99999999999999999999\r\n"
         "MAIL FROM:<a@b.example> SIZE=-1\r\nMAIL FROM:<a@b.example> BODY=8BITMIME=x\r\nMAIL FROM:<a@b.example> =\r\n"
         "MAIL FROM:<a@b.example> X-UNKNOWN=1\r\n");
  for (int code : codes(h.out)) EXPECT_TRUE(code == 501 || code == 555 || code == 552) << h.out;
  EXPECT_EQ(codes(h.out).size(), 6u);
  EXPECT_TRUE(h.all<ev::MailFrom>().empty());
}

TEST(Rfc5321_4_5_3_1_1, LocalPartOf64Ok65Refused) {
  Harness h;
  h.ehlo();
  h.feed("MAIL FROM:<" + std::string(64, 'l') + "@b.example>\r\nRSET\r\nMAIL FROM:<" + std::string(65, 'l') +
         "@b.example>\r\n");
  EXPECT_EQ(h.out, "250 2.1.0 Ok\r\n250 2.0.0 Ok\r\n501 5.1.7 Local part too long\r\n");
}

TEST(Rfc5321_4_5_3_1_2, DomainOf255OkAndLongerRefused) {
  std::string domain;
  for (int i = 0; i < 4; ++i) domain += std::string(63, 'd') + ".";
  domain += "abc";  // 4 * 64 + 3 = 259: too long
  const std::string ok_domain = domain.substr(4);  // 255 octets, labels of 63 or less
  ASSERT_EQ(ok_domain.size(), 255u);
  Harness h;
  h.ehlo();
  h.feed("MAIL FROM:<a@b.example>\r\nRCPT TO:<" + std::string(64, 'l') + "@" + ok_domain + ">\r\nRCPT TO:<l@" + domain +
         ">\r\n");
  EXPECT_EQ(codes(h.out), (std::vector<int>{250, 250, 501}));
  EXPECT_NE(h.out.find("501 5.1.3 "), std::string::npos);
  EXPECT_FALSE(h.closed());
}

TEST(Security_6_1, LongLocalPartIsRefusedAndSessionSurvives) {
  Harness h;
  h.ehlo();
  // Within command_line_bytes_tolerated: 500 and the session goes on.
  h.feed("MAIL FROM:<" + std::string(4000, 'l') + "@b.example>\r\nMAIL FROM:<a@b.example>\r\n");
  EXPECT_EQ(h.out, "500 5.5.2 Error: line too long\r\n250 2.1.0 Ok\r\n");
}

TEST(Security_6_2, HundredKilobyteCommandIsRefusedAndSessionSurvives) {
  // SECURITY.md §6 test 2: a 100 KB command line (with CRLF) is answered with 500 and the
  // session goes on (default tolerance 128 KiB). Discarded bytes are never kept.
  ServerConfig c = test_config();
  Harness h(c);
  h.ehlo();
  h.feed("MAIL FROM:<" + std::string(100 * 1024, 'l') + "@b.example>\r\nMAIL FROM:<a@b.example>\r\n");
  EXPECT_EQ(h.out, "500 5.5.2 Error: line too long\r\n250 2.1.0 Ok\r\n");
  EXPECT_LE(h.session.buffered_bytes(), c.limits.command_line_bytes_max);
}

TEST(Rfc6531_3_2, Smtputf8ParameterRefusedWhenNotOffered) {
  ServerConfig c = test_config();
  c.smtputf8 = false;
  Harness h(c);
  h.ehlo();
  h.feed("MAIL FROM:<a@b.example> SMTPUTF8\r\n");
  EXPECT_EQ(codes(h.out), std::vector<int>{555});
}

// ---------------------------------------------------------------------------------------
// Verdicts.

TEST(Verdicts, MailRefusalIsRelayedAsIs) {
  Harness h;
  h.decide = [](const Event& e) -> std::optional<Reply> {
    if (std::holds_alternative<ev::MailFrom>(e)) return Reply::make(550, {5, 7, 1}, "Sender rejected");
    return testing::default_verdict(e);
  };
  h.ehlo();
  h.feed("MAIL FROM:<a@b.example>\r\nRCPT TO:<c@mx.test>\r\n");
  EXPECT_EQ(h.out, "550 5.7.1 Sender rejected\r\n503 5.5.1 Error: need MAIL command\r\n");
  EXPECT_FALSE(h.session.in_transaction());
}

TEST(Verdicts, OnlyAcceptedRecipientsReachTheEnvelope) {
  Harness h;
  h.decide = [](const Event& e) -> std::optional<Reply> {
    if (auto* r = std::get_if<ev::RcptTo>(&e); r && r->path.mailbox->local_part == "bad")
      return Reply::make(550, {5, 1, 1}, "<bad@mx.test>: Recipient address rejected: User unknown");
    if (auto* r = std::get_if<ev::RcptTo>(&e); r && r->path.mailbox->local_part == "later")
      return Reply::make(450, {4, 2, 0}, "Try again later");
    return testing::default_verdict(e);
  };
  h.ehlo();
  h.feed_sync("MAIL FROM:<a@b.example>\r\nRCPT TO:<one@mx.test>\r\nRCPT TO:<bad@mx.test>\r\nRCPT TO:<later@mx.test>\r\n"
         "RCPT TO:<two@mx.test>\r\nDATA\r\nhi\r\n.\r\n");
  EXPECT_EQ(codes(h.out), (std::vector<int>{250, 250, 550, 450, 250, 354, 250}));
  ASSERT_EQ(h.messages(), 1u);
  const auto rcpts = h.all<ev::Message>()[0].envelope.recipients;
  ASSERT_EQ(rcpts.size(), 2u);
  EXPECT_EQ(rcpts[0].path.to_string(), "<one@mx.test>");
  EXPECT_EQ(rcpts[1].path.to_string(), "<two@mx.test>");
}

TEST(Verdicts, MessageCarriesTheWholeEnvelope) {
  SessionInfo info;
  info.remote_address = "198.51.100.9";
  Harness h(test_config(), info);
  h.ehlo("relay.example");
  h.feed_sync("MAIL FROM:<a@b.example> BODY=8BITMIME SIZE=20\r\nRCPT TO:<c@mx.test>\r\nDATA\r\nSubject: x\r\n\r\nbody\r\n.\r\n");
  ASSERT_EQ(h.messages(), 1u);
  const ev::Message m = h.all<ev::Message>()[0];
  EXPECT_EQ(m.envelope.helo, "relay.example");
  EXPECT_TRUE(m.envelope.extended_hello);
  EXPECT_EQ(m.envelope.client_address, "198.51.100.9");
  EXPECT_FALSE(m.envelope.tls);
  EXPECT_EQ(m.envelope.mail_from.to_string(), "<a@b.example>");
  EXPECT_EQ(m.envelope.mail_params.body, BodyType::eight_bit_mime);
  EXPECT_EQ(m.envelope.mail_params.size, 20u);
  EXPECT_EQ(m.content, "Subject: x\r\n\r\nbody\r\n");
  EXPECT_NE(m.id, 0u);
  EXPECT_EQ(codes(h.out), (std::vector<int>{250, 250, 354, 250}));
}

TEST(Verdicts, MessageRefusalIsRelayedAndTransactionEnds) {
  Harness h;
  h.decide = [](const Event& e) -> std::optional<Reply> {
    if (std::holds_alternative<ev::Message>(e)) return Reply::make(451, {4, 3, 0}, "Error: queue file write error");
    return testing::default_verdict(e);
  };
  h.ehlo();
  h.feed_sync(std::string(kTx) + "x\r\n.\r\nMAIL FROM:<a@b.example>\r\n");
  EXPECT_EQ(codes(h.out), (std::vector<int>{250, 250, 354, 451, 250}));
}

TEST(Verdicts, Application421ClosesTheSession) {
  Harness h;
  h.decide = [](const Event& e) -> std::optional<Reply> {
    if (std::holds_alternative<ev::RcptTo>(e)) return Reply::make(421, {4, 3, 2}, "mx.test Service shutting down");
    return testing::default_verdict(e);
  };
  h.ehlo();
  h.feed("MAIL FROM:<a@b.example>\r\nRCPT TO:<c@mx.test>\r\nNOOP\r\n");
  EXPECT_EQ(codes(h.out), (std::vector<int>{250, 421}));
  EXPECT_TRUE(h.closed());
}

TEST(Rfc5321_4_1_1_3, PostmasterWithoutDomainIsAccepted) {
  Harness h;
  h.ehlo();
  h.feed("MAIL FROM:<a@b.example>\r\nRCPT TO:<Postmaster>\r\n");
  EXPECT_EQ(codes(h.out), (std::vector<int>{250, 250}));
  EXPECT_EQ(h.all<ev::RcptTo>().at(0).path.to_string(), "<Postmaster@mx.test>");
}

TEST(Rfc5321_4_1_1_3, NullForwardPathIs501) {
  Harness h;
  h.ehlo();
  h.feed("MAIL FROM:<a@b.example>\r\nRCPT TO:<>\r\nRCPT TO:c@mx.test\r\nRCPT <c@mx.test>\r\n");
  EXPECT_EQ(codes(h.out), (std::vector<int>{250, 501, 501, 501}));
  EXPECT_TRUE(h.all<ev::RcptTo>().empty());
}

// ---------------------------------------------------------------------------------------
// Recipient limit (RFC 5321 §4.5.3.1.8, §4.5.3.1.10).

void expect_recipient_limit(std::uint32_t max) {
  ServerConfig c = test_config();
  c.limits.recipients_max = max;
  Harness h(c);
  h.ehlo();
  std::string batch = "MAIL FROM:<a@b.example>\r\n";
  for (std::uint32_t i = 0; i <= max; ++i) batch += "RCPT TO:<u" + std::to_string(i) + "@mx.test>\r\n";
  batch += "DATA\r\nx\r\n.\r\n";
  h.feed_sync(batch);
  const std::vector<int> got = codes(h.out);
  ASSERT_EQ(got.size(), max + 4u);
  for (std::uint32_t i = 1; i <= max; ++i) EXPECT_EQ(got[i], 250);
  EXPECT_EQ(got[max + 1], 452);
  EXPECT_NE(h.out.find("452 4.5.3 Error: too many recipients\r\n"), std::string::npos);
  ASSERT_EQ(h.messages(), 1u);
  EXPECT_EQ(h.all<ev::Message>()[0].envelope.recipients.size(), max);
}

TEST(Rfc5321_4_5_3_1_8, HundredRecipientsThenToomany) { expect_recipient_limit(100); }
TEST(Rfc5321_4_5_3_1_8, ThousandRecipientsThenToomany) { expect_recipient_limit(1000); }

TEST(Security_5_12, RecipientFloodEndsInTooManyErrors) {
  ServerConfig c = test_config();
  c.limits.recipients_max = 100;
  Harness h(c);
  h.ehlo();
  h.feed("MAIL FROM:<a@b.example>\r\n");
  std::string flood;
  for (int i = 0; i < 100 + 100 + 30; ++i) flood += "RCPT TO:<u@mx.test>\r\n";
  h.feed(flood);
  // 100 accepted, 100 free 452s (overshoot), then 452s count: the 20th error closes.
  EXPECT_TRUE(h.closed());
  EXPECT_NE(h.out.find("421 4.7.0 mx.test Error: too many errors\r\n"), std::string::npos);
  EXPECT_EQ(h.all<ev::RcptTo>().size(), 100u);
}

// ---------------------------------------------------------------------------------------
// DATA (RFC 5321 §4.1.1.4, §4.5.2).

TEST(Rfc5321_4_1_1_4, DataReplyIs354WithoutEnhancedCode) {
  Harness h;
  h.ehlo();
  h.feed(kTx);
  EXPECT_EQ(h.out, "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n");
  EXPECT_EQ(h.session.state(), State::data);
  EXPECT_TRUE(h.session.in_transaction());
}

TEST(Rfc5321_4_1_1_4, DataWithArgumentIs501) {
  Harness h;
  h.ehlo();
  h.feed("MAIL FROM:<a@b.example>\r\nRCPT TO:<c@mx.test>\r\nDATA now\r\n");
  EXPECT_EQ(codes(h.out), (std::vector<int>{250, 250, 501}));
  EXPECT_EQ(h.session.state(), State::rcpt);
}

TEST(Rfc5321_4_5_2, DotUnstuffing) {
  Harness h;
  h.ehlo();
  h.feed_sync(std::string(kTx) + "..leading dot\r\n...two\r\n.\t\r\nmid.dle\r\n..\r\n.\r\n");
  ASSERT_EQ(h.messages(), 1u);
  EXPECT_EQ(h.all<ev::Message>()[0].content, ".leading dot\r\n..two\r\n\t\r\nmid.dle\r\n.\r\n");
}

TEST(Rfc5321_4_1_1_4, EmptyMessageIsAccepted) {
  Harness h;
  h.ehlo();
  h.feed_sync(std::string(kTx) + ".\r\n");
  ASSERT_EQ(h.messages(), 1u);
  EXPECT_EQ(h.all<ev::Message>()[0].content, "");
  EXPECT_EQ(codes(h.out).back(), 250);
  EXPECT_EQ(h.session.state(), State::ready);
}

TEST(Rfc6152_3, EightBitContentWith7BitBodyIsAcceptedLikePostfix) {
  Harness h;
  h.ehlo();
  h.feed_sync(std::string(kTx) + "caf\xc3\xa9\r\n.\r\n");
  ASSERT_EQ(h.messages(), 1u);
  EXPECT_EQ(h.all<ev::Message>()[0].content, "caf\xc3\xa9\r\n");
}

TEST(Rfc5321_4_5_3_1_6, TextLineOf1000OctetsOk1001Refused) {
  Harness h;
  h.ehlo();
  h.feed_sync(std::string(kTx) + line_of(998) + "\r\n.\r\n");
  EXPECT_EQ(h.messages(), 1u);
  h.take();
  h.feed_sync(std::string(kTx) + line_of(999) + "\r\n.\r\n");
  EXPECT_EQ(h.messages(), 1u);
  EXPECT_EQ(h.out, "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n"
                   "554 5.6.0 Message line too long (RFC 5321 section 4.5.3.1.6)\r\n");
  EXPECT_EQ(h.session.state(), State::ready);
}

TEST(Rfc5321_4_5_3_1_6, StuffingDotDoesNotCount) {
  Harness h;
  h.ehlo();
  // 998 octets of content starting with '.', sent stuffed as 999 + CRLF = 1001 on the wire.
  h.feed_sync(std::string(kTx) + "." + line_of(998, '.') + "\r\n.\r\n");
  ASSERT_EQ(h.messages(), 1u);
  EXPECT_EQ(h.all<ev::Message>()[0].content.size(), 1000u);
}

TEST(Rfc1870_6_3, MessageSizeBoundary) {
  ServerConfig c = test_config();
  c.limits.message_bytes_max = 1000;
  Harness h(c);
  h.ehlo();
  // 1000 octets of content exactly: 10 lines of 98 + CRLF.
  std::string content;
  for (int i = 0; i < 10; ++i) content += line_of(98) + "\r\n";
  h.feed_sync(std::string(kTx) + content + ".\r\n");
  ASSERT_EQ(h.messages(), 1u);
  h.take();
  h.feed_sync(std::string(kTx) + content + "x\r\n.\r\n");
  EXPECT_EQ(h.messages(), 1u);
  EXPECT_EQ(codes(h.out).back(), 552);
  EXPECT_NE(h.out.find("552 5.3.4 Message size exceeds fixed maximum message size\r\n"), std::string::npos);
  EXPECT_EQ(h.session.state(), State::ready);
}

TEST(Rfc1870_6_3, MoreThanDeclaredSizeIsRefused) {
  Harness h;
  h.ehlo();
  h.feed_sync("MAIL FROM:<a@b.example> SIZE=10\r\nRCPT TO:<c@mx.test>\r\nDATA\r\n12345678\r\n.\r\n");
  EXPECT_EQ(h.messages(), 1u);
  h.take();
  h.feed_sync("MAIL FROM:<a@b.example> SIZE=10\r\nRCPT TO:<c@mx.test>\r\nDATA\r\n123456789\r\n.\r\n");
  EXPECT_EQ(h.messages(), 1u);
  EXPECT_EQ(codes(h.out).back(), 552);
}

TEST(Rfc1870_6_3, OversizeMessageIsNotKept) {
  ServerConfig c = test_config();
  c.limits.message_bytes_max = 4096;
  Harness h(c);
  h.ehlo();
  h.feed(kTx);
  for (int i = 0; i < 1000; ++i) {
    h.feed(line_of(98) + "\r\n");
    ASSERT_LE(h.session.buffered_bytes(), 4096u + 200u);
  }
  h.feed(".\r\n");
  EXPECT_EQ(codes(h.out).back(), 552);
}

std::string received_headers(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += "Received: from h" + std::to_string(i) + " by x; Mon, 1 Jan 2024 00:00:00 +0000\r\n";
  return s;
}

TEST(Rfc5321_6_3, FiftyHopsOkFiftyOneRefused) {
  Harness h;
  h.ehlo();
  h.feed_sync(std::string(kTx) + received_headers(50) + "Subject: x\r\n\r\nbody\r\n.\r\n");
  EXPECT_EQ(h.messages(), 1u);
  h.take();
  h.feed_sync(std::string(kTx) + received_headers(51) + "Subject: x\r\n\r\nbody\r\n.\r\n");
  EXPECT_EQ(h.messages(), 1u);
  EXPECT_EQ(h.out.substr(h.out.rfind("554")), "554 5.4.6 Too many hops\r\n");
}

TEST(Rfc5321_6_3, HopCountIsCaseInsensitiveAndHeaderOnly) {
  ServerConfig c = test_config();
  c.limits.hops_max = 2;
  Harness h(c);
  h.ehlo();
  // Two real hops, then the body quotes many Received: lines: still accepted.
  h.feed_sync(std::string(kTx) + "RECEIVED: a\r\nreceived : b\r\nX-Received: c\r\n\r\n" + received_headers(10) + ".\r\n");
  EXPECT_EQ(h.messages(), 1u);
  h.take();
  h.feed_sync(std::string(kTx) + "RECEIVED: a\r\nreceived : b\r\nReceived:c\r\n\r\n.\r\n");
  EXPECT_EQ(codes(h.out).back(), 554);
}

TEST(Rfc3030_3, DataAfterBinarymimeIs503) {
  Harness h;
  h.ehlo();
  h.feed("MAIL FROM:<a@b.example> BODY=BINARYMIME\r\nRCPT TO:<c@mx.test>\r\nDATA\r\n");
  EXPECT_EQ(h.out, "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n503 5.5.1 Error: BODY=BINARYMIME requires BDAT (RFC 3030 section 3)\r\n");
}

// ---------------------------------------------------------------------------------------
// BDAT (RFC 3030).

constexpr std::string_view kBdatTx = "MAIL FROM:<a@b.example>\r\nRCPT TO:<c@mx.test>\r\n";

TEST(Rfc3030_2, SingleLastChunk) {
  Harness h;
  h.ehlo();
  h.feed(std::string(kBdatTx) + "BDAT 8 LAST\r\nhi\r\nyo\r\n");
  EXPECT_EQ(codes(h.out), (std::vector<int>{250, 250, 250}));
  ASSERT_EQ(h.messages(), 1u);
  EXPECT_EQ(h.all<ev::Message>()[0].content, "hi\r\nyo\r\n");
  EXPECT_EQ(h.session.state(), State::ready);
}

TEST(Rfc3030_2, ChunksGet250WithOctetCount) {
  Harness h;
  h.ehlo();
  h.feed(std::string(kBdatTx) + "BDAT 4\r\nab\r\nBDAT 0\r\nbdat 4 last\r\ncd\r\n");
  EXPECT_EQ(h.out,
            "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.0.0 4 octets received\r\n250 2.0.0 0 octets received\r\n"
            "250 2.0.0 Ok: queued\r\n");
  ASSERT_EQ(h.messages(), 1u);
  EXPECT_EQ(h.all<ev::Message>()[0].content, "ab\r\ncd\r\n");
}

TEST(Rfc3030_2, ZeroLastEndsMessage) {
  Harness h;
  h.ehlo();
  h.feed(std::string(kBdatTx) + "BDAT 4\r\nab\r\nBDAT 0 LAST\r\n");
  ASSERT_EQ(h.messages(), 1u);
  EXPECT_EQ(h.all<ev::Message>()[0].content, "ab\r\n");
}

TEST(Rfc3030_2, CrlfSplitAcrossChunksIsNotBare) {
  Harness h;
  h.ehlo();
  h.feed(std::string(kBdatTx) + "BDAT 3\r\nab\rBDAT 3 LAST\r\n\ncd");
  ASSERT_EQ(h.messages(), 1u);
  EXPECT_EQ(h.all<ev::Message>()[0].content, "ab\r\ncd");
}

TEST(Rfc3030_2, ChunkBytesAreNeverCommands) {
  Harness h;
  h.ehlo();
  // The chunk holds command-looking text; it must be content, and the RSET after it a command.
  h.feed(std::string(kBdatTx) + "BDAT 18 LAST\r\nQUIT\r\nRSET\r\nNOOP\r\nRSET\r\n");
  EXPECT_EQ(codes(h.out), (std::vector<int>{250, 250, 250, 250}));
  EXPECT_EQ(h.all<ev::Message>().at(0).content, "QUIT\r\nRSET\r\nNOOP\r\n");
  EXPECT_FALSE(h.closed());
}

TEST(Rfc3030_2, BdatWithoutMailIs503AndChunkIsSkipped) {
  Harness h;
  h.ehlo();
  h.feed("BDAT 6\r\nQUIT\r\nNOOP\r\n");
  EXPECT_EQ(h.out, "503 5.5.1 Error: need RCPT command\r\n250 2.0.0 Ok\r\n");
  EXPECT_FALSE(h.closed());
}

TEST(Rfc3030_2, BdatWithoutRecipientIs554AndChunkIsSkipped) {
  Harness h;
  h.ehlo();
  h.feed("MAIL FROM:<a@b.example>\r\nBDAT 6 LAST\r\nQUIT\r\nNOOP\r\n");
  EXPECT_EQ(h.out, "250 2.1.0 Ok\r\n554 5.5.1 Error: no valid recipients\r\n250 2.0.0 Ok\r\n");
  EXPECT_EQ(h.messages(), 0u);
}

TEST(Rfc3030_2, BdatBeforeHeloIs503AndChunkIsSkipped) {
  Harness h;
  h.take();
  h.feed("BDAT 6\r\nQUIT\r\nNOOP\r\n");
  EXPECT_EQ(h.out, "503 5.5.1 Error: send HELO/EHLO first\r\n250 2.0.0 Ok\r\n");
}

TEST(Rfc3030_2, BdatNotOfferedAfterHeloIsSkipped) {
  Harness h;
  h.feed("HELO a\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@mx.test>\r\nBDAT 6 LAST\r\nQUIT\r\nNOOP\r\n");
  EXPECT_EQ(codes(h.out), (std::vector<int>{220, 250, 250, 250, 502, 250}));
}

TEST(Rfc3030_2, DataAfterBdatIs503) {
  Harness h;
  h.ehlo();
  h.feed_sync(std::string(kBdatTx) + "BDAT 2\r\nabDATA\r\nRSET\r\n");
  EXPECT_EQ(h.out,
            "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.0.0 2 octets received\r\n"
            "503 5.5.1 Error: DATA after BDAT (RFC 3030 section 2)\r\n250 2.0.0 Ok\r\n");
  EXPECT_EQ(h.messages(), 0u);
}

TEST(Rfc3030_2, RcptAndMailBetweenChunksAre503) {
  Harness h;
  h.ehlo();
  h.feed(std::string(kBdatTx) + "BDAT 2\r\nabRCPT TO:<d@mx.test>\r\nMAIL FROM:<a@b.example>\r\nBDAT 2 LAST\r\ncd");
  EXPECT_EQ(h.out,
            "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.0.0 2 octets received\r\n"
            "503 5.5.1 Error: RCPT after BDAT (RFC 3030 section 2)\r\n503 5.5.1 Error: nested MAIL command\r\n"
            "250 2.0.0 Ok: queued\r\n");
  ASSERT_EQ(h.messages(), 1u);
  EXPECT_EQ(h.all<ev::Message>()[0].content, "abcd");
}

TEST(Rfc5321_4_1_4, EhloBetweenChunksResets) {
  Harness h;
  h.ehlo();
  h.feed(std::string(kBdatTx) + "BDAT 2\r\nabEHLO b\r\nBDAT 1 LAST\r\nx");
  EXPECT_EQ(codes(h.out), (std::vector<int>{250, 250, 250, 250, 503}));
  EXPECT_EQ(h.messages(), 0u);
  EXPECT_EQ(h.session.state(), State::ready);
}

TEST(Rfc3030_2, PollTimeoutWhileChunkIsRead) {
  Harness h;
  h.ehlo();
  h.feed(std::string(kBdatTx) + "BDAT 10\r\nabc");
  EXPECT_EQ(h.session.poll_timeout(), h.now + 3min);
  h.feed("defghij");
  EXPECT_EQ(h.session.poll_timeout(), h.now + 5min);  // between chunks: waiting for a command
}

TEST(Rfc3030_2, RsetBetweenChunksDropsTheMessage) {
  Harness h;
  h.ehlo();
  h.feed(std::string(kBdatTx) + "BDAT 2\r\nabRSET\r\nBDAT 1 LAST\r\nx");
  EXPECT_EQ(codes(h.out), (std::vector<int>{250, 250, 250, 250, 503}));
  EXPECT_EQ(h.messages(), 0u);
  EXPECT_EQ(h.all<ev::TransactionReset>().size(), 1u);
}

TEST(Rfc3030_2, OversizeChunkIs552AndLaterChunksAreSkipped) {
  ServerConfig c = test_config();
  c.limits.message_bytes_max = 100;
  Harness h(c);
  h.ehlo();
  h.feed(std::string(kBdatTx) + "BDAT 100\r\n" + line_of(100) + "BDAT 1\r\nxBDAT 5 LAST\r\nyyyyyNOOP\r\n");
  EXPECT_EQ(codes(h.out), (std::vector<int>{250, 250, 250, 552, 503, 250}));
  EXPECT_EQ(h.messages(), 0u);
  EXPECT_FALSE(h.closed());
}

TEST(Rfc3030_2, HugeChunkIsCountedNotKept) {
  ServerConfig c = test_config();
  c.limits.message_bytes_max = 1000;
  Harness h(c);
  h.ehlo();
  h.feed(std::string(kBdatTx) + "BDAT 1000000 LAST\r\n");
  for (int i = 0; i < 1000; ++i) {
    h.feed(line_of(1000));
    ASSERT_LE(h.session.buffered_bytes(), 1000u + 600u);
  }
  h.feed("NOOP\r\n");
  EXPECT_EQ(codes(h.out), (std::vector<int>{250, 250, 552, 250}));
}

TEST(Rfc3030_2, BadSizeIs501AndCloses) {
  for (std::string cmd : {"BDAT\r\n", "BDAT x\r\n", "BDAT -1\r\n", "BDAT 99999999999999999999999\r\n",
                          "BDAT 5 FIRST\r\n", "BDAT 5LAST\r\n"}) {
    Harness h;
    h.ehlo();
    h.feed(std::string(kBdatTx) + cmd + "RSET\r\n");
    EXPECT_EQ(codes(h.out), (std::vector<int>{250, 250, 501})) << cmd;
    EXPECT_TRUE(h.closed()) << cmd;
  }
}

TEST(Rfc3030_2, MaxUint64SizeIsParsedAndSkipped) {
  Harness h;
  h.ehlo();
  h.feed("BDAT 18446744073709551615\r\nabc");
  EXPECT_EQ(h.out, "");  // still skipping
  EXPECT_FALSE(h.closed());
  EXPECT_EQ(h.session.buffered_bytes(), 0u);
}

TEST(Rfc3030_3, TextBdatWithBareLfIsRefusedAtLast) {
  Harness h;
  h.ehlo();
  h.feed(std::string(kBdatTx) + "BDAT 4\r\na\nbcBDAT 2 LAST\r\n\r\n");
  EXPECT_EQ(codes(h.out), (std::vector<int>{250, 250, 250, 554}));
  EXPECT_NE(h.out.find("554 5.6.0 Message contains bare CR or LF characters (RFC 5321 section 2.3.8)"), std::string::npos);
  EXPECT_EQ(h.messages(), 0u);
}

TEST(Rfc3030_3, TextBdatEndingInCrIsRefused) {
  Harness h;
  h.ehlo();
  h.feed(std::string(kBdatTx) + "BDAT 3 LAST\r\nab\r");
  EXPECT_EQ(codes(h.out).back(), 554);
}

TEST(Rfc3030_3, TextBdatLineTooLongIsRefused) {
  Harness h;
  h.ehlo();
  const std::string body = line_of(999) + "\r\n";
  h.feed(std::string(kBdatTx) + "BDAT " + std::to_string(body.size()) + " LAST\r\n" + body);
  EXPECT_EQ(codes(h.out).back(), 554);
}

TEST(Rfc3030_3, BinarymimeAllowsAnyOctets) {
  Harness h;
  h.ehlo();
  const std::string body = std::string("\n\r\0\xff", 4) + line_of(2000);
  h.feed("MAIL FROM:<a@b.example> BODY=BINARYMIME\r\nRCPT TO:<c@mx.test>\r\nBDAT " + std::to_string(body.size()) +
         " LAST\r\n" + body);
  ASSERT_EQ(h.messages(), 1u);
  EXPECT_EQ(h.all<ev::Message>()[0].content, body);
}

// ---------------------------------------------------------------------------------------
// PIPELINING (RFC 2920).

TEST(Rfc2920_3_2, WholeTransactionInOneWriteRepliesInOrder) {
  // Content sent before the 354 is refused by default (Rfc2920_3_1 below); allowed here
  // to show the reply order over a whole transaction in one write.
  ServerConfig c = test_config();
  c.reject_pipelined_data = false;
  Harness h(c);
  h.take();
  h.feed("EHLO a\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@mx.test>\r\nRCPT TO:<d@mx.test>\r\nDATA\r\nhello\r\n.\r\n"
         "MAIL FROM:<e@b.example>\r\nRCPT TO:<f@mx.test>\r\nBDAT 4 LAST\r\nhi\r\nQUIT\r\n");
  EXPECT_EQ(codes(h.out), (std::vector<int>{250, 250, 250, 250, 354, 250, 250, 250, 250, 221}));
  EXPECT_EQ(h.messages(), 2u);
  EXPECT_TRUE(h.closed());
}

TEST(Rfc2920_3_2, PendingVerdictHoldsLaterReplies) {
  Harness h;
  h.decide = [](const Event& e) -> std::optional<Reply> {
    if (std::holds_alternative<ev::RcptTo>(e)) return std::nullopt;  // the test answers
    return testing::default_verdict(e);
  };
  h.ehlo();
  const std::string rest = h.feed("MAIL FROM:<a@b.example>\r\nRCPT TO:<c@mx.test>\r\nNOOP\r\nRCPT TO:<d@mx.test>\r\n");
  EXPECT_TRUE(rest.empty());
  // MAIL's reply went out before the pending RCPT blocked; NOOP waits behind it.
  EXPECT_EQ(h.take(), "250 2.1.0 Ok\r\n");
  EXPECT_FALSE(h.session.poll_timeout().has_value());  // no client timeout while we decide
  h.answer(Reply::make(550, {5, 1, 1}, "No such user"));
  EXPECT_EQ(h.take(), "550 5.1.1 No such user\r\n250 2.0.0 Ok\r\n");
  h.answer(Reply::make(250, {2, 1, 5}, "Ok"));
  EXPECT_EQ(h.take(), "250 2.1.5 Ok\r\n");
  EXPECT_EQ(h.session.state(), State::rcpt);
}

TEST(Rfc2920_3_2, InputWhileVerdictPendingIsBounded) {
  ServerConfig c = test_config();
  c.limits.pipelined_input_bytes_max = 1024;
  c.limits.junk_commands_max = 100000;
  Harness h(c);
  h.decide = [](const Event& e) -> std::optional<Reply> {
    if (std::holds_alternative<ev::MailFrom>(e)) return std::nullopt;
    return testing::default_verdict(e);
  };
  h.ehlo();
  std::string lots;
  while (lots.size() < 5000) lots += "NOOP\r\n";
  const std::string rest = h.feed("MAIL FROM:<a@b.example>\r\n" + lots);
  EXPECT_FALSE(rest.empty());
  EXPECT_LE(h.session.buffered_bytes(), 1024u);
  EXPECT_EQ(h.session.feed("NOOP\r\n", h.now), 0u);  // full: takes nothing
  h.answer(Reply::make(250, {2, 1, 0}, "Ok"));
  h.feed(rest);
  EXPECT_EQ(codes(h.out).size(), 1 + lots.size() / 6);
}

TEST(Rfc2920_3_2, MessageVerdictHoldsPipelinedCommands) {
  Harness h;
  h.decide = [](const Event& e) -> std::optional<Reply> {
    if (std::holds_alternative<ev::Message>(e)) return std::nullopt;
    return testing::default_verdict(e);
  };
  h.ehlo();
  h.feed_sync(std::string(kTx) + "x\r\n.\r\nMAIL FROM:<b@b.example>\r\n");
  EXPECT_EQ(codes(h.take()), (std::vector<int>{250, 250, 354}));
  EXPECT_TRUE(h.session.in_transaction());
  h.answer(Reply::make(250, {2, 0, 0}, "Ok: queued as 1"));
  EXPECT_EQ(h.take(), "250 2.0.0 Ok: queued as 1\r\n250 2.1.0 Ok\r\n");
}

// RFC 2920 §3.1: DATA ends a group; content sent before the 354 is improper pipelining.
// By default (ServerConfig::reject_pipelined_data) DATA then gets Postfix's 554 5.5.0 and
// the session closes; the bytes are never read, as content or as commands.

constexpr std::string_view kSyncError = "554 5.5.0 Error: SMTP protocol synchronization\r\n";

void expect_sync_refusal(const Harness& h) {
  EXPECT_TRUE(h.closed());
  EXPECT_EQ(h.messages(), 0u);
  ASSERT_EQ(h.all<ev::Closed>().size(), 1u);
  EXPECT_EQ(h.all<ev::Closed>()[0].reason, "improper command pipelining after DATA");
  ASSERT_FALSE(h.kinds.empty());
  EXPECT_EQ(h.kinds.back(), "close");
}

TEST(Rfc2920_3_1, ContentInTheSameWriteAsDataIsRefused) {
  Harness h;
  h.ehlo();
  h.feed(std::string(kTx) + "Subject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n");
  EXPECT_EQ(h.out, "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n" + std::string(kSyncError));
  expect_sync_refusal(h);
  EXPECT_EQ(h.session.feed("NOOP\r\n", h.now), 6u);  // closed: later bytes are dropped
}

TEST(Rfc2920_3_1, OneExtraByteIsEnough) {
  Harness h;
  h.ehlo();
  h.feed(std::string(kTx) + "S");
  EXPECT_EQ(codes(h.out), (std::vector<int>{250, 250, 554}));
  expect_sync_refusal(h);
}

TEST(Rfc2920_3_1, ContentAfter354IsAccepted) {
  Harness h;
  h.ehlo();
  h.feed(kTx);  // DATA ends the group: MAIL, RCPT and DATA together are proper pipelining
  EXPECT_EQ(codes(h.take()), (std::vector<int>{250, 250, 354}));
  h.feed("Subject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n");
  EXPECT_EQ(codes(h.out), (std::vector<int>{250, 221}));
  ASSERT_EQ(h.messages(), 1u);
  EXPECT_EQ(h.all<ev::Message>()[0].content, "Subject: x\r\n\r\nbody\r\n");
}

TEST(Rfc2920_3_1, OptionOffReadsPipelinedContent) {
  ServerConfig c = test_config();
  c.reject_pipelined_data = false;
  Harness h(c);
  h.ehlo();
  h.feed(std::string(kTx) + "Subject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n");
  EXPECT_EQ(codes(h.out), (std::vector<int>{250, 250, 354, 250, 221}));
  ASSERT_EQ(h.messages(), 1u);
  EXPECT_EQ(h.all<ev::Message>()[0].content, "Subject: x\r\n\r\nbody\r\n");
}

TEST(Rfc2920_3_1, ContentSentWhileRcptVerdictPendingIsRefused) {
  // Not about writes: the content came in a later read, but before any 354 could be sent.
  Harness h;
  h.decide = [](const Event& e) -> std::optional<Reply> {
    if (std::holds_alternative<ev::RcptTo>(e)) return std::nullopt;
    return testing::default_verdict(e);
  };
  h.ehlo();
  h.feed(kTx);
  EXPECT_EQ(h.take(), "250 2.1.0 Ok\r\n");
  h.feed("Subject: x\r\n\r\nbody\r\n.\r\n");
  EXPECT_EQ(h.take(), "");
  h.answer(Reply::make(250, {2, 1, 5}, "Ok"));
  EXPECT_EQ(h.out, "250 2.1.5 Ok\r\n" + std::string(kSyncError));
  expect_sync_refusal(h);
}

TEST(Rfc2920_3_1, ContentHeldBackByFeedCountsAsPipelined) {
  // While MAIL's verdict is pending, feed() buffers at most pipelined_input_bytes_max: here
  // exactly up to the end of the DATA line. The content stays with the driver, yet it
  // was sent before 354 all the same.
  const std::string group = "RCPT TO:<r@mx.test>\r\nDATA\r\n";
  ServerConfig c = test_config();
  c.limits.pipelined_input_bytes_max = static_cast<std::uint32_t>(group.size());
  Harness h(c);
  h.decide = [](const Event& e) -> std::optional<Reply> {
    if (std::holds_alternative<ev::MailFrom>(e)) return std::nullopt;
    return testing::default_verdict(e);
  };
  h.ehlo();
  h.feed("MAIL FROM:<s@example.org>\r\n");
  EXPECT_EQ(h.session.feed(group + "body\r\n.\r\n", h.now), group.size());
  h.answer(Reply::make(250, {2, 1, 0}, "Ok"));
  EXPECT_EQ(codes(h.out), (std::vector<int>{250, 250, 554}));
  expect_sync_refusal(h);
}

TEST(Rfc2920_3_1, DataAtTheEndOfAFeedBlockSeesTheRestOfTheFeed) {
  // feed() moves input in blocks of pipelined_input_bytes_max; a DATA line that ends a
  // block is still followed by the rest of the same feed.
  ServerConfig c = test_config();
  c.limits.pipelined_input_bytes_max = 6;  // "DATA\r\n"
  Harness h(c);
  h.ehlo();
  h.feed("MAIL FROM:<s@example.org>\r\n");
  h.feed("RCPT TO:<r@mx.test>\r\n");
  EXPECT_EQ(codes(h.take()), (std::vector<int>{250, 250}));
  h.feed("DATA\r\nbody\r\n.\r\n");
  EXPECT_EQ(h.out, kSyncError);
  expect_sync_refusal(h);
}

TEST(Rfc2920_3_1, RefusedDataWithPipelinedBytesClosesBeforeThemRunAsCommands) {
  // The reason RFC 2920 §3.1 makes the client wait: when DATA fails (here: no valid
  // recipient), content sent with it would be read as commands.
  Harness h;
  h.decide = [](const Event& e) -> std::optional<Reply> {
    if (std::holds_alternative<ev::RcptTo>(e)) return Reply::make(550, {5, 1, 1}, "No such user");
    return testing::default_verdict(e);
  };
  h.ehlo();
  h.feed(std::string(kTx) + "MAIL FROM:<smuggled@example.org>\r\nRCPT TO:<r@mx.test>\r\n");
  EXPECT_EQ(h.out, "250 2.1.0 Ok\r\n550 5.1.1 No such user\r\n" + std::string(kSyncError));
  expect_sync_refusal(h);
  EXPECT_EQ(h.all<ev::MailFrom>().size(), 1u);
}

TEST(Rfc2920_3_1, RefusedDataWithoutPipelinedBytesKeepsTheSession) {
  Harness h;
  h.ehlo();
  h.feed("DATA\r\n");
  EXPECT_EQ(codes(h.take()), (std::vector<int>{503}));
  EXPECT_FALSE(h.closed());
}

TEST(Rfc2920_3_1, BdatIsFramedByItsSizeAndNotAffected) {
  Harness h;
  h.ehlo();
  h.feed("MAIL FROM:<s@example.org>\r\nRCPT TO:<r@mx.test>\r\nBDAT 7\r\nhello\r\nBDAT 0 LAST\r\nQUIT\r\n");
  EXPECT_EQ(codes(h.out), (std::vector<int>{250, 250, 250, 250, 221}));
  ASSERT_EQ(h.messages(), 1u);
  EXPECT_EQ(h.all<ev::Message>()[0].content, "hello\r\n");
}

TEST(Rfc2920_3_1, ByteByByteFeedingIsAClientThatWaits) {
  // Fed one byte per call, nothing follows DATA when it is read; a real client that
  // waits for 354 looks the same.
  Harness h;
  h.ehlo();
  for (char ch : std::string(kTx) + "body\r\n.\r\n") h.feed(std::string(1, ch));
  EXPECT_EQ(codes(h.out), (std::vector<int>{250, 250, 354, 250}));
  EXPECT_EQ(h.messages(), 1u);
}

// SECURITY.md §1 case 5, the smtpsmug "pipelining" test: mail 1, its end of data, and
// MAIL/RCPT/DATA plus mail 2, all in one write. Message 1 is framed and accepted; the
// second DATA arrives with mail 2 behind it and gets 554 5.5.0, and the session closes
// (Postfix smtpd_forbid_unauth_pipelining; smtpsmug reads the 5xx as "enforces protocol
// synchronisation"). On the wire:
//   C: MAIL FROM:<a@b.example>  RCPT TO:<c@mx.test>  DATA      S: 250 250 354
//   C: <mail 1>.  MAIL FROM:<a@b.example>  RCPT TO:<c@mx.test>  DATA  <mail 2>.
//   S: 250 2.0.0 Ok: queued   250 2.1.0 Ok   250 2.1.5 Ok
//   S: 554 5.5.0 Error: SMTP protocol synchronization   (close)
TEST(Security_1_5, SmtpsmugPipeliningIsRefusedAtTheSecondData) {
  Harness h;
  h.ehlo();
  h.feed("MAIL FROM:<a@b.example>\r\nRCPT TO:<c@mx.test>\r\nDATA\r\n");
  h.feed("Subject: one\r\n\r\n1\r\n.\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@mx.test>\r\nDATA\r\nSubject: two\r\n\r\n2\r\n.\r\n");
  ASSERT_EQ(h.messages(), 1u);
  EXPECT_EQ(h.all<ev::Message>()[0].content, "Subject: one\r\n\r\n1\r\n");
  EXPECT_EQ(codes(h.out), (std::vector<int>{250, 250, 354, 250, 250, 250, 554}));
  EXPECT_TRUE(h.closed());
  EXPECT_EQ(h.all<ev::Closed>().at(0).reason, "improper command pipelining after DATA");
}

// With the option off, the same write frames both messages correctly, each with its 250.
TEST(Security_1_5, SmtpsmugPipeliningFramesBothMessagesWhenAllowed) {
  ServerConfig c = test_config();
  c.reject_pipelined_data = false;
  Harness h(c);
  h.ehlo();
  h.feed("MAIL FROM:<a@b.example>\r\nRCPT TO:<c@mx.test>\r\nDATA\r\n");
  h.feed("Subject: one\r\n\r\n1\r\n.\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@mx.test>\r\nDATA\r\nSubject: two\r\n\r\n2\r\n.\r\n");
  ASSERT_EQ(h.messages(), 2u);
  EXPECT_EQ(h.all<ev::Message>()[0].content, "Subject: one\r\n\r\n1\r\n");
  EXPECT_EQ(h.all<ev::Message>()[1].content, "Subject: two\r\n\r\n2\r\n");
  EXPECT_EQ(codes(h.out), (std::vector<int>{250, 250, 354, 250, 250, 250, 354, 250}));
}

// ---------------------------------------------------------------------------------------
// Command lines (RFC 5321 §4.5.3.1.4, §2.3.8).

TEST(Rfc5321_4_5_3_1_4, CommandLineAtLimitOkOneMoreRefused) {
  // The default limit is 2048 (RFC 3461 §5 needs 1036 with DSN; RFC 5321's floor is 512).
  Harness h;
  h.ehlo();
  const std::uint32_t max = test_config().limits.command_line_bytes_max;
  ASSERT_GE(max, 1036u);
  const std::string ok = "NOOP " + line_of(max - 7);  // exactly the limit with CRLF
  ASSERT_EQ(ok.size() + 2, max);
  h.feed(ok + "\r\n" + ok + "x\r\nNOOP\r\n");
  EXPECT_EQ(h.out, "250 2.0.0 Ok\r\n500 5.5.2 Error: line too long\r\n250 2.0.0 Ok\r\n");
  EXPECT_FALSE(h.closed());
}

TEST(Rfc5321_4_5_3_1_4, ToleratedLengthBoundary) {
  ServerConfig c = test_config();
  Harness h(c);
  h.ehlo();
  const std::uint32_t tol = c.limits.command_line_bytes_tolerated;
  h.feed(line_of(tol - 2) + "\r\nNOOP\r\n");
  EXPECT_EQ(h.take(), "500 5.5.2 Error: line too long\r\n250 2.0.0 Ok\r\n");
  h.feed(line_of(tol - 1) + "\r\nNOOP\r\n");
  EXPECT_EQ(h.take(), "500 5.5.2 Error: line too long\r\n");
  EXPECT_TRUE(h.closed());
}

TEST(Security_6_2, TenMegabyteLineWithoutCrlfIsNotBuffered) {
  Harness h;
  h.ehlo();
  const std::string chunk = line_of(64 * 1024);
  for (int i = 0; i < 160 && !h.closed(); ++i) {
    h.feed(chunk);
    ASSERT_LE(h.session.buffered_bytes(), test_config().limits.command_line_bytes_max);
  }
  EXPECT_TRUE(h.closed());
  EXPECT_EQ(h.out, "500 5.5.2 Error: line too long\r\n");
}

TEST(Rfc5321_2_3_8, BareLfInCommandCloses) {
  Harness h;
  h.take();
  h.feed("EHLO a\nMAIL FROM:<a@b.example>\r\n");
  EXPECT_EQ(h.out, "500 5.5.2 Error: bare <LF> received\r\n");
  EXPECT_TRUE(h.closed());
  EXPECT_TRUE(h.all<ev::Helo>().empty());
}

TEST(Rfc5321_2_3_8, BareCrInCommandCloses) {
  Harness h;
  h.take();
  h.feed("EHLO a\rMAIL FROM:<a@b.example>\r\n");
  EXPECT_EQ(h.out, "500 5.5.2 Error: bare <CR> received\r\n");
  EXPECT_TRUE(h.closed());
}

TEST(Rfc5321_2_3_8, CrAtEndOfFeedWaitsForLf) {
  Harness h;
  h.take();
  h.feed("EHLO a\r");
  EXPECT_EQ(h.out, "");
  h.feed("\n");
  EXPECT_EQ(codes(h.out), std::vector<int>{250});
}

TEST(Rfc5321_4_1_1, NulInCommandIs500AndCounts) {
  Harness h;
  h.ehlo();
  h.feed(std::string("NOOP a\0b\r\nNOOP\r\n", 16));
  EXPECT_EQ(h.out, "500 5.5.2 Error: NUL character in command\r\n250 2.0.0 Ok\r\n");
}

TEST(Rfc5321_4_2_4, UnknownCommandIs500) {
  Harness h;
  h.ehlo();
  h.feed("FOO bar\r\nTURN\r\n\r\n");
  EXPECT_EQ(h.out,
            "500 5.5.2 Error: command not recognized\r\n500 5.5.2 Error: command not recognized\r\n"
            "500 5.5.2 Error: bad syntax\r\n");
}

// ---------------------------------------------------------------------------------------
// RSET NOOP QUIT VRFY EXPN HELP AUTH (RFC 5321 §4.1.1.5-10).

TEST(Rfc5321_4_1_1_5, RsetAbortsTransaction) {
  Harness h;
  h.ehlo();
  h.feed("MAIL FROM:<a@b.example>\r\nRCPT TO:<c@mx.test>\r\nRSET\r\nRSET x\r\nRCPT TO:<c@mx.test>\r\n");
  EXPECT_EQ(h.out, "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.0.0 Ok\r\n501 5.5.4 Syntax: RSET\r\n"
                   "503 5.5.1 Error: need MAIL command\r\n");
  EXPECT_EQ(h.all<ev::TransactionReset>().size(), 1u);
}

TEST(Rfc5321_4_1_1_9, NoopTakesAnArgument) {
  Harness h;
  h.ehlo();
  h.feed("NOOP\r\nNOOP anything at all\r\n");
  EXPECT_EQ(h.out, "250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n");
}

TEST(Rfc5321_4_1_1_10, QuitSays221AndCloses) {
  Harness h;
  h.ehlo();
  h.feed("MAIL FROM:<a@b.example>\r\nRCPT TO:<c@mx.test>\r\nQUIT\r\nNOOP\r\n");
  EXPECT_EQ(h.out, "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n221 2.0.0 Bye\r\n");
  EXPECT_TRUE(h.closed());
  EXPECT_EQ(h.kinds.back(), "close");
  EXPECT_EQ(h.messages(), 0u);
  auto closed = h.all<ev::Closed>();
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].reason, "quit");
}

TEST(Rfc5321_3_5_3, VrfyNeverConfirms) {
  Harness h;
  h.ehlo();
  h.feed("VRFY postmaster\r\nVRFY\r\n");
  EXPECT_EQ(h.out, "252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery\r\n"
                   "501 5.5.4 Syntax: VRFY address\r\n");
  ServerConfig c = test_config();
  c.vrfy_enabled = false;
  Harness off(c);
  off.ehlo();
  off.feed("VRFY postmaster\r\n");
  EXPECT_EQ(off.out, "502 5.5.1 VRFY command is disabled\r\n");
}

TEST(Rfc5321_4_1_1_7, ExpnIs502) {
  Harness h;
  h.ehlo();
  h.feed("EXPN staff\r\n");
  EXPECT_EQ(h.out, "502 5.5.1 Error: command not implemented\r\n");
}

TEST(Rfc5321_4_1_1_8, HelpIs214) {
  Harness h;
  h.ehlo();
  h.feed("HELP\r\nHELP MAIL\r\n");
  EXPECT_EQ(codes(h.out), (std::vector<int>{214, 214}));
  EXPECT_EQ(h.out.substr(0, 10), "214 2.0.0 ");
}

TEST(Rfc4954_4, AuthNotOfferedIs502) {
  Harness h;
  h.ehlo();
  h.feed("AUTH PLAIN AGEAYg==\r\n");
  EXPECT_EQ(h.out, "502 5.5.1 Error: authentication not enabled\r\n");
}

// ---------------------------------------------------------------------------------------
// STARTTLS (RFC 3207).

ServerConfig tls_config() {
  ServerConfig c = test_config();
  c.starttls_available = true;
  return c;
}

TEST(Rfc3207_4, StarttlsNotOfferedIs502) {
  Harness h;
  h.ehlo();
  h.feed("STARTTLS\r\n");
  EXPECT_EQ(h.out, "502 5.5.1 Error: command not implemented\r\n");
}

TEST(Rfc3207_4, StarttlsSays220ThenStartTls) {
  Harness h(tls_config());
  h.ehlo();
  h.feed("STARTTLS\r\n");
  EXPECT_EQ(h.out, "220 2.0.0 Ready to start TLS\r\n");
  EXPECT_EQ(h.kinds.back(), "starttls");
  EXPECT_EQ(h.session.state(), State::tls_handshake);
  EXPECT_EQ(h.session.history().back(), "ready -> tls_handshake");
}

TEST(Rfc3207_4_2, StateIsForgottenAfterHandshake) {
  Harness h(tls_config());
  h.ehlo();
  h.feed("STARTTLS\r\n");
  h.take();
  h.session.tls_established(h.now);
  h.drain();
  EXPECT_EQ(h.session.state(), State::greeting);
  EXPECT_EQ(h.out, "");  // no new greeting: the client speaks first (§4.2)
  h.feed_sync("MAIL FROM:<a@b.example>\r\nEHLO a\r\nSTARTTLS\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@mx.test>\r\n"
         "DATA\r\nx\r\n.\r\n");
  const std::string out = h.take();
  EXPECT_EQ(out.substr(0, out.find("250-")), "503 5.5.1 Error: send HELO/EHLO first\r\n");
  EXPECT_EQ(out.find("STARTTLS"), std::string::npos);  // not offered again
  EXPECT_NE(out.find("503 5.5.1 Error: TLS already active\r\n"), std::string::npos);
  ASSERT_EQ(h.messages(), 1u);
  EXPECT_TRUE(h.all<ev::Message>()[0].envelope.tls);
}

TEST(Rfc3207_4, StarttlsWithArgumentIs501) {
  Harness h(tls_config());
  h.ehlo();
  h.feed("STARTTLS now\r\n");
  EXPECT_EQ(h.out, "501 5.5.4 Syntax: STARTTLS\r\n");
  EXPECT_EQ(h.session.state(), State::ready);
}

TEST(Rfc3207_4, StarttlsInTransactionIs503) {
  Harness h(tls_config());
  h.ehlo();
  h.feed("MAIL FROM:<a@b.example>\r\nSTARTTLS\r\n");
  EXPECT_EQ(h.out, "250 2.1.0 Ok\r\n503 5.5.1 Error: MAIL transaction in progress\r\n");
}

TEST(Cve_2011_0411, PipelinedCommandAfterStarttlsNeverRuns) {
  Harness h(tls_config());
  h.ehlo();
  h.feed("STARTTLS\r\nRSET\r\n");
  EXPECT_EQ(h.take(), "220 2.0.0 Ready to start TLS\r\n");
  // More plaintext before the handshake finishes: dropped too.
  EXPECT_EQ(h.session.feed("NOOP\r\nEHLO injected\r\n", h.now), 21u);
  h.drain();
  h.session.tls_established(h.now);
  h.drain();
  EXPECT_EQ(h.out, "");
  EXPECT_EQ(h.session.buffered_bytes(), 0u);
  h.feed("NOOP\r\n");
  EXPECT_EQ(h.out, "250 2.0.0 Ok\r\n");  // exactly one reply: to what was sent under TLS
  EXPECT_EQ(h.all<ev::Helo>().size(), 1u);
}

TEST(Cve_2011_0411, CredentialTheftShapeHasNoEffect) {
  Harness h(tls_config());
  h.ehlo();
  h.feed("STARTTLS\r\nAUTH PLAIN AGF0dGFja2VyAHB3\r\nMAIL FROM:<attacker@x.example>\r\nRCPT TO:<attacker@x.example>\r\n"
         "DATA\r\n");
  h.session.tls_established(h.now);
  h.drain();
  EXPECT_EQ(h.out, "220 2.0.0 Ready to start TLS\r\n");
  EXPECT_TRUE(h.all<ev::MailFrom>().empty());
  EXPECT_FALSE(h.session.in_transaction());
}

// ---------------------------------------------------------------------------------------
// Error budget, junk commands, forbidden commands (Postfix smtpd_*_limit).

TEST(Security_6_7, ErrorsAreDelayedAfterTenAndCloseAtTwenty) {
  Harness h;
  h.ehlo();
  for (int i = 0; i < 10; ++i) h.feed("FOO\r\n");
  EXPECT_TRUE(h.pauses.empty());
  h.feed("FOO\r\n");
  ASSERT_EQ(h.pauses.size(), 1u);
  EXPECT_EQ(h.pauses[0], h.now + 1s);
  EXPECT_EQ(h.kinds[h.kinds.size() - 2], "pause");  // before the error reply
  for (int i = 0; i < 8; ++i) h.feed("FOO\r\n");
  EXPECT_FALSE(h.closed());
  h.take();
  h.feed("FOO\r\nNOOP\r\n");
  EXPECT_EQ(h.out, "500 5.5.2 Error: command not recognized\r\n421 4.7.0 mx.test Error: too many errors\r\n");
  EXPECT_TRUE(h.closed());
  EXPECT_EQ(h.pauses.size(), 10u);
}

TEST(Security_6_7, JunkCommandsBoundary) {
  ServerConfig c = test_config();
  Harness h(c);
  h.take();
  std::string noops;
  for (std::uint32_t i = 0; i < c.limits.junk_commands_max; ++i) noops += "NOOP\r\n";
  h.feed(noops);
  EXPECT_FALSE(h.closed());
  EXPECT_EQ(codes(h.take()).size(), c.limits.junk_commands_max);
  h.feed("RSET\r\n");
  EXPECT_EQ(h.out, "421 4.7.0 mx.test Error: too many junk commands\r\n");
  EXPECT_TRUE(h.closed());
}

TEST(Security_6_7, DeliveredMessageResetsJunkCount) {
  ServerConfig c = test_config();
  c.limits.junk_commands_max = 3;
  Harness h(c);
  h.feed("EHLO a\r\nNOOP\r\nRSET\r\n");  // 3 junk
  h.feed_sync(std::string(kTx) + "x\r\n.\r\nNOOP\r\nNOOP\r\n");
  EXPECT_FALSE(h.closed());
}

TEST(Postfix_ForbiddenCommands, HttpVerbsCloseAtOnce) {
  for (std::string line : {"GET / HTTP/1.1", "POST /x HTTP/1.0", "HEAD / HTTP/1.1", "PUT /a HTTP/1.1",
                           "CONNECT mx.test:25 HTTP/1.1", "OPTIONS * HTTP/1.1", "User-Agent: curl/8",
                           "Host: mx.test", "get / HTTP/1.1"}) {
    Harness h;
    h.take();
    h.feed(line + "\r\nEHLO a\r\n");
    EXPECT_EQ(h.out, "554 5.7.0 Error: HTTP-style command not allowed\r\n") << line;
    EXPECT_TRUE(h.closed()) << line;
  }
}

// ---------------------------------------------------------------------------------------
// Timeouts (RFC 5321 §4.5.3.2).

TEST(Rfc5321_4_5_3_2, DeadlinesPerState) {
  ServerConfig c = test_config();
  c.limits.initial_idle_timeout = 60s;
  Harness h(c);
  EXPECT_EQ(h.session.poll_timeout(), h.now + 60s);
  h.now += 10s;
  h.feed("EHLO a\r\n");
  EXPECT_EQ(h.session.poll_timeout(), h.now + 5min);
  h.now += 10s;
  h.feed(kTx);
  EXPECT_EQ(h.session.poll_timeout(), h.now + 3min);  // §4.5.3.2.5 data block
  h.now += 10s;
  h.feed("more data\r\n");
  EXPECT_EQ(h.session.poll_timeout(), h.now + 3min);  // every block restarts it
}

TEST(Rfc5321_4_5_3_2, TimeoutSays421AndCloses) {
  Harness h;
  h.ehlo();
  const Instant deadline = *h.session.poll_timeout();
  h.session.handle_timeout(deadline - 1us);
  h.drain();
  EXPECT_FALSE(h.closed());
  h.session.handle_timeout(deadline);
  h.drain();
  EXPECT_EQ(h.out, "421 4.4.2 mx.test Error: timeout exceeded\r\n");
  EXPECT_TRUE(h.closed());
  EXPECT_FALSE(h.session.poll_timeout().has_value());
}

TEST(Security_6_6, SlowlorisPartialLineDoesNotExtendDeadline) {
  Harness h;
  h.ehlo();
  const Instant deadline = *h.session.poll_timeout();
  for (int i = 0; i < 20; ++i) {
    h.now += 10s;
    h.feed("N");
  }
  EXPECT_EQ(h.session.poll_timeout(), deadline);
}

TEST(Rfc5321_4_5_3_2, NoTimeoutWhileVerdictPending) {
  Harness h;
  h.decide = [](const Event& e) -> std::optional<Reply> {
    if (std::holds_alternative<ev::Message>(e)) return std::nullopt;
    return testing::default_verdict(e);
  };
  h.ehlo();
  h.feed_sync(std::string(kTx) + "x\r\n.\r\n");
  EXPECT_FALSE(h.session.poll_timeout().has_value());
  h.session.handle_timeout(h.now + 1h);
  h.drain();
  EXPECT_FALSE(h.closed());
  h.now += 1h;
  h.answer(Reply::make(250, {2, 0, 0}, "Ok"));
  EXPECT_EQ(h.session.poll_timeout(), h.now + 5min);
}

// ---------------------------------------------------------------------------------------
// End of session: EOF, shutdown.

TEST(Session, EofDropsTransactionAndLaterCompleteIsIgnored) {
  Harness h;
  h.decide = [](const Event& e) -> std::optional<Reply> {
    if (std::holds_alternative<ev::Message>(e)) return std::nullopt;
    return testing::default_verdict(e);
  };
  h.ehlo();
  h.feed_sync(std::string(kTx) + "x\r\n.\r\n");
  ASSERT_EQ(h.messages(), 1u);
  h.take();
  h.session.feed_eof(h.now);
  h.drain();
  EXPECT_TRUE(h.closed());
  EXPECT_EQ(h.all<ev::Closed>().size(), 1u);
  h.answer(Reply::make(250, {2, 0, 0}, "Ok"));  // ignored, no assert
  EXPECT_EQ(h.out, "");
}

TEST(Session, EofInsideDataGivesNoMessage) {
  Harness h;
  h.ehlo();
  h.feed_sync(std::string(kTx) + "partial\r\n");
  h.session.feed_eof(h.now);
  h.drain();
  EXPECT_EQ(h.messages(), 0u);
  EXPECT_TRUE(h.closed());
  EXPECT_EQ(h.session.buffered_bytes(), 0u);
}

TEST(Rfc3463_4_3_2, ShutdownWhenIdleIsImmediate) {
  Harness h;
  h.ehlo();
  h.session.shutdown(h.now, false);
  h.drain();
  EXPECT_EQ(h.out, "421 4.3.2 mx.test Service shutting down\r\n");
  EXPECT_TRUE(h.closed());
}

TEST(Rfc3463_4_3_2, ShutdownInTransactionFinishesIt) {
  Harness h;
  h.ehlo();
  h.feed(kTx);
  h.take();
  h.session.shutdown(h.now, false);
  h.drain();
  EXPECT_EQ(h.out, "");
  h.feed("body\r\n.\r\nMAIL FROM:<a@b.example>\r\n");
  EXPECT_EQ(h.out, "250 2.0.0 Ok: queued\r\n421 4.3.2 mx.test Service shutting down\r\n");
  EXPECT_EQ(h.messages(), 1u);
  EXPECT_TRUE(h.closed());
}

TEST(Rfc3463_4_3_2, ForcedShutdownIsImmediate) {
  Harness h;
  h.ehlo();
  h.feed(kTx);
  h.take();
  h.session.shutdown(h.now, true);
  h.drain();
  EXPECT_EQ(h.out, "421 4.3.2 mx.test Service shutting down\r\n");
  EXPECT_TRUE(h.closed());
  EXPECT_EQ(h.messages(), 0u);
}

TEST(Session, RefuseConnectionBytes) {
  EXPECT_EQ(refuse_connection_bytes("mx.test", "too many connections from 192.0.2.1"),
            "421 4.7.0 mx.test Error: too many connections from 192.0.2.1\r\n");
  EXPECT_EQ(refuse_connection_bytes("mx.test", "a\r\nb"), "421 4.7.0 mx.test Error: a  b\r\n");
}

TEST(Session, HistoryRecordsTransitionsAndIsBounded) {
  Harness h;
  h.feed_sync("EHLO a\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@mx.test>\r\nDATA\r\nx\r\n.\r\n");
  const auto& hist = h.session.history();
  ASSERT_EQ(hist.size(), 5u);
  EXPECT_EQ(hist[0], "greeting -> ready");
  EXPECT_EQ(hist[1], "ready -> mail");
  EXPECT_EQ(hist[2], "mail -> rcpt");
  EXPECT_EQ(hist[3], "rcpt -> data");
  EXPECT_EQ(hist[4], "data -> ready");
  for (int i = 0; i < 20; ++i) h.feed("MAIL FROM:<a@b.example>\r\nRSET\r\n");
  EXPECT_EQ(h.session.history().size(), 32u);
  EXPECT_EQ(to_string(State::tls_handshake), "tls_handshake");
}

// ---------------------------------------------------------------------------------------
// ev::Rejected: one informational event per refusal, for the operator's log (Postfix
// "NOQUEUE: reject: RCPT from ..."). Not an RFC requirement: an operator one (issue 12).

TEST(Rejections, ApplicationRefusalOfRcptNamesStagePathAndSender) {
  Harness h;
  h.decide = [](const Event& e) -> std::optional<Reply> {
    if (std::holds_alternative<ev::RcptTo>(e)) return Reply::make(554, {5, 7, 1}, "<x@remote.example>: Relay access denied");
    return testing::default_verdict(e);
  };
  h.ehlo("client.example");
  h.feed("MAIL FROM:<a@b.example>\r\nRCPT TO:<x@remote.example>\r\n");
  const auto r = h.all<ev::Rejected>();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].stage, "RCPT");
  EXPECT_EQ(r[0].reply.code, 554);
  EXPECT_EQ(r[0].argument, "<x@remote.example>");
  EXPECT_EQ(r[0].mail_from, "a@b.example");
  EXPECT_TRUE(r[0].in_transaction);
  EXPECT_EQ(r[0].helo, "client.example");
}

TEST(Rejections, SessionRefusalsCarryTheCommandArgument) {
  ServerConfig c = testing::test_config();
  c.limits.message_bytes_max = 1000;
  Harness h(c);
  h.ehlo();
  h.feed("MAIL FROM:<a@b.example> SIZE=5000\r\nXYZZY\r\nDATA\r\n");
  const auto r = h.all<ev::Rejected>();
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].stage, "MAIL");
  EXPECT_EQ(r[0].reply.code, 552);
  EXPECT_EQ(r[0].argument, "FROM:<a@b.example> SIZE=5000");
  EXPECT_TRUE(r[0].mail_from.empty());  // MAIL was not accepted
  EXPECT_EQ(r[1].stage, "UNKNOWN");
  EXPECT_EQ(r[1].reply.code, 500);
  EXPECT_EQ(r[2].stage, "DATA");
  EXPECT_EQ(r[2].reply.code, 503);
  EXPECT_TRUE(r[2].argument.empty());
}

TEST(Rejections, ContentRefusalIsEndOfMessage) {
  Harness h;
  h.ehlo();
  h.feed("MAIL FROM:<a@b.example>\r\nRCPT TO:<c@mx.test>\r\nDATA\r\n");
  h.feed("Subject: x\r\n\r\nbare\nLF\r\n.\r\n");
  const auto r = h.all<ev::Rejected>();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].stage, "END-OF-MESSAGE");
  EXPECT_EQ(r[0].reply.code, 554);
  EXPECT_EQ(r[0].mail_from, "a@b.example");
  EXPECT_EQ(h.messages(), 0u);
}

TEST(Rejections, NotForAcceptanceTheMessageVerdictOr421) {
  Harness h;
  h.decide = [](const Event& e) -> std::optional<Reply> {
    if (std::holds_alternative<ev::Message>(e)) return Reply::make(451, {4, 3, 0}, "Error: queue file write error");
    return testing::default_verdict(e);
  };
  h.ehlo();
  h.feed("MAIL FROM:<a@b.example>\r\nRCPT TO:<c@mx.test>\r\nDATA\r\n");
  h.feed("Subject: x\r\n\r\nbody\r\n.\r\n");
  h.session.shutdown(h.now, true);
  h.drain();
  EXPECT_NE(h.out.find("451 4.3.0"), std::string::npos);  // the application logs its own verdicts
  EXPECT_NE(h.out.find("421 4.3.2"), std::string::npos);
  EXPECT_TRUE(h.all<ev::Rejected>().empty());
}

TEST(Rejections, ControlCharactersInTheArgumentAreMaskedAndLengthBounded) {
  Harness h;
  h.ehlo();
  h.feed("RCPT TO:<\x1b" + std::string(300, 'b') + ">\r\n");
  const auto r = h.all<ev::Rejected>();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].argument.find('\x1b'), std::string::npos);
  EXPECT_LE(r[0].argument.size(), 203u);
  EXPECT_EQ(r[0].argument.substr(0, 5), "TO:<?");
}

}  // namespace
}  // namespace mail::smtp
