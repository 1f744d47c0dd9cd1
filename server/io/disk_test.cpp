// PosixDisk through AsioEnv on a temporary directory under /tmp: write modes, read back,
// rename/link/remove/list (sorted), make_dirs, file_size, sync_files with every strategy,
// sync_dir, errno mapping (ENOENT -> not_found, EEXIST -> exists), never inline.
#include <stdlib.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "io/io_test_util.h"

namespace mail::io {
namespace {

class DiskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/mail_io_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  std::string path(std::string_view name) const { return dir + "/" + std::string(name); }

  AsioEnv env{test::test_options()};
  std::string dir;
};

// Reads `path` back and expects exactly `want` (compared with ==: a large `want` printed
// by EXPECT_EQ would flood the log).
rt::Task<void> expect_contents(rt::Disk& d, std::string path, std::string want) {
  auto r = co_await rt::read_file(d, path);
  EXPECT_TRUE(r.ok()) << path;
  if (r) {
    EXPECT_TRUE(*r == want) << path << ": " << r->size() << " bytes, want " << want.size();
  }
}

rt::Task<void> write_read_case(rt::Disk& d, std::string dir) {
  const std::string f = dir + "/msg";
  auto w1 = co_await rt::write_file(d, f, "hello", rt::WriteMode::create_new);
  EXPECT_TRUE(w1.ok());
  auto w2 = co_await rt::write_file(d, f, "again", rt::WriteMode::create_new);
  EXPECT_EQ(w2.code(), Errc::exists);
  co_await expect_contents(d, f, "hello");
  auto w3 = co_await rt::write_file(d, f, " world", rt::WriteMode::append);
  EXPECT_TRUE(w3.ok());
  co_await expect_contents(d, f, "hello world");
  auto w4 = co_await rt::write_file(d, f, "new", rt::WriteMode::truncate);
  EXPECT_TRUE(w4.ok());
  co_await expect_contents(d, f, "new");
  auto size = co_await rt::file_size(d, f);
  EXPECT_TRUE(size.ok());
  if (size) {
    EXPECT_EQ(*size, 3u);
  }

  // Larger than one read chunk, with every byte value.
  std::string big(3'000'000, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7 % 256);
  auto wb = co_await rt::write_file(d, dir + "/big", big, rt::WriteMode::create_new);
  EXPECT_TRUE(wb.ok());
  co_await expect_contents(d, dir + "/big", big);
  auto empty = co_await rt::write_file(d, dir + "/empty", "", rt::WriteMode::create_new);
  EXPECT_TRUE(empty.ok());
  co_await expect_contents(d, dir + "/empty", "");
}

TEST_F(DiskTest, WriteModesAndReadBack) {
  test::run_task(env, write_read_case(env.disk(), dir));
  struct stat st {};
  ASSERT_EQ(::stat(path("msg").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0077, 0u);  // private: 0600 before umask
}

rt::Task<void> namespace_case(rt::Disk& d, std::string dir) {
  EXPECT_TRUE((co_await rt::make_dirs(d, dir + "/Maildir/tmp")).ok());
  EXPECT_TRUE((co_await rt::make_dirs(d, dir + "/Maildir/new/")).ok());
  EXPECT_TRUE((co_await rt::make_dirs(d, dir + "/Maildir/new")).ok());  // exists: ok
  EXPECT_TRUE((co_await rt::write_file(d, dir + "/Maildir/tmp/b", "B", rt::WriteMode::create_new)).ok());
  EXPECT_TRUE((co_await rt::write_file(d, dir + "/Maildir/tmp/a", "A", rt::WriteMode::create_new)).ok());
  EXPECT_TRUE((co_await rt::write_file(d, dir + "/Maildir/tmp/c", "C", rt::WriteMode::create_new)).ok());
  EXPECT_TRUE((co_await rt::rename(d, dir + "/Maildir/tmp/a", dir + "/Maildir/new/a")).ok());
  EXPECT_TRUE((co_await rt::link(d, dir + "/Maildir/tmp/b", dir + "/Maildir/new/b2")).ok());
  EXPECT_EQ((co_await rt::link(d, dir + "/Maildir/tmp/c", dir + "/Maildir/new/b2")).code(), Errc::exists);
  EXPECT_TRUE((co_await rt::remove(d, dir + "/Maildir/tmp/c")).ok());
  EXPECT_TRUE((co_await rt::sync_dir(d, dir + "/Maildir/new")).ok());
  EXPECT_TRUE((co_await rt::sync_dir(d, dir + "/Maildir/tmp")).ok());

  auto tmp = co_await rt::list_dir(d, dir + "/Maildir/tmp");
  EXPECT_TRUE(tmp.ok());
  EXPECT_TRUE(tmp && tmp->size() == 1u);
  if (tmp && tmp->size() == 1u) {
    EXPECT_EQ((*tmp)[0].name, "b");
  }
  auto top = co_await rt::list_dir(d, dir + "/Maildir");
  EXPECT_TRUE(top.ok());
  EXPECT_TRUE(top && top->size() == 2u);
  if (top && top->size() == 2u) {
    EXPECT_EQ((*top)[0].name, "new");
    EXPECT_TRUE((*top)[0].is_dir);
    EXPECT_EQ((*top)[1].name, "tmp");
  }
  auto b2 = co_await rt::read_file(d, dir + "/Maildir/new/b2");
  if (b2) {
    EXPECT_EQ(*b2, "B");
  }
  // A path through a file cannot become a directory.
  EXPECT_EQ((co_await rt::make_dirs(d, dir + "/Maildir/tmp/b/sub")).code(), Errc::exists);
  EXPECT_EQ((co_await rt::make_dirs(d, dir + "/Maildir/tmp/b")).code(), Errc::exists);
  // remove() takes empty directories too.
  EXPECT_TRUE((co_await rt::make_dirs(d, dir + "/gone")).ok());
  EXPECT_TRUE((co_await rt::remove(d, dir + "/gone")).ok());
}

// write_parts: the file is the parts in order (writev), empty parts and many parts
// included (more than IOV_MAX would be split across writev calls).
rt::Task<void> write_parts_case(rt::Disk& d, std::string dir) {
  auto parts = std::make_shared<std::vector<std::string>>();
  parts->push_back("Return-Path: <a@b>\r\n");
  parts->push_back("");
  parts->push_back(std::string(200'000, 'x'));
  std::string want = (*parts)[0] + (*parts)[2];
  for (int i = 0; i < 2000; ++i) {
    parts->push_back(std::to_string(i) + ",");
    want += parts->back();
  }
  auto w = co_await rt::write_parts(d, dir + "/parts", parts, rt::WriteMode::create_new);
  EXPECT_TRUE(w.ok());
  co_await expect_contents(d, dir + "/parts", want);
  auto again = co_await rt::write_parts(d, dir + "/parts", parts, rt::WriteMode::create_new);
  EXPECT_EQ(again.code(), Errc::exists);
  auto none = co_await rt::write_parts(d, dir + "/none", std::make_shared<std::vector<std::string>>(),
                                       rt::WriteMode::create_new);
  EXPECT_TRUE(none.ok());
  co_await expect_contents(d, dir + "/none", "");
}

TEST_F(DiskTest, WritePartsWritesThePartsInOrder) { test::run_task(env, write_parts_case(env.disk(), dir)); }

// rename_each: every move is tried, each reports on its own, in order.
rt::Task<void> rename_each_case(rt::Disk& d, std::string dir) {
  for (const char* f : {"/a", "/c"}) {
    auto w = co_await rt::write_file(d, dir + f, f, rt::WriteMode::create_new);
    EXPECT_TRUE(w.ok());
  }
  std::vector<std::pair<std::string, std::string>> moves{
      {dir + "/a", dir + "/A"}, {dir + "/missing", dir + "/M"}, {dir + "/c", dir + "/C"}};
  auto rs = co_await rt::rename_each(d, std::move(moves));
  EXPECT_TRUE(rs.ok());
  if (rs) {
    EXPECT_EQ(rs->size(), 3u);
    if (rs->size() == 3) {
      EXPECT_TRUE((*rs)[0].ok());
      EXPECT_EQ((*rs)[1].code(), Errc::not_found);
      EXPECT_TRUE((*rs)[2].ok());
    }
  }
  co_await expect_contents(d, dir + "/A", "/a");
  co_await expect_contents(d, dir + "/C", "/c");
  auto gone = co_await rt::read_file(d, dir + "/a");
  EXPECT_EQ(gone.code(), Errc::not_found);
}

TEST_F(DiskTest, RenameEachReportsEveryMove) { test::run_task(env, rename_each_case(env.disk(), dir)); }

// read_files (Disk::async_read_each, one worker job here): each file's bytes or error in
// the order asked, a missing file failing alone; empty and large files read whole (one
// read of fstat's size + 1 per file, the short count being the end).
rt::Task<void> read_each_case(rt::Disk& d, std::string dir) {
  std::string big;
  for (int i = 0; big.size() < 300'000; ++i) big += std::to_string(i) + ",";
  std::vector<std::pair<std::string, std::string>> files;
  files.emplace_back("/small", "one line\r\n");
  files.emplace_back("/empty", "");
  files.emplace_back("/big", big);
  for (const auto& file : files) {
    auto w = co_await rt::write_file(d, dir + file.first, file.second, rt::WriteMode::create_new);
    EXPECT_TRUE(w.ok());
  }
  std::vector<std::string> paths;
  for (const char* name : {"/big", "/missing", "/small", "/empty", "/big"}) paths.push_back(dir + name);
  auto rs = co_await rt::read_files(d, std::move(paths));
  EXPECT_TRUE(rs.ok());
  if (!rs || rs->size() != 5) {
    ADD_FAILURE() << "five results expected";
    co_return;
  }
  EXPECT_TRUE((*rs)[0].ok() && *(*rs)[0] == big);
  EXPECT_EQ((*rs)[1].code(), Errc::not_found);
  EXPECT_TRUE((*rs)[2].ok() && *(*rs)[2] == "one line\r\n");
  EXPECT_TRUE((*rs)[3].ok() && (*rs)[3]->empty());
  EXPECT_TRUE((*rs)[4].ok() && (*rs)[4]->size() == big.size());
}

TEST_F(DiskTest, ReadFilesKeepsOrderAndFailsEachAlone) { test::run_task(env, read_each_case(env.disk(), dir)); }

TEST_F(DiskTest, RenameLinkRemoveListMakeDirs) { test::run_task(env, namespace_case(env.disk(), dir)); }

rt::Task<void> list_sorted_case(rt::Disk& d, std::string dir) {
  // Created in an order unlike both name order and typical hash order.
  const std::vector<std::string> names = {"m", "b", "zz", "a", "B", "1700000000.M1P2.host", "c", "aa"};
  for (const auto& n : names) EXPECT_TRUE((co_await rt::write_file(d, dir + "/" + n, n, rt::WriteMode::create_new)).ok());
  auto l = co_await rt::list_dir(d, dir);
  EXPECT_TRUE(l.ok());
  if (!l) co_return;
  std::vector<std::string> got;
  for (const auto& e : *l) got.push_back(e.name);
  EXPECT_EQ(got, (std::vector<std::string>{"1700000000.M1P2.host", "B", "a", "aa", "b", "c", "m", "zz"}));
}

TEST_F(DiskTest, ListDirIsSortedByName) { test::run_task(env, list_sorted_case(env.disk(), dir)); }

rt::Task<void> not_found_case(rt::Disk& d, std::string dir) {
  const std::string missing = dir + "/missing";
  EXPECT_EQ((co_await rt::read_file(d, missing)).code(), Errc::not_found);
  EXPECT_EQ((co_await rt::file_size(d, missing)).code(), Errc::not_found);
  EXPECT_EQ((co_await rt::remove(d, missing)).code(), Errc::not_found);
  EXPECT_EQ((co_await rt::rename(d, missing, dir + "/x")).code(), Errc::not_found);
  EXPECT_EQ((co_await rt::link(d, missing, dir + "/x")).code(), Errc::not_found);
  EXPECT_EQ((co_await rt::list_dir(d, missing)).code(), Errc::not_found);
  EXPECT_EQ((co_await rt::sync_dir(d, missing)).code(), Errc::not_found);
  std::vector<std::string> missing_batch(1, missing);  // (GCC 12: no braced lists in co_await)
  EXPECT_EQ((co_await rt::sync_files(d, std::move(missing_batch))).code(), Errc::not_found);
  EXPECT_EQ((co_await rt::write_file(d, dir + "/no/such/dir/f", "x", rt::WriteMode::truncate)).code(), Errc::not_found);
  auto r = co_await rt::read_file(d, missing);
  EXPECT_NE(r.ok() ? std::string() : r.error().detail, "");  // the detail names the call and path
  if (!r) {
    EXPECT_NE(r.error().detail.find(missing), std::string::npos);
  }
}

TEST_F(DiskTest, MissingPathsMapToNotFound) { test::run_task(env, not_found_case(env.disk(), dir)); }

rt::Task<void> sync_case(rt::Disk& d, std::string dir, std::size_t count) {
  std::vector<std::string> paths;
  for (std::size_t i = 0; i < count; ++i) {
    paths.push_back(dir + "/f" + std::to_string(i));
    EXPECT_TRUE((co_await rt::write_file(d, paths.back(), std::string(100 + i, 'm'), rt::WriteMode::create_new)).ok());
  }
  EXPECT_TRUE((co_await rt::sync_files(d, paths)).ok());
  EXPECT_TRUE((co_await rt::sync_dir(d, dir)).ok());
  EXPECT_TRUE((co_await rt::sync_files(d, std::vector<std::string>())).ok());
  // One missing file fails the batch.
  paths.push_back(dir + "/missing");
  EXPECT_EQ((co_await rt::sync_files(d, paths)).code(), Errc::not_found);
}

class SyncStrategyTest : public ::testing::TestWithParam<SyncStrategy> {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/mail_io_sync.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  std::string dir;
};

TEST_P(SyncStrategyTest, SyncsHundredFiles) {
  auto o = test::test_options();
  o.disk.sync_strategy = GetParam();
  AsioEnv env(o);
  test::run_task(env, sync_case(env.disk(), dir, 100));
}

TEST_P(SyncStrategyTest, SyncsOneFile) {
  auto o = test::test_options();
  o.disk.sync_strategy = GetParam();
  AsioEnv env(o);
  test::run_task(env, sync_case(env.disk(), dir, 1));
}

INSTANTIATE_TEST_SUITE_P(All, SyncStrategyTest,
                         ::testing::Values(SyncStrategy::automatic, SyncStrategy::sequential, SyncStrategy::parallel, SyncStrategy::syncfs));

TEST_F(DiskTest, CompletionsNeverRunInsideTheCall) {
  bool returned = false;
  bool inline_call = false;
  int ran = 0;
  auto check = [&](Errc expected) {
    return [&, expected](auto r) {
      EXPECT_EQ(r.code(), expected);
      inline_call = inline_call || !returned;
      if (++ran == 3) env.stop();
    };
  };
  env.disk().async_read_file(path("nothing"), check(Errc::not_found));
  env.disk().async_sync_files({}, check(Errc::ok));
  env.disk().async_write_file(path("w"), "x", rt::WriteMode::create_new, check(Errc::ok));
  returned = true;
  env.run();
  EXPECT_EQ(ran, 3);
  EXPECT_FALSE(inline_call);
}

TEST_F(DiskTest, DestroyingTheEnvDropsQueuedWork) {
  // Completions pending at teardown are destroyed uncalled (rt::Env contract).
  auto o = test::test_options();
  o.disk_threads = 1;
  bool called = false;
  {
    AsioEnv e(o);
    for (int i = 0; i < 50; ++i) {
      e.disk().async_write_file(path("q" + std::to_string(i)), "x", rt::WriteMode::truncate, [&](Result<void>) { called = true; });
    }
  }
  EXPECT_FALSE(called);
}

}  // namespace
}  // namespace mail::io
