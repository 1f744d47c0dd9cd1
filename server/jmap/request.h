// The JMAP request envelope (RFC 8620 §3): parsing a Request object, resolving result
// references (§3.7, JSON Pointer RFC 6901 with the '*' array map), and the problem details
// of request-level errors (§3.6.1, RFC 7807). Pure: no I/O, no store.
#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mail::jmap {

namespace json = boost::json;

inline constexpr std::string_view kCapCore = "urn:ietf:params:jmap:core";
inline constexpr std::string_view kCapMail = "urn:ietf:params:jmap:mail";
inline constexpr std::string_view kCapSubmission = "urn:ietf:params:jmap:submission";

// The limits advertised in the Session's core capability (RFC 8620 §2) and enforced.
struct CoreLimits {
  std::uint64_t max_size_upload = 50 * 1024 * 1024;
  std::uint32_t max_concurrent_upload = 4;
  std::uint64_t max_size_request = 10 * 1024 * 1024;
  std::uint32_t max_concurrent_requests = 8;
  std::uint32_t max_calls_in_request = 32;
  std::uint32_t max_objects_in_get = 500;
  std::uint32_t max_objects_in_set = 500;
};

struct Invocation {
  std::string name;    // "Email/get"
  json::object args;
  std::string call_id;
};

struct Request {
  std::vector<std::string> using_;
  std::vector<Invocation> calls;
  std::optional<json::object> created_ids;  // creation id -> id (RFC 8620 §3.3)
};

// A request-level error (RFC 8620 §3.6.1): an HTTP status and a problem details body.
struct RequestError {
  int status = 400;
  std::string type;    // "urn:ietf:params:jmap:error:notJSON"
  std::string detail;
  std::string limit;   // for type ...:limit, the limit's name
};
[[nodiscard]] std::string problem_json(const RequestError& e);

// Parses the body of a POST to the API URL. Errors: notJSON, notRequest, limit
// (maxSizeRequest, maxCallsInRequest), unknownCapability (a "using" entry we lack).
struct ParsedRequest {
  std::optional<Request> request;
  std::optional<RequestError> error;
};
[[nodiscard]] ParsedRequest parse_request(std::string_view body, const CoreLimits& limits);

// Resolves the "#name" arguments of `args` against the responses so far (RFC 8620 §3.7).
// Returns the error type ("invalidResultReference", "invalidArguments") or nullopt.
[[nodiscard]] std::optional<std::string> resolve_references(json::object& args, const json::array& responses);

// RFC 6901 JSON Pointer with '*' (RFC 8620 §3.7): nullopt when the path does not apply.
[[nodiscard]] std::optional<json::value> evaluate_pointer(const json::value& root, std::string_view pointer);

}  // namespace mail::jmap
