// The relay end to end inside one process, over real loopback sockets and files (AsioEnv):
// two MailServers, a.test relaying to b.test by a static route. Covers the RCPT relay
// decision (RFC 5321 §3.6 / RFC 2505: no open relay), queueing and delivery to the second
// server, a remote 550 turned into an RFC 3464 bounce in the sender's Maildir, a deferral
// while the remote is down followed by `flush`, a mixed local + remote message committed
// once, the submission fix-ups (RFC 6409 §8.2/8.3) and the sender check, and hold/release.
// The simulator runs the same code under faults (relay-* scenarios); the pytest suite runs
// two real `cloudsdial serve` processes.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "core/ip_address.h"
#include "io/asio_env.h"
#include "io/io_test_util.h"
#include "node/mail_server.h"
#include "node/smtp_client_connection.h"
#include "runtime/await.h"

namespace mail::node {
namespace {

namespace fs = std::filesystem;
using io::test::run_task;

std::string temp_dir() {
  std::string tmpl = (fs::temp_directory_path() / "cloudsdial-relay-XXXXXX").string();
  EXPECT_NE(::mkdtemp(tmpl.data()), nullptr);
  return tmpl;
}

// Every message file in a user's Maildir (new/ and cur/), read whole.
std::vector<std::string> maildir_messages(const std::string& data_dir, const std::string& user) {
  std::vector<std::string> out;
  for (const char* folder : {"new", "cur"}) {
    const fs::path dir = fs::path(data_dir) / "mail" / user / "Maildir" / folder;
    if (!fs::exists(dir)) continue;
    for (const auto& e : fs::directory_iterator(dir)) {
      std::ifstream in(e.path(), std::ios::binary);
      std::ostringstream s;
      s << in.rdbuf();
      out.push_back(s.str());
    }
  }
  return out;
}

smtp::Path path(std::string local, std::string domain) { return smtp::Path{smtp::Mailbox{std::move(local), std::move(domain)}}; }

MailServerConfig server_config(const std::string& dir, const std::string& domain, std::vector<std::string> users) {
  MailServerConfig c;
  c.data_dir = dir;
  c.directory.domains = {domain};
  for (auto& u : users) c.directory.users.push_back(store::UserConfig{std::move(u), {}});
  c.smtp.listen = {rt::Endpoint{"127.0.0.1", 0}};
  c.smtp.session.hostname = "mx." + domain;
  c.smtp.session.dsn = true;
  return c;
}

// One client transaction against `port`, its result.
struct SendResult {
  std::vector<smtp::Reply> rcpt;
  smtp::Reply final_reply;
  bool accepted = false;
};

class OneShot final : public SmtpClientHooks {
 public:
  explicit OneShot(smtp::MailTransaction tx) : tx_(std::move(tx)) {}
  void on_event(SmtpClientConnection& /*conn*/, smtp::ClientEvent event) override {
    if (auto* r = std::get_if<smtp::ev::TransactionResult>(&event)) {
      for (const auto& rr : r->recipients) result.rcpt.push_back(rr.reply);
      result.final_reply = r->reply;
      result.accepted = r->accepted;
    }
  }
  void on_idle(SmtpClientConnection& conn) override {
    if (tx_) {
      conn.submit(std::move(*tx_));
      tx_.reset();
    }
  }
  SendResult result;

 private:
  std::optional<smtp::MailTransaction> tx_;
};

rt::Task<SendResult> send(io::AsioEnv& env, std::uint16_t port, const smtp::Path& from, const std::vector<smtp::Path>& to,
                          const std::string& content, smtp::DsnNotify notify = {}) {
  smtp::MailTransaction tx;
  tx.mail_from = from;
  for (const auto& p : to) {
    smtp::Recipient r{p, {}};
    r.params.notify = notify;
    tx.recipients.push_back(std::move(r));
  }
  tx.content = content;
  OneShot hooks(std::move(tx));
  const rt::Endpoint to_server{"127.0.0.1", port};  // named: no braced temporaries in co_await (GCC 12)
  auto stream = co_await rt::connect(env.net(), to_server, env.clock().now() + 5s);
  EXPECT_TRUE(stream.ok());
  if (!stream.ok()) co_return SendResult{};
  SmtpClientOptions options;
  options.session.helo_name = "client.test";
  SmtpClientConnection conn(env, std::move(*stream), std::move(options), hooks);
  co_await conn.run();
  co_return hooks.result;
}

// Runs the loop until `done()` or `limit` passes; returns done().
rt::Task<bool> wait_for(io::AsioEnv& env, std::function<bool()> done, Duration limit = 10s) {
  auto timer = env.clock().make_timer();
  const Instant until = env.clock().now() + limit;
  while (!done() && env.clock().now() < until) (void)co_await rt::sleep_until(*timer, env.clock().now() + 20ms);
  co_return done();
}

// The queue holds one message whose deferral is recorded (durable and applied).
bool one_deferred(MailServer& server) {
  auto list = server.outbound()->list();
  return list.size() == 1 && list[0].deferred == 1 && !list[0].active;
}

std::uint16_t free_port(io::AsioEnv& env) {
  auto l = env.net().listen({"127.0.0.1", 0});
  EXPECT_TRUE(l.ok());
  const std::uint16_t port = (*l)->local_endpoint().port;
  (*l)->close();
  return port;
}

// Starts B then A, sends one message to A, waits until `arrived()` holds and A's queue is
// empty, then stops both. Returns what A answered.
rt::Task<SendResult> relay_once(io::AsioEnv& env, MailServer& a, MailServer& b, smtp::Path from,
                                std::vector<smtp::Path> to, std::string content, std::function<bool()> arrived) {
  EXPECT_TRUE((co_await b.start()).ok());
  EXPECT_TRUE((co_await a.start()).ok());
  SendResult r = co_await send(env, a.smtp().bound_endpoints()[0].port, from, to, content);
  EXPECT_TRUE(r.accepted);
  EXPECT_TRUE(co_await wait_for(env, arrived));
  EXPECT_TRUE(co_await wait_for(env, [&a] { return a.outbound()->counters().messages == 0; }));
  co_await a.stop(env.clock().now() + 2s);
  co_await b.stop(env.clock().now() + 2s);
  co_return r;
}

class RelayTest : public ::testing::Test {
 protected:
  // A relays to b.test on `b_port`; 127.0.0.0/8 may relay unless `trusted` is false.
  MailServerConfig a_config(std::uint16_t b_port, bool trusted = true) {
    MailServerConfig c = server_config(a_dir_, "a.test", {"alice"});
    if (trusted) c.relay.policy.trusted_networks.push_back(*parse_cidr("127.0.0.0/8"));
    QueueManagerConfig q;
    StaticRoute route;
    route.domain = "b.test";
    route.host = "127.0.0.1";
    route.port = b_port;
    route.tls = TlsPolicy::none;
    q.router.routes.push_back(route);
    q.connect_timeout = 2s;
    c.outbound = q;
    return c;
  }

  io::AsioEnv env_;
  std::string a_dir_ = temp_dir();
  std::string b_dir_ = temp_dir();
};

TEST_F(RelayTest, UntrustedUnauthenticatedClientCannotRelayRfc5321Section3_6) {
  MailServer server_a(env_, a_config(free_port(env_), /*trusted=*/false));
  run_task(env_, [](io::AsioEnv& env, MailServer& a) -> rt::Task<void> {
    EXPECT_TRUE((co_await a.start()).ok());
    const std::uint16_t port = a.smtp().bound_endpoints()[0].port;
    const smtp::Path from = path("x", "elsewhere.test");
    const std::vector<smtp::Path> to{path("bob", "b.test"), path("alice", "a.test")};
    const std::string content = "Subject: t\r\n\r\nhi\r\n";
    auto r = co_await send(env, port, from, to, content);
    EXPECT_EQ(r.rcpt.size(), 2u);
    if (r.rcpt.size() == 2) {
      EXPECT_EQ(r.rcpt[0].code, 554);  // relay access denied
      EXPECT_EQ(r.rcpt[0].enhanced.to_string(), "5.7.1");
      EXPECT_EQ(r.rcpt[1].code, 250);  // local domains from anyone
    }
    EXPECT_TRUE(r.accepted);
    EXPECT_EQ(a.outbound()->counters().accepted, 0u);  // local only: the fast path
    co_await a.stop(env.clock().now() + 2s);
  }(env_, server_a));
  EXPECT_EQ(maildir_messages(a_dir_, "alice").size(), 1u);
}

TEST_F(RelayTest, TrustedClientRelaysToSecondServerByStaticRoute) {
  MailServer server_b(env_, server_config(b_dir_, "b.test", {"bob"}));
  ASSERT_TRUE(server_b.bind().ok());
  MailServer server_a(env_, a_config(server_b.smtp().bound_endpoints()[0].port));
  const std::string b_dir = b_dir_;
  run_task(env_, [](io::AsioEnv& env, MailServer& a, MailServer& b, std::string bd) -> rt::Task<void> {
    const smtp::Path from = path("alice", "a.test");
    const std::vector<smtp::Path> to{path("bob", "b.test")};
    const std::string content = "Subject: relayed\r\n\r\nover the relay\r\n";
    const std::function<bool()> arrived = [bd] { return maildir_messages(bd, "bob").size() == 1; };
    (void)co_await relay_once(env, a, b, from, to, content, arrived);
    EXPECT_EQ(a.outbound()->counters().delivered, 1u);
  }(env_, server_a, server_b, b_dir));
  const auto got = maildir_messages(b_dir_, "bob");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_NE(got[0].find("over the relay"), std::string::npos);
  EXPECT_NE(got[0].find("by mx.a.test"), std::string::npos);  // A's Received: travelled along
  EXPECT_NE(got[0].find("Return-Path: <alice@a.test>"), std::string::npos);
}

TEST_F(RelayTest, NextMessageToTheSameDestinationReusesTheIdleConnection) {
  MailServer server_b(env_, server_config(b_dir_, "b.test", {"bob"}));
  ASSERT_TRUE(server_b.bind().ok());
  MailServer server_a(env_, a_config(server_b.smtp().bound_endpoints()[0].port));
  run_task(env_, [](io::AsioEnv& env, MailServer& a, MailServer& b, std::string bd) -> rt::Task<void> {
    EXPECT_TRUE((co_await b.start()).ok());
    EXPECT_TRUE((co_await a.start()).ok());
    const smtp::Path from = path("alice", "a.test");
    const std::vector<smtp::Path> to{path("bob", "b.test")};
    const std::string first = "Subject: one\r\n\r\n1\r\n";
    const std::string second = "Subject: two\r\n\r\n2\r\n";
    (void)co_await send(env, a.smtp().bound_endpoints()[0].port, from, to, first);
    EXPECT_TRUE(co_await wait_for(env, [&] { return maildir_messages(bd, "bob").size() == 1; }));
    // Within idle_linger (2 s): the held session takes the next message.
    (void)co_await send(env, a.smtp().bound_endpoints()[0].port, from, to, second);
    EXPECT_TRUE(co_await wait_for(env, [&] { return maildir_messages(bd, "bob").size() == 2; }));
    EXPECT_EQ(b.smtp().counters().connections_accepted, 1u);
    EXPECT_EQ(a.outbound()->counters().connections, 1u);
    co_await a.stop(env.clock().now() + 2s);
    co_await b.stop(env.clock().now() + 2s);
  }(env_, server_a, server_b, b_dir_));
}

TEST_F(RelayTest, RemoteRefusalBouncesToSenderWithDeliveryStatusReportRfc3464) {
  MailServer server_b(env_, server_config(b_dir_, "b.test", {"bob"}));
  ASSERT_TRUE(server_b.bind().ok());
  MailServer server_a(env_, a_config(server_b.smtp().bound_endpoints()[0].port));
  const std::string a_dir = a_dir_;
  run_task(env_, [](io::AsioEnv& env, MailServer& a, MailServer& b, std::string ad) -> rt::Task<void> {
    const smtp::Path from = path("alice", "a.test");
    const std::vector<smtp::Path> to{path("nobody", "b.test")};
    const std::string content = "Subject: lost\r\n\r\nto nobody\r\n";
    const std::function<bool()> arrived = [ad] { return maildir_messages(ad, "alice").size() == 1; };
    (void)co_await relay_once(env, a, b, from, to, content, arrived);
  }(env_, server_a, server_b, a_dir));
  const auto got = maildir_messages(a_dir_, "alice");
  ASSERT_EQ(got.size(), 1u);
  const std::string& dsn = got[0];
  EXPECT_NE(dsn.find("Return-Path: <>"), std::string::npos);  // from the null sender (RFC 5321 §4.5.5)
  EXPECT_NE(dsn.find("multipart/report"), std::string::npos);
  EXPECT_NE(dsn.find("message/delivery-status"), std::string::npos);
  EXPECT_NE(dsn.find("Action: failed"), std::string::npos);
  EXPECT_NE(dsn.find("Status: 5.1.1"), std::string::npos);
  EXPECT_NE(dsn.find("Final-Recipient: rfc822; nobody@b.test"), std::string::npos);
  EXPECT_NE(dsn.find("Subject: lost"), std::string::npos);  // the returned headers
}

TEST_F(RelayTest, UnreachableRemoteIsDeferredThenFlushDeliversExactlyOnce) {
  const std::uint16_t b_port = free_port(env_);
  MailServer server_a(env_, a_config(b_port));
  MailServerConfig bc = server_config(b_dir_, "b.test", {"bob"});
  bc.smtp.listen = {rt::Endpoint{"127.0.0.1", b_port}};
  MailServer server_b(env_, bc);
  run_task(env_, [](io::AsioEnv& env, MailServer& a, MailServer& b, std::string b_dir) -> rt::Task<void> {
    EXPECT_TRUE((co_await a.start()).ok());
    const smtp::Path from = path("alice", "a.test");
    const std::vector<smtp::Path> to{path("bob", "b.test")};
    const std::string content = "Subject: later\r\n\r\nwhen b is up\r\n";
    auto r = co_await send(env, a.smtp().bound_endpoints()[0].port, from, to, content);
    EXPECT_TRUE(r.accepted);
    EXPECT_TRUE(co_await wait_for(env, [&] { return one_deferred(a); }));
    auto list = a.outbound()->list();
    EXPECT_EQ(list.size(), 1u);
    if (list.size() == 1) {
      EXPECT_EQ(list[0].deferred, 1u);
      EXPECT_NE(list[0].last_reply.find("connect to"), std::string::npos) << list[0].last_reply;
      EXPECT_TRUE(list[0].next_attempt.has_value());
    }
    EXPECT_TRUE((co_await b.start()).ok());
    EXPECT_TRUE(a.outbound()->flush("").ok());
    EXPECT_TRUE(co_await wait_for(env, [&] { return maildir_messages(b_dir, "bob").size() == 1; }));
    EXPECT_TRUE(co_await wait_for(env, [&] { return a.outbound()->counters().messages == 0; }));
    co_await a.stop(env.clock().now() + 2s);
    co_await b.stop(env.clock().now() + 2s);
  }(env_, server_a, server_b, b_dir_));
  EXPECT_EQ(maildir_messages(b_dir_, "bob").size(), 1u);
}

TEST_F(RelayTest, MixedLocalAndRemoteRecipientsAreQueuedOnceAndBothDelivered) {
  MailServer server_b(env_, server_config(b_dir_, "b.test", {"bob"}));
  ASSERT_TRUE(server_b.bind().ok());
  MailServer server_a(env_, a_config(server_b.smtp().bound_endpoints()[0].port));
  const std::string a_dir = a_dir_, b_dir = b_dir_;
  run_task(env_, [](io::AsioEnv& env, MailServer& a, MailServer& b, std::string ad, std::string bd) -> rt::Task<void> {
    const smtp::Path from = path("x", "elsewhere.test");
    const std::vector<smtp::Path> to{path("alice", "a.test"), path("bob", "b.test")};
    const std::string content = "Subject: both\r\n\r\nboth\r\n";
    const std::function<bool()> arrived = [ad, bd] {
                                return maildir_messages(ad, "alice").size() == 1 && maildir_messages(bd, "bob").size() == 1;
                              };
    (void)co_await relay_once(env, a, b, from, to, content, arrived);
    EXPECT_EQ(a.outbound()->counters().accepted, 1u);
  }(env_, server_a, server_b, a_dir, b_dir));
}

TEST_F(RelayTest, SuccessNotifyGetsADeliveredReportRfc3461Section5_2_3) {
  MailServer server_a(env_, a_config(free_port(env_)));
  run_task(env_, [](io::AsioEnv& env, MailServer& a, std::string a_dir) -> rt::Task<void> {
    EXPECT_TRUE((co_await a.start()).ok());
    const smtp::Path from = path("alice", "a.test");
    const std::vector<smtp::Path> to{path("alice", "a.test")};
    const std::string content = "Subject: note\r\n\r\nto myself\r\n";
    smtp::DsnNotify notify;
    notify.success = true;
    auto r = co_await send(env, a.smtp().bound_endpoints()[0].port, from, to, content, notify);
    EXPECT_TRUE(r.accepted);
    // The message itself and the "delivered" report, both in alice's Maildir.
    EXPECT_TRUE(co_await wait_for(env, [&] { return maildir_messages(a_dir, "alice").size() == 2; }));
    EXPECT_TRUE(co_await wait_for(env, [&] { return a.outbound()->counters().messages == 0; }));
    co_await a.stop(env.clock().now() + 2s);
  }(env_, server_a, a_dir_));
  const auto got = maildir_messages(a_dir_, "alice");
  ASSERT_EQ(got.size(), 2u);
  const bool report = got[0].find("Action: delivered") != std::string::npos || got[1].find("Action: delivered") != std::string::npos;
  EXPECT_TRUE(report);
}

TEST_F(RelayTest, HeldMessageWaitsUntilReleased) {
  const std::uint16_t b_port = free_port(env_);
  MailServer server_a(env_, a_config(b_port));
  run_task(env_, [](io::AsioEnv& env, MailServer& a) -> rt::Task<void> {
    EXPECT_TRUE((co_await a.start()).ok());
    const smtp::Path from = path("alice", "a.test");
    const std::vector<smtp::Path> to{path("bob", "b.test")};
    const std::string content = "Subject: held\r\n\r\nhold me\r\n";
    auto r = co_await send(env, a.smtp().bound_endpoints()[0].port, from, to, content);
    EXPECT_TRUE(r.accepted);
    EXPECT_TRUE(co_await wait_for(env, [&] { return one_deferred(a); }));
    const std::string id = a.outbound()->list().at(0).id;
    EXPECT_TRUE((co_await a.outbound()->hold(id)).ok());
    EXPECT_TRUE(a.outbound()->list().at(0).held);
    EXPECT_EQ((co_await a.outbound()->hold("NOSUCHID0000")).code(), Errc::not_found);
    EXPECT_TRUE((co_await a.outbound()->release(id)).ok());
    EXPECT_FALSE(a.outbound()->list().at(0).held);
    EXPECT_TRUE((co_await a.outbound()->remove(id)).ok());
    EXPECT_EQ(a.outbound()->counters().messages, 0u);
    co_await a.stop(env.clock().now() + 2s);
  }(env_, server_a));
}

TEST_F(RelayTest, QueueSurvivesRestartOfTheSendingServer) {
  const std::uint16_t b_port = free_port(env_);
  {
    MailServer server_a(env_, a_config(b_port));
    run_task(env_, [](io::AsioEnv& env, MailServer& a) -> rt::Task<void> {
      EXPECT_TRUE((co_await a.start()).ok());
      const smtp::Path from = path("alice", "a.test");
    const std::vector<smtp::Path> to{path("bob", "b.test")};
    const std::string content = "Subject: durable\r\n\r\nsurvive\r\n";
    auto r = co_await send(env, a.smtp().bound_endpoints()[0].port, from, to, content);
      EXPECT_TRUE(r.accepted);
      EXPECT_TRUE(co_await wait_for(env, [&] { return one_deferred(a); }));
      co_await a.stop(env.clock().now() + 2s);
    }(env_, server_a));
  }
  MailServer server_a2(env_, a_config(b_port));
  run_task(env_, [](io::AsioEnv& env, MailServer& a) -> rt::Task<void> {
    EXPECT_TRUE((co_await a.start()).ok());
    auto list = a.outbound()->list();
    EXPECT_EQ(list.size(), 1u);
    if (!list.empty()) {
      EXPECT_EQ(list[0].deferred, 1u);  // the deferral was durable
    }
    co_await a.stop(env.clock().now() + 2s);
  }(env_, server_a2));
}

}  // namespace
}  // namespace mail::node
