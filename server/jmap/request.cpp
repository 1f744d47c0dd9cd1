// The JMAP request envelope (see header). Must not: accept a malformed Request, run a
// method the client did not declare a capability for, or follow a pointer out of bounds.
#include "jmap/request.h"

#include <boost/json.hpp>

namespace mail::jmap {
namespace {

RequestError error(int status, std::string_view type, std::string detail, std::string limit = {}) {
  return RequestError{status, "urn:ietf:params:jmap:error:" + std::string(type), std::move(detail), std::move(limit)};
}

bool known_capability(std::string_view c) { return c == kCapCore || c == kCapMail || c == kCapSubmission; }

// RFC 6901 §4 unescaping of one reference token.
std::string unescape_token(std::string_view token) {
  std::string out;
  for (std::size_t i = 0; i < token.size(); ++i) {
    if (token[i] == '~' && i + 1 < token.size() && (token[i + 1] == '0' || token[i + 1] == '1')) {
      out += token[i + 1] == '0' ? '~' : '/';
      ++i;
    } else {
      out += token[i];
    }
  }
  return out;
}

std::optional<json::value> walk(const json::value& at, std::string_view rest) {
  if (rest.empty()) return at;
  if (rest.front() != '/') return std::nullopt;
  rest.remove_prefix(1);
  const auto slash = rest.find('/');
  const std::string token = unescape_token(rest.substr(0, slash));
  const std::string_view after = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
  if (const auto* obj = at.if_object()) {
    const auto* child = obj->if_contains(token);
    if (child == nullptr) return std::nullopt;
    return walk(*child, after);
  }
  if (const auto* arr = at.if_array()) {
    if (token == "*") {  // RFC 8620 §3.7: map over the array, flattening arrays of results
      json::array out;
      for (const auto& item : *arr) {
        auto v = walk(item, after);
        if (!v) return std::nullopt;
        if (auto* inner = v->if_array()) {
          for (auto& x : *inner) out.push_back(std::move(x));
        } else {
          out.push_back(std::move(*v));
        }
      }
      return json::value(std::move(out));
    }
    if (token.empty() || token.size() > 9 || (token.size() > 1 && token.front() == '0')) return std::nullopt;
    std::size_t index = 0;
    for (char c : token) {
      if (c < '0' || c > '9') return std::nullopt;
      index = index * 10 + static_cast<std::size_t>(c - '0');
    }
    if (index >= arr->size()) return std::nullopt;
    return walk((*arr)[index], after);
  }
  return std::nullopt;
}

}  // namespace

std::string problem_json(const RequestError& e) {
  json::object o;
  o["type"] = e.type;
  o["status"] = e.status;
  o["detail"] = e.detail;
  if (!e.limit.empty()) o["limit"] = e.limit;
  return json::serialize(o);
}

ParsedRequest parse_request(std::string_view body, const CoreLimits& limits) {
  ParsedRequest out;
  if (body.size() > limits.max_size_request) {
    out.error = error(400, "limit", "The request is larger than maxSizeRequest.", "maxSizeRequest");
    return out;
  }
  boost::system::error_code ec;
  json::parse_options options;
  options.max_depth = 64;
  json::value v = json::parse(body, ec, {}, options);
  if (ec) {
    out.error = error(400, "notJSON", "The body is not JSON: " + ec.message());
    return out;
  }
  const auto* obj = v.if_object();
  const auto* using_v = obj ? obj->if_contains("using") : nullptr;
  const auto* calls_v = obj ? obj->if_contains("methodCalls") : nullptr;
  if (using_v == nullptr || !using_v->is_array() || calls_v == nullptr || !calls_v->is_array()) {
    out.error = error(400, "notRequest", "A Request object needs the arrays \"using\" and \"methodCalls\".");
    return out;
  }
  Request r;
  for (const auto& c : using_v->get_array()) {
    if (!c.is_string()) {
      out.error = error(400, "notRequest", "\"using\" holds strings only.");
      return out;
    }
    const std::string cap(c.get_string());
    if (!known_capability(cap)) {
      out.error = error(400, "unknownCapability", "Unknown capability: " + cap);
      return out;
    }
    r.using_.push_back(cap);
  }
  if (calls_v->get_array().size() > limits.max_calls_in_request) {
    out.error = error(400, "limit", "More method calls than maxCallsInRequest.", "maxCallsInRequest");
    return out;
  }
  for (const auto& call : calls_v->get_array()) {
    const auto* inv = call.if_array();
    if (inv == nullptr || inv->size() != 3 || !(*inv)[0].is_string() || !(*inv)[1].is_object() ||
        !(*inv)[2].is_string()) {
      out.error = error(400, "notRequest", "An Invocation is [name, arguments, method call id].");
      return out;
    }
    r.calls.push_back(Invocation{std::string((*inv)[0].get_string()), (*inv)[1].get_object(),
                                 std::string((*inv)[2].get_string())});
  }
  if (const auto* created = obj->if_contains("createdIds")) {
    if (!created->is_object()) {
      out.error = error(400, "notRequest", "\"createdIds\" is an object.");
      return out;
    }
    r.created_ids = created->get_object();
  }
  out.request = std::move(r);
  return out;
}

std::optional<json::value> evaluate_pointer(const json::value& root, std::string_view pointer) {
  return walk(root, pointer);
}

std::optional<std::string> resolve_references(json::object& args, const json::array& responses) {
  std::vector<std::string> refs;
  for (const auto& [key, unused] : args) {
    if (!key.empty() && key.front() == '#') refs.emplace_back(key);
  }
  for (const auto& key : refs) {
    const std::string plain = key.substr(1);
    if (args.contains(plain)) return "invalidArguments";  // both "foo" and "#foo" (§3.7)
    const auto* ref = args.at(key).if_object();
    const auto* of = ref ? ref->if_contains("resultOf") : nullptr;
    const auto* name = ref ? ref->if_contains("name") : nullptr;
    const auto* path = ref ? ref->if_contains("path") : nullptr;
    if (of == nullptr || !of->is_string() || name == nullptr || !name->is_string() || path == nullptr ||
        !path->is_string()) {
      return "invalidResultReference";
    }
    const json::value* found = nullptr;
    for (const auto& response : responses) {
      const auto& inv = response.get_array();
      if (inv[2].get_string() == of->get_string()) {
        if (inv[0].get_string() == name->get_string()) found = &inv[1];
        break;  // the first response with that call id is the one (§3.7)
      }
    }
    if (found == nullptr) return "invalidResultReference";
    auto value = evaluate_pointer(*found, path->get_string());
    if (!value) return "invalidResultReference";
    args.erase(key);
    args[plain] = std::move(*value);
  }
  return std::nullopt;
}

}  // namespace mail::jmap
