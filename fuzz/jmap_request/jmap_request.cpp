// libFuzzer target: the JMAP request layer (server/jmap/request.h) on arbitrary bytes.
// Byte 0 picks the mode:
//  even: the rest is a POST body for parse_request (small limits, so the limit paths run);
//        exactly one of request/error comes back, an error is a urn:ietf:params:jmap:error:
//        type whose problem_json parses back, and each call's args are resolved against a
//        fixed responses array (RFC 8620 §3.7 example): success leaves no "#" reference key
//        of the original args and sets its plain name; failure is one of the two §3.7 errors.
//  odd:  the rest is "DOC\0POINTER" (or just POINTER against the fixed responses):
//        evaluate_pointer must not crash, and on a pointer without '*' tokens and with only
//        valid ~0/~1 escapes it agrees with Boost.JSON's RFC 6901 find_pointer (except
//        where Boost accepts an empty token as an array index).
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/assert.h"
#include "jmap/request.h"

using namespace mail;
namespace json = boost::json;

namespace {

const json::array& responses() {
  static const json::array r = json::parse(R"([
    ["Email/query", {"accountId": "a", "queryState": "q1", "position": 0, "total": 3,
      "ids": ["msg1023", "msg223", "msg110"]}, "t0"],
    ["Email/get", {"accountId": "a", "state": "s1",
      "list": [{"id": "msg1023", "threadId": "trd194"}, {"id": "msg223", "threadId": "trd114"}],
      "notFound": []}, "t1"],
    ["Thread/get", {"accountId": "a", "state": "s1",
      "list": [{"id": "trd194", "emailIds": ["msg1020", "msg1023"]}, {"id": "trd114", "emailIds": ["msg223"]}],
      "notFound": []}, "t2"],
    ["error", {"type": "unknownMethod"}, "t3"],
    ["Mailbox/get", {"list": [{"id": "M1", "name": "a/b~c", "role": null, "*": [1, [2, 3]]}]}, "t0"]
  ])").as_array();
  return r;
}

// True when every token of `pointer` is comparable with plain RFC 6901: no '*' token, and
// every '~' is followed by '0' or '1'.
bool plain_rfc6901(std::string_view pointer) {
  std::size_t start = 0;
  while (start < pointer.size()) {
    const std::size_t end = std::min(pointer.find('/', start + 1), pointer.size());
    if (pointer.substr(start, end - start) == "/*") return false;
    start = end;
  }
  for (std::size_t i = 0; i < pointer.size(); ++i) {
    if (pointer[i] == '~' && (i + 1 >= pointer.size() || (pointer[i + 1] != '0' && pointer[i + 1] != '1'))) return false;
  }
  return true;
}

bool has_empty_token(std::string_view pointer) {
  for (std::size_t i = 0; i < pointer.size(); ++i) {
    if (pointer[i] == '/' && (i + 1 == pointer.size() || pointer[i + 1] == '/')) return true;
  }
  return false;
}

void check_pointer(const json::value& doc, std::string_view pointer) {
  const auto ours = jmap::evaluate_pointer(doc, pointer);
  if (!plain_rfc6901(pointer)) return;
  boost::system::error_code ec;
  const json::value* theirs = doc.find_pointer(pointer, ec);
  // What we find, Boost finds too, and the same value.
  if (ours) {
    MAIL_ASSERT(theirs != nullptr);
    MAIL_ASSERT(*ours == *theirs);
    return;
  }
  // The converse only where Boost 1.81 is strict: it takes an empty token as array index 0
  // ("//2" found [0][2]), which RFC 6901 §4 does not allow ("0" / %x31-39 *DIGIT).
  if (!has_empty_token(pointer)) MAIL_ASSERT(theirs == nullptr);
}

void check_request(std::string_view body) {
  jmap::CoreLimits limits;
  limits.max_calls_in_request = 8;
  limits.max_size_request = 16 * 1024;
  const auto parsed = jmap::parse_request(body, limits);
  MAIL_ASSERT(parsed.request.has_value() != parsed.error.has_value());
  if (parsed.error) {
    MAIL_ASSERT(parsed.error->type.starts_with("urn:ietf:params:jmap:error:"));
    MAIL_ASSERT(parsed.error->status == 400);
    const json::value problem = json::parse(jmap::problem_json(*parsed.error));
    MAIL_ASSERT(problem.at("type").as_string() == parsed.error->type);
    return;
  }
  MAIL_ASSERT(parsed.request->calls.size() <= limits.max_calls_in_request);
  for (const auto& call : parsed.request->calls) {
    json::object args = call.args;
    std::vector<std::string> refs;
    for (const auto& [key, unused] : args) {
      if (key.starts_with("#")) refs.emplace_back(key);
    }
    const auto err = jmap::resolve_references(args, responses());
    if (err) {
      MAIL_ASSERT(*err == "invalidResultReference" || *err == "invalidArguments");
      continue;
    }
    for (const auto& key : refs) {
      MAIL_ASSERT(!args.contains(key));
      MAIL_ASSERT(args.contains(key.substr(1)));
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  if ((data[0] & 1) == 0) {
    check_request(rest);
    return 0;
  }
  const auto nul = rest.find('\0');
  if (nul == std::string_view::npos) {
    check_pointer(json::value(responses()), rest);
    return 0;
  }
  boost::system::error_code ec;
  json::parse_options options;
  options.max_depth = 64;
  const json::value doc = json::parse(rest.substr(0, nul), ec, {}, options);
  if (ec) return 0;
  check_pointer(doc, rest.substr(nul + 1));
  return 0;
}
