// HttpSessionAdapter: the HTTP application side of one connection. It runs a sans-IO
// http::ServerSession under the generic node::Connection driver and answers each request
// by routing it (HttpRouter) as a job of the connection; the session writes the answers
// in request order. Env only. Internal to HttpServer.
#pragma once

#include <cstdint>
#include <string>

#include "http/server_session.h"
#include "node/connection.h"
#include "node/driven_session.h"
#include "node/http_server.h"

namespace mail::node {

class HttpSessionAdapter final : public DrivenSession {
 public:
  HttpSessionAdapter(HttpServer& server, Connection& connection, http::SessionConfig config, Instant now)
      : server_(server), connection_(connection), session_(std::move(config), now) {}

  std::size_t feed(std::string_view in, Instant now) override { return session_.feed(in, now); }
  void feed_eof(Instant now) override { session_.feed_eof(now); }
  std::optional<proto::Output> poll_output() override { return session_.poll_output(); }
  std::optional<Instant> poll_timeout() const override { return session_.poll_timeout(); }
  void handle_timeout(Instant now) override { session_.handle_timeout(now); }
  void tls_established(Instant) override {}  // HTTPS is implicit TLS only: no upgrade
  void shutdown(Instant now, bool force) override { session_.shutdown(now, force); }
  bool closed() const override { return session_.closed(); }
  bool dispatch_events(Instant now) override;
  std::size_t buffered_bytes() const override { return session_.buffered_bytes(); }
  std::string_view state_name() const override { return http::to_string(session_.state()); }
  std::string summary() const override { return "requests=" + std::to_string(session_.requests()); }

 private:
  rt::Task<Connection::JobResult> handle(std::uint64_t id, http::Request request);

  HttpServer& server_;
  Connection& connection_;
  http::ServerSession session_;
};

}  // namespace mail::node
