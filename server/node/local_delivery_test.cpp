// LocalDelivery against the production Env (io::AsioEnv, a temp dir under /tmp): RCPT
// verdicts (local user, alias, subaddress, unknown, foreign domain, domain case, literal,
// null path), delivery with Received: and queue id, per-user dedupe, 451/452 mapping,
// the transaction log line, and what LocalDelivery asks of a store::MailboxStore (a
// recording fake: the service through the interface only).
#include "node/local_delivery.h"

#include <gtest/gtest.h>

#include "io/io_test_util.h"
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "io/asio_env.h"
#include "store/maildir.h"

namespace mail::node {
namespace {

namespace fs = std::filesystem;

io::AsioEnvOptions env_options(std::uint64_t seed) { return io::test::seeded_options("mx.example.test", seed); }

smtp::Path path(std::string local, std::string domain) { return smtp::Path{smtp::Mailbox{std::move(local), std::move(domain)}}; }

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<fs::path> files_in(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

store::DirectoryConfig directory_config() {
  store::DirectoryConfig c;
  c.domains = {"example.test"};
  c.users = {store::UserConfig{"demo", {"postmaster"}}, store::UserConfig{"alice", {}}};
  return c;
}

// A Disk that fails every write with one error (completions still posted, per contract).
class FailingWriteDisk final : public rt::Disk {
 public:
  FailingWriteDisk(rt::Disk& inner, rt::Executor& ex, Errc code) : inner_(inner), ex_(ex), code_(code) {}
  void async_write_file(std::string path, std::string, rt::WriteMode, rt::Completion<void> done) override {
    ex_.post([done = std::move(done), code = code_, path = std::move(path)]() mutable { done(fail(code, "injected: " + path)); });
  }
  void async_read_file(std::string p, rt::Completion<std::string> d) override { inner_.async_read_file(std::move(p), std::move(d)); }
  void async_sync_files(std::vector<std::string> p, rt::Completion<void> d) override { inner_.async_sync_files(std::move(p), std::move(d)); }
  void async_sync_dir(std::string p, rt::Completion<void> d) override { inner_.async_sync_dir(std::move(p), std::move(d)); }
  void async_rename(std::string a, std::string b, rt::Completion<void> d) override { inner_.async_rename(std::move(a), std::move(b), std::move(d)); }
  void async_link(std::string a, std::string b, rt::Completion<void> d) override { inner_.async_link(std::move(a), std::move(b), std::move(d)); }
  void async_remove(std::string p, rt::Completion<void> d) override { inner_.async_remove(std::move(p), std::move(d)); }
  void async_make_dirs(std::string p, rt::Completion<void> d) override { inner_.async_make_dirs(std::move(p), std::move(d)); }
  void async_list_dir(std::string p, rt::Completion<std::vector<rt::DirEntry>> d) override { inner_.async_list_dir(std::move(p), std::move(d)); }
  void async_file_size(std::string p, rt::Completion<std::uint64_t> d) override { inner_.async_file_size(std::move(p), std::move(d)); }

 private:
  rt::Disk& inner_;
  rt::Executor& ex_;
  Errc code_;
};

// The AsioEnv with its Disk swapped for a FailingWriteDisk.
class FailingEnv final : public rt::Env {
 public:
  FailingEnv(io::AsioEnv& inner, Errc code) : inner_(inner), disk_(inner.disk(), inner.executor(), code) {}
  rt::Executor& executor() override { return inner_.executor(); }
  rt::Clock& clock() override { return inner_.clock(); }
  Prng& rng() override { return inner_.rng(); }
  rt::Net& net() override { return inner_.net(); }
  rt::Disk& disk() override { return disk_; }
  rt::Dns& dns() override { return inner_.dns(); }
  rt::Log& log() override { return inner_.log(); }
  std::string_view hostname() const override { return inner_.hostname(); }

 private:
  io::AsioEnv& inner_;
  FailingWriteDisk disk_;
};

// A MailboxStore that records what it is asked and answers `result`: no files at all.
class RecordingStore final : public store::MailboxStore {
 public:
  rt::Task<Status> ensure_mailbox(std::string user) override {
    ensured.push_back(std::move(user));
    co_return Status{};
  }
  rt::Task<Result<std::string>> deliver_parts(std::vector<std::string> users, std::vector<std::string> parts) override {
    delivered_users.push_back(std::move(users));
    delivered_parts.push_back(std::move(parts));
    co_return result;
  }
  rt::Task<Result<std::vector<store::StoredMessageRef>>> list_messages(std::string) override {
    co_return fail(Errc::unsupported, "not a reading store");
  }
  rt::Task<Result<std::string>> read_message(std::string, store::StoredMessageRef) override {
    co_return fail(Errc::unsupported, "not a reading store");
  }

  Result<std::string> result = std::string("stored-name");
  std::vector<std::string> ensured;
  std::vector<std::vector<std::string>> delivered_users;
  std::vector<std::vector<std::string>> delivered_parts;
};

class LocalDeliveryTest : public ::testing::Test {
 protected:
  LocalDeliveryTest() : env_(env_options(7)), directory_(directory_config()) {}
  void SetUp() override {
    std::string tmpl = "/tmp/local_delivery_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  // Runs `body` as a root task and drives the loop until it finishes.
  void run(std::function<rt::Task<void>()> body) {
    io::test::run_task(env_, [](std::function<rt::Task<void>()> b) -> rt::Task<void> { co_await b(); }(std::move(body)));
  }

  DeliveryResult deliver(LocalDelivery& ld, const smtp::Envelope& e, std::string content) {
    std::optional<DeliveryResult> out;
    run([&]() -> rt::Task<void> { out.emplace(co_await ld.deliver(e, content)); });
    return std::move(*out);
  }

  static smtp::Envelope envelope(std::vector<smtp::Path> rcpts) {
    smtp::Envelope e;
    e.helo = "client.example.org";
    e.extended_hello = true;
    e.client_address = "192.0.2.1";
    e.mail_from = path("sender", "example.org");
    for (auto& p : rcpts) e.recipients.push_back(smtp::Recipient{std::move(p), {}});
    return e;
  }

  fs::path new_dir(const std::string& user) const {
    return store::maildir_folder_path(root_, user, store::MaildirFolder::new_mail);
  }

  io::AsioEnv env_;
  store::Directory directory_;
  std::string root_;
};

TEST_F(LocalDeliveryTest, CheckRecipient) {
  store::MaildirStore maildirs(env_, store::MaildirConfig{root_});
  LocalDelivery ld(env_, directory_, maildirs);

  auto r = ld.check_recipient(path("demo", "example.test"));
  EXPECT_EQ(r.code, 250);
  EXPECT_EQ(r.enhanced, (smtp::EnhancedCode{2, 1, 5}));
  EXPECT_EQ(r.lines, std::vector<std::string>{"Ok"});

  EXPECT_EQ(ld.check_recipient(path("postmaster", "example.test")).code, 250);  // alias
  EXPECT_EQ(ld.check_recipient(path("demo+lists", "example.test")).code, 250);  // subaddress
  EXPECT_EQ(ld.check_recipient(path("Demo", "EXAMPLE.Test")).code, 250);        // case
  EXPECT_EQ(ld.check_recipient(path("demo", "example.test.")).code, 250);       // trailing dot
  EXPECT_EQ(ld.check_recipient(path("\"demo\"", "example.test")).code, 250);    // quoted

  r = ld.check_recipient(path("nobody", "example.test"));
  EXPECT_EQ(r.code, 550);
  EXPECT_EQ(r.enhanced, (smtp::EnhancedCode{5, 1, 1}));
  EXPECT_EQ(r.lines, std::vector<std::string>{"<nobody@example.test>: Recipient address rejected: User unknown in local recipient table"});

  r = ld.check_recipient(path("demo", "example.org"));
  EXPECT_EQ(r.code, 554);
  EXPECT_EQ(r.enhanced, (smtp::EnhancedCode{5, 7, 1}));
  EXPECT_EQ(r.lines, std::vector<std::string>{"<demo@example.org>: Relay access denied"});

  EXPECT_EQ(ld.check_recipient(path("demo", "[192.0.2.7]")).code, 554);  // literals are never local

  r = ld.check_recipient(smtp::Path{});
  EXPECT_EQ(r.code, 501);
}

TEST_F(LocalDeliveryTest, Rfc5321_4_5_1_PostmasterAtOurHostName) {
  // The session turns a bare "RCPT TO:<Postmaster>" into Postmaster@<host name>; that must
  // reach the postmaster even when the host name is not a local mail domain.
  store::MaildirStore maildirs(env_, store::MaildirConfig{root_});
  LocalDelivery ld(env_, directory_, maildirs);
  EXPECT_EQ(ld.check_recipient(path("Postmaster", "mx.example.test")).code, 250);
  EXPECT_EQ(ld.check_recipient(path("POSTMASTER", "MX.Example.Test")).code, 250);
  EXPECT_EQ(ld.check_recipient(path("demo", "mx.example.test")).code, 554);  // only postmaster
}

TEST_F(LocalDeliveryTest, DeliverPrependsReceivedAndQueues) {
  store::MaildirStore maildirs(env_, store::MaildirConfig{root_});
  LocalDelivery ld(env_, directory_, maildirs);
  const std::string body = "Subject: test\r\n\r\nhello\r\n";
  auto e = envelope({path("demo", "example.test")});
  auto res = deliver(ld, e, body);
  ASSERT_EQ(res.reply.code, 250) << res.reply.lines.at(0);
  EXPECT_EQ(res.reply.enhanced, (smtp::EnhancedCode{2, 0, 0}));
  ASSERT_EQ(res.queue_id.size(), 12u);
  for (char c : res.queue_id) EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F')) << res.queue_id;
  EXPECT_EQ(res.reply.lines, std::vector<std::string>{"Ok: queued as " + res.queue_id});

  const auto files = files_in(new_dir("demo"));
  ASSERT_EQ(files.size(), 1u);
  const std::string stored = slurp(files[0]);
  EXPECT_EQ(stored.size(), res.size_bytes);
  // RFC 5321 §4.4: Return-Path first, then our Received: trace header.
  const std::string return_path = "Return-Path: " + e.mail_from.to_string() + "\r\n";
  ASSERT_EQ(stored.rfind(return_path, 0), 0u) << stored;
  ASSERT_EQ(stored.rfind("Received: from client.example.org", return_path.size()), return_path.size()) << stored;
  EXPECT_NE(stored.find("by mx.example.test"), std::string::npos) << stored;
  EXPECT_NE(stored.find("id " + res.queue_id), std::string::npos) << stored;
  EXPECT_NE(stored.find("for <demo@example.test>"), std::string::npos) << stored;
  ASSERT_GE(stored.size(), body.size());
  EXPECT_EQ(stored.substr(stored.size() - body.size()), body);
  EXPECT_EQ(stored.find("\r\n\r\n"), stored.size() - body.size() + std::string("Subject: test").size());

  // A second delivery gets a different queue id.
  auto res2 = deliver(ld, e, body);
  ASSERT_EQ(res2.reply.code, 250);
  EXPECT_NE(res2.queue_id, res.queue_id);
}

TEST_F(LocalDeliveryTest, OneCopyPerDistinctUser) {
  store::MaildirStore maildirs(env_, store::MaildirConfig{root_});
  LocalDelivery ld(env_, directory_, maildirs);
  auto e = envelope({path("demo", "example.test"), path("postmaster", "example.test"), path("demo+x", "EXAMPLE.TEST"),
                     path("alice", "example.test")});
  auto res = deliver(ld, e, "body\r\n");
  ASSERT_EQ(res.reply.code, 250);
  EXPECT_EQ(files_in(new_dir("demo")).size(), 1u);
  EXPECT_EQ(files_in(new_dir("alice")).size(), 1u);
  EXPECT_EQ(maildirs.stats().deliveries, 1u);
}

TEST_F(LocalDeliveryTest, NoLocalRecipientIs554) {
  store::MaildirStore maildirs(env_, store::MaildirConfig{root_});
  LocalDelivery ld(env_, directory_, maildirs);
  auto res = deliver(ld, envelope({path("nobody", "example.test")}), "x");
  EXPECT_EQ(res.reply.code, 554);
  EXPECT_TRUE(res.queue_id.empty());
}

TEST_F(LocalDeliveryTest, StorageErrorIs451) {
  const std::string file = root_ + "/file";
  std::ofstream(file) << "x";
  store::MaildirStore maildirs(env_, store::MaildirConfig{file});  // data_dir is a file
  LocalDelivery ld(env_, directory_, maildirs);
  auto res = deliver(ld, envelope({path("demo", "example.test")}), "x");
  EXPECT_EQ(res.reply.code, 451);
  EXPECT_EQ(res.reply.enhanced, (smtp::EnhancedCode{4, 3, 0}));
  EXPECT_EQ(res.reply.lines, std::vector<std::string>{"Error: queue file write error"});
  EXPECT_TRUE(res.queue_id.empty());
}

TEST_F(LocalDeliveryTest, NoSpaceIs452AndNothingStored) {
  FailingEnv failing(env_, Errc::no_space);
  store::MaildirStore maildirs(failing, store::MaildirConfig{root_});
  LocalDelivery ld(failing, directory_, maildirs);
  auto res = deliver(ld, envelope({path("demo", "example.test")}), "x");
  EXPECT_EQ(res.reply.code, 452);
  EXPECT_EQ(res.reply.enhanced, (smtp::EnhancedCode{4, 3, 1}));
  EXPECT_EQ(res.reply.lines, std::vector<std::string>{"Insufficient system storage"});
  EXPECT_TRUE(files_in(new_dir("demo")).empty());
}

TEST_F(LocalDeliveryTest, ThroughTheInterfaceOneStoreCallPerMessage) {
  RecordingStore store;
  LocalDelivery ld(env_, directory_, store);
  const std::string body = "Subject: x\r\n\r\nbody\r\n";
  // demo, demo again through an alias, alice; an unknown user and a foreign domain are not
  // passed on (they were refused at RCPT time).
  auto e = envelope({path("demo", "example.test"), path("postmaster", "example.test"), path("alice", "example.test"),
                     path("nobody", "example.test"), path("demo", "example.org")});
  auto res = deliver(ld, e, body);
  ASSERT_EQ(res.reply.code, 250) << res.reply.lines.at(0);
  // One deliver_parts with the resolved users in RCPT order, repeats left to the store,
  // which also creates missing mailboxes: LocalDelivery does neither itself.
  ASSERT_EQ(store.delivered_users.size(), 1u);
  EXPECT_EQ(store.delivered_users[0], (std::vector<std::string>{"demo", "demo", "alice"}));
  EXPECT_TRUE(store.ensured.empty());
  // Two parts, never joined: Return-Path + Received:, then the content as received.
  ASSERT_EQ(store.delivered_parts[0].size(), 2u);
  const std::string& head = store.delivered_parts[0][0];
  EXPECT_EQ(head.rfind("Return-Path: <sender@example.org>\r\nReceived: from client.example.org", 0), 0u) << head;
  EXPECT_NE(head.find("id " + res.queue_id), std::string::npos) << head;
  EXPECT_EQ(head.substr(head.size() - 2), "\r\n");
  EXPECT_EQ(store.delivered_parts[0][1], body);
  EXPECT_EQ(res.size_bytes, head.size() + body.size());
}

TEST_F(LocalDeliveryTest, ThroughTheInterfaceStoreErrorsAreReplies) {
  RecordingStore store;
  LocalDelivery ld(env_, directory_, store);
  const auto e = envelope({path("demo", "example.test")});
  store.result = fail(Errc::no_space, "full");
  auto full = deliver(ld, e, "x");
  EXPECT_EQ(full.reply.code, 452);
  EXPECT_TRUE(full.queue_id.empty());
  EXPECT_EQ(full.size_bytes, 0u);
  store.result = fail(Errc::not_found, "mailbox vanished");
  EXPECT_EQ(deliver(ld, e, "x").reply.code, 451);
  store.result = fail(Errc::invalid, "bad user name");
  EXPECT_EQ(deliver(ld, e, "x").reply.code, 451);
  EXPECT_EQ(store.delivered_users.size(), 3u);
  // No local recipient: the store is not asked at all.
  EXPECT_EQ(deliver(ld, envelope({path("nobody", "example.test")}), "x").reply.code, 554);
  EXPECT_EQ(store.delivered_users.size(), 3u);
}

TEST(TransactionLogLine, Format) {
  smtp::Envelope e;
  e.mail_from = path("a", "b.example");
  e.recipients.push_back(smtp::Recipient{path("c", "d.example"), {}});
  e.recipients.push_back(smtp::Recipient{path("e", "f.example"), {}});
  EXPECT_EQ(transaction_log_line("0123456789AB", e, 42, queued_reply("0123456789AB")),
            "0123456789AB: from=<a@b.example> to=<c@d.example>,<e@f.example> size=42 result=250");
  e.mail_from = smtp::Path{};
  EXPECT_EQ(transaction_log_line("", e, 0, storage_error_reply(Errc::io)),
            "NOQUEUE: from=<> to=<c@d.example>,<e@f.example> size=0 result=451");
}

}  // namespace
}  // namespace mail::node
