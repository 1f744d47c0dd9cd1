// imap::ServerSession, tested as a hostile client would use it: greeting and CAPABILITY per
// state (RFC 9051 §6.1.1, §6.2.1, §6.2.3, §7.1), LOGOUT (§6.1.3), ID (RFC 2971), ENABLE
// (RFC 5161, RFC 7162 §3.2.3), LOGIN/AUTHENTICATE with and without SASL-IR (RFC 9051 §6.2.2,
// RFC 4959), STARTTLS and its pipelining hole (CVE-2011-0411), literals (§4.3, RFC 7888,
// RFC 7889), state checks, the error budget, one command at a time, IDLE (RFC 2177),
// timeouts (§5.4), shutdown and EOF.
#include <gtest/gtest.h>

#include <string>

#include "proto/imap/session_harness.h"
#include "proto/sasl/base64.h"
#include "proto/sasl/scram_client.h"

namespace mail::imap {
namespace {

using testing::FakeCrypto;
using testing::FakeStore;
using testing::Harness;
using testing::has;

struct ImapSession : ::testing::Test {
  SessionConfig config(bool plaintext = true, bool starttls = false) {
    SessionConfig c;
    c.crypto = &crypto;
    c.credentials = &store;
    c.plaintext_without_tls = plaintext;
    c.starttls_available = starttls;
    c.capabilities = {"UIDPLUS", "MOVE", "CONDSTORE", "QRESYNC"};
    return c;
  }
  static std::string plain(std::string_view user, std::string_view pass) {
    std::string p(1, '\0');
    p += user;
    p += '\0';
    p += pass;
    return sasl::base64_encode(p);
  }
  // Logs in as "user" with LOGIN and accepts it; leaves the output empty.
  static void login(Harness& h) { ASSERT_TRUE(h.login()); }
  static void select(Harness& h) {
    h.feed("S1 SELECT INBOX\r\n");
    h.complete_ok(h.next_command_id(), "[READ-WRITE] SELECT completed", State::selected);
    ASSERT_EQ(h.take(), "S1 OK [READ-WRITE] SELECT completed\r\n");
    ASSERT_EQ(h.s.state(), State::selected);
  }
  FakeCrypto crypto;
  FakeStore store;
};

// --- greeting and CAPABILITY -------------------------------------------------------------

TEST_F(ImapSession, Rfc9051_S7_1_GreetingCarriesPreAuthCapabilities) {
  Harness h(config(false, true));
  EXPECT_EQ(h.take(),
            "* OK [CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE IDLE STARTTLS LOGINDISABLED "
            "AUTH=SCRAM-SHA-256] Cloudsdial IMAP ready\r\n");
}

TEST_F(ImapSession, Rfc9051_S6_1_1_CapabilityPerState) {
  Harness h(config(true));
  h.take();
  h.feed("a CAPABILITY\r\n");
  const std::string pre = h.take();
  EXPECT_EQ(pre,
            "* CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE IDLE AUTH=SCRAM-SHA-256 AUTH=PLAIN\r\n"
            "a OK CAPABILITY completed\r\n");
  login(h);
  h.feed("b CAPABILITY\r\n");
  EXPECT_EQ(h.take(),
            "* CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE IDLE UIDPLUS MOVE CONDSTORE QRESYNC\r\n"
            "b OK CAPABILITY completed\r\n");
}

TEST_F(ImapSession, Rfc9051_S6_2_3_NoAuthConfiguredMeansNoAuthEquals) {
  SessionConfig c;
  c.plaintext_without_tls = true;
  Harness h(std::move(c));
  EXPECT_FALSE(has(h.take(), "AUTH="));
  h.feed("a LOGIN user pencil\r\n");
  EXPECT_EQ(h.take(), "a NO [UNAVAILABLE] Authentication is not configured\r\n");
  EXPECT_TRUE(h.events.empty());
}

// --- NOOP, LOGOUT, ID ----------------------------------------------------------------------

TEST_F(ImapSession, Rfc9051_S6_1_3_LogoutSendsByeThenOkThenCloses) {
  Harness h(config());
  h.take();
  h.feed("a NOOP\r\n");
  EXPECT_EQ(h.take(), "a OK NOOP completed\r\n");
  EXPECT_EQ(h.feed("b LOGOUT\r\nc NOOP\r\n"), 18u);
  EXPECT_EQ(h.take(), "* BYE Logging out\r\nb OK LOGOUT completed\r\n<Close>");
  EXPECT_TRUE(h.s.closed());
  EXPECT_EQ(h.s.state(), State::logout);
  h.feed("d NOOP\r\n");
  h.s.feed_eof(h.now);
  h.drain();
  EXPECT_EQ(h.take(), "");
  EXPECT_EQ(h.closes, 1);
}

TEST_F(ImapSession, Rfc2971_S3_1_IdAnswersWithOurIdentity) {
  Harness h(config());
  h.take();
  h.feed("a ID (\"name\" \"client\")\r\nb ID NIL\r\n");
  const std::string out = h.take();
  EXPECT_TRUE(out.starts_with("* ID (\"name\" \"Cloudsdial Mail\""));
  EXPECT_TRUE(has(out, "a OK ID completed\r\n"));
  EXPECT_TRUE(has(out, "b OK ID completed\r\n"));
}

// --- ENABLE ----------------------------------------------------------------------------------

TEST_F(ImapSession, Rfc5161_S3_1_EnableOnlyInAuthenticatedState) {
  Harness h(config());
  h.take();
  h.feed("a ENABLE CONDSTORE\r\n");
  EXPECT_TRUE(h.take().starts_with("a BAD "));
  login(h);
  select(h);
  h.feed("b ENABLE CONDSTORE\r\n");
  EXPECT_TRUE(h.take().starts_with("b BAD "));
  EXPECT_FALSE(h.s.enabled().condstore);
}

TEST_F(ImapSession, Rfc7162_S3_2_3_QresyncImpliesCondstoreAndEnabledListsOnlyNew) {
  Harness h(config());
  login(h);
  h.feed("a ENABLE QRESYNC\r\n");
  EXPECT_EQ(h.take(), "* ENABLED QRESYNC\r\na OK ENABLE completed\r\n");
  EXPECT_TRUE(h.s.enabled().qresync);
  EXPECT_TRUE(h.s.enabled().condstore);
  h.feed("b ENABLE CONDSTORE QRESYNC X-UNKNOWN\r\n");
  EXPECT_EQ(h.take(), "* ENABLED\r\nb OK ENABLE completed\r\n");
}

TEST_F(ImapSession, Rfc5161_S3_1_UnadvertisedExtensionsAreNotEnabled) {
  SessionConfig c = config();
  c.capabilities = {"UIDPLUS"};
  Harness h(std::move(c));
  login(h);
  h.feed("a ENABLE CONDSTORE QRESYNC UTF8=ACCEPT IMAP4rev2\r\n");
  EXPECT_EQ(h.take(), "* ENABLED IMAP4rev2\r\na OK ENABLE completed\r\n");
  EXPECT_FALSE(h.s.enabled().condstore);
  EXPECT_FALSE(h.s.enabled().qresync);
  EXPECT_TRUE(h.s.enabled().imap4rev2);
}

// --- LOGIN and AUTHENTICATE -----------------------------------------------------------------

TEST_F(ImapSession, Rfc9051_S6_2_3_LoginGoesToTheApplicationAsPlain) {
  Harness h(config());
  h.take();
  h.feed("a LOGIN user pencil\r\n");
  EXPECT_EQ(h.take(), "");  // nothing before the application's verdict
  const Event e = h.next_event();
  const auto* a = std::get_if<ev::Auth>(&e);
  ASSERT_NE(a, nullptr);
  EXPECT_TRUE(a->success);
  EXPECT_EQ(a->authcid, "user");
  EXPECT_EQ(a->mechanism, "PLAIN");
  h.s.complete_auth(a->id, true, h.now);
  h.drain();
  EXPECT_EQ(h.take(),
            "a OK [CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE IDLE UIDPLUS MOVE CONDSTORE "
            "QRESYNC] Logged in\r\n");
  EXPECT_EQ(h.s.user(), "user");
  h.feed("b LOGIN user pencil\r\n");
  EXPECT_TRUE(h.take().starts_with("b BAD "));
}

TEST_F(ImapSession, Rfc9051_S6_2_2_BadCredentialsAreJudgedThenAuthenticationFailed) {
  Harness h(config());
  h.take();
  h.feed("a LOGIN user wrong\r\n");
  const Event e = h.next_event();
  const auto* a = std::get_if<ev::Auth>(&e);
  ASSERT_NE(a, nullptr);
  EXPECT_FALSE(a->success);
  EXPECT_EQ(a->authcid, "user");
  h.s.complete_auth(a->id, false, h.now);
  h.drain();
  EXPECT_EQ(h.take(), "a NO [AUTHENTICATIONFAILED] Authentication failed\r\n");
  EXPECT_EQ(h.s.state(), State::not_authenticated);
  EXPECT_EQ(h.s.user(), "");
}

TEST_F(ImapSession, Security_6_8_AGoodLoginRefusedByTheApplicationSaysWhy) {
  Harness h(config());
  h.take();
  h.feed("L1 LOGIN user pencil\r\n");
  const Event e = h.next_event();
  const auto* a = std::get_if<ev::Auth>(&e);
  ASSERT_NE(a, nullptr);
  ASSERT_TRUE(a->success);
  h.s.complete_auth(a->id, false, h.now, "[LIMIT] Too many sessions");
  h.drain();
  EXPECT_EQ(h.take(), "L1 NO [LIMIT] Too many sessions\r\n");
  EXPECT_EQ(h.s.state(), State::not_authenticated);
  // A failed login never gets a refusal text that would tell the password was right.
  h.feed("L2 LOGIN user wrong\r\n");
  const Event f = h.next_event();
  const auto* b = std::get_if<ev::Auth>(&f);
  ASSERT_NE(b, nullptr);
  ASSERT_FALSE(b->success);
  h.s.complete_auth(b->id, false, h.now, "[LIMIT] Too many sessions");
  h.drain();
  EXPECT_EQ(h.take(), "L2 NO [AUTHENTICATIONFAILED] Authentication failed\r\n");
}

TEST_F(ImapSession, Rfc4959_S3_AuthenticatePlainWithInitialResponse) {
  Harness h(config());
  h.take();
  h.feed("a AUTHENTICATE PLAIN " + plain("user", "pencil") + "\r\n");
  EXPECT_EQ(h.take(), "");
  const Event e = h.next_event();
  const auto* a = std::get_if<ev::Auth>(&e);
  ASSERT_NE(a, nullptr);
  EXPECT_TRUE(a->success);
  h.s.complete_auth(a->id, true, h.now);
  h.drain();
  EXPECT_TRUE(h.take().starts_with("a OK [CAPABILITY"));
}

TEST_F(ImapSession, Rfc9051_S6_2_2_AuthenticatePlainWithoutInitialResponse) {
  Harness h(config());
  h.take();
  h.feed("a AUTHENTICATE PLAIN\r\n");
  EXPECT_EQ(h.take(), "+ \r\n");
  h.feed(plain("user", "pencil") + "\r\n");
  const Event e = h.next_event();
  const auto* a = std::get_if<ev::Auth>(&e);
  ASSERT_NE(a, nullptr);
  EXPECT_TRUE(a->success);
  EXPECT_EQ(a->mechanism, "PLAIN");
}

TEST_F(ImapSession, Rfc9051_S6_2_2_CancelAndInvalidBase64AreBad) {
  SessionConfig c = config();
  c.bad_commands_max_pre_auth = 20;  // three BADs in a row here; the budget has its own test
  Harness h(std::move(c));
  h.take();
  h.feed("a AUTHENTICATE PLAIN\r\n");
  h.take();
  h.feed("*\r\n");
  EXPECT_EQ(h.take(), "a BAD Authentication cancelled\r\n");
  h.feed("b AUTHENTICATE PLAIN\r\n");
  h.take();
  h.feed("=AAA\r\n");
  EXPECT_TRUE(h.take().starts_with("b BAD "));
  h.feed("c AUTHENTICATE PLAIN AAA=BBB\r\n");
  EXPECT_TRUE(h.take().starts_with("c BAD "));
  h.feed("d AUTHENTICATE X-UNKNOWN\r\n");
  EXPECT_TRUE(h.take().starts_with("d NO "));
  EXPECT_TRUE(h.events.empty());
  h.feed("e NOOP\r\n");  // still usable
  EXPECT_EQ(h.take(), "e OK NOOP completed\r\n");
}

void scram(Harness& h, bool sasl_ir, std::string_view password, bool expect_success) {
  FakeCrypto client_crypto;
  sasl::ScramClient client(client_crypto, "user", std::string(password), "clientnonce123");
  const std::string first = sasl::base64_encode(client.client_first());
  if (sasl_ir) {
    h.feed("a AUTHENTICATE SCRAM-SHA-256 " + first + "\r\n");
  } else {
    h.feed("a AUTHENTICATE SCRAM-SHA-256\r\n");
    ASSERT_EQ(h.take(), "+ \r\n");
    h.feed(first + "\r\n");
  }
  std::string challenge = h.take();
  ASSERT_TRUE(challenge.starts_with("+ ")) << challenge;
  const auto server_first = sasl::base64_decode(challenge.substr(2, challenge.size() - 4));
  ASSERT_TRUE(server_first.has_value());
  const auto final_msg = client.client_final(*server_first);
  ASSERT_TRUE(final_msg.has_value());
  h.feed(sasl::base64_encode(*final_msg) + "\r\n");
  if (expect_success) {
    challenge = h.take();
    ASSERT_TRUE(challenge.starts_with("+ ")) << challenge;
    const auto server_final = sasl::base64_decode(challenge.substr(2, challenge.size() - 4));
    ASSERT_TRUE(server_final.has_value());
    EXPECT_TRUE(client.verify_server_final(*server_final));
    h.feed("\r\n");
  }
  const Event e = h.next_event();
  const auto* a = std::get_if<ev::Auth>(&e);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->success, expect_success);
  EXPECT_EQ(a->mechanism, "SCRAM-SHA-256");
  h.s.complete_auth(a->id, expect_success, h.now);
  h.drain();
}

TEST_F(ImapSession, Rfc7677_ScramWithInitialResponseWorksWithoutTls) {
  Harness h(config(false));
  h.take();
  scram(h, true, "pencil", true);
  EXPECT_TRUE(h.take().starts_with("a OK [CAPABILITY"));
  EXPECT_EQ(h.s.state(), State::authenticated);
}

TEST_F(ImapSession, Rfc7677_ScramWithoutInitialResponseAndWrongPassword) {
  Harness h(config(false));
  h.take();
  scram(h, false, "wrong", false);
  EXPECT_EQ(h.take(), "a NO [AUTHENTICATIONFAILED] Authentication failed\r\n");
  EXPECT_EQ(h.s.state(), State::not_authenticated);
}

TEST_F(ImapSession, Rfc9051_S6_2_3_LoginDisabledAndPrivacyRequiredWithoutTls) {
  Harness h(config(false, true));
  EXPECT_TRUE(has(h.take(), " LOGINDISABLED "));
  h.feed("a LOGIN user pencil\r\n");
  EXPECT_TRUE(h.take().starts_with("a NO [PRIVACYREQUIRED] "));
  h.feed("b AUTHENTICATE PLAIN " + plain("user", "pencil") + "\r\n");
  EXPECT_TRUE(h.take().starts_with("b NO [PRIVACYREQUIRED] "));
  EXPECT_TRUE(h.events.empty());
}

// --- STARTTLS -------------------------------------------------------------------------------

TEST_F(ImapSession, Rfc9051_S6_2_1_StartTlsDiscardsPipelinedPlaintext_Cve2011_0411) {
  Harness h(config(false, true));
  h.take();
  const std::string in = "a STARTTLS\r\nb LOGIN user pencil\r\n";
  EXPECT_EQ(h.feed(in), in.size());
  EXPECT_EQ(h.take(), "a OK Begin TLS negotiation now\r\n<StartTls>");
  EXPECT_TRUE(h.events.empty());
  // Plaintext that arrives before the handshake finished is not read as commands either.
  h.feed("c LOGIN user pencil\r\n");
  EXPECT_EQ(h.take(), "");
  EXPECT_TRUE(h.events.empty());
  h.s.tls_established(h.now);
  h.feed("d CAPABILITY\r\n");
  const std::string caps = h.take();
  EXPECT_FALSE(has(caps, "STARTTLS"));
  EXPECT_FALSE(has(caps, "LOGINDISABLED"));
  EXPECT_TRUE(has(caps, "AUTH=PLAIN"));
  EXPECT_TRUE(h.s.tls_active());
  h.feed("e STARTTLS\r\n");
  EXPECT_TRUE(h.take().starts_with("e BAD "));
  h.feed("f LOGIN user pencil\r\n");
  EXPECT_EQ(h.events.size(), 1u);
}

TEST_F(ImapSession, Rfc9051_S6_2_1_StartTlsWithoutTlsConfiguredIsBad) {
  Harness h(config());
  h.take();
  h.feed("a STARTTLS\r\n");
  EXPECT_TRUE(h.take().starts_with("a BAD "));
}

// --- literals ---------------------------------------------------------------------------------

TEST_F(ImapSession, Rfc9051_S4_3_SynchronisingLiteralGetsContinuation) {
  Harness h(config());
  h.take();
  h.feed("a LOGIN {4}\r\n");
  EXPECT_EQ(h.take(), "+ Ready for literal data\r\n");
  EXPECT_TRUE(h.events.empty());
  h.feed("user {6}\r\n");
  EXPECT_EQ(h.take(), "+ Ready for literal data\r\n");
  h.feed("pencil\r\n");
  ASSERT_EQ(h.events.size(), 1u);
  EXPECT_TRUE(std::get<ev::Auth>(h.events[0]).success);
}

TEST_F(ImapSession, Rfc7888_LiteralPlusNeedsNoContinuation) {
  Harness h(config());
  h.take();
  h.feed("a LOGIN {4+}\r\nuser {6+}\r\npencil\r\n");
  EXPECT_EQ(h.take(), "");
  ASSERT_EQ(h.events.size(), 1u);
  EXPECT_TRUE(std::get<ev::Auth>(h.events[0]).success);
}

TEST_F(ImapSession, Rfc9051_S4_3_PreAuthLiteralOver4KiBIsRefusedUnread) {
  Harness h(config());
  h.take();
  h.feed("a LOGIN user {4096}\r\n");  // the bound itself is fine
  EXPECT_EQ(h.take(), "+ Ready for literal data\r\n");
  h.feed(std::string(4096, 'p') + "\r\n");
  h.take();
  EXPECT_EQ(h.feed("a LOGIN user {4097}\r\n"), 21u);
  const std::string out = h.take();
  EXPECT_TRUE(out.starts_with("a ")) << out;
  EXPECT_FALSE(has(out, "+ "));
  h.feed("b NOOP\r\n");
  EXPECT_EQ(h.take(), "b OK NOOP completed\r\n");
}

TEST_F(ImapSession, Rfc7888_PreAuthNonSyncLiteralIsBoundedToo) {
  // LITERAL+ before login must not let anyone make us buffer megabytes of "password".
  Harness h(config());
  h.take();
  const std::string big(100 * 1024, 'x');
  h.feed("a LOGIN user {" + std::to_string(big.size()) + "+}\r\n" + big + "\r\n");
  const std::string out = h.take();
  EXPECT_TRUE(out.starts_with("a BAD [TOOBIG]")) << out.substr(0, 80);  // SECURITY.md §5 case 1
  EXPECT_TRUE(h.events.empty());
  h.feed("b NOOP\r\n");
  EXPECT_EQ(h.take(), "b OK NOOP completed\r\n");
}

TEST_F(ImapSession, Rfc7889_S4_HugeLiteralIsTooBigAndNeverRead) {
  SessionConfig c = config();
  c.reader.literal_bytes_max = 32ull << 20;  // an APPENDLIMIT below 50 MB
  Harness h(std::move(c));
  login(h);
  const std::string line = "a APPEND INBOX {52428800}\r\n";
  EXPECT_EQ(h.feed(line + "b NOOP\r\n"), line.size() + 8);
  EXPECT_EQ(h.take(), "a NO [TOOBIG] Literal too big\r\n");
  ASSERT_EQ(h.events.size(), 1u);  // b NOOP: the connection stays usable
  const auto& cmd = std::get<ev::Command>(h.events[0]);
  EXPECT_EQ(cmd.command.tag, "b");
  EXPECT_FALSE(h.s.closed());
}

TEST_F(ImapSession, Rfc9051_S6_3_12_AppendWithABadDateIsBadBeforeTheLiteral) {
  Harness h(config());
  login(h);
  // RFC 9051 §4.3: the server may reject line by line; a failed APPEND appends nothing
  // (§6.3.12). No "+" is sent, so the client never sends the octets.
  h.feed("a APPEND INBOX (\\Flagged) \"not-a-date\" {8}\r\n");
  const std::string out = h.take();
  EXPECT_TRUE(out.starts_with("a BAD ")) << out;
  EXPECT_FALSE(has(out, "+ "));
  EXPECT_TRUE(h.events.empty());
  h.feed("b NOOP\r\n");
  ASSERT_EQ(h.events.size(), 1u);
  EXPECT_EQ(std::get<ev::Command>(h.events[0]).command.tag, "b");
}

TEST_F(ImapSession, Rfc9051_S4_3_UnknownCommandWithALiteralIsBadBeforeTheLiteral) {
  Harness h(config());
  login(h);
  h.feed("a FROB {5}\r\n");
  EXPECT_EQ(h.take(), "a BAD Unknown command\r\n");
  // A valid prefix still gets the continuation (a literal mailbox name, then flags).
  h.feed("b APPEND {5}\r\n");
  EXPECT_EQ(h.take(), "+ Ready for literal data\r\n");
  h.feed("INBOX (\\Seen) {3}\r\n");
  EXPECT_EQ(h.take(), "+ Ready for literal data\r\n");
}

// --- states, budget, ordering ------------------------------------------------------------------

TEST_F(ImapSession, Rfc9051_S3_CommandsOutsideTheirStateAreBad) {
  Harness h(config());
  h.take();
  h.feed("a SELECT INBOX\r\n");
  EXPECT_EQ(h.take(), "a BAD Log in first\r\n");
  h.feed("a2 IDLE\r\n");
  EXPECT_EQ(h.take(), "a2 BAD Log in first\r\n");
  login(h);
  h.feed("b FETCH 1 FLAGS\r\n");
  EXPECT_EQ(h.take(), "b BAD No mailbox selected\r\n");
  EXPECT_TRUE(h.events.empty());
  select(h);
  h.feed("c FETCH 1 FLAGS\r\n");
  EXPECT_NE(h.next_command_id(), 0u);
}

TEST_F(ImapSession, ErrorBudgetEndsWithBye) {
  SessionConfig c = config();
  c.bad_commands_max = 3;
  Harness h(std::move(c));
  h.take();
  h.feed("a BOGUS\r\nb BOGUS\r\n");
  EXPECT_FALSE(h.s.closed());
  h.feed("c BOGUS\r\nd NOOP\r\n");
  const std::string out = h.take();
  EXPECT_TRUE(out.ends_with("c BAD Unknown command\r\n* BYE Too many invalid commands\r\n<Close>") ||
              out.ends_with("* BYE Too many invalid commands\r\n<Close>"))
      << out;
  EXPECT_FALSE(has(out, "d OK"));
  EXPECT_TRUE(h.s.closed());
}

TEST_F(ImapSession, Security_6_7_ThreeInvalidCommandsBeforeLoginDisconnect) {
  Harness h(config());  // the default budgets: 3 before login, 20 after
  h.take();
  h.feed("a BOGUS\r\nb BOGUS\r\n");
  EXPECT_FALSE(h.s.closed());
  h.feed("c BOGUS\r\n");
  EXPECT_TRUE(h.take().ends_with("* BYE Too many invalid commands\r\n<Close>"));
  EXPECT_TRUE(h.s.closed());
  // After login, two earlier mistakes and 17 more are still within the budget of 20.
  Harness after(config());
  after.take();
  after.feed("a BOGUS\r\nb BOGUS\r\n");
  login(after);
  for (int i = 0; i < 17; ++i) after.feed("x BOGUS\r\n");
  EXPECT_FALSE(after.s.closed());
  after.feed("y BOGUS\r\n");
  EXPECT_TRUE(after.s.closed());
}

TEST_F(ImapSession, Rfc9051_S5_5_OneCommandAtATime) {
  Harness h(config());
  login(h);
  const std::string in = "a NOOP\r\nb NOOP\r\n";
  EXPECT_EQ(h.feed(in), 8u);
  EXPECT_EQ(h.events.size(), 1u);
  EXPECT_EQ(h.feed(std::string_view(in).substr(8)), 0u);  // still answering a
  const std::uint64_t a = h.next_command_id();
  ASSERT_NE(a, 0u);
  Response r;
  r.untagged = "* 3 EXISTS\r\n";
  r.text = "NOOP completed";
  h.complete(a, r);
  EXPECT_EQ(h.take(), "* 3 EXISTS\r\na OK NOOP completed\r\n");
  EXPECT_EQ(h.feed(std::string_view(in).substr(8)), 8u);
  const Event e = h.next_event();
  ASSERT_TRUE(std::holds_alternative<ev::Command>(e));
  EXPECT_EQ(std::get<ev::Command>(e).command.tag, "b");
}

TEST_F(ImapSession, CompleteWithNoBadAndCloseAndNextState) {
  Harness h(config());
  login(h);
  select(h);
  h.feed("a CLOSE\r\n");
  h.complete_ok(h.next_command_id(), "CLOSE completed", State::authenticated);
  EXPECT_EQ(h.s.state(), State::authenticated);
  h.take();
  h.feed("b STATUS INBOX (MESSAGES)\r\n");
  Response no;
  no.status = Response::Status::no;
  no.text = "[NONEXISTENT] No such mailbox";
  h.complete(h.next_command_id(), no);
  EXPECT_EQ(h.take(), "b NO [NONEXISTENT] No such mailbox\r\n");
  h.feed("c STATUS INBOX (MESSAGES)\r\n");
  Response fatal;
  fatal.status = Response::Status::no;
  fatal.text = "Mailbox is gone";
  fatal.close = true;
  h.complete(h.next_command_id(), fatal);
  EXPECT_EQ(h.take(), "c NO Mailbox is gone\r\n* BYE Closing the connection\r\n<Close>");
  EXPECT_TRUE(h.s.closed());
}

// --- IDLE ---------------------------------------------------------------------------------------

TEST_F(ImapSession, Rfc2177_S3_IdleDoneAndUntaggedWhileIdling) {
  Harness h(config());
  login(h);
  h.feed("a IDLE\r\n");
  EXPECT_EQ(h.take(), "+ idling\r\n");
  Event e = h.next_event();
  ASSERT_TRUE(std::holds_alternative<ev::Idle>(e));
  const std::uint64_t id = std::get<ev::Idle>(e).id;
  EXPECT_TRUE(h.s.idling());
  h.s.send_untagged("* 4 EXISTS\r\n");
  h.drain();
  EXPECT_EQ(h.take(), "* 4 EXISTS\r\n");
  h.feed("DO");
  EXPECT_TRUE(h.events.empty());
  h.feed("NE\r\nb NOOP\r\n");
  e = h.next_event();
  ASSERT_TRUE(std::holds_alternative<ev::IdleDone>(e));
  EXPECT_EQ(std::get<ev::IdleDone>(e).id, id);
  EXPECT_TRUE(std::get<ev::IdleDone>(e).done);
  EXPECT_TRUE(h.events.empty());  // b waits for IDLE's answer
  h.complete_ok(id, "IDLE terminated");
  EXPECT_EQ(h.take(), "a OK IDLE terminated\r\n");
  EXPECT_FALSE(h.s.idling());
}

TEST_F(ImapSession, Rfc2177_S3_OtherLineEndsIdleAsNotDone) {
  Harness h(config());
  login(h);
  h.feed("a IDLE\r\n");
  const std::uint64_t id = std::get<ev::Idle>(h.next_event()).id;
  h.feed("b NOOP\r\n");
  const Event e = h.next_event();
  ASSERT_TRUE(std::holds_alternative<ev::IdleDone>(e));
  EXPECT_FALSE(std::get<ev::IdleDone>(e).done);
  Response r;
  r.status = Response::Status::bad;
  r.text = "Expected DONE";
  h.take();
  h.complete(id, r);
  EXPECT_EQ(h.take(), "a BAD Expected DONE\r\n");
}

TEST_F(ImapSession, Rfc2177_S3_OverlongLineWhileIdlingEndsIdle) {
  SessionConfig c = config();
  c.reader.line_bytes_max = 100;
  Harness h(std::move(c));
  login(h);
  h.feed("a IDLE\r\n");
  const std::uint64_t id = std::get<ev::Idle>(h.next_event()).id;
  h.take();
  const std::string line = std::string(300, 'x') + "\r\n";
  const std::size_t n = h.feed(line);
  const Event e = h.next_event();
  ASSERT_TRUE(std::holds_alternative<ev::IdleDone>(e));
  EXPECT_EQ(std::get<ev::IdleDone>(e).id, id);
  EXPECT_FALSE(std::get<ev::IdleDone>(e).done);
  EXPECT_FALSE(h.s.idling());
  Response r;
  r.status = Response::Status::bad;
  r.text = "Expected DONE";
  h.complete(id, r);
  EXPECT_EQ(h.take(), "a BAD Expected DONE\r\n");
  EXPECT_EQ(h.feed(line.substr(n) + "b NOOP\r\n"), line.size() - n + 8);
  EXPECT_TRUE(std::holds_alternative<ev::Command>(h.next_event()));
}

TEST_F(ImapSession, Rfc9051_S6_2_2_OverlongSaslLineEndsTheExchangeWithBad) {
  SessionConfig c = config();
  c.reader.line_bytes_max = 100;
  Harness h(std::move(c));
  h.take();
  h.feed("a AUTHENTICATE PLAIN\r\n");
  EXPECT_EQ(h.take(), "+ \r\n");
  h.feed(std::string(300, 'A') + "\r\n");
  const std::string out = h.take();
  EXPECT_TRUE(out.starts_with("a BAD ")) << out;
  EXPECT_TRUE(h.events.empty());
  // The exchange is over: the next line is a command, not a SASL response.
  h.feed("b NOOP\r\n");
  EXPECT_EQ(h.take(), "b OK NOOP completed\r\n");
}

// --- timeouts, shutdown, EOF ------------------------------------------------------------------

TEST_F(ImapSession, LoginTimeoutCountsFromTheGreeting) {
  Harness h(config());
  h.take();
  const Instant start = h.now;
  ASSERT_TRUE(h.s.poll_timeout().has_value());
  EXPECT_EQ(*h.s.poll_timeout(), start + 60s);
  // A client that trickles bytes without logging in does not push the deadline.
  h.now = start + 30s;
  h.feed("a NO");
  h.now = start + 50s;
  h.feed("OP\r\n");
  h.take();
  EXPECT_EQ(*h.s.poll_timeout(), start + 60s);
  h.s.handle_timeout(start + 59s);
  h.drain();
  EXPECT_EQ(h.take(), "");
  h.s.handle_timeout(start + 60s);
  h.drain();
  EXPECT_EQ(h.take(), "* BYE Autologout; idle for too long\r\n<Close>");
  EXPECT_FALSE(h.s.poll_timeout().has_value());
}

TEST_F(ImapSession, Rfc9051_S5_4_AutologoutAfterLoginIsInactivity) {
  Harness h(config());
  login(h);
  h.now += 10min;
  h.feed("a NOOP\r\n");
  h.complete_ok(h.next_command_id());
  h.take();
  EXPECT_EQ(*h.s.poll_timeout(), h.now + 30min);
  h.feed("b NOOP\r\n");
  EXPECT_FALSE(h.s.poll_timeout().has_value());  // the application is answering
  h.complete_ok(h.next_command_id());
  h.take();
  h.s.handle_timeout(h.now + 30min);
  h.drain();
  EXPECT_EQ(h.take(), "* BYE Autologout; idle for too long\r\n<Close>");
}

TEST_F(ImapSession, Rfc2177_IdleTimeout) {
  SessionConfig c = config();
  c.idle_timeout = 29min;
  Harness h(std::move(c));
  login(h);
  h.feed("a IDLE\r\n");
  h.take();
  EXPECT_EQ(*h.s.poll_timeout(), h.now + 29min);
  h.s.handle_timeout(h.now + 29min);
  h.drain();
  EXPECT_EQ(h.take(), "* BYE Autologout; idle for too long\r\n<Close>");
}

TEST_F(ImapSession, GracefulShutdownWhileIdleIsImmediate) {
  Harness h(config());
  login(h);
  h.feed("a IDLE\r\n");
  h.take();
  h.s.shutdown(h.now, false);
  h.drain();
  EXPECT_EQ(h.take(), "* BYE Server shutting down\r\n<Close>");
}

TEST_F(ImapSession, GracefulShutdownWhileSaslWaitsIsImmediate) {
  Harness h(config());
  h.take();
  h.feed("a AUTHENTICATE PLAIN\r\n");
  h.take();
  h.s.shutdown(h.now, false);
  h.drain();
  EXPECT_EQ(h.take(), "* BYE Server shutting down\r\n<Close>");
}

TEST_F(ImapSession, GracefulShutdownWhileBusyWaitsForTheAnswer) {
  Harness h(config());
  login(h);
  h.feed("a NOOP\r\n");
  const std::uint64_t id = h.next_command_id();
  h.s.shutdown(h.now, false);
  h.drain();
  EXPECT_EQ(h.take(), "");
  h.complete_ok(id, "NOOP completed");
  EXPECT_EQ(h.take(), "a OK NOOP completed\r\n* BYE Server shutting down\r\n<Close>");
  // Forced shutdown does not wait.
  Harness f(config());
  login(f);
  f.feed("a NOOP\r\n");
  const std::uint64_t fid = f.next_command_id();
  f.s.shutdown(f.now, true);
  f.drain();
  EXPECT_EQ(f.take(), "* BYE Server shutting down\r\n<Close>");
  f.complete_ok(fid);
  EXPECT_EQ(f.take(), "");
}

TEST_F(ImapSession, GracefulShutdownWhileAuthIsJudged) {
  Harness h(config());
  h.take();
  h.feed("a LOGIN user pencil\r\n");
  const auto id = std::get<ev::Auth>(h.next_event()).id;
  h.s.shutdown(h.now, false);
  h.drain();
  EXPECT_EQ(h.take(), "");
  h.s.complete_auth(id, true, h.now);
  h.drain();
  const std::string out = h.take();
  EXPECT_TRUE(out.starts_with("a OK [CAPABILITY "));
  EXPECT_TRUE(out.ends_with("* BYE Server shutting down\r\n<Close>"));
}

TEST_F(ImapSession, FeedEofClosesAndLateAnswersSayNothing) {
  Harness h(config());
  login(h);
  h.feed("a NOOP\r\n");
  const std::uint64_t id = h.next_command_id();
  h.s.feed_eof(h.now);
  h.drain();
  EXPECT_EQ(h.take(), "<Close>");
  EXPECT_TRUE(h.s.closed());
  h.complete_ok(id);
  h.s.handle_timeout(h.now + 1h);
  h.s.shutdown(h.now, true);
  h.drain();
  EXPECT_EQ(h.take(), "");
  EXPECT_EQ(h.closes, 1);
  EXPECT_EQ(h.bytes_after_close, 0u);
}

}  // namespace
}  // namespace mail::imap
