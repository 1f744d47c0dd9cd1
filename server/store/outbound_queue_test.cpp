// OutboundQueue against the production Env (io::AsioEnv, real files in a temp dir under
// /tmp): enqueue + load_all round trip, append + reload, torn-tail repair, orphan and tmp/
// cleanup, if_absent idempotency, remove, group commit under concurrent enqueues and
// appends, and a 2,000-message load.
#include "store/outbound_queue.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>

#include "io/asio_env.h"
#include "io/io_test_util.h"
#include "runtime/await.h"

namespace mail::store {
namespace {

namespace fs = std::filesystem;

std::string make_queue_temp_dir() {
  std::string tmpl = "/tmp/outbound_queue_test.XXXXXX";
  char* p = ::mkdtemp(tmpl.data());
  EXPECT_NE(p, nullptr);
  return tmpl;
}

std::string slurp_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> entries_of(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

QueuedMessage make_message(std::string id, std::size_t recipients = 2) {
  QueuedMessage m;
  m.id = std::move(id);
  m.arrival = WallTime{1'765'000'000'000'000};
  m.sender = smtp::Path{smtp::Mailbox{"\"a b\"", "a.test"}};
  m.mail_params.ret = smtp::DsnRet::full;
  m.mail_params.envid = "env-1";
  m.auth_identity = "alice";
  m.client_address = "127.0.0.1";
  m.helo = "client.test";
  for (std::size_t i = 0; i < recipients; ++i) {
    QueuedRecipient r;
    r.recipient.path = smtp::Path{smtp::Mailbox{"u" + std::to_string(i), "b.test"}};
    r.recipient.params.notify.failure = true;
    m.recipients.push_back(std::move(r));
  }
  return m;
}

QueueRecord deferred(std::uint32_t rcpt, std::int64_t next_us) {
  QueueRecord r;
  r.kind = QueueRecord::Kind::deferred;
  r.recipient = rcpt;
  r.at = WallTime{next_us - 1};
  r.next_attempt = WallTime{next_us};
  r.reply = "451 4.7.1 greylisted, try again";
  r.remote_mta = "mx.b.test";
  return r;
}

QueueRecord delivered(std::uint32_t rcpt) {
  QueueRecord r;
  r.kind = QueueRecord::Kind::delivered;
  r.recipient = rcpt;
  r.reply = "250 2.0.0 ok";
  r.remote_mta = "mx.b.test";
  return r;
}

class OutboundQueueTest : public ::testing::Test {
 protected:
  OutboundQueueTest() : env_(io::test::seeded_options("mx.example.test", 7)) {}
  void SetUp() override { root_ = make_queue_temp_dir(); }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  void run(std::function<rt::Task<void>()> body) {
    io::test::run_task(env_, [](std::function<rt::Task<void>()> b) -> rt::Task<void> { co_await b(); }(std::move(body)));
  }

  Status open(OutboundQueue& q) {
    Status out;
    run([&]() -> rt::Task<void> { out = co_await q.open(); });
    return out;
  }
  Status enqueue(OutboundQueue& q, QueuedMessage m, std::vector<std::string> parts, bool if_absent = false) {
    Status out;
    run([&]() -> rt::Task<void> { out = co_await q.enqueue(std::move(m), std::move(parts), if_absent); });
    return out;
  }
  Status append(OutboundQueue& q, std::string id, std::vector<QueueRecord> recs) {
    Status out;
    run([&]() -> rt::Task<void> { out = co_await q.append(std::move(id), std::move(recs)); });
    return out;
  }
  Status remove(OutboundQueue& q, std::string id) {
    Status out;
    run([&]() -> rt::Task<void> { out = co_await q.remove(std::move(id)); });
    return out;
  }
  Result<OutboundQueue::Loaded> load_all(OutboundQueue& q) {
    std::optional<Result<OutboundQueue::Loaded>> out;
    run([&]() -> rt::Task<void> { out.emplace(co_await q.load_all()); });
    return std::move(*out);
  }
  Result<QueuedMessage> load(OutboundQueue& q, std::string id) {
    std::optional<Result<QueuedMessage>> out;
    run([&]() -> rt::Task<void> { out.emplace(co_await q.load(std::move(id))); });
    return std::move(*out);
  }

  fs::path active() const { return fs::path(root_) / "queue" / "active"; }
  fs::path tmp() const { return fs::path(root_) / "queue" / "tmp"; }

  io::AsioEnv env_;
  std::string root_;
};

TEST_F(OutboundQueueTest, OpenCreatesTheDirectoriesAndIsIdempotent) {
  OutboundQueue q(env_, OutboundQueueConfig{root_ + "//"});
  ASSERT_TRUE(open(q).ok());
  ASSERT_TRUE(open(q).ok());
  EXPECT_TRUE(fs::is_directory(active()));
  EXPECT_TRUE(fs::is_directory(tmp()));
  EXPECT_EQ(q.content_path("abc"), root_ + "/queue/active/abc.msg");
}

TEST_F(OutboundQueueTest, EnqueueThenLoadAllRoundTripsEnvelopeAndContent) {
  OutboundQueue q(env_, OutboundQueueConfig{root_});
  ASSERT_TRUE(open(q).ok());
  QueuedMessage m = make_message("m-2");
  m.recipients[0].state = RecipientState::delivered;  // state fields are ignored on enqueue
  m.held = true;
  ASSERT_TRUE(enqueue(q, m, {"Received: x\r\n", "Subject: hi\r\n\r\nbody\r\n"}).ok());
  ASSERT_TRUE(enqueue(q, make_message("m-1", 1), {"one part\r\n"}).ok());
  EXPECT_EQ(entries_of(active()), (std::vector<std::string>{"m-1.env", "m-1.msg", "m-2.env", "m-2.msg"}));
  EXPECT_TRUE(entries_of(tmp()).empty());
  EXPECT_EQ(slurp_file(q.content_path("m-2")), "Received: x\r\nSubject: hi\r\n\r\nbody\r\n");

  OutboundQueue again(env_, OutboundQueueConfig{root_});  // as after a restart
  auto loaded = load_all(again);
  ASSERT_TRUE(loaded.ok());
  EXPECT_TRUE(loaded->problems.empty());
  ASSERT_EQ(loaded->messages.size(), 2u);
  EXPECT_EQ(loaded->messages[0].id, "m-1");
  QueuedMessage want = make_message("m-2");
  want.size_bytes = 34;  // both parts
  EXPECT_EQ(loaded->messages[1], want);
  std::optional<Result<std::string>> content;
  run([&]() -> rt::Task<void> { content.emplace(co_await again.read_content("m-2")); });
  ASSERT_TRUE(content->ok());
  EXPECT_EQ(content->value(), "Received: x\r\nSubject: hi\r\n\r\nbody\r\n");
  EXPECT_EQ(q.stats().enqueued, 2u);
}

TEST_F(OutboundQueueTest, AppendThenReloadFoldsTheRecords) {
  OutboundQueue q(env_, OutboundQueueConfig{root_});
  ASSERT_TRUE(open(q).ok());
  ASSERT_TRUE(enqueue(q, make_message("m1"), {"x\r\n"}).ok());
  ASSERT_TRUE(append(q, "m1", {deferred(0, 1000), deferred(1, 2000)}).ok());
  ASSERT_TRUE(append(q, "m1", {delivered(0)}).ok());
  auto m = load(q, "m1");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->recipients[0].state, RecipientState::delivered);
  EXPECT_EQ(m->recipients[0].attempts, 2u);
  EXPECT_EQ(m->recipients[1].state, RecipientState::deferred);
  EXPECT_EQ(m->recipients[1].next_attempt, WallTime{2000});
  EXPECT_EQ(q.stats().appends, 2u);
  EXPECT_EQ(append(q, "nope", {delivered(0)}).code(), Errc::not_found);
  EXPECT_FALSE(fs::exists(active() / "nope.env"));  // append mode did not create it
  EXPECT_EQ(load(q, "nope").code(), Errc::not_found);
}

TEST_F(OutboundQueueTest, TornTailIsCutDurablyAndLaterAppendsFollowGoodLines) {
  OutboundQueue q(env_, OutboundQueueConfig{root_});
  ASSERT_TRUE(open(q).ok());
  ASSERT_TRUE(enqueue(q, make_message("m1"), {"x\r\n"}).ok());
  ASSERT_TRUE(append(q, "m1", {deferred(0, 1000)}).ok());
  const std::string good = slurp_file(q.envelope_path("m1"));
  {
    // A crash mid-append: half a record line, no "\n".
    const std::string partial = encode_record_line(delivered(1));
    std::ofstream out(q.envelope_path("m1"), std::ios::binary | std::ios::app);
    out << partial.substr(0, partial.size() / 2);
  }
  OutboundQueue again(env_, OutboundQueueConfig{root_});
  auto loaded = load_all(again);
  ASSERT_TRUE(loaded.ok());
  ASSERT_EQ(loaded->problems.size(), 1u);
  EXPECT_NE(loaded->problems[0].find("torn tail"), std::string::npos) << loaded->problems[0];
  ASSERT_EQ(loaded->messages.size(), 1u);
  EXPECT_EQ(loaded->messages[0].recipients[0].state, RecipientState::deferred);
  EXPECT_EQ(loaded->messages[0].recipients[1].state, RecipientState::pending);
  EXPECT_EQ(slurp_file(again.envelope_path("m1")), good);
  EXPECT_TRUE(entries_of(tmp()).empty());

  ASSERT_TRUE(append(again, "m1", {delivered(1)}).ok());
  auto m = load(again, "m1");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->recipients[0].state, RecipientState::deferred);
  EXPECT_EQ(m->recipients[1].state, RecipientState::delivered);
  auto text = slurp_file(again.envelope_path("m1"));
  auto d = decode_queue_file(text);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->records, 2u);
  EXPECT_FALSE(d->torn_tail);
}

TEST_F(OutboundQueueTest, LoadMarksATornFileSoTheNextAppendCutsItFirst) {
  OutboundQueue q(env_, OutboundQueueConfig{root_});
  ASSERT_TRUE(open(q).ok());
  ASSERT_TRUE(enqueue(q, make_message("m1"), {"x\r\n"}).ok());
  {
    std::ofstream out(q.envelope_path("m1"), std::ios::binary | std::ios::app);
    out << "R1\tdeliv";
  }
  ASSERT_TRUE(load(q, "m1").ok());
  ASSERT_TRUE(append(q, "m1", {delivered(0)}).ok());
  auto d = decode_queue_file(slurp_file(q.envelope_path("m1")));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->records, 1u);
  EXPECT_FALSE(d->torn_tail);
  EXPECT_EQ(d->message.recipients[0].state, RecipientState::delivered);
}

TEST_F(OutboundQueueTest, OrphansAndTmpLeftoversAreRemovedAndReported) {
  OutboundQueue q(env_, OutboundQueueConfig{root_});
  ASSERT_TRUE(open(q).ok());
  ASSERT_TRUE(enqueue(q, make_message("keep"), {"x\r\n"}).ok());
  std::ofstream(active() / "lonely-msg.msg") << "content\r\n";
  std::ofstream(active() / "lonely-env.env") << encode_envelope_line(make_message("lonely-env"));
  std::ofstream(tmp() / "crashed.msg") << "partial";
  std::ofstream(tmp() / "crashed.env.repair") << "partial";
  std::ofstream(active() / "README") << "not ours";
  OutboundQueue again(env_, OutboundQueueConfig{root_});
  auto loaded = load_all(again);
  ASSERT_TRUE(loaded.ok());
  ASSERT_EQ(loaded->messages.size(), 1u);
  EXPECT_EQ(loaded->messages[0].id, "keep");
  EXPECT_EQ(loaded->problems.size(), 3u);  // two orphans, one unexpected entry
  EXPECT_EQ(entries_of(active()), (std::vector<std::string>{"README", "keep.env", "keep.msg"}));
  EXPECT_TRUE(entries_of(tmp()).empty());
}

TEST_F(OutboundQueueTest, BadEnvelopeIsSkippedReportedAndLeftAlone) {
  OutboundQueue q(env_, OutboundQueueConfig{root_});
  ASSERT_TRUE(open(q).ok());
  std::ofstream(active() / "bad.env") << "garbage\n";
  std::ofstream(active() / "bad.msg") << "x";
  auto loaded = load_all(q);
  ASSERT_TRUE(loaded.ok());
  EXPECT_TRUE(loaded->messages.empty());
  ASSERT_EQ(loaded->problems.size(), 1u);
  EXPECT_TRUE(fs::exists(active() / "bad.env"));
  EXPECT_EQ(load(q, "bad").code(), Errc::invalid);
}

TEST_F(OutboundQueueTest, IfAbsentMakesReEnqueueIdempotent) {
  OutboundQueue q(env_, OutboundQueueConfig{root_});
  ASSERT_TRUE(open(q).ok());
  ASSERT_TRUE(enqueue(q, make_message("dsn-1", 1), {"first\r\n"}).ok());
  EXPECT_EQ(enqueue(q, make_message("dsn-1", 1), {"second\r\n"}).code(), Errc::exists);
  EXPECT_TRUE(enqueue(q, make_message("dsn-1", 1), {"second\r\n"}, true).ok());
  EXPECT_EQ(slurp_file(q.content_path("dsn-1")), "first\r\n");
  EXPECT_EQ(q.stats().enqueued, 1u);
  EXPECT_TRUE(entries_of(tmp()).empty());
  EXPECT_EQ(enqueue(q, make_message("bad/id", 1), {"x"}).code(), Errc::invalid);
  EXPECT_EQ(enqueue(q, make_message("norcpt", 0), {"x"}).code(), Errc::invalid);
}

TEST_F(OutboundQueueTest, RemoveDeletesBothFilesAndMissingIsNotAnError) {
  OutboundQueue q(env_, OutboundQueueConfig{root_});
  ASSERT_TRUE(open(q).ok());
  ASSERT_TRUE(enqueue(q, make_message("gone"), {"x\r\n"}).ok());
  ASSERT_TRUE(enqueue(q, make_message("stays"), {"y\r\n"}).ok());
  ASSERT_TRUE(remove(q, "gone").ok());
  EXPECT_TRUE(remove(q, "gone").ok());
  EXPECT_TRUE(remove(q, "never-was").ok());
  EXPECT_EQ(q.stats().removed, 1u);
  EXPECT_EQ(entries_of(active()), (std::vector<std::string>{"stays.env", "stays.msg"}));
  EXPECT_EQ(append(q, "gone", {delivered(0)}).code(), Errc::not_found);
  auto loaded = load_all(q);
  ASSERT_TRUE(loaded.ok());
  ASSERT_EQ(loaded->messages.size(), 1u);
  EXPECT_EQ(loaded->messages[0].id, "stays");
}

constexpr int concurrent_calls = 100;

TEST_F(OutboundQueueTest, ConcurrentEnqueuesAppendsAndRemovalsShareRounds) {
  constexpr int n = concurrent_calls;
  OutboundQueue q(env_, OutboundQueueConfig{root_});
  ASSERT_TRUE(open(q).ok());
  int ok = 0;
  int finished = 0;
  auto spawn_all = [&](int phase) {
    run([&]() -> rt::Task<void> {
      for (int i = 0; i < n; ++i) {
        env_.tasks().spawn([](OutboundQueue* qp, int k, int ph, int* okc, int* fin, io::AsioEnv* env) -> rt::Task<void> {
          const std::string id = "c" + std::to_string(k);
          Status s;
          // Named arguments: GCC 12 mishandles braced temporaries inside co_await.
          std::vector<std::string> parts{"message " + id + "\r\n"};
          std::vector<QueueRecord> recs{deferred(static_cast<std::uint32_t>(k % 2), k)};
          if (ph == 0) s = co_await qp->enqueue(make_message(id), std::move(parts));
          if (ph == 1) s = co_await qp->append(id, std::move(recs));
          if (ph == 2 && k % 2 == 0) s = co_await qp->remove(id);
          if (s.ok()) ++*okc;
          if (++*fin == concurrent_calls) env->stop();
        }(&q, i, phase, &ok, &finished, &env_));
      }
      co_return;
    });
    while (finished < n) env_.run();
    EXPECT_EQ(ok, n) << "phase " << phase;
    ok = 0;
    finished = 0;
  };
  spawn_all(0);
  EXPECT_EQ(q.stats().enqueued, static_cast<std::uint64_t>(n));
  EXPECT_LT(q.stats().commit_rounds, static_cast<std::uint64_t>(n));
  spawn_all(1);
  EXPECT_EQ(q.stats().appends, static_cast<std::uint64_t>(n));
  EXPECT_LT(q.stats().append_rounds, static_cast<std::uint64_t>(n));
  spawn_all(2);
  EXPECT_EQ(q.stats().removed, static_cast<std::uint64_t>(n / 2));
  std::cout << "[ info ] " << n << " enqueues in " << q.stats().commit_rounds << " rounds, " << n << " appends in "
            << q.stats().append_rounds << " rounds\n";
  OutboundQueue again(env_, OutboundQueueConfig{root_});
  auto loaded = load_all(again);
  ASSERT_TRUE(loaded.ok());
  EXPECT_TRUE(loaded->problems.empty());
  ASSERT_EQ(loaded->messages.size(), static_cast<std::size_t>(n / 2));
  for (const auto& m : loaded->messages) {
    const int k = std::stoi(m.id.substr(1));
    EXPECT_EQ(k % 2, 1);
    EXPECT_EQ(m.recipients[static_cast<std::size_t>(k % 2)].state, RecipientState::deferred);
    EXPECT_EQ(m.recipients[static_cast<std::size_t>(k % 2)].next_attempt, WallTime{k});
  }
  EXPECT_TRUE(entries_of(tmp()).empty());
}

TEST_F(OutboundQueueTest, LoadsTwoThousandMessagesSortedById) {
  constexpr int n = 2000;
  OutboundQueue q(env_, OutboundQueueConfig{root_});
  ASSERT_TRUE(open(q).ok());
  // Written directly (the enqueue path is covered above); load_all reads every .env.
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) {
    char id[16];
    std::snprintf(id, sizeof id, "q%06d", (i * 7919) % n);  // written out of order
    ids.emplace_back(id);
    std::ofstream(active() / (ids.back() + ".env")) << encode_envelope_line(make_message(ids.back()))
                                                      << encode_record_line(deferred(1, i));
    std::ofstream(active() / (ids.back() + ".msg")) << "x";
  }
  std::sort(ids.begin(), ids.end());
  const Instant t0 = env_.clock().now();
  auto loaded = load_all(q);
  std::cout << "[ info ] load_all " << n << ": " << (env_.clock().now() - t0).count() / 1000 << " ms\n";
  ASSERT_TRUE(loaded.ok());
  EXPECT_TRUE(loaded->problems.empty());
  ASSERT_EQ(loaded->messages.size(), static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    EXPECT_EQ(loaded->messages[static_cast<std::size_t>(i)].id, ids[static_cast<std::size_t>(i)]);
    EXPECT_EQ(loaded->messages[static_cast<std::size_t>(i)].recipients[1].state, RecipientState::deferred);
  }
}

}  // namespace
}  // namespace mail::store
