// Directory: domain/local-part canonicalisation, aliases, RFC 5233 subaddresses,
// quoted local parts and address literals. Pure; no Env.
#include "store/directory.h"

#include <gtest/gtest.h>

#include <string>

#include "proto/sasl/credentials.h"
#include "store/mailbox_store.h"
#include "store/user_name.h"

namespace mail::store {
namespace {

Directory make_directory() {
  DirectoryConfig c;
  c.domains = {"Example.TEST", "other.test."};
  c.users = {
      UserConfig{"demo", {"postmaster", "Info"}},
      UserConfig{"Alice", {}},
      UserConfig{"bob+special", {}},  // a real user whose name contains the separator
      UserConfig{"carol", {"alice"}},  // alias shadowed by the user "Alice"
  };
  return Directory(std::move(c));
}

TEST(Directory, LocalUserAnyCase) {
  const auto d = make_directory();
  auto r = d.lookup("demo", "example.test");
  EXPECT_EQ(r.kind, Lookup::local_user);
  EXPECT_EQ(r.user, "demo");
  r = d.lookup("DeMo", "EXAMPLE.test");
  EXPECT_EQ(r.kind, Lookup::local_user);
  EXPECT_EQ(r.user, "demo");
  r = d.lookup("alice", "example.test");
  EXPECT_EQ(r.kind, Lookup::local_user);
  EXPECT_EQ(r.user, "Alice");  // canonical name as configured, case preserved
}

TEST(Directory, DomainTrailingDotAndCase) {
  const auto d = make_directory();
  EXPECT_TRUE(d.is_local_domain("example.test"));
  EXPECT_TRUE(d.is_local_domain("example.test."));
  EXPECT_TRUE(d.is_local_domain("EXAMPLE.TEST."));
  EXPECT_TRUE(d.is_local_domain("other.test"));  // configured with a trailing dot
  EXPECT_FALSE(d.is_local_domain("example.test.."));
  EXPECT_FALSE(d.is_local_domain("sub.example.test"));
  EXPECT_FALSE(d.is_local_domain(""));
  EXPECT_EQ(d.lookup("demo", "Other.Test.").kind, Lookup::local_user);
}

TEST(Directory, Aliases) {
  const auto d = make_directory();
  auto r = d.lookup("POSTMASTER", "example.test");
  EXPECT_EQ(r.kind, Lookup::local_user);
  EXPECT_EQ(r.user, "demo");
  r = d.lookup("info", "example.test");
  EXPECT_EQ(r.kind, Lookup::local_user);
  EXPECT_EQ(r.user, "demo");
}

TEST(Directory, UserNameBeatsAnotherUsersAlias) {
  const auto d = make_directory();
  EXPECT_EQ(d.lookup("alice", "example.test").user, "Alice");
}

TEST(Directory, Subaddress) {
  const auto d = make_directory();
  auto r = d.lookup("demo+tag", "example.test");
  EXPECT_EQ(r.kind, Lookup::local_user);
  EXPECT_EQ(r.user, "demo");
  r = d.lookup("Demo+Tag+more", "example.test");  // split at the first separator
  EXPECT_EQ(r.kind, Lookup::local_user);
  EXPECT_EQ(r.user, "demo");
  r = d.lookup("postmaster+x", "example.test");  // alias base
  EXPECT_EQ(r.user, "demo");
  r = d.lookup("demo+", "example.test");  // empty detail is still a subaddress
  EXPECT_EQ(r.user, "demo");
  EXPECT_EQ(d.lookup("+tag", "example.test").kind, Lookup::unknown_user);
  EXPECT_EQ(d.lookup("nobody+tag", "example.test").kind, Lookup::unknown_user);
}

TEST(Directory, SubaddressOnlyWhenFullFormIsNotAUser) {
  const auto d = make_directory();
  auto r = d.lookup("bob+special", "example.test");
  EXPECT_EQ(r.kind, Lookup::local_user);
  EXPECT_EQ(r.user, "bob+special");
  // "bob" is no user, so "bob+other" is unknown (not routed to bob+special).
  EXPECT_EQ(d.lookup("bob+other", "example.test").kind, Lookup::unknown_user);
}

TEST(Directory, SubaddressDisabled) {
  DirectoryConfig c;
  c.domains = {"example.test"};
  c.users = {UserConfig{"demo", {}}};
  c.subaddress_separator = '\0';
  const Directory d(std::move(c));
  EXPECT_EQ(d.lookup("demo+tag", "example.test").kind, Lookup::unknown_user);
  EXPECT_EQ(d.lookup("demo", "example.test").kind, Lookup::local_user);
}

TEST(Directory, OtherSeparator) {
  DirectoryConfig c;
  c.domains = {"example.test"};
  c.users = {UserConfig{"demo", {}}};
  c.subaddress_separator = '-';
  const Directory d(std::move(c));
  EXPECT_EQ(d.lookup("demo-tag", "example.test").user, "demo");
  EXPECT_EQ(d.lookup("demo+tag", "example.test").kind, Lookup::unknown_user);
}

TEST(Directory, QuotedLocalPart) {
  const auto d = make_directory();
  auto r = d.lookup("\"demo\"", "example.test");
  EXPECT_EQ(r.kind, Lookup::local_user);
  EXPECT_EQ(r.user, "demo");
  EXPECT_EQ(d.lookup("\"DEMO+tag\"", "example.test").user, "demo");
  EXPECT_EQ(d.lookup("\"d\\emo\"", "example.test").user, "demo");  // quoted-pair
  // Content that is not a dot-string never names a user.
  EXPECT_EQ(d.lookup("\"de mo\"", "example.test").kind, Lookup::unknown_user);
  EXPECT_EQ(d.lookup("\"demo.\"", "example.test").kind, Lookup::unknown_user);
  EXPECT_EQ(d.lookup("\"\"", "example.test").kind, Lookup::unknown_user);
  EXPECT_EQ(d.lookup("\"demo\\\"", "example.test").kind, Lookup::unknown_user);
}

TEST(Directory, UnknownUser) {
  const auto d = make_directory();
  EXPECT_EQ(d.lookup("nobody", "example.test").kind, Lookup::unknown_user);
  EXPECT_EQ(d.lookup("", "example.test").kind, Lookup::unknown_user);
  EXPECT_EQ(d.lookup("demo.", "example.test").kind, Lookup::unknown_user);
}

TEST(Directory, NotLocal) {
  const auto d = make_directory();
  EXPECT_EQ(d.lookup("demo", "example.org").kind, Lookup::not_local);
  EXPECT_EQ(d.lookup("demo", "[127.0.0.1]").kind, Lookup::not_local);
  EXPECT_EQ(d.lookup("demo", "[IPv6:::1]").kind, Lookup::not_local);
  EXPECT_EQ(d.lookup("nobody", "example.org").kind, Lookup::not_local);
}

TEST(Directory, Utf8LocalPartMatchesBytewise) {
  DirectoryConfig c;
  c.domains = {"example.test"};
  c.users = {UserConfig{"J\xc3\xb6rg", {}}};
  const Directory d(std::move(c));
  EXPECT_EQ(d.lookup("j\xc3\xb6rg", "example.test").user, "J\xc3\xb6rg");  // ASCII folded only
  EXPECT_EQ(d.lookup("J\xc3\x96rg", "example.test").kind, Lookup::unknown_user);  // no Unicode folding
}

TEST(Canonical, Helpers) {
  EXPECT_EQ(canonical_domain("Example.TEST."), "example.test");
  EXPECT_EQ(canonical_domain("[IPv6:::1]"), "[IPv6:::1]");
  EXPECT_TRUE(is_dot_string("a.b-c+d"));
  EXPECT_FALSE(is_dot_string("a..b"));
  EXPECT_FALSE(is_dot_string(".a"));
  EXPECT_FALSE(is_dot_string("a b"));
  EXPECT_EQ(unquoted_local_part("\"a.b\""), std::optional<std::string>("a.b"));
  EXPECT_EQ(unquoted_local_part("Demo"), std::optional<std::string>("Demo"));
  EXPECT_EQ(unquoted_local_part("\"a b\""), std::nullopt);
}

// The one user-name rule (user_name.h): what the configuration, the scenario files and the
// Python World accept. Every valid name is also a mailbox name and a login identity.
TEST(UserName, OneRule) {
  const std::string good[] = {"demo", "Alice.B_c", "a", "user-1", "x_y", "A9", std::string(64, 'u')};
  for (const std::string& ok : good) {
    EXPECT_TRUE(is_valid_user_name(ok)) << ok;
    EXPECT_TRUE(is_valid_alias(ok)) << ok;
    EXPECT_TRUE(is_valid_mailbox_user(ok)) << ok;
    EXPECT_TRUE(sasl::is_acceptable_username(ok)) << ok;
  }
  const std::string refused[] = {"",    ".",   "..",  "a..b", ".hidden",           "-x", "a/b", "a b", "a@b",
                                 "a+b", "a%b", "d\xc3\xabmo", std::string(65, 'u'), std::string("a\0b", 3)};
  for (const std::string& bad : refused) {
    EXPECT_FALSE(is_valid_user_name(bad)) << bad;
  }
  EXPECT_TRUE(is_valid_alias("d\xc3\xabmo"));  // aliases are only local parts: UTF-8 is fine
  EXPECT_FALSE(is_valid_alias(".."));
  EXPECT_FALSE(is_valid_alias("a/b"));
}

}  // namespace
}  // namespace mail::store
