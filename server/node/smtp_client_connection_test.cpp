// SmtpClientConnection over real loopback sockets (AsioEnv) against a scripted server:
// a pipelined transaction accepted (MAIL, RCPT and DATA in one write), a 4xx at RCPT (RSET,
// no DATA), the server closing mid-transaction (one local 451 per submitted transaction),
// STARTTLS with real OpenSSL (EHLO again over TLS) and a failed handshake, reuse through
// on_idle, and the before_write hang-up hook. The simulator covers the same loop under faults.
#include "node/smtp_client_connection.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "io/io_test_util.h"
#include "node/tls_stream.h"
#include "node/tls_test_util.h"

namespace mail::node {
namespace {

using io::test::bytes_of;
using io::test::connect_pair;
using io::test::run_task;

// The server end: reads command lines and content, writes replies, as a test scripts it.
class ScriptedServer {
 public:
  ScriptedServer(io::AsioEnv& env, std::unique_ptr<rt::Stream> stream) : env_(env), stream_(std::move(stream)) {}

  rt::Task<void> send(std::string reply) {
    auto w = co_await rt::write_all(*stream_, bytes_of(reply), deadline());
    EXPECT_TRUE(w.ok());
  }
  // The next line without its CRLF; "" at end of stream (what came before it is in rest()).
  rt::Task<std::string> line() {
    std::size_t end;
    while ((end = buf_.find("\r\n")) == std::string::npos)
      if (!co_await fill()) co_return std::string();
    std::string l = buf_.substr(0, end);
    buf_.erase(0, end + 2);
    lines.push_back(l);
    co_return l;
  }
  // DATA content up to and including the "." line.
  rt::Task<std::string> until_dot() {
    std::size_t end;
    while ((end = buf_.find("\r\n.\r\n")) == std::string::npos)
      if (!co_await fill()) co_return std::string();
    std::string c = buf_.substr(0, end + 5);
    buf_.erase(0, end + 5);
    co_return c;
  }
  // After "220 ready": the server side of the TLS handshake (nothing is buffered yet).
  rt::Task<bool> start_tls(tls::TlsContext& context) {
    EXPECT_TRUE(buf_.empty());
    auto t = std::make_unique<TlsStream>(env_.executor(), std::move(stream_),
                                         std::make_unique<tls::TlsEngine>(context, tls::Role::server));
    TlsStream& ts = *t;
    stream_ = std::move(t);
    const Instant until = deadline();
    auto done = co_await rt::async_op<tls::ev::HandshakeDone>(
        [&ts, until](rt::Completion<tls::ev::HandshakeDone> c) { ts.async_handshake(until, std::move(c)); });
    EXPECT_TRUE(done.ok());
    co_return done.ok();
  }
  // Answers like a permissive server until QUIT or end of stream.
  rt::Task<void> accept_all(std::string ehlo_reply) {
    while (true) {
      const std::string l = co_await line();
      if (l.empty()) co_return;
      if (l.starts_with("EHLO")) {
        co_await send(ehlo_reply);
      } else if (l == "DATA") {
        co_await send("354 go ahead\r\n");
        contents.push_back(co_await until_dot());
        co_await send("250 2.0.0 queued\r\n");
      } else if (l == "QUIT") {
        co_await send("221 2.0.0 bye\r\n");
        co_return;
      } else {
        co_await send("250 2.0.0 ok\r\n");
      }
    }
  }
  void close() { stream_->close(); }
  const std::string& rest() const noexcept { return buf_; }

  std::vector<std::string> lines;     // every command line read, in order
  std::vector<std::string> contents;  // every DATA content (accept_all)

 private:
  Instant deadline() const { return env_.clock().now() + 10s; }
  rt::Task<bool> fill() {
    std::vector<std::byte> b(4096);
    auto r = co_await rt::read_some(*stream_, b, deadline());
    if (!r.ok()) co_return false;
    buf_.append(reinterpret_cast<const char*>(b.data()), *r);
    co_return true;
  }

  io::AsioEnv& env_;
  std::unique_ptr<rt::Stream> stream_;
  std::string buf_;
};

// Records everything the connection reports; behaviour knobs for the reuse and hang-up tests.
struct Recorder final : SmtpClientHooks {
  std::vector<smtp::ClientEvent> events;
  std::vector<std::string> writes;
  std::vector<bool> hung_up_at_result;
  std::vector<Result<tls::ev::HandshakeDone>> tls;
  std::function<void(SmtpClientConnection&)> idle;
  std::size_t idle_calls = 0;
  std::size_t hang_up_at_write = SIZE_MAX;  // this write (0-based) is cut to 10 bytes, then close
  bool hung_up = false;

  void on_event(SmtpClientConnection& conn, smtp::ClientEvent event) override {
    if (std::holds_alternative<smtp::ev::TransactionResult>(event)) hung_up_at_result.push_back(conn.hung_up());
    events.push_back(std::move(event));
  }
  void on_idle(SmtpClientConnection& conn) override {
    ++idle_calls;
    if (idle) idle(conn);
  }
  void on_tls(SmtpClientConnection&, const Result<tls::ev::HandshakeDone>& r) override { tls.push_back(r); }
  WritePlan before_write(const SmtpClientConnection&, std::string_view bytes) override {
    writes.emplace_back(bytes);
    if (writes.size() - 1 != hang_up_at_write) return WritePlan{bytes.size(), false};
    return WritePlan{std::min<std::size_t>(10, bytes.size()), true};
  }
  void on_hang_up(const SmtpClientConnection& conn) override {
    hung_up = true;
    EXPECT_EQ(conn.bytes_sent(), total_before_last() + std::min<std::size_t>(10, writes.back().size()));
  }
  std::size_t total_before_last() const {
    std::size_t n = 0;
    for (std::size_t i = 0; i + 1 < writes.size(); ++i) n += writes[i].size();
    return n;
  }

  std::vector<smtp::ev::TransactionResult> results() const {
    std::vector<smtp::ev::TransactionResult> out;
    for (const auto& e : events)
      if (const auto* r = std::get_if<smtp::ev::TransactionResult>(&e)) out.push_back(*r);
    return out;
  }
  std::size_t count_closed() const {
    std::size_t n = 0;
    for (const auto& e : events) n += std::holds_alternative<smtp::ev::Closed>(e) ? 1 : 0;
    return n;
  }
};

smtp::MailTransaction transaction(std::string rcpt_local, std::string body = "Subject: t\r\n\r\nhello\r\n") {
  smtp::MailTransaction tx;
  tx.mail_from.mailbox = smtp::Mailbox{"a", "client.test"};
  smtp::Recipient r;
  r.path.mailbox = smtp::Mailbox{std::move(rcpt_local), "mx.test"};
  tx.recipients.push_back(std::move(r));
  tx.content = std::move(body);
  return tx;
}

SmtpClientOptions options(bool pipelining = true) {
  SmtpClientOptions o;
  o.session.helo_name = "client.test";
  o.session.use_pipelining = pipelining;
  o.write_timeout = 10s;
  o.tls_handshake_timeout = 10s;
  return o;
}

// What one run leaves behind, checked once the loop has stopped (ASSERT_* cannot be used
// inside a coroutine).
struct Outcome {
  Recorder rec;
  std::vector<std::string> lines;     // the server's command lines, in order
  std::vector<std::string> contents;  // DATA contents the server took
  std::string rest;                   // bytes the server read but could not frame
  smtp::ClientState end_state = smtp::ClientState::greeting;
  bool tls = false;
  bool hung_up = false;
  std::size_t pending = 0;
  std::vector<smtp::TxId> ids;  // from `setup`'s submits
};

using Script = std::function<rt::Task<void>(ScriptedServer&)>;

// Connects a loopback pair; `setup` submits (and maybe quits) before run(); the server
// side runs `script` as its own root task. Returns when both are done.
void drive(Outcome& run, SmtpClientOptions o, const std::function<void(SmtpClientConnection&, Outcome&)>& setup,
           const Script& script) {
  io::AsioEnv env(io::test::test_options());
  run_task(env, [](io::AsioEnv& e, Outcome& out, SmtpClientOptions opts, const std::function<void(SmtpClientConnection&, Outcome&)>& set,
                   const Script& scr) -> rt::Task<void> {
    auto raw = co_await connect_pair(e);
    if (!raw.server || !raw.client) co_return;
    ScriptedServer server(e, std::move(raw.server));
    SmtpClientConnection client(e, std::move(raw.client), std::move(opts), out.rec);
    set(client, out);
    bool server_done = false;
    e.tasks().spawn([](rt::Task<void> s, bool& done) -> rt::Task<void> {
      co_await std::move(s);
      done = true;
    }(scr(server), server_done));
    co_await client.run();
    auto timer = e.clock().make_timer();
    while (!server_done) (void)co_await rt::sleep_until(*timer, e.clock().now() + 1ms);
    out.lines = server.lines;
    out.contents = server.contents;
    out.rest = server.rest();
    out.end_state = client.session().state();
    out.tls = client.session().tls();
    out.hung_up = client.hung_up();
    out.pending = client.session().pending_transactions();
  }(env, run, std::move(o), setup, script));
}

// Submits one transaction per recipient local part, then (optionally) QUIT.
std::function<void(SmtpClientConnection&, Outcome&)> submits(std::vector<std::string> rcpts, bool then_quit = true) {
  return [rcpts = std::move(rcpts), then_quit](SmtpClientConnection& c, Outcome& r) {
    for (const auto& local : rcpts) r.ids.push_back(c.submit(transaction(local)));
    if (then_quit) c.quit();
  };
}

TEST(SmtpClientConnection, PipelinedTransactionIsAcceptedWithMailRcptDataInOneWrite) {
  Outcome run;
  drive(run, options(), submits({"b"}), [](ScriptedServer& s) -> rt::Task<void> {
    co_await s.send("220 mx.test ESMTP\r\n");
    co_await s.accept_all("250-mx.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n");
    s.close();
  });
  const Recorder& rec = run.rec;
  ASSERT_EQ(rec.writes.size(), 4u);
  EXPECT_EQ(rec.writes[0], "EHLO client.test\r\n");
  EXPECT_EQ(rec.writes[1], "MAIL FROM:<a@client.test>\r\nRCPT TO:<b@mx.test>\r\nDATA\r\n");
  EXPECT_EQ(rec.writes[3], "QUIT\r\n");
  ASSERT_EQ(run.contents.size(), 1u);
  EXPECT_EQ(run.contents[0], "Subject: t\r\n\r\nhello\r\n.\r\n");
  const auto results = rec.results();
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].id, run.ids.at(0));
  EXPECT_TRUE(results[0].accepted);
  EXPECT_FALSE(results[0].local);
  EXPECT_EQ(results[0].reply.code, 250);
  EXPECT_TRUE(results[0].delivered(0));
  ASSERT_FALSE(rec.events.empty());
  EXPECT_TRUE(std::holds_alternative<smtp::ev::SessionReady>(rec.events.front()));
  EXPECT_TRUE(std::holds_alternative<smtp::ev::Closed>(rec.events.back()));
  EXPECT_EQ(rec.count_closed(), 1u);
  EXPECT_EQ(run.end_state, smtp::ClientState::closed);
  EXPECT_EQ(rec.idle_calls, 0u);  // QUIT was asked up front
}

TEST(SmtpClientConnection, TransientRcptRefusalFailsTheTransactionAndResets) {
  Outcome run;
  drive(run, options(/*pipelining=*/false), submits({"busy"}), [](ScriptedServer& s) -> rt::Task<void> {
    co_await s.send("220 mx.test ESMTP\r\n");
    EXPECT_EQ(co_await s.line(), "EHLO client.test");
    co_await s.send("250 mx.test\r\n");
    EXPECT_EQ(co_await s.line(), "MAIL FROM:<a@client.test>");
    co_await s.send("250 2.1.0 ok\r\n");
    EXPECT_EQ(co_await s.line(), "RCPT TO:<busy@mx.test>");
    co_await s.send("451 4.3.0 try again later\r\n");
    EXPECT_EQ(co_await s.line(), "RSET");  // no DATA without a recipient
    co_await s.send("250 2.0.0 ok\r\n");
    EXPECT_EQ(co_await s.line(), "QUIT");
    co_await s.send("221 2.0.0 bye\r\n");
    s.close();
  });
  const auto results = run.rec.results();
  ASSERT_EQ(results.size(), 1u);
  EXPECT_FALSE(results[0].accepted);
  EXPECT_FALSE(results[0].local);  // the server's answer, not ours
  EXPECT_EQ(results[0].reply.code, 451);
  ASSERT_EQ(results[0].recipients.size(), 1u);
  EXPECT_FALSE(results[0].recipients[0].accepted);
  EXPECT_EQ(results[0].recipients[0].reply.code, 451);
  EXPECT_EQ(run.lines.size(), 5u);
  EXPECT_EQ(run.rec.count_closed(), 1u);
}

TEST(SmtpClientConnection, ServerClosingMidTransactionFailsEachTransactionOnceLocally) {
  Outcome run;
  drive(run, options(), submits({"b", "c"}), [](ScriptedServer& s) -> rt::Task<void> {
    co_await s.send("220 mx.test ESMTP\r\n");
    EXPECT_EQ(co_await s.line(), "EHLO client.test");
    co_await s.send("250-mx.test\r\n250 PIPELINING\r\n");
    EXPECT_EQ(co_await s.line(), "MAIL FROM:<a@client.test>");
    EXPECT_EQ(co_await s.line(), "RCPT TO:<b@mx.test>");
    EXPECT_EQ(co_await s.line(), "DATA");
    co_await s.send("250 2.1.0 ok\r\n");
    s.close();  // before the RCPT and DATA replies
  });
  const auto results = run.rec.results();
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].id, run.ids.at(0));
  EXPECT_EQ(results[1].id, run.ids.at(1));
  for (const auto& r : results) {
    EXPECT_FALSE(r.accepted);
    EXPECT_TRUE(r.local);
    EXPECT_EQ(r.reply.code, 451);
  }
  EXPECT_EQ(run.rec.count_closed(), 1u);
  EXPECT_EQ(run.end_state, smtp::ClientState::closed);
  EXPECT_EQ(run.pending, 0u);
}

TEST(SmtpClientConnection, StartTlsUpgradesAndSaysEhloAgain) {
  test::TlsContexts tls;
  SmtpClientOptions o = options();
  o.session.use_starttls = true;
  o.session.require_tls = true;
  o.tls_context = tls.client;
  o.tls_server_name = test::kTestTlsHostname;
  Outcome run;
  drive(run, std::move(o), submits({"b"}), [&tls](ScriptedServer& s) -> rt::Task<void> {
    return [](ScriptedServer& srv, tls::TlsContext& ctx) -> rt::Task<void> {
      co_await srv.send("220 mx.test ESMTP\r\n");
      EXPECT_EQ(co_await srv.line(), "EHLO client.test");
      co_await srv.send("250-mx.test\r\n250-STARTTLS\r\n250 PIPELINING\r\n");
      EXPECT_EQ(co_await srv.line(), "STARTTLS");
      co_await srv.send("220 2.0.0 ready to start TLS\r\n");
      if (!co_await srv.start_tls(ctx)) co_return;
      co_await srv.accept_all("250-mx.test\r\n250 PIPELINING\r\n");
      srv.close();
    }(s, *tls.server);
  });
  const Recorder& rec = run.rec;
  ASSERT_EQ(rec.tls.size(), 1u);
  ASSERT_TRUE(rec.tls[0].ok()) << rec.tls[0].error().detail;
  EXPECT_TRUE(rec.tls[0]->peer_verified);
  ASSERT_GE(run.lines.size(), 3u);
  EXPECT_EQ(run.lines[2], "EHLO client.test");  // RFC 3207 §4.2: EHLO again over TLS
  const auto results = rec.results();
  ASSERT_EQ(results.size(), 1u);
  EXPECT_TRUE(results[0].accepted);
  ASSERT_FALSE(rec.events.empty());
  const auto* ready = std::get_if<smtp::ev::SessionReady>(&rec.events.front());
  ASSERT_NE(ready, nullptr);
  EXPECT_TRUE(ready->tls);  // no transaction before TLS
  EXPECT_TRUE(run.tls);
}

TEST(SmtpClientConnection, FailedStartTlsHandshakeFailsTheTransactionLocally) {
  test::TlsContexts tls;
  SmtpClientOptions o = options();
  o.session.use_starttls = true;
  o.tls_context = tls.client;
  o.tls_server_name = test::kTestTlsHostname;
  Outcome run;
  drive(run, std::move(o), submits({"b"}), [](ScriptedServer& s) -> rt::Task<void> {
    co_await s.send("220 mx.test ESMTP\r\n");
    EXPECT_EQ(co_await s.line(), "EHLO client.test");
    co_await s.send("250-mx.test\r\n250 STARTTLS\r\n");
    EXPECT_EQ(co_await s.line(), "STARTTLS");
    co_await s.send("220 2.0.0 ready to start TLS\r\n");
    co_await s.send("this is not a TLS record\r\n");  // then the server goes away
    s.close();
  });
  ASSERT_EQ(run.rec.tls.size(), 1u);
  EXPECT_FALSE(run.rec.tls[0].ok());
  const auto results = run.rec.results();
  ASSERT_EQ(results.size(), 1u);
  EXPECT_TRUE(results[0].local);
  EXPECT_EQ(results[0].reply.code, 451);
  EXPECT_EQ(run.end_state, smtp::ClientState::closed);
  EXPECT_FALSE(run.tls);
}

TEST(SmtpClientConnection, IdleHookSubmitsMoreOnTheSameConnectionThenQuits) {
  Outcome run;
  run.rec.idle = [&run](SmtpClientConnection& c) {
    if (run.rec.idle_calls == 1) run.ids.push_back(c.submit(transaction("later")));  // then nothing: QUIT
  };
  drive(run, options(), submits({"b"}, /*then_quit=*/false), [](ScriptedServer& s) -> rt::Task<void> {
    co_await s.send("220 mx.test ESMTP\r\n");
    co_await s.accept_all("250-mx.test\r\n250 PIPELINING\r\n");
    s.close();
  });
  EXPECT_EQ(run.rec.idle_calls, 2u);
  const auto results = run.rec.results();
  ASSERT_EQ(results.size(), 2u);
  EXPECT_TRUE(results[0].accepted);
  EXPECT_TRUE(results[1].accepted);
  EXPECT_EQ(results[1].id, run.ids.at(1));
  EXPECT_EQ(run.contents.size(), 2u);
  ASSERT_FALSE(run.lines.empty());
  EXPECT_EQ(run.lines.back(), "QUIT");
}

TEST(SmtpClientConnection, HangUpHookClosesMidCommandAndFailsTheRestLocally) {
  Outcome run;
  run.rec.hang_up_at_write = 1;  // the MAIL/RCPT/DATA group: 10 bytes of it, then close
  drive(run, options(), submits({"b"}), [](ScriptedServer& s) -> rt::Task<void> {
    co_await s.send("220 mx.test ESMTP\r\n");
    co_await s.accept_all("250-mx.test\r\n250 PIPELINING\r\n");
    s.close();
  });
  EXPECT_TRUE(run.rec.hung_up);
  EXPECT_TRUE(run.hung_up);
  EXPECT_EQ(run.rest, "MAIL FROM:");  // then end of stream
  const auto results = run.rec.results();
  ASSERT_EQ(results.size(), 1u);
  EXPECT_TRUE(results[0].local);
  EXPECT_EQ(results[0].reply.code, 451);
  ASSERT_EQ(run.rec.hung_up_at_result.size(), 1u);
  EXPECT_TRUE(run.rec.hung_up_at_result[0]);
  EXPECT_EQ(run.end_state, smtp::ClientState::closed);
}

}  // namespace
}  // namespace mail::node
