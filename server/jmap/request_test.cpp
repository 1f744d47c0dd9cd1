// The JMAP request envelope (server/jmap/request.h): RFC 8620 §3.3 Request parsing and its
// request-level errors (§3.6.1), §3.7 result references with the RFC's own examples, and
// JSON Pointer (RFC 6901) escapes. A property checks evaluate_pointer against random trees.
#include "jmap/request.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <boost/json.hpp>
#include <string>
#include <vector>

namespace mail::jmap {
namespace {

constexpr std::string_view kErr = "urn:ietf:params:jmap:error:";

std::string error_type(std::string_view body, const CoreLimits& limits = {}) {
  const auto parsed = parse_request(body, limits);
  if (!parsed.error) return "";
  EXPECT_FALSE(parsed.request.has_value());
  EXPECT_EQ(parsed.error->type.rfind(kErr, 0), 0u) << parsed.error->type;
  return parsed.error->type.substr(kErr.size());
}

// --- RFC 8620 §3.3 / §3.6.1: the Request object and request-level errors ----------------

TEST(JmapRequest, Rfc8620_3_3_ParsesRequestObject) {
  const auto parsed = parse_request(R"({"using":["urn:ietf:params:jmap:core","urn:ietf:params:jmap:mail"],
    "methodCalls":[["Mailbox/get",{"accountId":"A1","ids":null},"c1"],["Email/query",{},"c2"]],
    "createdIds":{"k1":"M12"}})",
                                    {});
  ASSERT_FALSE(parsed.error) << parsed.error->detail;
  ASSERT_TRUE(parsed.request);
  const Request& r = *parsed.request;
  EXPECT_EQ(r.using_, (std::vector<std::string>{"urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail"}));
  ASSERT_EQ(r.calls.size(), 2u);
  EXPECT_EQ(r.calls[0].name, "Mailbox/get");
  EXPECT_EQ(r.calls[0].call_id, "c1");
  EXPECT_EQ(r.calls[0].args.at("accountId"), "A1");
  EXPECT_TRUE(r.calls[0].args.at("ids").is_null());
  EXPECT_EQ(r.calls[1].name, "Email/query");
  EXPECT_EQ(r.calls[1].call_id, "c2");
  ASSERT_TRUE(r.created_ids);
  EXPECT_EQ(r.created_ids->at("k1"), "M12");
}

TEST(JmapRequest, Rfc8620_3_3_EmptyMethodCallsIsARequest) {
  const auto parsed = parse_request(R"({"using":[],"methodCalls":[]})", {});
  ASSERT_TRUE(parsed.request);
  EXPECT_TRUE(parsed.request->calls.empty());
  EXPECT_FALSE(parsed.request->created_ids);
}

TEST(JmapRequest, Rfc8620_3_6_1_NotJson) {
  EXPECT_EQ(error_type(""), "notJSON");
  EXPECT_EQ(error_type("{"), "notJSON");
  EXPECT_EQ(error_type(R"({"using":[],"methodCalls":[]} trailing)"), "notJSON");
  EXPECT_EQ(error_type("{'using':[]}"), "notJSON");
  // Nesting deeper than the parser's budget is refused, not recursed into.
  EXPECT_EQ(error_type(std::string(10000, '[') + std::string(10000, ']')), "notJSON");
  const auto parsed = parse_request("nope", {});
  ASSERT_TRUE(parsed.error);
  EXPECT_EQ(parsed.error->status, 400);
}

TEST(JmapRequest, Rfc8620_3_6_1_NotRequestShapes) {
  for (const char* body : {
           R"([])",
           R"("string")",
           R"(42)",
           R"({})",
           R"({"using":[]})",
           R"({"methodCalls":[]})",
           R"({"using":"urn:ietf:params:jmap:core","methodCalls":[]})",
           R"({"using":[],"methodCalls":{}})",
           R"({"using":[1],"methodCalls":[]})",
           R"({"using":[],"methodCalls":[["Mailbox/get",{}]]})",                  // 2 elements
           R"({"using":[],"methodCalls":[["Mailbox/get",{},"c1","extra"]]})",     // 4 elements
           R"({"using":[],"methodCalls":[[1,{},"c1"]]})",                         // name not a string
           R"({"using":[],"methodCalls":[["Mailbox/get",[],"c1"]]})",             // args not an object
           R"({"using":[],"methodCalls":[["Mailbox/get",{},1]]})",                // call id not a string
           R"({"using":[],"methodCalls":["Mailbox/get"]})",                       // not an Invocation
           R"({"using":[],"methodCalls":[],"createdIds":[]})",                    // createdIds not a map
       }) {
    EXPECT_EQ(error_type(body), "notRequest") << body;
  }
}

TEST(JmapRequest, Rfc8620_3_6_1_UnknownCapability) {
  EXPECT_EQ(error_type(R"({"using":["urn:ietf:params:jmap:core","urn:example:nope"],"methodCalls":[]})"),
            "unknownCapability");
  // Capabilities are compared exactly (no case folding, no prefix match).
  EXPECT_EQ(error_type(R"({"using":["URN:IETF:PARAMS:JMAP:CORE"],"methodCalls":[]})"), "unknownCapability");
  EXPECT_EQ(error_type(R"({"using":["urn:ietf:params:jmap:core:x"],"methodCalls":[]})"), "unknownCapability");
  EXPECT_EQ(error_type(R"({"using":["urn:ietf:params:jmap:submission"],"methodCalls":[]})"), "");
}

TEST(JmapRequest, Rfc8620_3_6_1_LimitMaxCallsInRequest) {
  CoreLimits limits;
  limits.max_calls_in_request = 3;
  auto body = [](int n) {
    std::string calls;
    for (int i = 0; i < n; ++i) calls += std::string(i ? "," : "") + R"(["Core/echo",{},"c)" + std::to_string(i) + "\"]";
    return R"({"using":["urn:ietf:params:jmap:core"],"methodCalls":[)" + calls + "]}";
  };
  EXPECT_EQ(error_type(body(3), limits), "");
  const auto parsed = parse_request(body(4), limits);
  ASSERT_TRUE(parsed.error);
  EXPECT_EQ(parsed.error->type, "urn:ietf:params:jmap:error:limit");
  EXPECT_EQ(parsed.error->limit, "maxCallsInRequest");
  EXPECT_EQ(parsed.error->status, 400);
}

TEST(JmapRequest, Rfc8620_3_6_1_LimitMaxSizeRequest) {
  CoreLimits limits;
  const std::string body = R"({"using":[],"methodCalls":[]})";
  limits.max_size_request = body.size();
  EXPECT_EQ(error_type(body, limits), "");
  limits.max_size_request = body.size() - 1;
  const auto parsed = parse_request(body, limits);
  ASSERT_TRUE(parsed.error);
  EXPECT_EQ(parsed.error->type, "urn:ietf:params:jmap:error:limit");
  EXPECT_EQ(parsed.error->limit, "maxSizeRequest");
  // The size limit is checked before parsing: an oversized non-JSON body is a limit error.
  EXPECT_EQ(error_type(std::string(body.size(), 'x'), limits), "limit");
}

TEST(JmapRequest, Rfc8620_3_6_1_ProblemDetailsRfc7807) {
  const auto parsed = parse_request(R"({"using":["urn:x"],"methodCalls":[]})", {});
  ASSERT_TRUE(parsed.error);
  const json::value v = json::parse(problem_json(*parsed.error));
  EXPECT_EQ(v.at("type"), "urn:ietf:params:jmap:error:unknownCapability");
  EXPECT_EQ(v.at("status"), 400);
  EXPECT_TRUE(v.at("detail").is_string());
  EXPECT_FALSE(v.as_object().contains("limit"));
  RequestError limit{400, "urn:ietf:params:jmap:error:limit", "too many", "maxCallsInRequest"};
  EXPECT_EQ(json::parse(problem_json(limit)).at("limit"), "maxCallsInRequest");
}

// --- RFC 8620 §3.7: result references ---------------------------------------------------

// The responses of the §3.7 example (t0 Email/query, t1 Email/get, t2 Thread/get).
json::array rfc_example_responses() {
  return json::parse(R"([
    ["Email/query", {"accountId": "a", "queryState": "abcdefg", "canCalculateChanges": true,
      "position": 0, "total": 101,
      "ids": ["msg1023", "msg223", "msg110", "msg93", "msg91", "msg38", "msg36", "msg33", "msg11", "msg1"]}, "t0"],
    ["Email/get", {"accountId": "a", "state": "123456",
      "list": [{"id": "msg1023", "threadId": "trd194"}, {"id": "msg223", "threadId": "trd114"}],
      "notFound": []}, "t1"],
    ["Thread/get", {"accountId": "a", "state": "123456",
      "list": [{"id": "trd194", "emailIds": ["msg1020", "msg1021", "msg1023"]},
               {"id": "trd114", "emailIds": ["msg201", "msg223"]}],
      "notFound": []}, "t2"]
  ])")
      .as_array();
}

TEST(JmapResultReference, Rfc8620_3_7_ExampleEmailQueryIdsIntoEmailGet) {
  json::object args = json::parse(R"({"accountId": "a",
    "#ids": {"resultOf": "t0", "name": "Email/query", "path": "/ids"}, "properties": ["threadId"]})")
                          .as_object();
  EXPECT_EQ(resolve_references(args, rfc_example_responses()), std::nullopt);
  EXPECT_FALSE(args.contains("#ids"));
  EXPECT_EQ(args.at("ids"), json::parse(R"(["msg1023", "msg223", "msg110", "msg93", "msg91", "msg38",
    "msg36", "msg33", "msg11", "msg1"])"));
  EXPECT_EQ(args.at("properties"), json::parse(R"(["threadId"])"));
}

TEST(JmapResultReference, Rfc8620_3_7_ExampleListStarThreadId) {
  json::object args =
      json::parse(R"({"accountId": "a", "#ids": {"resultOf": "t1", "name": "Email/get", "path": "/list/*/threadId"}})")
          .as_object();
  EXPECT_EQ(resolve_references(args, rfc_example_responses()), std::nullopt);
  EXPECT_EQ(args.at("ids"), json::parse(R"(["trd194", "trd114"])"));
}

TEST(JmapResultReference, Rfc8620_3_7_ExampleListStarEmailIdsFlattens) {
  json::object args = json::parse(R"({"accountId": "a",
    "#ids": {"resultOf": "t2", "name": "Thread/get", "path": "/list/*/emailIds"},
    "properties": ["from", "receivedAt", "subject"]})")
                          .as_object();
  EXPECT_EQ(resolve_references(args, rfc_example_responses()), std::nullopt);
  // "the result is flattened from an array of arrays to a single array"
  EXPECT_EQ(args.at("ids"), json::parse(R"(["msg1020", "msg1021", "msg1023", "msg201", "msg223"])"));
}

TEST(JmapResultReference, Rfc8620_3_7_SeveralReferencesInOneCall) {
  json::object args = json::parse(R"({
    "#ids": {"resultOf": "t0", "name": "Email/query", "path": "/ids/0"},
    "#state": {"resultOf": "t1", "name": "Email/get", "path": "/state"}})")
                          .as_object();
  EXPECT_EQ(resolve_references(args, rfc_example_responses()), std::nullopt);
  EXPECT_EQ(args.at("ids"), "msg1023");
  EXPECT_EQ(args.at("state"), "123456");
  EXPECT_EQ(args.size(), 2u);
}

TEST(JmapResultReference, Rfc8620_3_7_WrongNameIsInvalidResultReference) {
  json::object args =
      json::parse(R"({"#ids": {"resultOf": "t0", "name": "Email/get", "path": "/ids"}})").as_object();
  EXPECT_EQ(resolve_references(args, rfc_example_responses()), "invalidResultReference");
}

TEST(JmapResultReference, Rfc8620_3_7_MissingCallIdIsInvalidResultReference) {
  json::object args =
      json::parse(R"({"#ids": {"resultOf": "t9", "name": "Email/query", "path": "/ids"}})").as_object();
  EXPECT_EQ(resolve_references(args, rfc_example_responses()), "invalidResultReference");
  json::object none = json::parse(R"({"#ids": {"resultOf": "t0", "name": "Email/query", "path": "/ids"}})").as_object();
  EXPECT_EQ(resolve_references(none, json::array{}), "invalidResultReference");
}

TEST(JmapResultReference, Rfc8620_3_7_FirstResponseWithTheCallIdCounts) {
  // Two responses share a call id (a method may answer more than once, §3.4): the first is
  // used, and its name must match.
  const json::array responses = json::parse(R"([
    ["Email/set", {"created": {}}, "c1"],
    ["Email/get", {"list": []}, "c1"]])")
                                    .as_array();
  json::object args = json::parse(R"({"#x": {"resultOf": "c1", "name": "Email/get", "path": "/list"}})").as_object();
  EXPECT_EQ(resolve_references(args, responses), "invalidResultReference");
  json::object ok = json::parse(R"({"#x": {"resultOf": "c1", "name": "Email/set", "path": "/created"}})").as_object();
  EXPECT_EQ(resolve_references(ok, responses), std::nullopt);
  EXPECT_TRUE(ok.at("x").is_object());
}

TEST(JmapResultReference, Rfc8620_3_7_BadPathIsInvalidResultReference) {
  for (const char* path : {"/nope", "ids", "/ids/10", "/ids/-", "/ids/01", "/ids/x", "/list/*/nope",
                           "/total/0", "/ids/*/x"}) {
    json::object args = {{"#ids", {{"resultOf", "t0"}, {"name", "Email/query"}, {"path", path}}}};
    if (std::string_view(path).starts_with("/list")) args["#ids"].as_object()["resultOf"] = "t1";
    if (std::string_view(path).starts_with("/list")) args["#ids"].as_object()["name"] = "Email/get";
    EXPECT_EQ(resolve_references(args, rfc_example_responses()), "invalidResultReference") << path;
  }
}

TEST(JmapResultReference, Rfc8620_3_7_MalformedResultReferenceObject) {
  for (const char* ref : {R"("t0")", R"({})", R"({"resultOf": "t0", "name": "Email/query"})",
                          R"({"resultOf": "t0", "path": "/ids"})", R"({"name": "Email/query", "path": "/ids"})",
                          R"({"resultOf": 1, "name": "Email/query", "path": "/ids"})",
                          R"({"resultOf": "t0", "name": "Email/query", "path": 0})"}) {
    json::object args;
    args["#ids"] = json::parse(ref);
    EXPECT_EQ(resolve_references(args, rfc_example_responses()), "invalidResultReference") << ref;
  }
}

TEST(JmapResultReference, Rfc8620_3_7_PlainAndReferencedSameNameIsInvalidArguments) {
  // "If the argument object contains the same argument name in normal and referenced form
  // (e.g., "foo" and "#foo"), the method MUST return an "invalidArguments" error."
  json::object args = json::parse(R"({"ids": ["msg1"],
    "#ids": {"resultOf": "t0", "name": "Email/query", "path": "/ids"}})")
                          .as_object();
  EXPECT_EQ(resolve_references(args, rfc_example_responses()), "invalidArguments");
}

TEST(JmapResultReference, Rfc8620_3_7_NoReferencesLeavesArgsAlone) {
  json::object args = json::parse(R"({"accountId": "a", "ids": ["x"], "filter": {"#not": 1}})").as_object();
  const json::object before = args;
  EXPECT_EQ(resolve_references(args, rfc_example_responses()), std::nullopt);
  EXPECT_EQ(args, before);
}

// --- RFC 6901 JSON Pointer --------------------------------------------------------------

// RFC 6901 §5's example document.
const json::value& rfc6901_doc() {
  static const json::value doc = json::parse(R"({
    "foo": ["bar", "baz"], "": 0, "a/b": 1, "c%d": 2, "e^f": 3, "g|h": 4,
    "i\\j": 5, "k\"l": 6, " ": 7, "m~n": 8, "~1": 9})");
  return doc;
}

TEST(JsonPointer, Rfc6901_5_Examples) {
  const json::value& doc = rfc6901_doc();
  EXPECT_EQ(evaluate_pointer(doc, ""), doc);
  EXPECT_EQ(evaluate_pointer(doc, "/foo"), json::parse(R"(["bar","baz"])"));
  EXPECT_EQ(evaluate_pointer(doc, "/foo/0"), json::value("bar"));
  EXPECT_EQ(evaluate_pointer(doc, "/foo/1"), json::value("baz"));
  EXPECT_EQ(evaluate_pointer(doc, "/"), json::value(0));
  EXPECT_EQ(evaluate_pointer(doc, "/a~1b"), json::value(1));
  EXPECT_EQ(evaluate_pointer(doc, "/c%d"), json::value(2));
  EXPECT_EQ(evaluate_pointer(doc, "/e^f"), json::value(3));
  EXPECT_EQ(evaluate_pointer(doc, "/g|h"), json::value(4));
  EXPECT_EQ(evaluate_pointer(doc, "/i\\j"), json::value(5));
  EXPECT_EQ(evaluate_pointer(doc, "/k\"l"), json::value(6));
  EXPECT_EQ(evaluate_pointer(doc, "/ "), json::value(7));
  EXPECT_EQ(evaluate_pointer(doc, "/m~0n"), json::value(8));
}

TEST(JsonPointer, Rfc6901_4_EscapesDecodeLeftToRight) {
  // "~01" is "~1" (first ~0 -> ~, then a literal 1), never "/".
  EXPECT_EQ(evaluate_pointer(rfc6901_doc(), "/~01"), json::value(9));
  EXPECT_EQ(evaluate_pointer(rfc6901_doc(), "/a/b"), std::nullopt);  // unescaped '/' splits
  // §3: "~" is only ever "~0" or "~1"; anything else is a pointer that does not conform.
  EXPECT_EQ(evaluate_pointer(rfc6901_doc(), "/m~n"), std::nullopt);
  EXPECT_EQ(evaluate_pointer(rfc6901_doc(), "/m~2n"), std::nullopt);
  EXPECT_EQ(evaluate_pointer(rfc6901_doc(), "/m~"), std::nullopt);
  json::object args = json::parse(R"({"#x": {"resultOf": "c", "name": "Core/echo", "path": "/a~b"}})").as_object();
  const json::array responses = json::parse(R"([["Core/echo", {"a~b": 1}, "c"]])").as_array();
  EXPECT_EQ(resolve_references(args, responses), "invalidResultReference");
}

TEST(JsonPointer, Rfc6901_4_ArrayIndexes) {
  const json::value doc = json::parse(R"({"a": [10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]})");
  EXPECT_EQ(evaluate_pointer(doc, "/a/10"), json::value(20));
  EXPECT_EQ(evaluate_pointer(doc, "/a/11"), std::nullopt);
  EXPECT_EQ(evaluate_pointer(doc, "/a/-"), std::nullopt);    // the nonexistent element after the last
  EXPECT_EQ(evaluate_pointer(doc, "/a/01"), std::nullopt);   // leading zeros are not an index
  EXPECT_EQ(evaluate_pointer(doc, "/a/"), std::nullopt);
  EXPECT_EQ(evaluate_pointer(doc, "/a/+1"), std::nullopt);
  EXPECT_EQ(evaluate_pointer(doc, "/a/99999999999999999999"), std::nullopt);
  EXPECT_EQ(evaluate_pointer(doc, "a"), std::nullopt);        // must start with '/'
  EXPECT_EQ(evaluate_pointer(doc, "/a/0/x"), std::nullopt);   // through a number
}

TEST(JsonPointer, Rfc8620_3_7_StarMapsOnlyOverArrays) {
  const json::value doc = json::parse(R"({"*": 1, "l": [{"v": [1, 2]}, {"v": 3}, {"v": []}]})");
  EXPECT_EQ(evaluate_pointer(doc, "/*"), json::value(1));  // on an object '*' is a member name
  EXPECT_EQ(evaluate_pointer(doc, "/l/*/v"), json::parse("[1, 2, 3]"));
  EXPECT_EQ(evaluate_pointer(doc, "/l/*"), doc.at("l"));
  EXPECT_EQ(evaluate_pointer(json::parse(R"({"l": []})"), "/l/*/v"), json::parse("[]"));
  EXPECT_EQ(evaluate_pointer(doc, "/l/*/w"), std::nullopt);  // missing in some item
}

// Property: for a random JSON tree and a random walk down it, the pointer built from the
// walk (member names escaped per RFC 6901 §3) evaluates to the member reached.
json::value random_tree(int depth) {
  const int kind = *rc::gen::inRange(0, depth > 0 ? 5 : 3);
  switch (kind) {
    case 0: return json::value(*rc::gen::arbitrary<std::int64_t>());
    case 1: return json::value(*rc::gen::arbitrary<bool>());
    case 2: {
      const auto s = *rc::gen::container<std::string>(rc::gen::elementOf(std::string("ab~/*0 ")));
      return json::value(s);
    }
    case 3: {
      json::array a;
      const int n = *rc::gen::inRange(0, 12);
      for (int i = 0; i < n; ++i) a.push_back(random_tree(depth - 1));
      return a;
    }
    default: {
      json::object o;
      const int n = *rc::gen::inRange(0, 5);
      for (int i = 0; i < n; ++i) {
        const auto key = *rc::gen::container<std::string>(rc::gen::elementOf(std::string("ab~/*01")));
        o[key] = random_tree(depth - 1);
      }
      return o;
    }
  }
}

std::string escape_token(std::string_view key) {
  std::string out;
  for (char c : key) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return out;
}

RC_GTEST_PROP(JsonPointer, Rfc6901_PointerFromARealPathFindsTheMember, ()) {
  const json::value root = random_tree(4);
  const json::value* at = &root;
  std::string pointer;
  while (*rc::gen::inRange(0, 4) != 0) {
    if (const auto* o = at->if_object(); o && !o->empty()) {
      auto it = o->begin() + *rc::gen::inRange<std::ptrdiff_t>(0, static_cast<std::ptrdiff_t>(o->size()));
      pointer += "/" + escape_token(it->key());
      at = &it->value();
    } else if (const auto* a = at->if_array(); a && !a->empty()) {
      const auto i = *rc::gen::inRange<std::size_t>(0, a->size());
      pointer += "/" + std::to_string(i);
      at = &(*a)[i];
    } else {
      break;
    }
  }
  const auto found = evaluate_pointer(root, pointer);
  RC_ASSERT(found.has_value());
  RC_ASSERT(*found == *at);
}

}  // namespace
}  // namespace mail::jmap
