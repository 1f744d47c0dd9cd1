// MaildirStore against the production Env (io::AsioEnv, real files in a temp dir under
// /tmp): single and multi-user delivery (hard links), group commit under 200 concurrent
// deliveries, failures leaving nothing in new/, cross-device copy fallback, read side.
#include "store/maildir.h"

#include <gtest/gtest.h>

#include "io/io_test_util.h"
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "io/asio_env.h"
#include "runtime/await.h"

namespace mail::store {
namespace {

namespace fs = std::filesystem;

io::AsioEnvOptions env_options(std::uint64_t seed) { return io::test::seeded_options("mx.example.test", seed); }

std::string make_temp_dir(const char* base = "/tmp") {
  std::string tmpl = std::string(base) + "/maildir_test.XXXXXX";
  char* p = ::mkdtemp(tmpl.data());
  EXPECT_NE(p, nullptr);
  return tmpl;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

class MaildirTest : public ::testing::Test {
 protected:
  MaildirTest() : env_(env_options(42)) {}
  void SetUp() override { root_ = make_temp_dir(); }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
    for (const auto& d : extra_dirs_) fs::remove_all(d, ec);
  }

  // Runs `body` as a root task of the Env and drives the event loop until it finishes.
  void run(std::function<rt::Task<void>()> body) {
    io::test::run_task(env_, [](std::function<rt::Task<void>()> b) -> rt::Task<void> { co_await b(); }(std::move(body)));
  }

  Result<std::string> deliver(MaildirStore& store, std::vector<std::string> users, std::string content) {
    std::optional<Result<std::string>> out;
    run([&]() -> rt::Task<void> { out.emplace(co_await store.deliver(users, content)); });
    return std::move(*out);
  }

  fs::path maildir(const std::string& user) const { return maildir_path(root_, user); }

  io::AsioEnv env_;
  std::string root_;
  std::vector<std::string> extra_dirs_;
};

TEST_F(MaildirTest, DeliverToOneUserLeavesExactlyOneIdenticalFileInNew) {
  MaildirStore store(env_, MaildirConfig{root_});
  const std::string content = "Subject: hi\r\n\r\nbody\r\n.. not a dot line\r\n";
  auto r = deliver(store, {"demo"}, content);
  ASSERT_TRUE(r.ok()) << r.error().detail;
  const auto names = names_in(maildir("demo") / "new");
  ASSERT_EQ(names.size(), 1u);
  EXPECT_EQ(names[0], *r);
  EXPECT_EQ(slurp(maildir("demo") / "new" / names[0]), content);
  EXPECT_TRUE(names_in(maildir("demo") / "tmp").empty());
  EXPECT_TRUE(fs::is_directory(maildir("demo") / "cur"));
  // Name shape: <sec>.M<usec>R<16 hex>Q<n>.<host>,S=<size>
  EXPECT_NE(r->find(".M"), std::string::npos);
  EXPECT_NE(r->find("Q0.mx.example.test,S=" + std::to_string(content.size())), std::string::npos);
  EXPECT_EQ(store.stats().commit_rounds, 1u);
  EXPECT_EQ(store.maildir_path("demo"), root_ + "/mail/demo/Maildir");
}

TEST_F(MaildirTest, DistinctUsersGetHardLinksOfOneFile) {
  MaildirStore store(env_, MaildirConfig{root_});
  auto r = deliver(store, {"alice", "bob", "alice"}, "hello\r\n");
  ASSERT_TRUE(r.ok()) << r.error().detail;
  const auto a = names_in(maildir("alice") / "new");
  const auto b = names_in(maildir("bob") / "new");
  ASSERT_EQ(a.size(), 1u);  // the duplicate user got one copy
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(a[0], b[0]);
  struct stat sa {}, sb {};
  ASSERT_EQ(::stat((maildir("alice") / "new" / a[0]).c_str(), &sa), 0);
  ASSERT_EQ(::stat((maildir("bob") / "new" / b[0]).c_str(), &sb), 0);
  EXPECT_EQ(sa.st_ino, sb.st_ino);
  EXPECT_EQ(sa.st_dev, sb.st_dev);
  EXPECT_EQ(sa.st_nlink, 2u);
  EXPECT_TRUE(names_in(maildir("alice") / "tmp").empty());
  EXPECT_TRUE(names_in(maildir("bob") / "tmp").empty());
  EXPECT_EQ(store.stats().link_copies, 0u);
}

constexpr int messages = 200;

TEST_F(MaildirTest, ConcurrentDeliveriesShareSyncRounds) {
  MaildirStore store(env_, MaildirConfig{root_});
  int ok = 0;
  int finished = 0;
  run([&]() -> rt::Task<void> {
    // Mailboxes first, so the deliveries below race only on the commit path.
    for (const char* u : {"u0", "u1", "u2"}) EXPECT_TRUE((co_await store.ensure_mailbox(u)).ok());
    for (int i = 0; i < messages; ++i) {
      env_.tasks().spawn([](MaildirStore* s, int n, int* okc, int* fin, io::AsioEnv* env) -> rt::Task<void> {
        std::vector<std::string> users{"u" + std::to_string(n % 3)};
        if (n % 2 == 0) users.push_back("u" + std::to_string((n + 1) % 3));
        auto r = co_await s->deliver(users, "message " + std::to_string(n) + "\r\n");
        if (r.ok()) ++*okc;
        if (++*fin == messages) env->stop();
      }(&store, i, &ok, &finished, &env_));
    }
    co_return;
  });
  // run() stopped when the body finished; keep driving until every delivery is done.
  while (finished < messages) env_.run();
  EXPECT_EQ(ok, messages);
  std::size_t files = 0;
  for (const char* u : {"u0", "u1", "u2"}) files += names_in(maildir(u) / "new").size();
  EXPECT_EQ(files, static_cast<std::size_t>(messages + messages / 2));
  const auto st = store.stats();
  EXPECT_EQ(st.deliveries, static_cast<std::uint64_t>(messages));
  // Group commit: rounds grow with load, so far fewer rounds than messages.
  EXPECT_LE(st.commit_rounds * 4, static_cast<std::uint64_t>(messages)) << "rounds=" << st.commit_rounds;
  EXPECT_GT(st.largest_round, 1u);
  std::cout << "[ info ] " << messages << " deliveries in " << st.commit_rounds << " rounds, largest " << st.largest_round
            << "\n";
}

TEST_F(MaildirTest, EnsureMailboxIsCached) {
  MaildirStore store(env_, MaildirConfig{root_});
  run([&]() -> rt::Task<void> {
    EXPECT_TRUE((co_await store.ensure_mailbox("demo")).ok());
    EXPECT_TRUE((co_await store.ensure_mailbox("demo")).ok());
  });
  EXPECT_EQ(store.stats().mailboxes_created, 1u);
  for (const char* sub : {"tmp", "new", "cur"}) EXPECT_TRUE(fs::is_directory(maildir("demo") / sub));
}

TEST_F(MaildirTest, InvalidUserNamesAreRefused) {
  MaildirStore store(env_, MaildirConfig{root_});
  for (const char* bad : {"", ".", "..", "a/b", ".hidden"}) {
    auto r = deliver(store, {bad}, "x");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.code(), Errc::invalid);
  }
  auto r = deliver(store, {}, "x");
  EXPECT_EQ(r.code(), Errc::invalid);
  EXPECT_FALSE(fs::exists(fs::path(root_) / "mail"));
}

TEST_F(MaildirTest, DataDirThatIsAFileFails) {
  const std::string file = root_ + "/not-a-dir";
  std::ofstream(file) << "x";
  MaildirStore store(env_, MaildirConfig{file});
  auto r = deliver(store, {"demo"}, "hello\r\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(store.stats().deliveries, 0u);
  EXPECT_EQ(slurp(file), "x");
}

TEST_F(MaildirTest, NonexistentParentIsCreated) {
  // data_dir need not exist: ensure_mailbox creates it (mkdir -p) and syncs each level.
  MaildirStore store(env_, MaildirConfig{root_ + "/deep/er/"});
  auto r = deliver(store, {"demo"}, "x");
  ASSERT_TRUE(r.ok()) << r.error().detail;
  EXPECT_EQ(names_in(maildir_folder_path(root_ + "/deep/er", "demo", MaildirFolder::new_mail)).size(), 1u);
}

TEST_F(MaildirTest, RenameFailureLeavesNothingInAnyNew) {
  MaildirStore store(env_, MaildirConfig{root_});
  run([&]() -> rt::Task<void> {
    EXPECT_TRUE((co_await store.ensure_mailbox("alice")).ok());
    EXPECT_TRUE((co_await store.ensure_mailbox("bob")).ok());
  });
  // The cache says alice's Maildir exists; make her new/ a file behind its back. The link
  // into bob's new/ succeeds, the rename into alice's new/ fails: bob's entry must go too.
  fs::remove(maildir("alice") / "new");
  std::ofstream((maildir("alice") / "new").string()) << "in the way";
  auto r = deliver(store, {"alice", "bob"}, "hello\r\n");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(names_in(maildir("bob") / "new").empty());
  EXPECT_TRUE(names_in(maildir("alice") / "tmp").empty());
  EXPECT_TRUE(names_in(maildir("bob") / "tmp").empty());
  EXPECT_EQ(slurp(maildir("alice") / "new"), "in the way");
}

TEST_F(MaildirTest, LinkFailureFallsBackToCopyAndFailsCleanly) {
  MaildirStore store(env_, MaildirConfig{root_});
  run([&]() -> rt::Task<void> {
    EXPECT_TRUE((co_await store.ensure_mailbox("alice")).ok());
    EXPECT_TRUE((co_await store.ensure_mailbox("bob")).ok());
  });
  // bob's new/ is a file: the link fails (ENOTDIR -> io), the copy into bob's tmp/ works,
  // its rename fails; alice's rename worked and must be undone.
  fs::remove(maildir("bob") / "new");
  std::ofstream((maildir("bob") / "new").string()) << "in the way";
  auto r = deliver(store, {"alice", "bob"}, "hello\r\n");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(names_in(maildir("alice") / "new").empty());
  EXPECT_TRUE(names_in(maildir("alice") / "tmp").empty());
  EXPECT_TRUE(names_in(maildir("bob") / "tmp").empty());
}

TEST_F(MaildirTest, CrossDeviceRecipientGetsACopy) {
  // bob's Maildir lives on another filesystem (tmpfs /dev/shm), so link() gives EXDEV.
  struct stat st_tmp {}, st_shm {};
  if (::stat("/dev/shm", &st_shm) != 0 || ::stat(root_.c_str(), &st_tmp) != 0 || st_shm.st_dev == st_tmp.st_dev) {
    GTEST_SKIP() << "no second filesystem at /dev/shm";
  }
  const std::string other = make_temp_dir("/dev/shm");
  extra_dirs_.push_back(other);
  fs::create_directories(maildir("bob").parent_path());
  fs::create_symlink(other, maildir("bob"));
  MaildirStore store(env_, MaildirConfig{root_});
  const std::string content = "copied\r\n";
  auto r = deliver(store, {"alice", "bob"}, content);
  ASSERT_TRUE(r.ok()) << r.error().detail;
  EXPECT_EQ(store.stats().link_copies, 1u);
  ASSERT_EQ(names_in(maildir("alice") / "new").size(), 1u);
  ASSERT_EQ(names_in(maildir("bob") / "new").size(), 1u);
  EXPECT_EQ(slurp(maildir("bob") / "new" / *r), content);
  EXPECT_EQ(slurp(maildir("alice") / "new" / *r), content);
  EXPECT_TRUE(names_in(maildir("bob") / "tmp").empty());
}

TEST_F(MaildirTest, VanishedMailboxIsRecreated) {
  MaildirStore store(env_, MaildirConfig{root_});
  ASSERT_TRUE(deliver(store, {"demo"}, "one").ok());
  fs::remove_all(maildir("demo").parent_path());
  auto r = deliver(store, {"demo"}, "two");
  ASSERT_TRUE(r.ok()) << r.error().detail;
  EXPECT_EQ(slurp(maildir("demo") / "new" / *r), "two");
}

TEST_F(MaildirTest, ListAndReadMessages) {
  MaildirStore store(env_, MaildirConfig{root_});
  auto first = deliver(store, {"demo"}, "first");
  auto second = deliver(store, {"demo"}, "second");
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(second.ok());
  // An IMAP client moved one message to cur/ with flags.
  fs::rename(maildir("demo") / "new" / *first, maildir("demo") / "cur" / (*first + ":2,S"));
  std::optional<Result<std::vector<StoredMessageRef>>> listed;
  std::optional<Result<std::string>> body, bad, missing, escape;
  // Named refs: GCC 12 double-destroys brace-initialised aggregate temporaries that
  // appear inside a co_await expression.
  const StoredMessageRef in_cur{"cur/" + *first + ":2,S"}, in_tmp{"tmp/" + *second}, absent{"new/nope"},
      up{"new/../../../demo/Maildir/new/" + *second};
  run([&]() -> rt::Task<void> {
    listed.emplace(co_await store.list_messages("demo"));
    body.emplace(co_await store.read_message("demo", in_cur));
    bad.emplace(co_await store.read_message("demo", in_tmp));
    missing.emplace(co_await store.read_message("demo", absent));
    escape.emplace(co_await store.read_message("demo", up));
  });
  ASSERT_TRUE(listed->ok());
  ASSERT_EQ((*listed)->size(), 2u);
  EXPECT_EQ((**listed)[0], (StoredMessageRef{"new/" + *second}));
  EXPECT_EQ((**listed)[1], (StoredMessageRef{"cur/" + *first + ":2,S"}));
  ASSERT_TRUE(body->ok());
  EXPECT_EQ(**body, "first");
  EXPECT_EQ(bad->code(), Errc::invalid);
  EXPECT_EQ(missing->code(), Errc::not_found);
  EXPECT_EQ(escape->code(), Errc::invalid);
}

TEST_F(MaildirTest, UniqueNamesAcrossManyDeliveries) {
  MaildirStore store(env_, MaildirConfig{root_});
  std::set<std::string> names;
  const std::vector<std::string> demo{"demo"};
  run([&]() -> rt::Task<void> {
    for (int i = 0; i < 100; ++i) {
      auto r = co_await store.deliver(demo, std::string("x"));
      EXPECT_TRUE(r.ok());
      if (r.ok()) {
        EXPECT_TRUE(names.insert(*r).second);
      }
    }
  });
  EXPECT_EQ(names_in(maildir("demo") / "new").size(), 100u);
}

}  // namespace
}  // namespace mail::store
