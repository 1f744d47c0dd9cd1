// HttpRouter (see header). Must not: answer a wrong method with 404, or forget Allow on 405.
#include "node/http/router.h"

namespace mail::node {

void HttpRouter::add(std::string method, std::string path, Handler handler) {
  routes_[std::move(path)][std::move(method)] = std::move(handler);
}

rt::Task<http::Response> HttpRouter::route(http::Request request) const {
  const auto path = routes_.find(request.path());
  if (path == routes_.end()) co_return http::text_response(404, "Not found\n");
  const auto& methods = path->second;
  auto handler = methods.find(request.method);
  if (handler == methods.end() && request.method == "HEAD") handler = methods.find("GET");
  if (handler == methods.end()) {
    std::string allow;
    for (const auto& [method, unused] : methods) {
      allow += allow.empty() ? "" : ", ";
      allow += method;
      if (method == "GET" && !methods.contains("HEAD")) allow += ", HEAD";
    }
    http::Response refused = http::text_response(405, "Method not allowed\n");
    refused.headers.push_back(http::Header{"Allow", allow});
    co_return refused;
  }
  rt::Task<http::Response> answer = handler->second(std::move(request));
  http::Response response = co_await std::move(answer);
  co_return response;
}

}  // namespace mail::node
