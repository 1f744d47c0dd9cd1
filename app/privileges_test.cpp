// Tests of who the server runs as (app/privileges.h): the start decision for every case of
// root / not root, account / none, public / loopback listeners and allow_root; the
// [server] user, group and allow_root keys; public-endpoint classification; and, when the
// test runs as root, giving a tree to an account without following symlinks. The drop
// itself is checked on a real process by tests/integration/test_privileges.py.
#include "app/privileges.h"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace mail::app {
namespace {

constexpr std::string_view kDomains = "[domains]\nlocal = [\"example.test\"]\n";

ServiceAccount account(uid_t uid, gid_t gid = 4242) {
  ServiceAccount a;
  a.user = "mailer";
  a.group = "mailer";
  a.uid = uid;
  a.gid = gid;
  return a;
}

TEST(StartDecision, RootWithAccountDrops) {
  EXPECT_EQ(decide_start(0, account(4242), "0.0.0.0:25", false).action, StartAction::drop);
  EXPECT_EQ(decide_start(0, account(4242), "", false).action, StartAction::drop);
}

TEST(StartDecision, RootWithoutAccountOnPublicAddressIsRefused) {
  const StartDecision d = decide_start(0, std::nullopt, "0.0.0.0:25", false);
  EXPECT_EQ(d.action, StartAction::refuse);
  EXPECT_NE(d.message.find("0.0.0.0:25"), std::string::npos) << d.message;
  EXPECT_NE(d.message.find("[server] user"), std::string::npos) << d.message;
}

TEST(StartDecision, RootWithoutAccountOnLoopbackRunsWithAWarning) {
  const StartDecision d = decide_start(0, std::nullopt, "", false);
  EXPECT_EQ(d.action, StartAction::run);
  EXPECT_NE(d.message.find("running as root"), std::string::npos) << d.message;
}

TEST(StartDecision, AllowRootRunsWithAWarning) {
  const StartDecision d = decide_start(0, std::nullopt, "[::]:25", true);
  EXPECT_EQ(d.action, StartAction::run);
  EXPECT_NE(d.message.find("allow_root"), std::string::npos) << d.message;
}

TEST(StartDecision, AccountNamingRootIsNoDrop) {
  EXPECT_EQ(decide_start(0, account(0, 0), "192.0.2.1:25", false).action, StartAction::refuse);
}

TEST(StartDecision, NotRootRunsAsIsOrMustBeTheAccount) {
  EXPECT_EQ(decide_start(1000, std::nullopt, "0.0.0.0:25", false).action, StartAction::run);
  const StartDecision same = decide_start(4242, account(4242), "0.0.0.0:25", false);
  EXPECT_EQ(same.action, StartAction::run);
  EXPECT_TRUE(same.message.empty());
  const StartDecision other = decide_start(1000, account(4242), "", false);
  EXPECT_EQ(other.action, StartAction::refuse);
  EXPECT_NE(other.message.find("uid 1000"), std::string::npos) << other.message;
}

TEST(PublicEndpoint, LoopbackAndUnixAreNotPublic) {
  EXPECT_FALSE(is_public_endpoint({"127.0.0.1", 25}));
  EXPECT_FALSE(is_public_endpoint({"127.1.2.3", 25}));
  EXPECT_FALSE(is_public_endpoint({"::1", 25}));
  EXPECT_FALSE(is_public_endpoint({"unix:/run/x.sock", 0}));
  EXPECT_TRUE(is_public_endpoint({"0.0.0.0", 25}));
  EXPECT_TRUE(is_public_endpoint({"::", 25}));
  EXPECT_TRUE(is_public_endpoint({"192.0.2.7", 587}));
}

TEST(ServerAccountKeys, ParsedValidatedAndDescribed) {
  auto ok = parse_config("[server]\nuser = \"cloudsdial\"\ngroup = \"mail\"\nallow_root = true\n" + std::string(kDomains),
                         "t.toml");
  ASSERT_TRUE(ok.ok()) << ok.error().detail;
  EXPECT_EQ(ok->user, "cloudsdial");
  EXPECT_EQ(ok->group, "mail");
  EXPECT_TRUE(ok->allow_root);
  const std::string described = describe_config(*ok);
  EXPECT_NE(described.find("user = 'cloudsdial'"), std::string::npos) << described;
  EXPECT_NE(described.find("allow_root = true"), std::string::npos) << described;

  auto bad_user = parse_config("[server]\nuser = \"no body\"\n" + std::string(kDomains), "t.toml");
  ASSERT_FALSE(bad_user.ok());
  EXPECT_NE(bad_user.error().detail.find("server.user"), std::string::npos) << bad_user.error().detail;
  auto group_alone = parse_config("[server]\ngroup = \"mail\"\n" + std::string(kDomains), "t.toml");
  ASSERT_FALSE(group_alone.ok());
  EXPECT_NE(group_alone.error().detail.find("needs server.user"), std::string::npos) << group_alone.error().detail;
  auto not_bool = parse_config("[server]\nallow_root = \"yes\"\n" + std::string(kDomains), "t.toml");
  EXPECT_FALSE(not_bool.ok());
}

TEST(ServerAccountKeys, ListenersCoverEveryService) {
  auto c = parse_config(R"([smtp]
listen = ["127.0.0.1:2525"]
submission_listen = ["0.0.0.0:587"]
[imap]
listen = ["127.0.0.1:1143"]
tls_listen = ["[::]:993"]
[domains]
local = ["example.test"]
)",
                        "t.toml");
  ASSERT_TRUE(c.ok()) << c.error().detail;
  std::vector<std::string> seen;
  for (const auto& ep : configured_listeners(*c)) seen.push_back(ep.to_string());
  EXPECT_NE(std::find(seen.begin(), seen.end(), "0.0.0.0:587"), seen.end());
  EXPECT_NE(std::find(seen.begin(), seen.end(), "[::]:993"), seen.end());
  EXPECT_NE(std::find(seen.begin(), seen.end(), "127.0.0.1:1143"), seen.end());
}

TEST(ResolveAccount, UnknownUserIsAClearError) {
  AppConfig c;
  c.user = "no-such-user-cloudsdial-test";
  auto r = resolve_service_account(c);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().detail.find("no-such-user-cloudsdial-test"), std::string::npos) << r.error().detail;
  c.user.clear();
  auto none = resolve_service_account(c);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

// Root only: a tree owned by root is given to the account, a symlink is changed itself,
// never its target; an already-given tree is left alone (nothing changed the second time).
TEST(GiveToAccount, GivesTheTreeWithoutFollowingSymlinks) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  namespace fs = std::filesystem;
  const fs::path base = fs::temp_directory_path() / ("give-test-" + std::to_string(::getpid()));
  fs::remove_all(base);
  fs::create_directories(base / "data/mail/demo");
  fs::create_directories(base / "outside");
  std::ofstream(base / "data/mail/demo/msg") << "x";
  std::ofstream(base / "outside/secret") << "y";
  fs::create_symlink(base / "outside/secret", base / "data/link");
  const ServiceAccount a = account(54321, 54321);
  auto given = give_to_account((base / "data").string(), a);
  ASSERT_TRUE(given.ok()) << given.error().detail;
  EXPECT_EQ(*given, 5u);  // data, mail, demo, msg, link
  struct stat st {};
  ASSERT_EQ(::stat((base / "data/mail/demo/msg").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 54321u);
  ASSERT_EQ(::stat((base / "outside/secret").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 0u);  // the symlink's target stays root's
  auto again = give_to_account((base / "data").string(), a);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 0u);
  // A file made as root two levels down (the queue CLI on a stopped server) is found.
  std::ofstream(base / "data/mail/late") << "z";
  auto late = give_to_account((base / "data").string(), a);
  ASSERT_TRUE(late.ok());
  EXPECT_EQ(*late, 1u);
  fs::remove_all(base);
}

}  // namespace
}  // namespace mail::app
