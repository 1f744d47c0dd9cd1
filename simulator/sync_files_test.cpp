// The simulator's support for an embedded database: DiskState's positional writes and
// their per-block tearing, SimSyncFiles (durability, the crash fence, quota) and SimLane
// (serial jobs run off run(), completions as later events, drop on destruction).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "runtime/await.h"
#include "simulator/sim_disk.h"
#include "simulator/sim_env.h"
#include "simulator/world.h"

namespace mail::sim {
namespace {

std::span<const std::byte> bytes_of(std::string_view s) { return std::as_bytes(std::span<const char>(s.data(), s.size())); }

std::string read_all(const DiskState& d, std::string_view path) {
  auto r = d.read(path);
  EXPECT_TRUE(r.ok());
  return r.ok() ? *r : std::string();
}

TEST(DiskStatePositional, WriteAtExtendsWithZerosAndReadAtIsShortAtEnd) {
  DiskState d;
  ASSERT_TRUE(d.write("/f", "abc", rt::WriteMode::create_new).ok());
  ASSERT_TRUE(d.write_at("/f", 5, "XY").ok());
  EXPECT_EQ(read_all(d, "/f"), std::string("abc\0\0XY", 7));
  ASSERT_TRUE(d.write_at("/f", 1, "Q").ok());
  EXPECT_EQ(read_all(d, "/f"), std::string("aQc\0\0XY", 7));
  std::byte buf[4];
  auto n = d.read_at("/f", 5, buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 2u);
  EXPECT_EQ(static_cast<char>(buf[0]), 'X');
  n = d.read_at("/f", 100, buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
  EXPECT_EQ(d.bytes_used(), 7u);
  ASSERT_TRUE(d.truncate("/f", 2).ok());
  EXPECT_EQ(read_all(d, "/f"), "aQ");
  EXPECT_EQ(d.bytes_used(), 2u);
  EXPECT_EQ(d.write_at("/missing", 0, "x").code(), Errc::not_found);
}

TEST(DiskStatePositional, QuotaRefusesGrowthOnly) {
  DiskState d;
  ASSERT_TRUE(d.write("/f", "0123456789", rt::WriteMode::create_new).ok());
  EXPECT_EQ(d.write_at("/f", 8, "abcd", 11).code(), Errc::no_space);
  EXPECT_TRUE(d.write_at("/f", 0, "abcd", 11).ok());  // an overwrite needs no space
  EXPECT_EQ(d.truncate("/f", 20, 11).code(), Errc::no_space);
  EXPECT_EQ(read_all(d, "/f"), "abcd456789");
}

TEST(DiskStatePositional, UnsyncedWritesVanishAtACrashAndSyncedOnesStay) {
  DiskState d;
  ASSERT_TRUE(d.write("/f", "", rt::WriteMode::create_new).ok());
  ASSERT_TRUE(d.sync_dir("/").ok());
  ASSERT_TRUE(d.write_at("/f", 0, "durable").ok());
  ASSERT_TRUE(d.sync_file("/f").ok());
  ASSERT_TRUE(d.write_at("/f", 0, "VOLATILE").ok());
  EXPECT_EQ(d.durable_view().read("/f").value(), "durable");
  d.crash();
  EXPECT_EQ(read_all(d, "/f"), "durable");
}

// Per-block tearing: every block of the result is the durable or the volatile block, the
// size lies between the two sizes, and untouched blocks never change.
TEST(DiskStatePositional, TornCrashKeepsEachDirtyBlockOldOrNew) {
  constexpr std::size_t B = DiskState::kTearBlockBytes;
  const std::string old_data = std::string(B, 'a') + std::string(B, 'b') + std::string(B, 'c') + std::string(B, 'd');
  int mixed = 0;
  for (std::uint64_t seed = 1; seed <= 64; ++seed) {
    DiskState d;
    ASSERT_TRUE(d.write("/f", old_data, rt::WriteMode::create_new).ok());
    ASSERT_TRUE(d.sync_file("/f").ok());
    ASSERT_TRUE(d.sync_dir("/").ok());
    ASSERT_TRUE(d.write_at("/f", 0, std::string(B, 'A')).ok());
    ASSERT_TRUE(d.write_at("/f", 2 * B, std::string(B, 'C')).ok());
    ASSERT_TRUE(d.write_at("/f", 4 * B, std::string(B, 'E')).ok());  // extends
    Prng tear(seed);
    d.crash(&tear, 1'000'000);
    const std::string got = read_all(d, "/f");
    ASSERT_GE(got.size(), 4 * B);
    ASSERT_LE(got.size(), 5 * B);
    const std::string b0 = got.substr(0, B), b1 = got.substr(B, B), b2 = got.substr(2 * B, B), b3 = got.substr(3 * B, B);
    EXPECT_TRUE(b0 == std::string(B, 'a') || b0 == std::string(B, 'A'));
    EXPECT_EQ(b1, std::string(B, 'b'));
    EXPECT_TRUE(b2 == std::string(B, 'c') || b2 == std::string(B, 'C'));
    EXPECT_EQ(b3, std::string(B, 'd'));
    const std::string tail = got.substr(4 * B);
    EXPECT_TRUE(tail == std::string(tail.size(), 'E') || tail == std::string(tail.size(), '\0'));
    if ((b0[0] == 'A') != (b2[0] == 'C')) ++mixed;  // one block landed, the other did not
  }
  EXPECT_GT(mixed, 0);
}

TEST(DiskStatePositional, WholeFileWriteTearsAsAPrefixAgain) {
  DiskState d;
  ASSERT_TRUE(d.write("/f", "", rt::WriteMode::create_new).ok());
  ASSERT_TRUE(d.sync_dir("/").ok());
  ASSERT_TRUE(d.write_at("/f", 0, "positional").ok());
  ASSERT_TRUE(d.write("/f", "0123456789", rt::WriteMode::truncate).ok());
  Prng tear(7);
  d.crash(&tear, 1'000'000);
  const std::string got = read_all(d, "/f");
  EXPECT_EQ(got, std::string("0123456789").substr(0, got.size()));
}

// ------------------------------------------------------------------ SimSyncFiles

HostId one_host(World& w, DiskConfig disk = {}) {
  HostConfig hc;
  hc.name = "db";
  hc.address = "10.0.0.1";
  hc.disk = disk;
  const HostId h = w.add_host(hc);
  w.boot(h);
  return h;
}

TEST(SimSyncFiles, CreateIsDurableOnlyAfterSyncDirAndDataAfterSync) {
  World w(1);
  const HostId h = one_host(w);
  rt::SyncFiles* files = w.env(h).sync_files();
  ASSERT_NE(files, nullptr);
  ASSERT_TRUE(w.disk_state(h).make_dirs("/d").ok());
  ASSERT_TRUE(w.disk_state(h).sync_dir("/").ok());
  auto f = files->open("/d/a", true);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->write(0, bytes_of("hello")).ok());
  ASSERT_TRUE((*f)->sync().ok());
  EXPECT_FALSE(w.disk_state(h).durable_view().exists("/d/a"));  // no sync_dir yet
  ASSERT_TRUE(files->sync_dir("/d").ok());
  EXPECT_EQ(w.disk_state(h).durable_view().read("/d/a").value(), "hello");
  EXPECT_EQ(files->open("/d/missing", false).code(), Errc::not_found);
  EXPECT_EQ(files->remove("/d/missing").code(), Errc::not_found);
  EXPECT_TRUE(files->exists("/d/a").value());
  auto size = (*f)->size();
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, 5u);
}

TEST(SimSyncFiles, NothingGetsThroughOnceTheHostHasCrashed) {
  World w(2);
  const HostId h = one_host(w);
  ASSERT_TRUE(w.disk_state(h).write("/f", "old", rt::WriteMode::create_new).ok());
  ASSERT_TRUE(w.disk_state(h).sync_file("/f").ok());
  ASSERT_TRUE(w.disk_state(h).sync_dir("/").ok());
  // What a database's destructor would do during the crash's teardown: write and sync.
  using Probe = std::pair<std::unique_ptr<rt::SyncFile>, std::vector<Status>>;
  auto f = w.env(h).sync_files()->open("/f", false);
  ASSERT_TRUE(f.ok());
  auto closer = std::make_shared<Probe>();
  closer->first = std::move(*f);
  struct OnDestroy {
    std::shared_ptr<Probe> c;
    explicit OnDestroy(std::shared_ptr<Probe> x) : c(std::move(x)) {}
    OnDestroy(OnDestroy&& o) noexcept : c(std::move(o.c)) {}
    ~OnDestroy() {
      if (!c) return;
      c->second.push_back(c->first->write(0, bytes_of("NEW")));
      c->second.push_back(c->first->sync());
    }
  };
  // A pending event of the host holds it: World::crash destroys it uncalled, after the
  // host went down.
  w.env(h).executor().post([guard = OnDestroy(closer)] {});
  w.crash(h);
  ASSERT_EQ(closer->second.size(), 2u);
  EXPECT_EQ(closer->second[0].code(), Errc::io);
  EXPECT_EQ(closer->second[1].code(), Errc::io);
  EXPECT_EQ(read_all(w.disk_state(h), "/f"), "old");
}

TEST(SimSyncFiles, QuotaAndInjectedEio) {
  DiskConfig disk;
  disk.quota_bytes = 8;
  World w(3);
  const HostId h = one_host(w, disk);
  rt::SyncFiles* files = w.env(h).sync_files();
  auto f = files->open("/f", true);
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE((*f)->write(0, bytes_of("12345678")).ok());
  EXPECT_EQ((*f)->write(8, bytes_of("9")).code(), Errc::no_space);
  w.env(h).sim_disk().config().sync_eio_ppm = 1'000'000;
  EXPECT_EQ((*f)->sync().code(), Errc::io);
}

// ------------------------------------------------------------------ SimLane

rt::Task<void> lane_user(rt::BlockingLane& lane, std::vector<int>* order, std::vector<int>* values) {
  for (int i = 0; i < 3; ++i) {
    auto r = co_await rt::run_on(lane, [order, i] {
      order->push_back(i);
      return i * 10;
    });
    values->push_back(r.ok() ? *r : -1);
  }
}

TEST(SimLane, JobsRunInOrderNeverInsideRunAndCompleteAsLaterEvents) {
  World w(4);
  const HostId h = one_host(w);
  auto lane = w.env(h).make_blocking_lane("test");
  std::vector<int> order;
  std::vector<std::string> seen;
  for (int i = 0; i < 5; ++i) {
    lane->run([&order, i] { order.push_back(i); },
              [&seen, &order, i](Result<void> r) {
                EXPECT_TRUE(r.ok());
                // The job ran before its completion, on the World's thread.
                EXPECT_GE(order.size(), static_cast<std::size_t>(i + 1));
                seen.push_back("done" + std::to_string(i));
              });
  }
  EXPECT_TRUE(order.empty());  // not from inside run()
  EXPECT_TRUE(seen.empty());
  ASSERT_EQ(w.run_until_idle(), RunStatus::idle);
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_EQ(seen, (std::vector<std::string>{"done0", "done1", "done2", "done3", "done4"}));
  EXPECT_GT(w.now(), Instant{});  // jobs took simulated time

  std::vector<int> order2, values;
  w.env(h).tasks().spawn(lane_user(*lane, &order2, &values));
  ASSERT_EQ(w.run_until_idle(), RunStatus::idle);
  EXPECT_EQ(order2, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(values, (std::vector<int>{0, 10, 20}));
}

TEST(SimLane, DestroyingTheLaneDropsQueuedJobsAndPostedCompletions) {
  World w(5);
  const HostId h = one_host(w);
  auto lane = w.env(h).make_blocking_lane("test");
  int jobs = 0, dones = 0;
  for (int i = 0; i < 3; ++i) lane->run([&jobs] { ++jobs; }, [&dones](Result<void>) { ++dones; });
  ASSERT_TRUE(w.step());  // the first job runs, its completion is posted
  EXPECT_EQ(jobs, 1);
  lane.reset();
  ASSERT_EQ(w.run_until_idle(), RunStatus::idle);
  EXPECT_EQ(jobs, 1);
  EXPECT_EQ(dones, 0);
}

}  // namespace
}  // namespace mail::sim
