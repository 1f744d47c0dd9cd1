// GroupCommitter protocol against a scripted in-memory Env: the durability order of a
// round (sync_files -> link -> rename -> sync_dir -> complete), batching of deliveries
// that arrive during a round (their data sync overlapping that round's names), per-
// directory failure isolation with cleanup, and a crash (pending completions dropped,
// tasks destroyed) after which the committer still works.
#include "store/group_commit.h"

#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <map>
#include <optional>

namespace mail::store {
namespace {

// Every Disk call is logged as "<op> <args>" and completed later from the executor queue,
// with the error `fail_rules` maps a log line to (else ok).
class ScriptedEnv final : public rt::Env, rt::Executor, rt::Disk, rt::Clock, rt::Net, rt::Dns, rt::Log {
 public:
  std::deque<UniqueFunction<void()>> queue;
  std::vector<std::string> ops;
  std::map<std::string, Errc> fail_rules;

  ~ScriptedEnv() override {
    queue.clear();  // the Env contract: pending completions are destroyed uncalled
    tasks().destroy_all();
  }
  // Runs queued completions until idle; returns how many ran.
  int drain() {
    int n = 0;
    while (!queue.empty()) {
      auto job = std::move(queue.front());
      queue.pop_front();
      job();
      ++n;
    }
    return n;
  }
  // Runs one queued job.
  bool step() {
    if (queue.empty()) return false;
    auto job = std::move(queue.front());
    queue.pop_front();
    elapsed += std::chrono::milliseconds(1);  // each step takes 1 ms of the scripted clock
    job();
    return true;
  }

  rt::Executor& executor() override { return *this; }
  rt::Clock& clock() override { return *this; }
  Prng& rng() override { return rng_; }
  rt::Net& net() override { return *this; }
  rt::Disk& disk() override { return *this; }
  rt::Dns& dns() override { return *this; }
  rt::Log& log() override { return *this; }
  std::string_view hostname() const override { return "h"; }

  void post(UniqueFunction<void()> fn) override { queue.push_back(std::move(fn)); }
  Instant now() const override { return Instant{} + elapsed; }
  Duration elapsed{};
  WallTime wall_now() const override { return WallTime{1'000'000}; }
  std::unique_ptr<rt::Timer> make_timer() override { return nullptr; }
  Result<std::unique_ptr<rt::Listener>> listen(const rt::Endpoint&) override { return fail(Errc::unsupported); }
  void async_connect(const rt::Endpoint&, Instant, rt::Completion<std::unique_ptr<rt::Stream>> d) override {
    post([d = std::move(d)]() mutable { d(fail(Errc::unsupported)); });
  }
  void async_mx(std::string, Instant, rt::Completion<std::vector<rt::MxRecord>> d) override {
    post([d = std::move(d)]() mutable { d(fail(Errc::unsupported)); });
  }
  void async_addresses(std::string, Instant, rt::Completion<std::vector<std::string>> d) override {
    post([d = std::move(d)]() mutable { d(fail(Errc::unsupported)); });
  }
  void async_txt(std::string, Instant, rt::Completion<std::vector<std::string>> d) override {
    post([d = std::move(d)]() mutable { d(fail(Errc::unsupported)); });
  }
  void write(rt::LogLevel, std::string_view) override {}

  void async_write_file(std::string path, std::string, rt::WriteMode, rt::Completion<void> d) override { done("write " + path, std::move(d)); }
  void async_read_file(std::string path, rt::Completion<std::string> d) override {
    const std::string line = "read " + path;
    ops.push_back(line);
    auto it = fail_rules.find(line);
    if (it != fail_rules.end()) {
      post([d = std::move(d), e = it->second]() mutable { d(fail(e)); });
    } else {
      post([d = std::move(d)]() mutable { d(std::string("bytes")); });
    }
  }
  void async_sync_files(std::vector<std::string> paths, rt::Completion<void> d) override {
    std::string line = "sync_files";
    for (const auto& p : paths) line += " " + p;
    done(line, std::move(d));
  }
  void async_sync_dir(std::string path, rt::Completion<void> d) override { done("sync_dir " + path, std::move(d)); }
  void async_rename(std::string a, std::string b, rt::Completion<void> d) override { done("rename " + a + " " + b, std::move(d)); }
  void async_link(std::string a, std::string b, rt::Completion<void> d) override { done("link " + a + " " + b, std::move(d)); }
  void async_remove(std::string path, rt::Completion<void> d) override { done("remove " + path, std::move(d)); }
  void async_make_dirs(std::string path, rt::Completion<void> d) override { done("make_dirs " + path, std::move(d)); }
  void async_list_dir(std::string, rt::Completion<std::vector<rt::DirEntry>> d) override {
    post([d = std::move(d)]() mutable { d(std::vector<rt::DirEntry>{}); });
  }
  void async_file_size(std::string, rt::Completion<std::uint64_t> d) override {
    post([d = std::move(d)]() mutable { d(std::uint64_t{0}); });
  }

 private:
  void done(std::string line, rt::Completion<void> d) {
    ops.push_back(line);
    auto it = fail_rules.find(line);
    if (it != fail_rules.end()) {
      post([d = std::move(d), e = it->second]() mutable { d(fail(e)); });
    } else {
      post([d = std::move(d)]() mutable { d(Status{}); });
    }
  }
  Prng rng_{1};
};

CommitItem item(const std::string& name, std::vector<std::string> users) {
  CommitItem it;
  it.tmp_path = users.front() + "/tmp/" + name;
  for (std::size_t k = 0; k < users.size(); ++k) {
    it.new_paths.push_back(users[k] + "/new/" + name);
    it.copy_paths.push_back(k == 0 ? std::string() : users[k] + "/tmp/" + name);
  }
  return it;
}

// Spawns a commit as a root task; `out` receives its status.
void start(ScriptedEnv& env, GroupCommitter& gc, CommitItem it, std::optional<Status>* out) {
  env.tasks().spawn([](GroupCommitter* g, CommitItem i, std::optional<Status>* o) -> rt::Task<void> {
    o->emplace(co_await g->commit(std::move(i)));
  }(&gc, std::move(it), out));
}

TEST(GroupCommit, DurabilityOrderOfOneRound) {
  ScriptedEnv env;
  GroupCommitter gc(env);
  std::optional<Status> r;
  start(env, gc, item("m1", {"a", "b", "c"}), &r);
  // Run until all three sync_dir calls are issued, then complete two of them: the
  // delivery must still be pending until the last directory is durable.
  while (env.ops.size() < 7 && env.step()) {
  }
  ASSERT_EQ(env.queue.size(), 3u);
  env.step();
  env.step();
  EXPECT_FALSE(r.has_value());
  env.drain();
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->ok());
  const std::vector<std::string> want{
      "sync_files a/tmp/m1",
      "link a/tmp/m1 b/new/m1",
      "link a/tmp/m1 c/new/m1",
      "rename a/tmp/m1 a/new/m1",
      "sync_dir a/new",
      "sync_dir b/new",
      "sync_dir c/new",
  };
  EXPECT_EQ(env.ops, want);
  EXPECT_EQ(gc.stats().rounds, 1u);
  // Latencies from env.clock(): one data sync and one round observed; the round (sync, links,
  // rename, three dir syncs) took longer than its sync alone.
  EXPECT_EQ(gc.stats().sync_seconds.count(), 1u);
  EXPECT_EQ(gc.stats().round_seconds.count(), 1u);
  EXPECT_GT(gc.stats().sync_seconds.sum(), 0.0);
  EXPECT_GT(gc.stats().round_seconds.sum(), gc.stats().sync_seconds.sum());
}

TEST(GroupCommit, ArrivalsDuringARoundShareTheNextOne) {
  ScriptedEnv env;
  GroupCommitter gc(env);
  std::optional<Status> r1, r2, r3;
  start(env, gc, item("m1", {"a"}), &r1);
  start(env, gc, item("m2", {"a"}), &r2);
  start(env, gc, item("m3", {"b", "a"}), &r3);
  env.drain();
  ASSERT_TRUE(r1 && r2 && r3);
  EXPECT_TRUE(r1->ok());
  EXPECT_TRUE(r2->ok());
  EXPECT_TRUE(r3->ok());
  EXPECT_EQ(gc.stats().rounds, 2u);
  EXPECT_EQ(gc.stats().largest_round, 2u);
  const std::vector<std::string> want{
      "sync_files a/tmp/m1",
      // Pipelined: the second round's data sync starts as soon as the first one's is done,
      // and runs while the first round renames and syncs its directory.
      "sync_files a/tmp/m2 b/tmp/m3",  // one sync for the whole second round
      "rename a/tmp/m1 a/new/m1",
      "sync_dir a/new",
      "link b/tmp/m3 a/new/m3",
      "rename a/tmp/m2 a/new/m2",
      "rename b/tmp/m3 b/new/m3",
      "sync_dir a/new",  // once per distinct directory
      "sync_dir b/new",
  };
  EXPECT_EQ(env.ops, want);
}

TEST(GroupCommit, FailedDirectoryFailsOnlyItsDeliveriesAndCleansUp) {
  ScriptedEnv env;
  GroupCommitter gc(env);
  std::optional<Status> r0, r1, r2;
  start(env, gc, item("m0", {"x"}), &r0);  // round 1 alone
  start(env, gc, item("m1", {"a", "b"}), &r1);
  start(env, gc, item("m2", {"a"}), &r2);
  env.fail_rules["sync_dir b/new"] = Errc::io;
  env.drain();
  ASSERT_TRUE(r0 && r1 && r2);
  EXPECT_TRUE(r0->ok());
  EXPECT_EQ(r1->code(), Errc::io);
  EXPECT_TRUE(r2->ok());
  // m1 must not stay visible anywhere: both its entries are removed.
  EXPECT_NE(std::find(env.ops.begin(), env.ops.end(), "remove a/new/m1"), env.ops.end());
  EXPECT_NE(std::find(env.ops.begin(), env.ops.end(), "remove b/new/m1"), env.ops.end());
  EXPECT_EQ(std::find(env.ops.begin(), env.ops.end(), "remove a/new/m2"), env.ops.end());
  EXPECT_EQ(gc.stats().failed, 1u);
}

TEST(GroupCommit, SyncFilesFailureFailsTheRoundAndRemovesTmpFiles) {
  ScriptedEnv env;
  GroupCommitter gc(env);
  std::optional<Status> r;
  env.fail_rules["sync_files a/tmp/m1"] = Errc::no_space;
  start(env, gc, item("m1", {"a", "b"}), &r);
  env.drain();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code(), Errc::no_space);
  const std::vector<std::string> want{"sync_files a/tmp/m1", "remove a/tmp/m1"};
  EXPECT_EQ(env.ops, want);  // nothing was linked or renamed
}

TEST(GroupCommit, NextRoundSyncFailureFailsOnlyTheNextRound) {
  ScriptedEnv env;
  GroupCommitter gc(env);
  std::optional<Status> r1, r2;
  start(env, gc, item("m1", {"a"}), &r1);
  start(env, gc, item("m2", {"a"}), &r2);  // queued while m1's data is synced
  env.fail_rules["sync_files a/tmp/m2"] = Errc::io;
  env.drain();
  ASSERT_TRUE(r1 && r2);
  EXPECT_TRUE(r1->ok());
  EXPECT_EQ(r2->code(), Errc::io);
  const std::vector<std::string> want{
      "sync_files a/tmp/m1", "sync_files a/tmp/m2", "rename a/tmp/m1 a/new/m1", "sync_dir a/new", "remove a/tmp/m2",
  };
  EXPECT_EQ(env.ops, want);  // m2 was never renamed
}

TEST(GroupCommit, LinkErrorFallsBackToASyncedCopy) {
  ScriptedEnv env;
  GroupCommitter gc(env);
  std::optional<Status> r;
  env.fail_rules["link a/tmp/m1 b/new/m1"] = Errc::io;  // EXDEV
  start(env, gc, item("m1", {"a", "b"}), &r);
  env.drain();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->ok());
  const std::vector<std::string> want{
      "sync_files a/tmp/m1",   "link a/tmp/m1 b/new/m1",   "read a/tmp/m1",           "write b/tmp/m1",
      "sync_files b/tmp/m1",   "rename a/tmp/m1 a/new/m1", "rename b/tmp/m1 b/new/m1", "sync_dir a/new",
      "sync_dir b/new",
  };
  EXPECT_EQ(env.ops, want);
  EXPECT_EQ(gc.stats().copies, 1u);
}

TEST(GroupCommit, LinkExistsFailsWithoutCopy) {
  ScriptedEnv env;
  GroupCommitter gc(env);
  std::optional<Status> r;
  env.fail_rules["link a/tmp/m1 b/new/m1"] = Errc::exists;
  start(env, gc, item("m1", {"a", "b"}), &r);
  env.drain();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code(), Errc::exists);
  const std::vector<std::string> want{"sync_files a/tmp/m1", "link a/tmp/m1 b/new/m1", "remove a/tmp/m1"};
  EXPECT_EQ(env.ops, want);
}

TEST(GroupCommit, CrashMidRoundLeavesTheCommitterUsable) {
  ScriptedEnv env;
  GroupCommitter gc(env);
  std::optional<Status> r1, r2;
  start(env, gc, item("m1", {"a"}), &r1);
  start(env, gc, item("m2", {"a"}), &r2);  // queued behind the round in flight
  // The host "crashes": pending completions vanish, then every root task is destroyed.
  env.queue.clear();
  env.tasks().destroy_all();
  EXPECT_FALSE(r1.has_value());
  EXPECT_FALSE(r2.has_value());
  // A restarted service on the same committer runs a fresh round.
  std::optional<Status> r3;
  env.ops.clear();
  start(env, gc, item("m3", {"a"}), &r3);
  env.drain();
  ASSERT_TRUE(r3.has_value());
  EXPECT_TRUE(r3->ok());
  EXPECT_EQ(env.ops.front(), "sync_files a/tmp/m3");
}

TEST(GroupCommit, CommitterDestroyedAfterCrashBeforeTasks) {
  ScriptedEnv env;
  std::optional<Status> r;
  {
    GroupCommitter gc(env);
    start(env, gc, item("m1", {"a"}), &r);
    env.queue.clear();
  }  // the committer goes first; ~ScriptedEnv then destroys the frames (ASan checks them)
  EXPECT_FALSE(r.has_value());
}

}  // namespace
}  // namespace mail::store
