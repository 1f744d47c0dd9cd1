// UserDb: parse/serialize round trip, strict line errors, case-insensitive names, and the
// durable save/load through the production Env (real files, real fsync) — a missing file
// is an empty database, a saved one reads back equal — and every name add() takes survives
// serialize/parse (found by fuzz/users_file: a space or a leading '#' did not).
#include "store/user_db.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <filesystem>

#include "io/io_test_util.h"
#include "proto/sasl/base64.h"
#include "tls/sasl_crypto.h"

namespace mail::store {
namespace {

sasl::ScramCredentials creds(std::string_view password) {
  tls::OpenSslCrypto crypto;
  return sasl::derive_scram_credentials(crypto, password, "0123456789abcdef", 4096);
}

TEST(UserDb, RoundTripAndCaseInsensitiveNames) {
  UserDb db;
  ASSERT_TRUE(db.add("Alice", creds("wonderland")).ok());
  ASSERT_TRUE(db.add("bob", creds("builder")).ok());
  EXPECT_EQ(db.add("ALICE", creds("x")).code(), Errc::exists);
  auto back = UserDb::parse(db.serialize());
  ASSERT_TRUE(back.ok()) << back.error().detail;
  EXPECT_EQ(back->names(), (std::vector<std::string>{"alice", "bob"}));
  auto a = back->lookup("aLiCe");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->stored_key, creds("wonderland").stored_key);
  EXPECT_EQ(a->iterations, 4096u);
  EXPECT_FALSE(back->lookup("carol").has_value());
  EXPECT_EQ(back->serialize(), db.serialize());
}

TEST(UserDb, ReplaceAndRemove) {
  UserDb db;
  ASSERT_TRUE(db.add("alice", creds("one")).ok());
  ASSERT_TRUE(db.replace("alice", creds("two")).ok());
  EXPECT_EQ(db.lookup("alice")->stored_key, creds("two").stored_key);
  EXPECT_EQ(db.replace("bob", creds("x")).code(), Errc::not_found);
  ASSERT_TRUE(db.remove("ALICE").ok());
  EXPECT_EQ(db.remove("alice").code(), Errc::not_found);
  EXPECT_EQ(db.size(), 0u);
}

// Regression (fuzz/users_file): add() took "a b" (written as 7 fields: the whole file then
// failed to load) and "#x" (written as a comment: the user vanished on the next load).
TEST(UserDb, NamesTheFileCannotHoldAreRefused) {
  UserDb db;
  for (const char* name : {"a b", "a\tb", "#x", " a", "a\t"}) {
    EXPECT_FALSE(storable_user_name(name)) << name;
    EXPECT_EQ(db.add(name, creds("x")).code(), Errc::invalid) << name;
  }
  ASSERT_TRUE(db.add("a#b", creds("x")).ok());
  ASSERT_TRUE(db.add("x,y=z@example.org", creds("x")).ok());
  auto back = UserDb::parse(db.serialize());
  ASSERT_TRUE(back.ok()) << back.error().detail;
  EXPECT_EQ(back->names(), (std::vector<std::string>{"a#b", "x,y=z@example.org"}));
}

// Whatever add() accepts reads back from serialize(): same names, same credentials.
RC_GTEST_PROP(UserDbProperty, EveryAddedNameSurvivesTheFile, ()) {
  static const sasl::ScramCredentials c = creds("pw");
  const auto names = *rc::gen::container<std::vector<std::string>>(rc::gen::container<std::string>(
      rc::gen::oneOf(rc::gen::element(' ', '\t', '#', ',', '=', '%', '\r', '\0', 'A', 'a', '\xc3', '\xa9', '\x0b'),
                     rc::gen::inRange<char>(0x21, 0x7f))));
  UserDb db;
  std::vector<std::string> added;
  for (const auto& n : names) {
    if (db.add(n, c).ok()) added.push_back(canonical_user_name(n));
  }
  auto back = UserDb::parse(db.serialize());
  RC_ASSERT(back.ok());
  std::sort(added.begin(), added.end());
  RC_ASSERT(back->names() == added);
  for (const auto& n : added) RC_ASSERT(back->lookup(n)->stored_key == c.stored_key);
  RC_ASSERT(back->serialize() == db.serialize());
}

TEST(UserDb, MalformedLinesAreErrorsNamingTheLine) {
  const std::string key = sasl::base64_encode(std::string(32, 'k'));
  const std::string good = "alice SCRAM-SHA-256 4096 c2FsdA== " + key + " " + key + "\n";
  EXPECT_TRUE(UserDb::parse("# comment\n\n" + good).ok());
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"alice SCRAM-SHA-256 4096 c2FsdA== " + key + "\n", "line 1"},
      {"# c\nalice PLAIN 4096 c2FsdA== " + key + " " + key + "\n", "line 2"},
      {"alice SCRAM-SHA-256 1000 c2FsdA== " + key + " " + key + "\n", "4096"},
      {"alice SCRAM-SHA-256 4096 !!! " + key + " " + key + "\n", "salt"},
      {"alice SCRAM-SHA-256 4096 c2FsdA== c2hvcnQ= " + key + "\n", "key"},
      {"a/b SCRAM-SHA-256 4096 c2FsdA== " + key + " " + key + "\n", "name"},
      {good + good, "duplicate"},
  };
  for (const auto& [text, why] : bad) {
    auto r = UserDb::parse(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_NE(r.error().detail.find(why), std::string::npos) << r.error().detail;
  }
}

TEST(UserDb, DurableSaveAndLoad) {
  const auto dir = std::filesystem::temp_directory_path() / ("user_db_test." + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "users").string();
  io::AsioEnv env(io::test::test_options());
  io::test::run_task(env, [](io::AsioEnv& e, std::string p) -> rt::Task<void> {
    auto empty = co_await load_user_db(e.disk(), p);
    EXPECT_TRUE(empty.ok());
    if (empty.ok()) {
      EXPECT_EQ(empty->size(), 0u);
    }
    UserDb db;
    EXPECT_TRUE(db.add("alice", creds("wonderland")).ok());
    auto saved = co_await save_user_db(e.disk(), p, db);
    EXPECT_TRUE(saved.ok());
    auto back = co_await load_user_db(e.disk(), p);
    EXPECT_TRUE(back.ok());
    if (back.ok()) {
      EXPECT_EQ(back->serialize(), db.serialize());
    }
  }(env, path));
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  std::filesystem::remove_all(dir);
}

// The one edit path of `cloudsdial user` and the admin API: add, passwd, del against the
// file, with the errors both report (RFC 7677 credentials only: the password is not stored).
TEST(UserDb, ApplyUserEditAddPasswdDel) {
  const auto dir = std::filesystem::temp_directory_path() / ("user_edit_test." + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "users").string();
  io::AsioEnv env(io::test::test_options());
  io::test::run_task(env, [](io::AsioEnv& e, std::string p) -> rt::Task<void> {
    tls::OpenSslCrypto crypto;
    auto edit = [](UserEdit::Verb verb, std::string name, std::string password) {
      UserEdit u;
      u.verb = verb;
      u.name = std::move(name);
      u.password = std::move(password);
      return u;
    };
    Status added = co_await apply_user_edit(e.disk(), crypto, p, edit(UserEdit::Verb::add, "Carol", "one"));
    EXPECT_TRUE(added.ok());
    Status again = co_await apply_user_edit(e.disk(), crypto, p, edit(UserEdit::Verb::add, "carol", "two"));
    EXPECT_EQ(again.code(), Errc::exists);
    auto first = co_await load_user_db(e.disk(), p);
    EXPECT_TRUE(first.ok() && first->lookup("carol").has_value());
    const std::string before = first.ok() ? first->serialize() : std::string();
    EXPECT_EQ(before.find("one"), std::string::npos);  // never the password itself
    Status changed = co_await apply_user_edit(e.disk(), crypto, p, edit(UserEdit::Verb::passwd, "carol", "two"));
    EXPECT_TRUE(changed.ok());
    auto second = co_await load_user_db(e.disk(), p);
    EXPECT_TRUE(second.ok() && second->serialize() != before);
    Status bad = co_await apply_user_edit(e.disk(), crypto, p, edit(UserEdit::Verb::add, "a/b", "x"));
    EXPECT_EQ(bad.code(), Errc::invalid);
    Status empty = co_await apply_user_edit(e.disk(), crypto, p, edit(UserEdit::Verb::add, "dave", ""));
    EXPECT_EQ(empty.code(), Errc::invalid);
    Status removed = co_await apply_user_edit(e.disk(), crypto, p, edit(UserEdit::Verb::del, "CAROL", ""));
    EXPECT_TRUE(removed.ok());
    Status gone = co_await apply_user_edit(e.disk(), crypto, p, edit(UserEdit::Verb::del, "carol", ""));
    EXPECT_EQ(gone.code(), Errc::not_found);
    auto last = co_await load_user_db(e.disk(), p);
    EXPECT_TRUE(last.ok() && last->size() == 0u);
  }(env, path));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace mail::store
