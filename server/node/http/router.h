// http::Router (node side): maps (method, path) to an async handler. Handlers see plain
// http::Request / http::Response (no Beast, no Asio) and run as jobs of their connection,
// so JMAP, webmail and admin handlers plug in here later. An unknown path gets 404, a
// known path with another method 405 with Allow (RFC 9110 §15.5.6); HEAD is served by
// the GET handler (the session drops the body, RFC 9110 §9.3.2). Env only.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "http/message.h"
#include "runtime/task.h"

namespace mail::node {

// The body of a streamed answer (http::Response::streamed): the connection asks next()
// for each piece until it returns an empty string (the end). cancel() is called when the
// connection is closing (the reader left, shutdown): next() must then complete soon.
class HttpBodyStream {
 public:
  virtual ~HttpBodyStream() = default;
  virtual rt::Task<std::string> next() = 0;
  virtual void cancel() = 0;
};

// What a handler answers: a response, and for a streamed one its body.
struct HttpAnswer {
  http::Response response;
  std::unique_ptr<HttpBodyStream> stream;  // set exactly when response.streamed
};

class HttpRouter {
 public:
  using Handler = std::function<rt::Task<http::Response>(http::Request)>;
  using StreamHandler = std::function<rt::Task<HttpAnswer>(http::Request)>;

  // Exact path match ("/metrics"); one handler per (method, path).
  void add(std::string method, std::string path, Handler handler);
  // Every path that starts with `prefix` ("/jmap/download/"), when no exact path matched;
  // the longest prefix wins.
  void add_prefix(std::string method, std::string prefix, Handler handler);
  // A handler that may answer with a streamed body (GET /jmap/eventsource).
  void add_stream(std::string method, std::string path, StreamHandler handler);
  // The handler's answer, or 404 / 405.
  rt::Task<HttpAnswer> route(http::Request request) const;

 private:
  using Methods = std::map<std::string, StreamHandler>;
  const Methods* find(std::string_view path) const;

  std::map<std::string, Methods, std::less<>> routes_;    // path -> method -> handler
  std::map<std::string, Methods, std::less<>> prefixes_;  // prefix -> method -> handler
};

}  // namespace mail::node
