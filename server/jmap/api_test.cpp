// jmap::Api over a real IndexedStore (io::AsioEnv, real files under /tmp, the store tests'
// setup): a fresh account's role Mailboxes (RFC 8621 §2), Core/echo (RFC 8620 §4), Email/set
// create + Email/get round trip (RFC 8621 §4.6, §4.2), Email/query sort, position and anchor
// (RFC 8620 §5.5, RFC 8621 §4.4), and Mailbox/set create/rename/destroy with mailboxHasEmail
// (RFC 8621 §2.5). Each request goes through Api::call as the HTTP layer sends it.
#include "jmap/api.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <boost/json.hpp>
#include <filesystem>
#include <optional>
#include <set>
#include <stdexcept>

#include "io/asio_env.h"
#include "io/io_test_util.h"
#include "store/index/indexed_store.h"

namespace mail::jmap {
namespace {

namespace fs = std::filesystem;
constexpr const char* kUser = "alice";

class JmapApiTest : public ::testing::Test {
 protected:
  JmapApiTest() : env_(io::test::seeded_options("mx.example.test", 7)) {}
  void SetUp() override {
    std::string tmpl = "/tmp/jmap_api_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    store::IndexedStoreConfig config;
    config.data_dir = root_;
    store_ = std::make_unique<store::IndexedStore>(env_, config);
    ApiConfig api_config;
    api_config.now_unix = [] { return std::int64_t{1733600000}; };
    api_config.address_of = [](std::string_view user) { return std::string(user) + "@example.test"; };
    api_ = std::make_unique<Api>(*store_, nullptr, api_config);
    auto made = run(store_->ensure_mailbox(kUser));
    ASSERT_TRUE(made.ok());
  }
  void TearDown() override {
    api_.reset();
    store_.reset();
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  template <class T>
  T run(rt::Task<T> task) {
    std::optional<T> out;
    io::test::run_task(env_, [](rt::Task<T> t, std::optional<T>* o) -> rt::Task<void> {
      o->emplace(co_await std::move(t));
    }(std::move(task), &out));
    if (!out) throw std::runtime_error("call did not finish");
    return std::move(*out);
  }

  // POSTs {using, methodCalls} and returns the methodResponses.
  json::array call(json::array method_calls) {
    json::object request{{"using", json::array{kCapCore, kCapMail, kCapSubmission}},
                         {"methodCalls", std::move(method_calls)}};
    HttpResult r = run(api_->call(kUser, json::serialize(request)));
    EXPECT_EQ(r.status, 200) << r.body;
    json::value v = json::parse(r.body);
    return v.at("methodResponses").as_array();
  }
  // One call; its arguments (fails the test on an error response).
  json::object one(std::string_view name, json::object args) {
    args["accountId"] = Api::account_id(kUser);
    json::array responses = call(json::array{json::array{name, std::move(args), "c0"}});
    EXPECT_FALSE(responses.empty());
    if (responses.empty()) return {};
    EXPECT_EQ(responses[0].at(0).as_string(), name) << json::serialize(responses[0]);
    return responses[0].at(1).as_object();
  }

  std::string mailbox(std::string_view role) {
    const json::object res = one("Mailbox/get", {{"ids", nullptr}});
    for (const auto& m : res.at("list").as_array()) {
      if (m.at("role").is_string() && m.at("role").as_string() == role) return std::string(m.at("id").as_string());
    }
    ADD_FAILURE() << "no mailbox with role " << role;
    return {};
  }

  // Creates an Email in `mailbox_id`; returns its id.
  std::string create_email(const std::string& mailbox_id, std::string_view subject, std::string_view received_at) {
    json::object email{{"mailboxIds", json::object{{mailbox_id, true}}},
                       {"from", json::array{json::object{{"name", "Bob"}, {"email", "bob@example.test"}}}},
                       {"to", json::array{json::object{{"email", "alice@example.test"}}}},
                       {"subject", subject},
                       {"receivedAt", received_at},
                       {"bodyValues", json::object{{"t", json::object{{"value", "Body of " + std::string(subject)}}}}},
                       {"textBody", json::array{json::object{{"partId", "t"}, {"type", "text/plain"}}}}};
    json::object res = one("Email/set", {{"create", json::object{{"k", std::move(email)}}}});
    const auto* created = res.at("created").as_object().if_contains("k");
    EXPECT_NE(created, nullptr) << json::serialize(res);
    return created ? std::string(created->at("id").as_string()) : std::string();
  }

  io::AsioEnv env_;
  std::string root_;
  std::unique_ptr<store::IndexedStore> store_;
  std::unique_ptr<Api> api_;
};

TEST_F(JmapApiTest, Rfc8621_2_FreshAccountHasTheRoleMailboxes) {
  json::object res = one("Mailbox/get", {{"ids", nullptr}});
  std::set<std::string> roles;
  for (const auto& m : res.at("list").as_array()) {
    if (m.at("role").is_string()) roles.insert(std::string(m.at("role").as_string()));
    EXPECT_TRUE(m.at("id").is_string());
    EXPECT_EQ(m.at("totalEmails"), 0);
    EXPECT_TRUE(m.at("myRights").at("mayReadItems").as_bool());
  }
  EXPECT_EQ(roles, (std::set<std::string>{"inbox", "drafts", "sent", "trash", "junk", "archive"}));
  EXPECT_TRUE(res.at("state").is_string());
}

TEST_F(JmapApiTest, Rfc8620_4_CoreEchoReturnsItsArguments) {
  const json::object args{{"hello", true}, {"list", json::array{1, "two", nullptr}}};
  json::array responses = call(json::array{json::array{"Core/echo", args, "e1"}});
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_EQ(responses[0], (json::array{"Core/echo", args, "e1"}));
}

TEST_F(JmapApiTest, Rfc8620_3_3_MethodOfAnUndeclaredCapabilityIsUnknownMethod) {
  json::object request{{"using", json::array{kCapCore}},
                       {"methodCalls", json::array{json::array{"Mailbox/get", json::object{}, "m"}}}};
  HttpResult r = run(api_->call(kUser, json::serialize(request)));
  ASSERT_EQ(r.status, 200);
  const json::value v = json::parse(r.body);
  EXPECT_EQ(v.at("methodResponses").at(0).at(0), "error");
  EXPECT_EQ(v.at("methodResponses").at(0).at(1).at("type"), "unknownMethod");
}

TEST_F(JmapApiTest, Rfc8621_4_6_EmailSetCreateThenGetRoundTrips) {
  const std::string inbox = mailbox("inbox");
  const std::string id = create_email(inbox, "Round trip", "2024-05-01T12:00:00Z");
  ASSERT_FALSE(id.empty());
  json::object got = one("Email/get", {{"ids", json::array{id}},
                                       {"properties", json::array{"subject", "from", "mailboxIds", "keywords",
                                                                  "receivedAt", "textBody", "bodyValues"}},
                                       {"fetchTextBodyValues", true}});
  ASSERT_EQ(got.at("list").as_array().size(), 1u) << json::serialize(got);
  const json::object& e = got.at("list").at(0).as_object();
  EXPECT_EQ(e.at("subject"), "Round trip");
  EXPECT_EQ(e.at("from"), json::parse(R"([{"name": "Bob", "email": "bob@example.test"}])"));
  EXPECT_EQ(e.at("mailboxIds"), (json::object{{inbox, true}}));
  EXPECT_EQ(e.at("keywords"), json::object{});
  EXPECT_EQ(e.at("receivedAt"), "2024-05-01T12:00:00Z");
  const auto part = e.at("textBody").at(0).at("partId").as_string();
  EXPECT_TRUE(e.at("bodyValues").at(part).at("value").as_string().starts_with("Body of Round trip"));
}

TEST_F(JmapApiTest, Rfc8621_4_4_EmailQuerySortPositionAndAnchor) {
  const std::string inbox = mailbox("inbox");
  const std::string a = create_email(inbox, "first", "2024-01-01T00:00:00Z");
  const std::string b = create_email(inbox, "second", "2024-02-01T00:00:00Z");
  const std::string c = create_email(inbox, "third", "2024-03-01T00:00:00Z");
  const json::array newest_first{json::object{{"property", "receivedAt"}, {"isAscending", false}}};
  const json::array oldest_first{json::object{{"property", "receivedAt"}, {"isAscending", true}}};
  EXPECT_EQ(one("Email/query", {{"sort", newest_first}}).at("ids"), (json::array{c, b, a}));
  EXPECT_EQ(one("Email/query", {{"sort", oldest_first}}).at("ids"), (json::array{a, b, c}));
  // RFC 8620 §5.5 position: the 0-based index of the first id returned.
  json::object window = one("Email/query", {{"sort", newest_first}, {"position", 1}, {"limit", 1},
                                            {"calculateTotal", true}});
  EXPECT_EQ(window.at("ids"), (json::array{b}));
  EXPECT_EQ(window.at("position"), 1);
  EXPECT_EQ(window.at("total"), 3);
  // A negative position counts from the end.
  EXPECT_EQ(one("Email/query", {{"sort", newest_first}, {"position", -1}}).at("ids"), (json::array{a}));
  // anchor + anchorOffset replace position.
  json::object anchored = one("Email/query", {{"sort", newest_first}, {"anchor", b}, {"anchorOffset", 0}});
  EXPECT_EQ(anchored.at("ids"), (json::array{b, a}));
  EXPECT_EQ(anchored.at("position"), 1);
  EXPECT_EQ(one("Email/query", {{"sort", newest_first}, {"anchor", a}, {"anchorOffset", -1}}).at("ids"),
            (json::array{b, a}));
  json::array missing = call(json::array{json::array{
      "Email/query", json::object{{"accountId", Api::account_id(kUser)}, {"anchor", "Enope"}}, "q"}});
  EXPECT_EQ(missing.at(0).at(0), "error");
  EXPECT_EQ(missing.at(0).at(1).at("type"), "anchorNotFound");
}

TEST_F(JmapApiTest, Rfc8621_2_5_MailboxSetCreateRenameDestroy) {
  json::object created = one("Mailbox/set", {{"create", json::object{{"k", json::object{{"name", "Projects"}}}}}});
  ASSERT_TRUE(created.at("created").as_object().contains("k")) << json::serialize(created);
  const std::string id(created.at("created").at("k").at("id").as_string());
  json::object renamed = one("Mailbox/set", {{"update", json::object{{id, json::object{{"name", "Work"}}}}}});
  EXPECT_TRUE(renamed.at("updated").as_object().contains(id)) << json::serialize(renamed);
  json::object got = one("Mailbox/get", {{"ids", json::array{id}}});
  ASSERT_EQ(got.at("list").as_array().size(), 1u);
  EXPECT_EQ(got.at("list").at(0).at("name"), "Work");
  EXPECT_TRUE(got.at("list").at(0).at("role").is_null());
  // A Mailbox holding an Email is not destroyed without onDestroyRemoveEmails.
  ASSERT_FALSE(create_email(id, "kept", "2024-01-01T00:00:00Z").empty());
  json::object refused = one("Mailbox/set", {{"destroy", json::array{id}}});
  EXPECT_EQ(refused.at("notDestroyed").at(id).at("type"), "mailboxHasEmail") << json::serialize(refused);
  json::object destroyed = one("Mailbox/set", {{"destroy", json::array{id}}, {"onDestroyRemoveEmails", true}});
  EXPECT_EQ(destroyed.at("destroyed"), (json::array{id})) << json::serialize(destroyed);
  EXPECT_EQ(one("Mailbox/get", {{"ids", json::array{id}}}).at("notFound"), (json::array{id}));
}

}  // namespace
}  // namespace mail::jmap
