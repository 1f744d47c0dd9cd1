// HttpRouter (see header). Must not: answer a wrong method with 404, or forget Allow on 405.
#include "node/http/router.h"

#include "core/assert.h"

namespace mail::node {
namespace {

HttpRouter::StreamHandler plain(HttpRouter::Handler handler) {
  return [handler = std::move(handler)](http::Request request) -> rt::Task<HttpAnswer> {
    rt::Task<http::Response> answer = handler(std::move(request));
    HttpAnswer out;
    out.response = co_await std::move(answer);
    co_return out;
  };
}

HttpAnswer answer_of(http::Response response) {
  HttpAnswer out;
  out.response = std::move(response);
  return out;
}

}  // namespace

void HttpRouter::add(std::string method, std::string path, Handler handler) {
  routes_[std::move(path)][std::move(method)] = plain(std::move(handler));
}

void HttpRouter::add_prefix(std::string method, std::string prefix, Handler handler) {
  prefixes_[std::move(prefix)][std::move(method)] = plain(std::move(handler));
}

void HttpRouter::add_stream(std::string method, std::string path, StreamHandler handler) {
  routes_[std::move(path)][std::move(method)] = std::move(handler);
}

const HttpRouter::Methods* HttpRouter::find(std::string_view path) const {
  if (const auto exact = routes_.find(path); exact != routes_.end()) return &exact->second;
  const Methods* best = nullptr;
  std::size_t best_size = 0;
  for (const auto& [prefix, methods] : prefixes_) {
    if (path.starts_with(prefix) && prefix.size() >= best_size) {
      best = &methods;
      best_size = prefix.size();
    }
  }
  return best;
}

rt::Task<HttpAnswer> HttpRouter::route(http::Request request) const {
  const Methods* methods = find(request.path());
  if (methods == nullptr) co_return answer_of(http::text_response(404, "Not found\n"));
  auto handler = methods->find(request.method);
  if (handler == methods->end() && request.method == "HEAD") handler = methods->find("GET");
  if (handler == methods->end()) {
    std::string allow;
    for (const auto& [method, unused] : *methods) {
      allow += allow.empty() ? "" : ", ";
      allow += method;
      if (method == "GET" && !methods->contains("HEAD")) allow += ", HEAD";
    }
    http::Response refused = http::text_response(405, "Method not allowed\n");
    refused.headers.push_back(http::Header{"Allow", allow});
    co_return answer_of(std::move(refused));
  }
  rt::Task<HttpAnswer> answer = handler->second(std::move(request));
  HttpAnswer out = co_await std::move(answer);
  MAIL_ASSERT(out.response.streamed == (out.stream != nullptr));
  co_return out;
}

}  // namespace mail::node
