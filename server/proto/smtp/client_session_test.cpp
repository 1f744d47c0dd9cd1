// Tests for smtp::ClientSession: scripted server replies fed as bytes (with and without
// PIPELINING, BDAT, EHLO->HELO fallback, partial and total recipient failure, 421, EOF,
// timeouts per RFC 5321 §4.5.3.2, STARTTLS response injection, outbound dot-stuffing and
// the SMTP-smuggling refusal), the segmentation-invariance property, and a ClientSession
// talking to a real ServerSession in memory (contents must arrive byte-identical).
#include "proto/smtp/client_session.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/prng.h"
#include "proto/sasl/base64.h"
#include "proto/smtp/server_session.h"

namespace mail::smtp {
namespace {

const Instant t0 = Instant(Duration(1'000'000));

Path path(std::string local, std::string domain) { return Path{Mailbox{std::move(local), std::move(domain)}}; }

MailTransaction make_tx(std::vector<std::string> rcpts, std::string content = "Subject: t\r\n\r\nhello\r\n") {
  MailTransaction tx;
  tx.mail_from = path("alice", "example.org");
  for (auto& r : rcpts) tx.recipients.push_back(Recipient{path(r, "example.net"), {}});
  tx.content = std::move(content);
  return tx;
}

std::string describe(const Reply& r) {
  std::string s = std::to_string(r.code);
  if (!r.enhanced.empty()) s += " " + r.enhanced.to_string();
  for (const auto& l : r.lines) s += "|" + l;
  return s;
}

std::string describe(const ClientEvent& e) {
  if (const auto* ready = std::get_if<ev::SessionReady>(&e))
    return std::string("ready ext=") + (ready->extended ? "1" : "0") + " tls=" + (ready->tls ? "1" : "0") +
           " pipe=" + (ready->capabilities.pipelining ? "1" : "0");
  if (const auto* c = std::get_if<ev::Closed>(&e)) return "closed " + c->reason;
  if (const auto* a = std::get_if<ev::Authenticated>(&e))
    return "authenticated " + std::string(sasl::to_string(a->mechanism)) + " " + a->user;
  const auto& r = std::get<ev::TransactionResult>(e);
  std::string s = "tx " + std::to_string(r.id) + (r.accepted ? " accepted " : " failed ") + (r.local ? "local " : "") +
                  describe(r.reply);
  for (const auto& rc : r.recipients) s += " [" + rc.path.to_string() + (rc.accepted ? " ok " : " no ") + describe(rc.reply) + "]";
  return s;
}

// Drives a ClientSession like a driver would, recording everything it says.
struct Harness {
  ClientSession s;
  Instant now = t0;
  std::string sent;                    // every out::Send, concatenated
  std::vector<std::string> outputs;    // "send:<bytes>" (merged), "starttls", "close"
  std::vector<std::string> events;     // describe()d events
  std::vector<ev::TransactionResult> results;
  std::size_t sends = 0;                // number of out::Send outputs
  bool ready = false;
  bool closed_seen = false;

  explicit Harness(ClientConfig cfg = {}) : s(std::move(cfg), t0) { drain(); }

  void drain() {
    while (auto o = s.poll_output()) {
      if (const auto* snd = std::get_if<out::Send>(&*o)) {
        EXPECT_FALSE(snd->bytes.empty());
        ++sends;
        sent += snd->bytes;
        if (!outputs.empty() && outputs.back().rfind("send:", 0) == 0)
          outputs.back() += snd->bytes;
        else
          outputs.push_back("send:" + snd->bytes);
      } else if (std::holds_alternative<out::StartTls>(*o)) {
        outputs.push_back("starttls");
      } else {
        outputs.push_back("close");
      }
    }
    while (auto e = s.poll_event()) {
      events.push_back(describe(*e));
      if (std::holds_alternative<ev::SessionReady>(*e)) ready = true;
      if (std::holds_alternative<ev::Closed>(*e)) closed_seen = true;
      if (auto* r = std::get_if<ev::TransactionResult>(&*e)) results.push_back(std::move(*r));
    }
  }
  void server(std::string_view bytes) {
    EXPECT_EQ(s.feed(bytes, now), bytes.size());
    drain();
  }
  TxId submit(MailTransaction tx) {
    const TxId id = s.submit(std::move(tx), now);
    drain();
    return id;
  }
  std::string take() {
    std::string out;
    out.swap(sent);
    return out;
  }
};

const char* kEhloPlain = "250-mx.example.net\r\n250-8BITMIME\r\n250-SIZE 100000\r\n250 ENHANCEDSTATUSCODES\r\n";
const char* kEhloPipe = "250-mx.example.net\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n";
const char* kEhloChunk = "250-mx.example.net\r\n250-PIPELINING\r\n250-CHUNKING\r\n250-BINARYMIME\r\n250 8BITMIME\r\n";

ClientConfig config(bool pipelining = true, bool chunking = false) {
  ClientConfig c;
  c.helo_name = "client.example.org";
  c.use_pipelining = pipelining;
  c.use_chunking = chunking;
  return c;
}

// Greets and answers EHLO with `ehlo_reply`; the client is then ready.
void open(Harness& h, const char* ehlo_reply) {
  EXPECT_EQ(h.take(), "");
  h.server("220 mx.example.net ESMTP\r\n");
  EXPECT_EQ(h.take(), "EHLO client.example.org\r\n");
  h.server(ehlo_reply);
  EXPECT_TRUE(h.ready);
}

TEST(ClientSession, OneTransactionWithoutPipelining) {
  Harness h(config(false));
  open(h, kEhloPlain);
  EXPECT_EQ(h.s.state(), ClientState::ready);
  const TxId id = h.submit(make_tx({"bob"}));
  EXPECT_EQ(h.take(), "MAIL FROM:<alice@example.org> SIZE=21\r\n");
  h.server("250 2.1.0 Ok\r\n");
  EXPECT_EQ(h.take(), "RCPT TO:<bob@example.net>\r\n");
  h.server("250 2.1.5 Ok\r\n");
  EXPECT_EQ(h.take(), "DATA\r\n");
  h.server("354 End data with <CR><LF>.<CR><LF>\r\n");
  EXPECT_EQ(h.take(), "Subject: t\r\n\r\nhello\r\n.\r\n");
  EXPECT_TRUE(h.results.empty());
  h.server("250 2.0.0 Ok: queued as 12345\r\n");
  ASSERT_EQ(h.results.size(), 1u);
  const auto& r = h.results[0];
  EXPECT_EQ(r.id, id);
  EXPECT_TRUE(r.accepted);
  EXPECT_FALSE(r.local);
  EXPECT_EQ(r.reply.code, 250);
  EXPECT_EQ(r.reply.enhanced, (EnhancedCode{2, 0, 0}));
  EXPECT_EQ(r.reply.lines[0], "Ok: queued as 12345");
  ASSERT_EQ(r.recipients.size(), 1u);
  EXPECT_TRUE(r.delivered(0));

  h.s.quit(h.now);
  h.drain();
  EXPECT_EQ(h.take(), "QUIT\r\n");
  h.server("221 2.0.0 Bye\r\n");
  EXPECT_TRUE(h.s.closed());
  EXPECT_EQ(h.outputs.back(), "close");
  EXPECT_TRUE(h.closed_seen);
  const auto& hist = h.s.history();
  const std::vector<std::string> expected = {"greeting -> ehlo", "ehlo -> ready",   "ready -> mail",
                                             "mail -> rcpt",     "rcpt -> data",    "data -> data_end",
                                             "data_end -> ready", "ready -> quit",   "quit -> closed"};
  EXPECT_EQ(std::vector<std::string>(hist.begin(), hist.end()), expected);
}

// RFC 5321 §4.3.2: "MUST be prepared to deal with unrecognized reply codes by interpreting
// the first digit only": a 355 to DATA is a go-ahead like 354.
TEST(ClientSession, Rfc5321_4_3_2_Unrecognized3yzToDataSendsTheContent) {
  Harness h(config(false));
  open(h, kEhloPlain);
  h.submit(make_tx({"bob"}));
  EXPECT_EQ(h.take(), "MAIL FROM:<alice@example.org> SIZE=21\r\n");
  h.server("250 2.1.0 Ok\r\n");
  EXPECT_EQ(h.take(), "RCPT TO:<bob@example.net>\r\n");
  h.server("259 2.1.5 Ok\r\n");  // unlisted 2yz: accepted
  EXPECT_EQ(h.take(), "DATA\r\n");
  h.server("355 send it\r\n");
  EXPECT_EQ(h.take(), "Subject: t\r\n\r\nhello\r\n.\r\n");
  h.server("250 2.0.0 queued\r\n");
  ASSERT_EQ(h.results.size(), 1u);
  EXPECT_TRUE(h.results[0].delivered(0));
}

TEST(ClientSession, PipelinedGroupAndPartialRecipientFailure) {
  Harness h(config(true));
  open(h, kEhloPipe);
  const std::size_t sends_before = h.sends;
  h.submit(make_tx({"bob", "nobody", "carol"}));
  // RFC 2920: MAIL, every RCPT and DATA in one write.
  EXPECT_EQ(h.sends, sends_before + 1);
  EXPECT_EQ(h.take(),
            "MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.net>\r\nRCPT TO:<nobody@example.net>\r\n"
            "RCPT TO:<carol@example.net>\r\nDATA\r\n");
  h.take();
  h.server("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 <nobody@example.net>: Recipient address rejected\r\n250 2.1.5 Ok\r\n");
  EXPECT_EQ(h.take(), "");
  h.server("354 go ahead\r\n");
  EXPECT_EQ(h.take(), "Subject: t\r\n\r\nhello\r\n.\r\n");
  h.server("250 2.0.0 queued\r\n");
  ASSERT_EQ(h.results.size(), 1u);
  const auto& r = h.results[0];
  EXPECT_TRUE(r.accepted);
  EXPECT_TRUE(r.delivered(0));
  EXPECT_FALSE(r.delivered(1));
  EXPECT_TRUE(r.delivered(2));
  EXPECT_EQ(r.recipients[1].reply.code, 550);
  EXPECT_EQ(r.recipients[1].reply.enhanced, (EnhancedCode{5, 1, 1}));
  EXPECT_EQ(r.outcome(1).code, 550);
  EXPECT_EQ(r.outcome(0).code, 250);
}

TEST(ClientSession, PipelinedAllRecipientsFail) {
  Harness h(config(true));
  open(h, kEhloPipe);
  h.submit(make_tx({"x", "y"}));
  h.submit(make_tx({"bob"}));
  h.take();
  h.server("250 Ok\r\n550 5.1.1 no x\r\n550 5.1.1 no y\r\n554 5.5.1 Error: no valid recipients\r\n");
  // No content: RSET instead (the server still holds the MAIL).
  EXPECT_EQ(h.take(), "RSET\r\n");
  ASSERT_EQ(h.results.size(), 1u);
  EXPECT_FALSE(h.results[0].accepted);
  EXPECT_EQ(h.results[0].reply.lines[0], "no y");
  EXPECT_FALSE(h.results[0].recipients[0].accepted);
  h.server("250 2.0.0 Ok\r\n");
  // The next transaction starts at once.
  EXPECT_EQ(h.take(), "MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.net>\r\nDATA\r\n");
  EXPECT_EQ(h.s.state(), ClientState::mail);
}

TEST(ClientSession, PipelinedDataAcceptedWithoutRecipientsSendsLoneDot) {
  Harness h(config(true));
  open(h, kEhloPipe);
  h.submit(make_tx({"x"}, "secret\r\n"));
  h.take();
  // RFC 2920 §3.1: a server that 354s DATA anyway gets a lone "." and never the content.
  h.server("250 Ok\r\n550 no\r\n354 go\r\n");
  EXPECT_EQ(h.take(), ".\r\n");
  h.server("554 no valid recipients\r\n");
  ASSERT_EQ(h.results.size(), 1u);
  EXPECT_FALSE(h.results[0].accepted);
  EXPECT_EQ(h.results[0].reply.code, 550);
  EXPECT_EQ(h.s.state(), ClientState::ready);
  EXPECT_EQ(h.sent.find("secret"), std::string::npos);
}

TEST(ClientSession, NonPipelinedAllRecipientsFailSkipsData) {
  Harness h(config(false));
  open(h, kEhloPlain);
  h.submit(make_tx({"x", "y"}));
  h.take();
  h.server("250 Ok\r\n");
  EXPECT_EQ(h.take(), "RCPT TO:<x@example.net>\r\n");
  h.server("550 no\r\n");
  EXPECT_EQ(h.take(), "RCPT TO:<y@example.net>\r\n");
  h.server("450 4.2.0 later\r\n");
  EXPECT_EQ(h.take(), "RSET\r\n");
  ASSERT_EQ(h.results.size(), 1u);
  EXPECT_EQ(h.results[0].reply.code, 450);
  EXPECT_EQ(h.results[0].recipients[0].reply.code, 550);
  EXPECT_EQ(h.results[0].recipients[1].reply.code, 450);
}

TEST(ClientSession, MailRefused) {
  for (bool pipe : {false, true}) {
    Harness h(config(pipe));
    open(h, kEhloPipe);
    h.submit(make_tx({"bob", "carol"}));
    h.submit(make_tx({"dave"}));
    h.take();
    if (pipe) {
      h.server("553 5.1.7 bad sender\r\n503 5.5.1 need MAIL\r\n503 5.5.1 need MAIL\r\n503 5.5.1 need MAIL\r\n");
    } else {
      h.server("553 5.1.7 bad sender\r\n");
    }
    ASSERT_EQ(h.results.size(), 1u) << pipe;
    const auto& r = h.results[0];
    EXPECT_FALSE(r.accepted);
    EXPECT_EQ(r.reply.code, 553);
    // Every recipient reports the MAIL refusal, not the 503s.
    EXPECT_EQ(r.recipients[0].reply.code, 553);
    EXPECT_EQ(r.recipients[1].reply.code, 553);
    // No RSET after a refused MAIL: the next transaction starts.
    EXPECT_EQ(h.take().rfind("MAIL FROM:<alice@example.org>", 0), 0u) << pipe;
  }
}

TEST(ClientSession, EhloRefusedFallsBackToHelo) {
  Harness h(config(true));
  h.server("220 old.example.net SMTP\r\n");
  EXPECT_EQ(h.take(), "EHLO client.example.org\r\n");
  h.server("502 5.5.2 command not recognized\r\n");
  EXPECT_EQ(h.take(), "HELO client.example.org\r\n");
  h.server("250 old.example.net\r\n");
  ASSERT_EQ(h.events.size(), 1u);
  EXPECT_EQ(h.events[0], "ready ext=0 tls=0 pipe=0");
  // No extensions: 8BITMIME content is refused locally, 7-bit goes one command at a time.
  MailTransaction eight = make_tx({"bob"});
  eight.mail_params.body = BodyType::eight_bit_mime;
  h.submit(std::move(eight));
  ASSERT_EQ(h.results.size(), 1u);
  EXPECT_TRUE(h.results[0].local);
  EXPECT_EQ(h.results[0].reply.enhanced, (EnhancedCode{5, 6, 3}));
  // RFC 6152 §3: 8-bit octets in content declared 7BIT (the default) are refused the same.
  MailTransaction undeclared = make_tx({"bob"});
  undeclared.content = "Subject: caf\xc3\xa9\r\n\r\nx\r\n";
  h.submit(std::move(undeclared));
  ASSERT_EQ(h.results.size(), 2u);
  EXPECT_TRUE(h.results[1].local);
  EXPECT_EQ(h.results[1].reply.enhanced, (EnhancedCode{5, 6, 3}));
  EXPECT_EQ(h.take(), "");
  h.submit(make_tx({"bob"}));
  EXPECT_EQ(h.take(), "MAIL FROM:<alice@example.org>\r\n");
  EXPECT_EQ(h.s.history()[1], "ehlo -> helo");
}

TEST(ClientSession, HeloRefusedFailsEverythingAndQuits) {
  Harness h(config());
  h.submit(make_tx({"bob"}));
  h.server("220 mx\r\n500 no EHLO\r\n");
  EXPECT_EQ(h.take(), "EHLO client.example.org\r\nHELO client.example.org\r\n");
  h.server("501 go away\r\n");
  EXPECT_EQ(h.take(), "QUIT\r\n");
  ASSERT_EQ(h.results.size(), 1u);
  EXPECT_EQ(h.results[0].reply.code, 501);
  h.server("221 bye\r\n");
  EXPECT_TRUE(h.s.closed());
}

TEST(ClientSession, Greeting554Quits) {
  Harness h(config());
  h.submit(make_tx({"bob"}));
  h.server("554 5.7.1 no service for you\r\n");
  EXPECT_EQ(h.take(), "QUIT\r\n");
  ASSERT_EQ(h.results.size(), 1u);
  EXPECT_EQ(h.results[0].reply.code, 554);
  EXPECT_FALSE(h.results[0].local);
}

TEST(ClientSession, Reply421MidTransactionFailsAllAndCloses) {
  Harness h(config(false));
  open(h, kEhloPlain);
  h.submit(make_tx({"bob", "carol"}));
  h.submit(make_tx({"dave"}));
  h.take();
  h.server("250 Ok\r\n");
  h.server("250 Ok\r\n");
  EXPECT_EQ(h.take(), "RCPT TO:<bob@example.net>\r\nRCPT TO:<carol@example.net>\r\n");
  h.server("421 4.3.2 Service shutting down\r\n");
  EXPECT_TRUE(h.s.closed());
  EXPECT_EQ(h.outputs.back(), "close");
  ASSERT_EQ(h.results.size(), 2u);
  for (const auto& r : h.results) {
    EXPECT_FALSE(r.accepted);
    EXPECT_EQ(r.reply.code, 421);
    EXPECT_FALSE(r.local);
  }
  // The first recipient had been accepted; it is not delivered, and its outcome is the 421.
  EXPECT_TRUE(h.results[0].recipients[0].accepted);
  EXPECT_FALSE(h.results[0].delivered(0));
  EXPECT_EQ(h.results[0].outcome(0).code, 421);
  EXPECT_EQ(h.results[0].recipients[1].reply.code, 421);
  EXPECT_EQ(h.s.history().back(), "rcpt -> closed");
  EXPECT_EQ(h.s.poll_timeout(), std::nullopt);
  // Later input is ignored; later submissions fail at once.
  h.server("250 late\r\n");
  h.submit(make_tx({"erin"}));
  ASSERT_EQ(h.results.size(), 3u);
  EXPECT_TRUE(h.results[2].local);
}

TEST(ClientSession, Unsolicited421WhileIdle) {
  Harness h(config());
  open(h, kEhloPipe);
  h.server("421 4.4.2 idle timeout\r\n");
  EXPECT_TRUE(h.s.closed());
  EXPECT_EQ(h.events.back(), "closed server closing: 421 idle timeout");
}

TEST(ClientSession, UnsolicitedReplyIsAProtocolError) {
  Harness h(config());
  open(h, kEhloPipe);
  h.server("250 surprise\r\n");
  EXPECT_TRUE(h.s.closed());
  EXPECT_EQ(h.outputs.back(), "close");
}

TEST(ClientSession, GarbageIsAProtocolError) {
  Harness h(config());
  open(h, kEhloPipe);
  h.submit(make_tx({"bob"}));
  h.server("HTTP/1.1 400 Bad Request\r\n");
  EXPECT_TRUE(h.s.closed());
  ASSERT_EQ(h.results.size(), 1u);
  EXPECT_TRUE(h.results[0].local);
  EXPECT_EQ(h.results[0].reply.code / 100, 4);  // transient: the relay retries
}

TEST(ClientSession, EofMidTransaction) {
  Harness h(config());
  open(h, kEhloPipe);
  h.submit(make_tx({"bob"}));
  h.server("250 Ok\r\n");
  h.s.feed_eof(h.now);
  h.drain();
  ASSERT_EQ(h.results.size(), 1u);
  EXPECT_TRUE(h.results[0].local);
  EXPECT_EQ(h.results[0].reply.code, 451);
  EXPECT_EQ(h.results[0].reply.enhanced, (EnhancedCode{4, 4, 2}));
  EXPECT_TRUE(h.s.closed());
}

TEST(ClientSession, EofAfterQuitIsClean) {
  Harness h(config());
  open(h, kEhloPipe);
  h.s.quit(h.now);
  h.drain();
  EXPECT_EQ(h.take(), "QUIT\r\n");
  h.s.feed_eof(h.now);
  h.drain();
  EXPECT_TRUE(h.s.closed());
  EXPECT_TRUE(h.results.empty());
}

TEST(ClientSession, QuitWaitsForQueuedTransactions) {
  Harness h(config(false));
  open(h, kEhloPlain);
  h.submit(make_tx({"bob"}));
  h.s.quit(h.now);
  h.drain();
  EXPECT_EQ(h.take(), "MAIL FROM:<alice@example.org> SIZE=21\r\n");
  h.submit(make_tx({"late"}));  // after quit(): refused locally
  ASSERT_EQ(h.results.size(), 1u);
  EXPECT_TRUE(h.results[0].local);
  h.server("250 ok\r\n250 ok\r\n354 go\r\n250 queued\r\n");
  EXPECT_EQ(h.take(), "RCPT TO:<bob@example.net>\r\nDATA\r\nSubject: t\r\n\r\nhello\r\n.\r\nQUIT\r\n");
  ASSERT_EQ(h.results.size(), 2u);
  EXPECT_TRUE(h.results[1].accepted);
}

TEST(ClientSession, QuitBeforeGreeting) {
  Harness h(config());
  h.s.quit(h.now);
  h.drain();
  EXPECT_EQ(h.take(), "");  // never speak before the 220 (RFC 5321 §3.1)
  h.server("220 mx\r\n");
  EXPECT_EQ(h.take(), "QUIT\r\n");
  h.server("221 bye\r\n");
  EXPECT_TRUE(h.s.closed());
}

TEST(ClientSession, DotStuffing) {
  Harness h(config(true));
  open(h, kEhloPipe);
  h.submit(make_tx({"bob"}, ".starts with dot\r\n..two\r\nmid.dle\r\n.\r\nlast line without CRLF"));
  h.take();
  h.server("250 ok\r\n250 ok\r\n354 go\r\n");
  EXPECT_EQ(h.take(), "..starts with dot\r\n...two\r\nmid.dle\r\n..\r\nlast line without CRLF\r\n.\r\n");
}

TEST(ClientSession, EmptyContent) {
  Harness h(config(true));
  open(h, kEhloPipe);
  h.submit(make_tx({"bob"}, ""));
  h.take();
  h.server("250 ok\r\n250 ok\r\n354 go\r\n");
  EXPECT_EQ(h.take(), ".\r\n");
}

TEST(ClientSession, RefusesBareCrOrLfContent) {
  // SECURITY.md §1: SEC Consult / smtpsmug variants, and Dovecot CVE-2026-33604's bare CR.
  const std::vector<std::string> variants = {"\n.\n",   "\n.\r",   "\r.\n",     "\r.\r",        "\n.\r\n",
                                             "\r.\r\n", "\r\n.\n", "\r\n.\r",   "\r\n.\r\r\n", "\r\r\n.\r\r\n",
                                             "a\rb",    "a\nb",    "trailing\r", "\nleading"};
  Harness h(config(true));
  open(h, kEhloPipe);
  for (const auto& v : variants) {
    const std::string content = "Subject: t\r\n\r\nbody" + v + "MAIL FROM:<smuggled@example.org>\r\n";
    h.submit(make_tx({"bob"}, content));
  }
  EXPECT_EQ(h.take(), "");  // nothing at all went to the server
  ASSERT_EQ(h.results.size(), variants.size());
  for (const auto& r : h.results) {
    EXPECT_TRUE(r.local);
    EXPECT_FALSE(r.accepted);
    EXPECT_EQ(r.reply.code, 554);
    EXPECT_EQ(r.reply.enhanced, (EnhancedCode{5, 6, 0}));
  }
  EXPECT_EQ(h.s.state(), ClientState::ready);
}

TEST(ClientSession, HasBareCrOrLf) {
  EXPECT_FALSE(has_bare_cr_or_lf(""));
  EXPECT_FALSE(has_bare_cr_or_lf("a\r\nb\r\n"));
  EXPECT_FALSE(has_bare_cr_or_lf("\r\n\r\n"));
  EXPECT_TRUE(has_bare_cr_or_lf("\r"));
  EXPECT_TRUE(has_bare_cr_or_lf("\n"));
  EXPECT_TRUE(has_bare_cr_or_lf("\r\r\n"));
  EXPECT_TRUE(has_bare_cr_or_lf("\r\n\n"));
  EXPECT_TRUE(has_bare_cr_or_lf("\n\r"));
  // Past the 16-octet vector blocks: the carry across a block edge, and the tail.
  const std::string line15 = std::string(13, 'x') + "\r\n";
  EXPECT_FALSE(has_bare_cr_or_lf(line15 + line15 + line15));
  EXPECT_FALSE(has_bare_cr_or_lf(std::string(15, 'x') + "\r\n" + std::string(40, 'y') + "\r\n"));
  EXPECT_TRUE(has_bare_cr_or_lf(std::string(15, 'x') + "\r" + std::string(40, 'y') + "\r\n"));
  EXPECT_TRUE(has_bare_cr_or_lf(std::string(16, 'x') + "\n" + std::string(40, 'y') + "\r\n"));
  EXPECT_TRUE(has_bare_cr_or_lf(std::string(31, 'x') + "\r"));
}

// The byte-at-a-time definition; the 16-octet scan must agree with it everywhere.
RC_GTEST_PROP(ClientSessionProperty, HasBareCrOrLfMatchesByteDefinition, ()) {
  const auto x = *rc::gen::container<std::string>(rc::gen::element('\r', '\n', 'a'));
  bool bare = false;
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (x[i] == '\r' && (i + 1 == x.size() || x[i + 1] != '\n')) bare = true;
    if (x[i] == '\n' && (i == 0 || x[i - 1] != '\r')) bare = true;
  }
  RC_ASSERT(has_bare_cr_or_lf(x) == bare);
}

TEST(ClientSession, InvalidEnvelopeRefusedLocally) {
  Harness h(config(true));
  open(h, kEhloPipe);
  h.submit(make_tx({}));  // no recipients
  MailTransaction inject = make_tx({"bob"});
  inject.recipients[0].path.mailbox->domain = "example.net>\r\nRCPT TO:<evil@example.com";
  h.submit(std::move(inject));
  MailTransaction bad_from = make_tx({"bob"});
  bad_from.mail_from.mailbox->local_part = "a b";
  h.submit(std::move(bad_from));
  MailTransaction null_rcpt = make_tx({"bob"});
  null_rcpt.recipients[0].path = Path{};
  h.submit(std::move(null_rcpt));
  EXPECT_EQ(h.take(), "");
  ASSERT_EQ(h.results.size(), 4u);
  for (const auto& r : h.results) EXPECT_TRUE(r.local);
  // A null reverse-path is fine (bounces).
  MailTransaction bounce = make_tx({"bob"});
  bounce.mail_from = Path{};
  h.submit(std::move(bounce));
  EXPECT_EQ(h.take().rfind("MAIL FROM:<>\r\n", 0), 0u);
}

TEST(ClientSession, DsnParameterLimitsCountTheXtextAsSent) {
  Harness h(config(true));
  open(h, "250-mx\r\n250-PIPELINING\r\n250 DSN\r\n");
  MailTransaction envid = make_tx({"bob"});
  envid.mail_params.envid = std::string(34, '+');  // 102 characters as "+2B" xtext
  h.submit(envid);
  envid.mail_params.envid = std::string(33, '+') + "x";  // exactly 100
  h.submit(envid);
  ASSERT_EQ(h.results.size(), 1u);
  EXPECT_TRUE(h.results[0].local);
  std::string xtext;
  for (int i = 0; i < 33; ++i) xtext += "+2B";
  EXPECT_EQ(h.take().rfind("MAIL FROM:<alice@example.org> ENVID=" + xtext + "x\r\n", 0), 0u);
  MailTransaction orcpt = make_tx({"bob"});
  orcpt.recipients[0].params.orcpt = std::string(493, 'o');  // "rfc822;" + 493 = 500
  MailTransaction too_long = orcpt;
  too_long.recipients[0].params.orcpt->push_back('o');
  MailTransaction control = make_tx({"bob"});
  control.mail_params.envid = "a\tb";
  h.submit(too_long);
  h.submit(control);
  EXPECT_EQ(h.results.size(), 3u);
  h.server("250 ok\r\n250 ok\r\n354 go\r\n250 ok\r\n");
  h.submit(orcpt);
  EXPECT_EQ(h.results.size(), 4u);
  EXPECT_TRUE(h.results[3].accepted);
  EXPECT_NE(h.take().find(" ORCPT=rfc822;" + std::string(493, 'o') + "\r\n"), std::string::npos);
}

TEST(ClientSession, ParametersOnlyWhenOffered) {
  Capabilities none;
  Capabilities all = parse_capabilities(Reply{250, {}, {"mx", "SIZE 1000", "8BITMIME", "SMTPUTF8", "DSN", "AUTH PLAIN"}});
  MailParams p;
  p.body = BodyType::eight_bit_mime;
  p.ret = DsnRet::headers;
  p.envid = "id+1 =x";
  p.auth = "<>";
  const Path from = path("a", "b.example");
  EXPECT_EQ(format_mail_from(from, p, 10, none, true), "MAIL FROM:<a@b.example>");
  EXPECT_EQ(format_mail_from(from, p, 10, all, true),
            "MAIL FROM:<a@b.example> SIZE=10 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=id+2B1+20+3Dx AUTH=<>");
  Recipient r{path("c", "d.example"), {}};
  r.params.notify.success = true;
  r.params.notify.delay = true;
  r.params.orcpt = "c@d.example";
  EXPECT_EQ(format_rcpt_to(r, none), "RCPT TO:<c@d.example>");
  EXPECT_EQ(format_rcpt_to(r, all), "RCPT TO:<c@d.example> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;c@d.example");
  r.params.notify.never = true;
  EXPECT_EQ(format_rcpt_to(r, all), "RCPT TO:<c@d.example> NOTIFY=NEVER ORCPT=rfc822;c@d.example");
}

TEST(ClientSession, SizeLimitAndSmtputf8CheckedAgainstServer) {
  Harness h(config(false));
  open(h, "250-mx\r\n250 SIZE 30\r\n");
  h.submit(make_tx({"bob"}, std::string(40, 'x') + "\r\n"));
  MailTransaction utf8 = make_tx({"bob"});
  utf8.recipients[0].path.mailbox->local_part = "j\xc3\xb6rg";
  h.submit(std::move(utf8));
  EXPECT_EQ(h.take(), "");
  ASSERT_EQ(h.results.size(), 2u);
  EXPECT_EQ(h.results[0].reply.code, 552);
  EXPECT_EQ(h.results[1].reply.enhanced, (EnhancedCode{5, 6, 7}));
}

TEST(ClientSession, BdatPipelined) {
  ClientConfig c = config(true, true);
  c.chunk_bytes = 10;
  Harness h(c);
  open(h, kEhloChunk);
  h.submit(make_tx({"bob"}, ".dot line\r\nabcdefghij"));  // 23 octets after the CRLF is added
  EXPECT_EQ(h.take(), "MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.net>\r\n");
  h.server("250 ok\r\n250 ok\r\n");
  // No dot-stuffing with BDAT (RFC 3030 §2): the octets go as they are.
  // Chunks end after a line end when one is in reach, and never split CRLF.
  EXPECT_EQ(h.take(), "BDAT 11\r\n.dot line\r\nBDAT 10\r\nabcdefghijBDAT 2 LAST\r\n\r\n");
  h.server("250 2.0.0 10 octets\r\n250 2.0.0 10 octets\r\n");
  EXPECT_TRUE(h.results.empty());
  h.server("250 2.0.0 queued\r\n");
  ASSERT_EQ(h.results.size(), 1u);
  EXPECT_TRUE(h.results[0].accepted);
  EXPECT_EQ(h.s.history()[3], "mail -> rcpt");
  EXPECT_EQ(h.s.history()[4], "rcpt -> bdat");
}

TEST(ClientSession, BdatOneChunkAtATimeAndChunkFailure) {
  ClientConfig c = config(false, true);
  c.chunk_bytes = 4;
  Harness h(c);
  open(h, kEhloChunk);
  h.submit(make_tx({"bob"}, "12345678\r\n"));
  h.server("250 ok\r\n");
  h.server("250 ok\r\n");
  EXPECT_EQ(h.take(), "MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.net>\r\nBDAT 4\r\n1234");
  h.server("250 ok\r\n");
  EXPECT_EQ(h.take(), "BDAT 4\r\n5678");
  h.server("552 5.3.4 too big\r\n");
  // RFC 3030: no further chunks after a failure; RSET.
  EXPECT_EQ(h.take(), "RSET\r\n");
  ASSERT_EQ(h.results.size(), 1u);
  EXPECT_EQ(h.results[0].reply.code, 552);
  h.server("250 ok\r\n");
  EXPECT_EQ(h.s.state(), ClientState::ready);
}

TEST(ClientSession, BdatEmptyAndBinaryMime) {
  ClientConfig c = config(true, false);  // chunking not chosen, BINARYMIME forces BDAT
  Harness h(c);
  open(h, kEhloChunk);
  MailTransaction bin = make_tx({"bob"}, std::string("\x00\r\n.\n\r.\r", 8));
  bin.mail_params.body = BodyType::binary_mime;
  h.submit(std::move(bin));
  h.server("250 ok\r\n250 ok\r\n");
  EXPECT_EQ(h.take(),
            std::string("MAIL FROM:<alice@example.org> BODY=BINARYMIME\r\nRCPT TO:<bob@example.net>\r\nBDAT 8 LAST\r\n") +
                std::string("\x00\r\n.\n\r.\r", 8));
  h.server("250 ok\r\n");
  ASSERT_EQ(h.results.size(), 1u);
  EXPECT_TRUE(h.results[0].accepted);

  Harness e(config(true, true));
  open(e, kEhloChunk);
  e.submit(make_tx({"bob"}, ""));
  e.server("250 ok\r\n250 ok\r\n");
  EXPECT_EQ(e.take(), "MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.net>\r\nBDAT 0 LAST\r\n");
}

TEST(ClientSession, Timeouts) {
  // §4.5.3.2: 5 min for the 220, MAIL and RCPT, 2 min for DATA, 10 min after ".".
  Harness h(config(false));
  EXPECT_EQ(h.s.poll_timeout(), t0 + 5min);
  h.now = t0 + 1min;
  h.server("220 mx\r\n");
  EXPECT_EQ(h.s.poll_timeout(), t0 + 6min);  // EHLO: the command timeout, from now
  h.server(kEhloPlain);
  EXPECT_EQ(h.s.poll_timeout(), std::nullopt);  // idle: the server's timeout, not ours
  h.submit(make_tx({"bob"}));
  EXPECT_EQ(h.s.poll_timeout(), h.now + 5min);
  h.server("250 ok\r\n");
  EXPECT_EQ(h.s.poll_timeout(), h.now + 5min);
  h.server("250 ok\r\n");
  EXPECT_EQ(h.s.poll_timeout(), h.now + 2min);
  h.now += 1min;
  h.server("354 go\r\n");
  EXPECT_EQ(h.s.poll_timeout(), h.now + 10min);
  // A slow drip of partial bytes does not extend the deadline.
  h.now += 9min;
  h.server("25");
  EXPECT_EQ(h.s.poll_timeout(), h.now + 1min);
  h.s.handle_timeout(h.now + 1min - 1us);
  h.drain();
  EXPECT_FALSE(h.s.closed());
  h.s.handle_timeout(h.now + 1min);
  h.drain();
  EXPECT_TRUE(h.s.closed());
  ASSERT_EQ(h.results.size(), 1u);
  EXPECT_TRUE(h.results[0].local);
  EXPECT_EQ(h.results[0].reply.code, 451);
  EXPECT_EQ(h.results[0].reply.enhanced, (EnhancedCode{4, 4, 2}));
  EXPECT_EQ(h.results[0].reply.lines[0], "timeout waiting for end of data reply");
  EXPECT_EQ(h.outputs.back(), "close");
}

TEST(ClientSession, GreetingTimeoutFailsQueued) {
  Harness h(config());
  h.submit(make_tx({"bob"}));
  h.s.handle_timeout(t0 + 5min);
  h.drain();
  EXPECT_TRUE(h.s.closed());
  ASSERT_EQ(h.results.size(), 1u);
  EXPECT_EQ(h.results[0].reply.lines[0], "timeout waiting for greeting reply");
}

TEST(ClientSession, StartTlsResponseInjectionDiscarded) {
  ClientConfig c = config(true);
  c.use_starttls = true;
  Harness h(c);
  h.submit(make_tx({"bob"}));
  h.server("220 mx ESMTP\r\n");
  h.take();
  h.server("250-mx\r\n250-PIPELINING\r\n250 STARTTLS\r\n");
  EXPECT_EQ(h.take(), "STARTTLS\r\n");
  EXPECT_TRUE(h.events.empty());  // not ready before TLS
  // The injected "250 injected" arrives in the same packet as the 220 (SECURITY.md §2).
  h.server("220 Ready\r\n250 injected\r\n");
  EXPECT_EQ(h.outputs.back(), "starttls");
  EXPECT_EQ(h.s.state(), ClientState::tls_handshake);
  EXPECT_EQ(h.s.discarded_bytes(), 14u);
  EXPECT_EQ(h.s.poll_timeout(), h.now + 2min);
  // Cleartext bytes arriving during the handshake are discarded too.
  const std::string late = "250-mx\r\n250 AUTH PLAIN\r\n";
  h.server(late);
  EXPECT_EQ(h.s.discarded_bytes(), 14u + late.size());
  h.s.tls_established(h.now);
  h.drain();
  EXPECT_EQ(h.take(), "EHLO client.example.org\r\n");
  EXPECT_TRUE(h.events.empty());
  EXPECT_TRUE(h.s.capabilities().items.empty());  // forgotten (RFC 3207 §4.2)
  h.server("250-mx\r\n250-PIPELINING\r\n250 AUTH PLAIN\r\n");
  ASSERT_EQ(h.events.size(), 1u);
  EXPECT_EQ(h.events[0], "ready ext=1 tls=1 pipe=1");
  EXPECT_TRUE(h.s.tls());
  EXPECT_EQ(h.take(), "MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.net>\r\nDATA\r\n");
}

TEST(ClientSession, StartTlsInjectionSplitAcrossPackets) {
  ClientConfig c = config(true);
  c.use_starttls = true;
  Harness h(c);
  h.server("220 mx\r\n250-mx\r\n250 STARTTLS\r\n220 Rea");
  EXPECT_EQ(h.take(), "EHLO client.example.org\r\nSTARTTLS\r\n");
  h.server("dy\r\n250 inj");
  EXPECT_EQ(h.s.state(), ClientState::tls_handshake);
  h.server("ected\r\n");
  h.s.tls_established(h.now);
  h.drain();
  h.server("250 mx\r\n");
  EXPECT_EQ(h.events.back(), "ready ext=1 tls=1 pipe=0");
}

TEST(ClientSession, RequireTls) {
  ClientConfig c = config(true);
  c.use_starttls = true;
  c.require_tls = true;
  {
    Harness h(c);
    h.submit(make_tx({"bob"}));
    h.server("220 mx\r\n250-mx\r\n250 PIPELINING\r\n");
    EXPECT_EQ(h.take(), "EHLO client.example.org\r\nQUIT\r\n");
    ASSERT_EQ(h.results.size(), 1u);
    EXPECT_TRUE(h.results[0].local);
    EXPECT_EQ(h.results[0].reply.code, 454);
  }
  {
    Harness h(c);
    h.submit(make_tx({"bob"}));
    h.server("220 mx\r\n250-mx\r\n250 STARTTLS\r\n454 4.7.0 TLS not available\r\n");
    EXPECT_EQ(h.take(), "EHLO client.example.org\r\nSTARTTLS\r\nQUIT\r\n");
    ASSERT_EQ(h.results.size(), 1u);
    EXPECT_EQ(h.results[0].reply.code, 454);
  }
  {
    // Not required: a refused STARTTLS carries on in cleartext.
    c.require_tls = false;
    Harness h(c);
    h.submit(make_tx({"bob"}));
    h.server("220 mx\r\n250-mx\r\n250 STARTTLS\r\n454 4.7.0 TLS not available\r\n");
    EXPECT_EQ(h.take(), "EHLO client.example.org\r\nSTARTTLS\r\nMAIL FROM:<alice@example.org>\r\n");
    EXPECT_FALSE(h.s.tls());
  }
}

// --- AUTH (RFC 4954, client side) ----------------------------------------------------------

const char* kEhloAuth = "250-mx.example.net\r\n250-PIPELINING\r\n250-AUTH SCRAM-SHA-256 PLAIN LOGIN\r\n250 8BITMIME\r\n";
const char* kEhloTls = "250-mx.example.net\r\n250-PIPELINING\r\n250 STARTTLS\r\n";

ClientConfig auth_config(bool plaintext_ok = false) {
  ClientConfig c = config(true);
  c.use_starttls = true;
  c.auth = ClientAuth{"alice", "s3cret", {sasl::Mechanism::plain, sasl::Mechanism::login}, plaintext_ok};
  return c;
}

// Greets, upgrades with STARTTLS (a null handshake) and answers the second EHLO.
void open_tls(Harness& h, const char* ehlo_after_tls) {
  h.server("220 mx.example.net ESMTP\r\n");
  h.server(kEhloTls);
  EXPECT_EQ(h.take(), "EHLO client.example.org\r\nSTARTTLS\r\n");
  h.server("220 2.0.0 Ready to start TLS\r\n");
  ASSERT_EQ(h.s.state(), ClientState::tls_handshake);
  h.s.tls_established(h.now);
  h.drain();
  EXPECT_EQ(h.take(), "EHLO client.example.org\r\n");
  h.server(ehlo_after_tls);
}

// The one submitted transaction failed with `code`, made up locally or from the server.
void expect_one_failure(const Harness& h, std::uint16_t code, bool local) {
  ASSERT_EQ(h.results.size(), 1u);
  EXPECT_FALSE(h.results[0].accepted);
  EXPECT_EQ(h.results[0].local, local);
  EXPECT_EQ(h.results[0].reply.code, code);
}

const std::string kPlainLine = "AUTH PLAIN " + sasl::base64_encode(std::string("\0alice\0s3cret", 13)) + "\r\n";

TEST(ClientSession, Rfc4954_S4_AuthPlainWithInitialResponseAfterStartTls) {
  Harness h(auth_config());
  h.submit(make_tx({"bob"}));
  open_tls(h, kEhloAuth);
  EXPECT_EQ(h.s.state(), ClientState::auth);
  EXPECT_FALSE(h.ready);  // no transaction before 235
  EXPECT_EQ(h.take(), kPlainLine);
  EXPECT_EQ(kPlainLine, "AUTH PLAIN AGFsaWNlAHMzY3JldA==\r\n");  // RFC 4616 §2 layout
  h.server("235 2.7.0 Authentication successful\r\n");
  EXPECT_TRUE(h.s.authenticated());
  EXPECT_TRUE(h.ready);
  // RFC 2920: after AUTH (the last command of its group) MAIL, RCPT and DATA go together.
  EXPECT_EQ(h.take(), "MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.net>\r\nDATA\r\n");
  h.server("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 go\r\n");
  EXPECT_EQ(h.take(), "Subject: t\r\n\r\nhello\r\n.\r\n");
  h.server("250 2.0.0 queued\r\n");
  ASSERT_EQ(h.results.size(), 1u);
  EXPECT_TRUE(h.results[0].accepted);
  const std::vector<std::string> want_events = {
      "ready ext=1 tls=1 pipe=1", "authenticated PLAIN alice",
      "tx 1 accepted 250 2.0.0|queued [<bob@example.net> ok 250 2.1.5|Ok]"};
  // The first SessionReady is only after AUTH: nothing is announced for the cleartext EHLO.
  std::vector<std::string> got;
  for (const auto& e : h.events)
    if (e.rfind("ready", 0) == 0 || e.rfind("authenticated", 0) == 0 || e.rfind("tx", 0) == 0) got.push_back(e);
  EXPECT_EQ(got, (std::vector<std::string>{want_events[1], want_events[0], want_events[2]}));
  for (const auto& line : h.s.history()) EXPECT_EQ(line.find("s3cret"), std::string::npos);
  const std::vector<std::string> hist(h.s.history().begin(), h.s.history().end());
  EXPECT_NE(std::find(hist.begin(), hist.end(), "ehlo -> auth"), hist.end());
  EXPECT_NE(std::find(hist.begin(), hist.end(), "auth -> ready"), hist.end());
}

TEST(ClientSession, Rfc4954_S4_AuthPlainSplitAtEveryByte) {
  Harness h(auth_config());
  h.submit(make_tx({"bob"}));
  open_tls(h, kEhloAuth);
  h.take();
  for (char c : std::string("235-2.7.0 Authentication\r\n235 2.7.0 successful\r\n")) h.server(std::string(1, c));
  EXPECT_TRUE(h.s.authenticated());
  EXPECT_EQ(h.take(), "MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.net>\r\nDATA\r\n");
}

TEST(ClientSession, Rfc4954_S6_Auth535FailsEveryTransactionWithTheServersReply) {
  Harness h(auth_config());
  h.submit(make_tx({"bob"}));
  h.submit(make_tx({"carol", "dave"}));
  open_tls(h, kEhloAuth);
  EXPECT_EQ(h.take(), kPlainLine);
  h.server("535 5.7.8 Authentication credentials invalid\r\n");
  EXPECT_FALSE(h.s.authenticated());
  EXPECT_FALSE(h.ready);
  EXPECT_EQ(h.take(), "QUIT\r\n");  // no MAIL is ever sent
  ASSERT_EQ(h.results.size(), 2u);
  for (const auto& r : h.results) {
    EXPECT_FALSE(r.accepted);
    EXPECT_FALSE(r.local);  // the server's verdict: the caller must not retry a bad password
    EXPECT_EQ(r.reply.code, 535);
    EXPECT_EQ(r.reply.enhanced, (EnhancedCode{5, 7, 8}));
    for (std::size_t i = 0; i < r.recipients.size(); ++i) EXPECT_EQ(r.outcome(i).code, 535);
  }
  // Submitted after the failure: refused locally, the session is closing.
  h.submit(make_tx({"bob"}));
  ASSERT_EQ(h.results.size(), 3u);
  EXPECT_TRUE(h.results[2].local);
  h.server("221 2.0.0 Bye\r\n");
  EXPECT_TRUE(h.s.closed());
}

TEST(ClientSession, Rfc4954_S6_Auth454IsTransient) {
  Harness h(auth_config());
  h.submit(make_tx({"bob"}));
  open_tls(h, kEhloAuth);
  h.take();
  h.server("454 4.7.0 Temporary authentication failure\r\n");
  expect_one_failure(h, 454, /*local=*/false);
  EXPECT_EQ(h.take(), "QUIT\r\n");
}

TEST(ClientSession, Rfc4954_S6_AuthNotOfferedFailsLocallyWith530) {
  // Credentials are configured, the server offers no AUTH at all.
  Harness h(auth_config());
  h.submit(make_tx({"bob"}));
  open_tls(h, "250-mx.example.net\r\n250 PIPELINING\r\n");
  EXPECT_EQ(h.take(), "QUIT\r\n");
  expect_one_failure(h, 530, /*local=*/true);
  EXPECT_EQ(h.results[0].reply.enhanced, (EnhancedCode{5, 7, 0}));

  // Only mechanisms we do not implement (or were told not to use).
  Harness h2(auth_config());
  h2.submit(make_tx({"bob"}));
  open_tls(h2, "250-mx.example.net\r\n250 AUTH SCRAM-SHA-256 CRAM-MD5\r\n");
  EXPECT_EQ(h2.take(), "QUIT\r\n");
  expect_one_failure(h2, 530, /*local=*/true);

  // After a HELO fallback there are no capabilities, so no AUTH either.
  ClientConfig c = auth_config();
  c.use_starttls = false;
  Harness h3(c);
  h3.submit(make_tx({"bob"}));
  h3.server("220 mx\r\n500 5.5.1 EHLO?\r\n250 mx\r\n");
  EXPECT_EQ(h3.take(), "EHLO client.example.org\r\nHELO client.example.org\r\nQUIT\r\n");
  expect_one_failure(h3, 530, /*local=*/true);
}

TEST(ClientSession, Rfc4954_S4_NoPlaintextPasswordWithoutTls) {
  // The server offers PLAIN in cleartext and no STARTTLS: the password is not sent.
  Harness h(auth_config());
  h.submit(make_tx({"bob"}));
  h.server("220 mx\r\n");
  h.server(kEhloAuth);
  EXPECT_EQ(h.take(), "EHLO client.example.org\r\nQUIT\r\n");
  expect_one_failure(h, 538, /*local=*/true);
  EXPECT_EQ(h.sent.find("AUTH"), std::string::npos);

  // STARTTLS offered but refused (opportunistic): still no password in the clear.
  Harness h2(auth_config());
  h2.submit(make_tx({"bob"}));
  h2.server("220 mx\r\n250-mx\r\n250-STARTTLS\r\n250 AUTH PLAIN\r\n454 4.7.0 TLS not available\r\n");
  EXPECT_EQ(h2.take(), "EHLO client.example.org\r\nSTARTTLS\r\nQUIT\r\n");
  expect_one_failure(h2, 538, /*local=*/true);

  // Allowed explicitly (loopback): PLAIN goes in cleartext.
  Harness h3(auth_config(/*plaintext_ok=*/true));
  h3.submit(make_tx({"bob"}));
  h3.server("220 mx\r\n");
  h3.server("250-mx\r\n250 AUTH PLAIN\r\n");
  EXPECT_EQ(h3.take(), "EHLO client.example.org\r\n" + kPlainLine);
  h3.server("235 2.7.0 ok\r\n");
  EXPECT_TRUE(h3.s.authenticated());
  EXPECT_FALSE(h3.s.tls());
  // Implicit TLS (RFC 8314) counts as TLS.
  ClientConfig c = auth_config();
  c.use_starttls = false;
  c.tls_active = true;
  Harness h4(c);
  h4.server("220 mx\r\n250-mx\r\n250 AUTH PLAIN\r\n");
  EXPECT_EQ(h4.take(), "EHLO client.example.org\r\n" + kPlainLine);
}

TEST(ClientSession, AuthLoginWhenPlainIsNotOffered) {
  Harness h(auth_config());
  h.submit(make_tx({"bob"}));
  open_tls(h, "250-mx.example.net\r\n250 AUTH LOGIN\r\n");
  EXPECT_EQ(h.take(), "AUTH LOGIN\r\n");
  h.server("334 VXNlcm5hbWU6\r\n");
  EXPECT_EQ(h.take(), sasl::base64_encode("alice") + "\r\n");
  h.server("334 UGFzc3dvcmQ6\r\n");
  EXPECT_EQ(h.take(), sasl::base64_encode("s3cret") + "\r\n");
  h.server("235 2.7.0 ok\r\n");
  EXPECT_TRUE(h.s.authenticated());
  EXPECT_NE(std::find(h.events.begin(), h.events.end(), "authenticated LOGIN alice"), h.events.end());
  EXPECT_EQ(h.take(), "MAIL FROM:<alice@example.org>\r\n");  // no PIPELINING offered
}

TEST(ClientSession, AuthUnexpectedContinuationIsCancelled) {
  Harness h(auth_config());
  h.submit(make_tx({"bob"}));
  open_tls(h, kEhloAuth);
  h.take();
  h.server("334 \r\n");  // PLAIN's response already went with the command
  EXPECT_EQ(h.take(), "*\r\n");
  h.server("501 5.7.0 Authentication cancelled\r\n");
  // Our reason, which says more than the server's 501 to our "*".
  expect_one_failure(h, 535, /*local=*/true);
  EXPECT_EQ(h.take(), "QUIT\r\n");
}

TEST(ClientSession, AuthReplyTimeoutAndEof) {
  Harness h(auth_config());
  h.submit(make_tx({"bob"}));
  open_tls(h, kEhloAuth);
  ASSERT_TRUE(h.s.poll_timeout().has_value());
  h.s.handle_timeout(*h.s.poll_timeout());
  h.drain();
  expect_one_failure(h, 451, /*local=*/true);
  EXPECT_TRUE(h.s.closed());

  Harness h2(auth_config());
  h2.submit(make_tx({"bob"}));
  open_tls(h2, kEhloAuth);
  h2.s.feed_eof(h2.now);
  h2.drain();
  expect_one_failure(h2, 451, /*local=*/true);
}

TEST(ClientSession, ClientAuthValidity) {
  EXPECT_TRUE(is_valid_client_auth(ClientAuth{"u", "p"}));
  EXPECT_TRUE(is_valid_client_auth(ClientAuth{"u", ""}));
  EXPECT_FALSE(is_valid_client_auth(ClientAuth{"", "p"}));
  EXPECT_FALSE(is_valid_client_auth(ClientAuth{std::string("a\0b", 3), "p"}));
  EXPECT_FALSE(is_valid_client_auth(ClientAuth{"u", std::string("a\0b", 3)}));
  EXPECT_FALSE(is_valid_client_auth(ClientAuth{std::string(256, 'u'), "p"}));
}

TEST(ClientSession, EhloReplySplitAtEveryByte) {
  const std::string script = std::string("220-mx.example.net ESMTP\r\n220 second line\r\n") + kEhloPipe +
                             "250 2.1.0 ok\r\n250 2.1.5 ok\r\n354 go\r\n250 2.0.0 queued\r\n221 bye\r\n";
  auto run = [&](std::size_t cut) {
    Harness h(config(true));
    h.submit(make_tx({"bob"}));
    h.s.quit(h.now);
    h.drain();
    h.server(std::string_view(script).substr(0, cut));
    h.server(std::string_view(script).substr(cut));
    return std::make_pair(h.sent, h.events);
  };
  const auto whole = run(script.size());
  EXPECT_EQ(whole.second.back(), "closed quit");
  for (std::size_t cut = 0; cut < script.size(); ++cut) {
    const auto split = run(cut);
    ASSERT_EQ(split.first, whole.first) << cut;
    ASSERT_EQ(split.second, whole.second) << cut;
  }
}

TEST(ClientSession, CancelFailsPending) {
  Harness h(config());
  open(h, kEhloPipe);
  h.submit(make_tx({"bob"}));
  h.submit(make_tx({"carol"}));
  h.s.cancel(h.now, "shutdown");
  h.drain();
  EXPECT_TRUE(h.s.closed());
  ASSERT_EQ(h.results.size(), 2u);
  EXPECT_EQ(h.results[1].reply.lines[0], "canceled: shutdown");
  EXPECT_EQ(h.s.pending_transactions(), 0u);
}

// ---- properties ----------------------------------------------------------------------

// Plausible and implausible server replies; the client must react to the byte stream the
// same way however it is segmented.
const std::vector<std::string> kReplyVocabulary = {
    "220 mx ESMTP\r\n",
    "220-mx\r\n220 more\r\n",
    "250 ok\r\n",
    "250 2.1.0 ok\r\n",
    "250-mx\r\n250-PIPELINING\r\n250-CHUNKING\r\n250-STARTTLS\r\n250 8BITMIME\r\n",
    "250-mx\r\n250 SIZE 10\r\n",
    "250\n",
    "354 go\r\n",
    "550 5.1.1 no\r\n",
    "452 4.5.3 too many\r\n",
    "503 5.5.1 sequence\r\n",
    "554 5.5.1 no valid recipients\r\n",
    "500 unknown\r\n",
    "221 bye\r\n",
    "421 4.3.2 bye\r\n",
    "220 Ready to start TLS\r\n",
    "garbage\r\n",
};

struct Transcript {
  std::string sent;
  std::vector<std::string> outputs_without_sends;
  std::vector<std::string> events;
  std::vector<std::string> history;
  ClientState state = ClientState::greeting;
  std::size_t results = 0;
};

Transcript replay(const ClientConfig& cfg, const std::vector<MailTransaction>& txs, std::string_view stream,
                  const std::vector<std::size_t>& cuts) {
  Harness h(cfg);
  for (const auto& tx : txs) h.submit(tx);
  h.s.quit(h.now);
  h.drain();
  std::size_t start = 0;
  for (std::size_t c : cuts) {
    if (c <= start || c >= stream.size()) continue;
    h.server(stream.substr(start, c - start));
    start = c;
  }
  h.server(stream.substr(start));
  if (h.s.state() == ClientState::tls_handshake) {
    h.s.tls_established(h.now);
    h.drain();
  }
  h.s.feed_eof(h.now);
  h.drain();
  Transcript t;
  t.sent = h.sent;
  for (const auto& o : h.outputs)
    if (o.rfind("send:", 0) != 0) t.outputs_without_sends.push_back(o);
  t.events = h.events;
  t.history.assign(h.s.history().begin(), h.s.history().end());
  t.state = h.s.state();
  t.results = h.results.size();
  RC_ASSERT(h.s.closed());
  RC_ASSERT(h.results.size() == txs.size());  // exactly one result per transaction
  return t;
}

RC_GTEST_PROP(ClientSessionProp, SegmentationInvariance, ()) {
  ClientConfig cfg = config(*rc::gen::arbitrary<bool>(), *rc::gen::arbitrary<bool>());
  cfg.use_starttls = *rc::gen::arbitrary<bool>();
  cfg.chunk_bytes = *rc::gen::inRange<std::uint32_t>(1, 40);
  const auto n_tx = *rc::gen::inRange(0, 4);
  std::vector<MailTransaction> txs;
  for (int i = 0; i < n_tx; ++i) {
    const auto n_rcpt = *rc::gen::inRange(1, 4);
    std::vector<std::string> rcpts;
    for (int j = 0; j < n_rcpt; ++j) rcpts.push_back("r" + std::to_string(j));
    const auto lines = *rc::gen::container<std::vector<std::string>>(rc::gen::elementOf(
        std::vector<std::string>{".", "..", "text", ".x", "", "Subject: s"}));
    std::string content;
    for (const auto& l : lines) content += l + "\r\n";
    txs.push_back(make_tx(rcpts, content));
  }
  const auto picks = *rc::gen::container<std::vector<std::size_t>>(rc::gen::inRange<std::size_t>(0, kReplyVocabulary.size()));
  std::string stream = "220 mx\r\n";
  for (std::size_t p : picks) stream += kReplyVocabulary[p];
  auto cuts = *rc::gen::container<std::vector<std::size_t>>(rc::gen::inRange<std::size_t>(0, stream.size() + 1));
  std::sort(cuts.begin(), cuts.end());

  const Transcript whole = replay(cfg, txs, stream, {});
  const Transcript split = replay(cfg, txs, stream, cuts);
  RC_ASSERT(split.sent == whole.sent);
  RC_ASSERT(split.outputs_without_sends == whole.outputs_without_sends);
  RC_ASSERT(split.events == whole.events);
  RC_ASSERT(split.history == whole.history);
  // Nothing we send has a bare CR or LF outside BDAT payloads (none here carry one).
  RC_ASSERT(!has_bare_cr_or_lf(whole.sent));
}

// ---- ClientSession <-> ServerSession, back to back in memory ----------------------------

struct Planned {
  MailTransaction tx;
  std::string expected_content;  // what the server must hand over (normalized)
  std::vector<bool> rcpt_ok;     // the server's verdict per recipient
  bool mail_ok = true;
  bool message_ok = true;
};

// The application behind the server: refuses senders "bad", recipients starting with "x",
// and messages from "defer" (451 after the content), accepts everything else.
Reply verdict_for(const Event& e) {
  if (const auto* m = std::get_if<ev::MailFrom>(&e)) {
    if (m->path.mailbox && m->path.mailbox->local_part == "bad") return Reply::make(553, {5, 7, 1}, "sender refused");
    return Reply::make(250, {2, 1, 0}, "Ok");
  }
  if (const auto* r = std::get_if<ev::RcptTo>(&e)) {
    if (r->path.mailbox && r->path.mailbox->local_part.rfind("x", 0) == 0)
      return Reply::make(550, {5, 1, 1}, "no such user");
    return Reply::make(250, {2, 1, 5}, "Ok");
  }
  const auto& msg = std::get<ev::Message>(e);
  if (msg.envelope.mail_from.mailbox && msg.envelope.mail_from.mailbox->local_part == "defer")
    return Reply::make(451, {4, 3, 0}, "try later");
  return Reply::make(250, {2, 0, 0}, "Ok: queued");
}

std::string random_line(Prng& rng) {
  static const std::vector<std::string> special = {".", "..", ". ", "...", "", ".\t", "From x", "\xc3\xa9."};
  if (rng.chance_ppm(150'000)) return special[rng.below(special.size())];
  static const std::string alphabet = ".....  \tabcdefghijklmnopqrstuvwxyzABCXYZ0123456789:<>@-=+\x80\xc3\xa9\xff";
  std::size_t len = rng.chance_ppm(50'000) ? 998 : rng.below(100);  // 998 + CRLF = §4.5.3.1.6's 1000
  std::string l;
  for (std::size_t i = 0; i < len; ++i) l.push_back(alphabet[rng.below(alphabet.size())]);
  return l;
}

Planned random_transaction(Prng& rng, std::size_t n, bool binary_allowed) {
  Planned p;
  const std::uint64_t sender = rng.below(20);
  p.tx.mail_from = sender == 0   ? path("bad", "example.org")
                   : sender == 1 ? path("defer", "example.org")
                   : sender == 2 ? Path{}
                                 : path("s" + std::to_string(n), "example.org");
  p.mail_ok = sender != 0;
  p.message_ok = sender != 1;
  if (rng.chance_ppm(200'000)) p.tx.mail_params.ret = DsnRet::headers;
  if (rng.chance_ppm(200'000)) p.tx.mail_params.envid = "env id+=" + std::to_string(n);
  const std::size_t rcpts = 1 + rng.below(5);
  for (std::size_t i = 0; i < rcpts; ++i) {
    const bool refuse = rng.chance_ppm(150'000);
    const bool utf8 = rng.chance_ppm(50'000);
    Recipient r{path((refuse ? "x" : "u") + std::to_string(i) + (utf8 ? "\xc3\xb6" : ""), "mx.test"), {}};
    if (rng.chance_ppm(200'000)) {
      r.params.notify.failure = true;
      r.params.notify.delay = rng.chance_ppm(500'000);
      r.params.orcpt = "orig+" + std::to_string(i) + "@example.net";
    }
    p.tx.recipients.push_back(std::move(r));
    p.rcpt_ok.push_back(!refuse);
  }
  if (binary_allowed && rng.chance_ppm(100'000)) {
    // RFC 3030 BINARYMIME: any octets, bare CR/LF and NUL included, framed by BDAT length.
    p.tx.mail_params.body = BodyType::binary_mime;
    const std::size_t len = rng.below(3000);
    for (std::size_t i = 0; i < len; ++i) {
      static const std::string hot("\r\n.\0", 4);
      p.tx.content.push_back(rng.chance_ppm(300'000) ? hot[rng.below(hot.size())] : static_cast<char>(rng.below(256)));
    }
    p.expected_content = p.tx.content;
    return p;
  }
  const std::size_t lines = rng.below(40);
  for (std::size_t i = 0; i < lines; ++i) p.tx.content += random_line(rng) + "\r\n";
  if (rng.chance_ppm(200'000)) p.tx.content += random_line(rng);  // no final CRLF: the client adds it
  if (rng.chance_ppm(300'000)) p.tx.mail_params.body = BodyType::eight_bit_mime;
  p.expected_content = p.tx.content;
  if (!p.expected_content.empty() && p.expected_content.substr(p.expected_content.size() - std::min<std::size_t>(2, p.expected_content.size())) != "\r\n")
    p.expected_content += "\r\n";
  return p;
}

struct Wire {
  ClientSession client;
  ServerSession server;
  Prng& rng;
  Instant now = t0;
  std::string to_server, to_client;
  bool client_closed = false, server_closed = false;
  std::vector<ev::Message> messages;
  std::vector<ev::TransactionResult> results;
  std::size_t max_piece;
  bool client_handshake = false, server_handshake = false;  // a null "TLS": both sides just agree
  std::size_t handshakes = 0;

  Wire(ClientConfig c, ServerConfig s, Prng& r, std::size_t piece)
      : client(std::move(c), t0), server(std::move(s), SessionInfo{"192.0.2.1", 4242, "192.0.2.2", false}, t0), rng(r),
        max_piece(piece) {}

  bool drain() {
    bool progress = false;
    while (auto o = client.poll_output()) {
      progress = true;
      if (auto* b = std::get_if<out::Send>(&*o)) to_server += b->bytes;
      else if (std::holds_alternative<out::Close>(*o)) client_closed = true;
      else client_handshake = true;
    }
    while (auto e = client.poll_event()) {
      progress = true;
      if (auto* r = std::get_if<ev::TransactionResult>(&*e)) results.push_back(std::move(*r));
    }
    while (auto o = server.poll_output()) {
      progress = true;
      if (auto* b = std::get_if<out::Send>(&*o)) to_client += b->bytes;
      else if (auto* pz = std::get_if<out::Pause>(&*o)) now = std::max(now, pz->until);
      else if (std::holds_alternative<out::Close>(*o)) server_closed = true;
      else if (std::holds_alternative<out::StartTls>(*o)) server_handshake = true;
    }
    while (auto e = server.poll_event()) {
      progress = true;
      if (auto* m = std::get_if<ev::Message>(&*e)) messages.push_back(*m);
      EventId id = 0;
      if (auto* m = std::get_if<ev::MailFrom>(&*e)) id = m->id;
      if (auto* r = std::get_if<ev::RcptTo>(&*e)) id = r->id;
      if (auto* m = std::get_if<ev::Message>(&*e)) id = m->id;
      if (id != 0) server.complete(id, verdict_for(*e), now);
    }
    return progress;
  }

  std::size_t piece(std::size_t available) {
    return std::min<std::size_t>(available, 1 + rng.below(max_piece));
  }

  // Shuttles bytes in random pieces until both sides are quiet; bounded (STYLE habit 11).
  void run() {
    for (int round = 0; round < 2'000'000; ++round) {
      bool progress = drain();
      if (client_handshake && server_handshake && to_server.empty() && to_client.empty()) {
        server.tls_established(now);
        client.tls_established(now);
        client_handshake = server_handshake = false;
        ++handshakes;
        progress = true;
      }
      if (!to_client.empty() && !client.closed()) {
        const std::size_t n = piece(to_client.size());
        EXPECT_EQ(client.feed(std::string_view(to_client).substr(0, n), now), n);
        to_client.erase(0, n);
        progress = true;
      } else if (server_closed && to_client.empty() && !client.closed()) {
        client.feed_eof(now);
        progress = true;
      }
      if (!to_server.empty() && !server.closed()) {
        const std::size_t n = server.feed(std::string_view(to_server).substr(0, piece(to_server.size())), now);
        to_server.erase(0, n);
        progress = progress || n > 0;
      } else if (client_closed && !server.closed() && to_server.empty()) {
        server.feed_eof(now);
        progress = true;
      }
      if (!progress && !drain()) return;
    }
    ADD_FAILURE() << "the pair did not become idle";
  }
};

void deliver_back_to_back(std::uint64_t seed, bool pipelining, bool chunking) {
  Prng rng(seed);
  std::vector<Planned> plan;
  for (std::size_t i = 0; i < 100; ++i) plan.push_back(random_transaction(rng, i, chunking));

  ServerConfig sc;
  sc.hostname = "mx.test";
  sc.limits.errors_max = 1'000'000;  // refused recipients count as errors (Postfix): keep going
  sc.limits.errors_before_delay = 1'000'000;
  std::size_t next = 0;
  std::size_t accepted = 0;
  while (next < plan.size()) {
    ClientConfig cc = config(pipelining, chunking);
    cc.chunk_bytes = static_cast<std::uint32_t>(1 + rng.below(3000));
    Wire w(cc, sc, rng, 1 + rng.below(600));
    const std::size_t batch = std::min<std::size_t>(plan.size() - next, 1 + rng.below(30));
    std::vector<TxId> ids;
    for (std::size_t i = 0; i < batch; ++i) ids.push_back(w.client.submit(plan[next + i].tx, w.now));
    w.client.quit(w.now);
    w.run();
    ASSERT_TRUE(w.client.closed()) << "seed " << seed;
    ASSERT_TRUE(w.server.closed()) << "seed " << seed;
    ASSERT_EQ(w.results.size(), batch) << "seed " << seed;
    std::size_t m = 0;
    for (std::size_t i = 0; i < batch; ++i) {
      const Planned& p = plan[next + i];
      const ev::TransactionResult& r = w.results[i];
      SCOPED_TRACE("seed " + std::to_string(seed) + " tx " + std::to_string(next + i));
      ASSERT_EQ(r.id, ids[i]);
      ASSERT_FALSE(r.local) << describe(r.reply);
      bool any_rcpt = false;
      for (std::size_t k = 0; k < p.rcpt_ok.size(); ++k) {
        EXPECT_EQ(r.recipients[k].accepted, p.mail_ok && p.rcpt_ok[k]) << describe(r.recipients[k].reply);
        any_rcpt = any_rcpt || p.rcpt_ok[k];
      }
      const bool should_reach_server = p.mail_ok && any_rcpt;
      EXPECT_EQ(r.accepted, should_reach_server && p.message_ok) << describe(r.reply);
      if (!should_reach_server) continue;
      // The server handed this content to the application: byte-identical, full envelope.
      ASSERT_LT(m, w.messages.size());
      const ev::Message& msg = w.messages[m++];
      EXPECT_EQ(msg.content, p.expected_content);
      EXPECT_EQ(msg.envelope.mail_from, p.tx.mail_from);
      EXPECT_EQ(msg.envelope.mail_params.size, std::optional<std::uint64_t>(p.expected_content.size()));
      EXPECT_EQ(msg.envelope.mail_params.ret, p.tx.mail_params.ret);
      EXPECT_EQ(msg.envelope.mail_params.envid, p.tx.mail_params.envid);
      std::vector<Recipient> want;
      for (std::size_t k = 0; k < p.rcpt_ok.size(); ++k)
        if (p.rcpt_ok[k]) want.push_back(p.tx.recipients[k]);
      ASSERT_EQ(msg.envelope.recipients.size(), want.size());
      for (std::size_t k = 0; k < want.size(); ++k) {
        EXPECT_EQ(msg.envelope.recipients[k].path, want[k].path);
        EXPECT_EQ(msg.envelope.recipients[k].params.orcpt, want[k].params.orcpt);
        EXPECT_EQ(msg.envelope.recipients[k].params.notify.failure, want[k].params.notify.failure);
        EXPECT_EQ(msg.envelope.recipients[k].params.notify.delay, want[k].params.notify.delay);
      }
      accepted += r.accepted ? 1 : 0;
    }
    EXPECT_EQ(m, w.messages.size());
    next += batch;
  }
  EXPECT_GT(accepted, 50u);
}

TEST(ClientServer, StartTlsWithANullHandshake) {
  Prng rng(77);
  ServerConfig sc;
  sc.hostname = "mx.test";
  sc.starttls_available = true;
  ClientConfig cc = config(true, false);
  cc.use_starttls = true;
  cc.require_tls = true;
  Wire w(cc, sc, rng, 50);
  std::vector<Planned> plan;
  for (std::size_t i = 0; i < 10; ++i) {
    plan.push_back(random_transaction(rng, i, false));
    plan.back().tx.mail_from = path("s", "example.org");
    for (auto& r : plan.back().tx.recipients) r.path = path("u", "mx.test");
    (void)w.client.submit(plan.back().tx, w.now);
  }
  w.client.quit(w.now);
  w.run();
  EXPECT_EQ(w.handshakes, 1u);
  EXPECT_TRUE(w.client.tls());
  ASSERT_EQ(w.messages.size(), plan.size());
  for (std::size_t i = 0; i < plan.size(); ++i) {
    EXPECT_TRUE(w.results[i].accepted);
    EXPECT_TRUE(w.messages[i].envelope.tls);
    EXPECT_EQ(w.messages[i].content, plan[i].expected_content);
  }
}

// With the server's default error budget, refused recipients slow the client down (Pause)
// and finally get it disconnected (421). Whatever happens: a transaction is accepted exactly
// when the server's application took its message, and the content is byte-identical.
TEST(ClientServer, ServerErrorBudget) {
  for (std::uint64_t seed = 200; seed < 206; ++seed) {
    Prng rng(seed);
    ServerConfig sc;
    sc.hostname = "mx.test";
    Wire w(config(seed % 2 == 0, seed % 3 == 0), sc, rng, 1 + rng.below(200));
    std::vector<Planned> plan;
    for (std::size_t i = 0; i < 60; ++i) {
      plan.push_back(random_transaction(rng, i, false));
      (void)w.client.submit(plan.back().tx, w.now);
    }
    w.client.quit(w.now);
    w.run();
    ASSERT_TRUE(w.client.closed());
    ASSERT_EQ(w.results.size(), plan.size());
    // Accepted transactions appear among the server's messages, in order, byte-identical.
    std::size_t m = 0;
    for (std::size_t i = 0; i < plan.size(); ++i) {
      if (!w.results[i].accepted) continue;
      while (m < w.messages.size() && w.messages[m].content != plan[i].expected_content) ++m;
      ASSERT_LT(m, w.messages.size()) << "seed " << seed << " tx " << i << " accepted but never delivered";
      ++m;
    }
    std::size_t refused_by_app = 0;
    for (const auto& msg : w.messages)
      if (msg.envelope.mail_from.mailbox && msg.envelope.mail_from.mailbox->local_part == "defer") ++refused_by_app;
    std::size_t accepted = 0;
    for (const auto& r : w.results) accepted += r.accepted ? 1 : 0;
    EXPECT_EQ(accepted + refused_by_app, w.messages.size()) << "seed " << seed;
  }
}

TEST(ClientServer, HundredTransactionsPlain) { deliver_back_to_back(1, false, false); }
TEST(ClientServer, HundredTransactionsPipelined) { deliver_back_to_back(2, true, false); }
TEST(ClientServer, HundredTransactionsChunking) { deliver_back_to_back(3, false, true); }
TEST(ClientServer, HundredTransactionsPipelinedChunking) { deliver_back_to_back(4, true, true); }
TEST(ClientServer, ManySeeds) {
  for (std::uint64_t seed = 100; seed < 112; ++seed) deliver_back_to_back(seed, seed % 2 == 0, seed % 3 == 0);
}

}  // namespace
}  // namespace mail::smtp
