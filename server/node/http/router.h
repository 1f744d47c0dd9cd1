// http::Router (node side): maps (method, path) to an async handler. Handlers see plain
// http::Request / http::Response (no Beast, no Asio) and run as jobs of their connection,
// so JMAP, webmail and admin handlers plug in here later. An unknown path gets 404, a
// known path with another method 405 with Allow (RFC 9110 §15.5.6); HEAD is served by
// the GET handler (the session drops the body, RFC 9110 §9.3.2). Env only.
#pragma once

#include <functional>
#include <map>
#include <string>

#include "http/message.h"
#include "runtime/task.h"

namespace mail::node {

class HttpRouter {
 public:
  using Handler = std::function<rt::Task<http::Response>(http::Request)>;

  // Exact path match ("/metrics"); one handler per (method, path).
  void add(std::string method, std::string path, Handler handler);
  // The handler's response, or 404 / 405.
  rt::Task<http::Response> route(http::Request request) const;

 private:
  std::map<std::string, std::map<std::string, Handler>, std::less<>> routes_;  // path -> method -> handler
};

}  // namespace mail::node
