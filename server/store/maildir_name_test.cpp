// Maildir unique names: format, host escaping, size hint (every size reads back), and no
// collisions.
#include "store/maildir_name.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <set>

namespace mail::store {
namespace {

TEST(MaildirName, Format) {
  const WallTime t{1'700'000'000'123'456};
  EXPECT_EQ(format_maildir_name(t, 0x0123456789abcdefull, 7, "mx.example.test", 42),
            "1700000000.M123456R0123456789abcdefQ7.mx.example.test,S=42");
}

TEST(MaildirName, HostEscaping) {
  EXPECT_EQ(maildir_safe_host("a/b:c,d"), "a\\057b\\072c\\054d");
  EXPECT_EQ(maildir_safe_host(""), "localhost");
}

TEST(MaildirName, NegativeClockClamps) {
  EXPECT_EQ(format_maildir_name(WallTime{-5}, 0, 0, "h", 0), "0.M0R0000000000000000Q0.h,S=0");
}

TEST(MaildirName, SizeHint) {
  EXPECT_EQ(maildir_size_hint("1.M2R3Q4.h,S=1234"), std::optional<std::uint64_t>(1234));
  EXPECT_EQ(maildir_size_hint("1.M2R3Q4.h,S=1234:2,FS"), std::optional<std::uint64_t>(1234));
  EXPECT_EQ(maildir_size_hint("1.M2R3Q4.h,S=1234,W=1300:2,"), std::optional<std::uint64_t>(1234));
  EXPECT_EQ(maildir_size_hint("1.M2R3Q4.h"), std::nullopt);
  EXPECT_EQ(maildir_size_hint("1.h,S="), std::nullopt);
  EXPECT_EQ(maildir_size_hint("1.h,S=12x"), std::nullopt);
  EXPECT_EQ(maildir_size_hint("1.h,S=99999999999999999999"), std::nullopt);
  EXPECT_EQ(maildir_size_hint("1.h,S=18446744073709551616"), std::nullopt);
  EXPECT_EQ(maildir_size_hint("1.h,S=000000000000000000001"), std::nullopt);
}

// Regression (fuzz/maildir_name): a size of 10^19 or more has 20 digits, which the hint
// parser refused, so format_maildir_name's read-back assertion fired.
TEST(MaildirName, LargestSizeReadsBack) {
  EXPECT_EQ(maildir_size_hint("1.h,S=18446744073709551615"), std::optional<std::uint64_t>(UINT64_MAX));
  const std::string name = format_maildir_name(WallTime{1}, 1, 1, "h", UINT64_MAX);
  EXPECT_EQ(maildir_size_hint(name), std::optional<std::uint64_t>(UINT64_MAX));
}

// Any size, any host name (made safe), with or without ":2," info: the hint reads back.
RC_GTEST_PROP(MaildirNameProperty, FormattedSizeReadsBack, (std::uint64_t size, const std::string& host)) {
  const std::string name = format_maildir_name(WallTime{*rc::gen::inRange<std::int64_t>(-1, 1LL << 50)},
                                               *rc::gen::arbitrary<std::uint64_t>(), 3, maildir_safe_host(host), size);
  RC_ASSERT(maildir_size_hint(name) == std::optional<std::uint64_t>(size));
  RC_ASSERT(maildir_size_hint(name + ":2,S") == std::optional<std::uint64_t>(size));
}

TEST(MaildirName, TenThousandNamesNeverCollide) {
  // Same instant for every name (a frozen simulated clock): the counter keeps one
  // generator's names apart, the random part two independently seeded generators'.
  MaildirNamer a(Prng(1).fork("maildir"), "mx.example.test");
  MaildirNamer b(Prng(2).fork("maildir"), "mx.example.test");
  std::set<std::string> seen;
  const WallTime t{1'700'000'000'000'000};
  for (int i = 0; i < 10'000; ++i) {
    EXPECT_TRUE(seen.insert(a.next(t, 100)).second);
    EXPECT_TRUE(seen.insert(b.next(t, 100)).second);
  }
  EXPECT_EQ(seen.size(), 20'000u);
}

TEST(MaildirName, DeterministicForSeed) {
  MaildirNamer a(Prng(9).fork("maildir"), "h");
  MaildirNamer b(Prng(9).fork("maildir"), "h");
  for (int i = 0; i < 10; ++i) EXPECT_EQ(a.next(WallTime{i}, 1), b.next(WallTime{i}, 1));
}

}  // namespace
}  // namespace mail::store

#include "store/maildir.h"

namespace mail::store {
namespace {

// After `mkdir -p`, every new level's entry must be synced in its parent (found by the
// simulator: a fresh /var/lib/cloudsdial vanished on a crash with acknowledged mail in it).
TEST(AncestorDirs, AbsoluteRelativeAndDotPaths) {
  EXPECT_EQ(ancestor_dirs("/var/lib/x"), (std::vector<std::string>{"/var/lib", "/var", "/"}));
  EXPECT_EQ(ancestor_dirs("/var/lib/x/"), (std::vector<std::string>{"/var/lib", "/var", "/"}));
  EXPECT_EQ(ancestor_dirs("var/x"), (std::vector<std::string>{"var", "."}));
  EXPECT_EQ(ancestor_dirs("./var"), (std::vector<std::string>{"."}));
  EXPECT_EQ(ancestor_dirs("var"), (std::vector<std::string>{"."}));
  EXPECT_TRUE(ancestor_dirs("/").empty());
  EXPECT_TRUE(ancestor_dirs(".").empty());
}

// The layout, spelled out once more here on purpose: this is the test of the one function
// that knows it (the simulator's checker, the Python bindings and the tests all use it).
TEST(MaildirLayout, PathOfAUsersMaildir) {
  EXPECT_EQ(maildir_path("/var/lib/cloudsdial", "demo"), "/var/lib/cloudsdial/mail/demo/Maildir");
  EXPECT_EQ(maildir_path("var", "demo"), "var/mail/demo/Maildir");
  EXPECT_EQ(maildir_path("../var", "demo"), "../var/mail/demo/Maildir");  // the admin's "..": kept
  EXPECT_EQ(maildir_path("", "demo"), "./mail/demo/Maildir");
  EXPECT_EQ(maildir_path("/", "demo"), "/mail/demo/Maildir");
  // Trailing and repeated slashes never make a "//".
  EXPECT_EQ(maildir_path("/var/lib/x/", "a"), "/var/lib/x/mail/a/Maildir");
  EXPECT_EQ(maildir_path("//var//lib///x//", "a"), "/var/lib/x/mail/a/Maildir");
}

TEST(MaildirLayout, Folders) {
  EXPECT_EQ(maildir_folder_path("/d", "u", MaildirFolder::tmp), "/d/mail/u/Maildir/tmp");
  EXPECT_EQ(maildir_folder_path("/d", "u", MaildirFolder::new_mail), "/d/mail/u/Maildir/new");
  EXPECT_EQ(maildir_folder_path("/d/", "u", MaildirFolder::cur), "/d/mail/u/Maildir/cur");
  // Messages are read from new/ then cur/, never from tmp/.
  ASSERT_EQ(maildir_message_folders.size(), 2u);
  EXPECT_EQ(to_string(maildir_message_folders[0]), "new");
  EXPECT_EQ(to_string(maildir_message_folders[1]), "cur");
  ASSERT_EQ(maildir_folders.size(), 3u);
  EXPECT_EQ(to_string(maildir_folders[0]), "tmp");
}

TEST(MaildirLayout, MailboxUserNames) {
  for (const char* ok : {"demo", "a", "x.y", "user-1", "a..b"}) EXPECT_TRUE(is_valid_mailbox_user(ok)) << ok;
  for (const char* bad : {"", ".", "..", ".hidden", "a/b", "/"}) EXPECT_FALSE(is_valid_mailbox_user(bad)) << bad;
  EXPECT_FALSE(is_valid_mailbox_user(std::string_view("a\0b", 3)));
  EXPECT_TRUE(is_valid_mailbox_user(std::string(255, 'u')));
  EXPECT_FALSE(is_valid_mailbox_user(std::string(256, 'u')));
}

TEST(MaildirLayoutDeathTest, AnInvalidUserIsAProgrammerError) {
  // Names from outside are checked first (the stores answer Errc::invalid); a path for an
  // unchecked "../x" would leave the mail root.
  EXPECT_DEATH((void)maildir_path("/d", "../x"), "assertion failed");
  EXPECT_DEATH((void)maildir_path("/d", "a/b"), "assertion failed");
}

}  // namespace
}  // namespace mail::store
