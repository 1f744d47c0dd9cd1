// try_cached_read (cached_read.h) on files just written (so their path and pages are
// cached): whole files and ranges read right, past the end is empty, what it must not
// answer (too large, missing) goes to the caller; and PosixDisk gives the same bytes with
// inline cached reads on and off.
#include "io/cached_read.h"

#include <stdlib.h>
#include <sys/utsname.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "io/io_test_util.h"

namespace mail::io {
namespace {

bool kernel_has_resolve_cached() {
  utsname u{};
  if (::uname(&u) != 0) return false;
  int major = 0;
  int minor = 0;
  if (std::sscanf(u.release, "%d.%d", &major, &minor) != 2) return false;
  return major > 5 || (major == 5 && minor >= 12);
}

class CachedReadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/var/tmp/mail_cached_read.XXXXXX";  // a disk file system, not tmpfs
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  std::string write(const std::string& name, const std::string& data) {
    const std::string p = dir + "/" + name;
    std::ofstream(p, std::ios::binary) << data;
    return p;
  }
  std::string dir;
};

std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 13) % 26);
  return s;
}

TEST_F(CachedReadTest, ReadsACachedFileWholeAndInRanges) {
  const std::string data = pattern(70000);
  const std::string p = write("m", data);
  auto whole = try_cached_read(p, 0, 0, true);
  if (!kernel_has_resolve_cached() && !whole) GTEST_SKIP() << "kernel without openat2 RESOLVE_CACHED";
  ASSERT_TRUE(whole.has_value());
  ASSERT_TRUE(whole->ok());
  EXPECT_TRUE(**whole == data) << (*whole)->size();
  auto mid = try_cached_read(p, 1000, 5000, false);
  ASSERT_TRUE(mid.has_value() && mid->ok());
  EXPECT_EQ(**mid, data.substr(1000, 5000));
  auto tail = try_cached_read(p, 69990, 5000, false);  // fewer bytes at the end
  ASSERT_TRUE(tail.has_value() && tail->ok());
  EXPECT_EQ(**tail, data.substr(69990));
  auto past = try_cached_read(p, 80000, 10, false);
  ASSERT_TRUE(past.has_value() && past->ok());
  EXPECT_EQ(**past, "");
}

TEST_F(CachedReadTest, LeavesLargeReadsAndMissingFilesToTheCaller) {
  const std::string p = write("big", pattern(kCachedReadBytesMax + 1));
  EXPECT_FALSE(try_cached_read(p, 0, 0, true).has_value());
  EXPECT_FALSE(try_cached_read(p, 0, kCachedReadBytesMax + 1, false).has_value());
  auto part = try_cached_read(p, 0, 100, false);  // a small range of a big file is fine
  if (part) {
    ASSERT_TRUE(part->ok());
    EXPECT_EQ((*part)->size(), 100u);
  }
  EXPECT_FALSE(try_cached_read(dir + "/missing", 0, 0, true).has_value());
  EXPECT_FALSE(try_cached_read(dir + "/missing", 0, 10, false).has_value());
}

// PosixDisk's results do not depend on which path served them.
rt::Task<void> read_back_case(rt::Disk& d, std::string dir, std::string data) {
  const std::string f = dir + "/msg";
  auto w = co_await rt::write_file(d, f, data, rt::WriteMode::create_new);
  EXPECT_TRUE(w.ok());
  auto whole = co_await rt::read_file(d, f);
  EXPECT_TRUE(whole.ok() && *whole == data);
  auto range = co_await rt::read_range(d, f, 3, 10);
  EXPECT_TRUE(range.ok() && *range == data.substr(3, 10));
  auto missing = co_await rt::read_file(d, dir + "/nope");
  EXPECT_EQ(missing.code(), Errc::not_found);
  auto missing_range = co_await rt::read_range(d, dir + "/nope", 0, 10);
  EXPECT_EQ(missing_range.code(), Errc::not_found);
}

TEST_F(CachedReadTest, PosixDiskReadsTheSameWithAndWithoutInlineReads) {
  for (bool inline_reads : {true, false}) {
    auto o = test::test_options();
    o.disk.inline_cached_reads = inline_reads;
    AsioEnv env(o);
    const std::string sub = dir + (inline_reads ? "/on" : "/off");
    std::filesystem::create_directory(sub);
    test::run_task(env, read_back_case(env.disk(), sub, pattern(9000)));
  }
}

}  // namespace
}  // namespace mail::io
