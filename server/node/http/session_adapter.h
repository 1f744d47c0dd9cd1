// HttpSessionAdapter: the HTTP application side of one connection. It runs a sans-IO
// http::ServerSession under the generic node::Connection driver and answers each request
// by routing it (HttpRouter) as a job of the connection; the session writes the answers
// in request order; a streamed answer's body (an event stream) is pulled from its
// HttpBodyStream by a job that delivers each piece. Env only. Internal to HttpServer.
#pragma once

#include <cstdint>
#include <string>

#include "http/server_session.h"
#include "node/connection.h"
#include "node/driven_session.h"
#include "node/http_server.h"
#include "node/listener_service.h"

namespace mail::node {

class HttpSessionAdapter final : public DrivenSession {
 public:
  HttpSessionAdapter(HttpServer& server, Connection& connection, const ConnectionInfo& info,
                     http::SessionConfig config, Instant now)
      : server_(server), connection_(connection), peer_(info.remote.address), secure_(info.tls),
        rate_limited_(server.config().rate_limit.limit_loopback || !is_loopback_address(peer_)),
        session_(std::move(config), now) {}
  ~HttpSessionAdapter() override;

  std::size_t feed(std::string_view in, Instant now) override { return session_.feed(in, now); }
  void feed_eof(Instant now) override;
  std::optional<proto::Output> poll_output() override { return session_.poll_output(); }
  std::optional<Instant> poll_timeout() const override { return session_.poll_timeout(); }
  void handle_timeout(Instant now) override { session_.handle_timeout(now); }
  void tls_established(Instant) override {}  // HTTPS is implicit TLS only: no upgrade
  void shutdown(Instant now, bool force) override;
  bool closed() const override { return session_.closed(); }
  bool dispatch_events(Instant now) override;
  std::size_t buffered_bytes() const override { return session_.buffered_bytes(); }
  std::string_view state_name() const override { return http::to_string(session_.state()); }
  std::string summary() const override { return "requests=" + std::to_string(session_.requests()); }

 private:
  rt::Task<Connection::JobResult> handle(std::uint64_t id, http::Request request);
  rt::Task<Connection::JobResult> pump_stream();
  void cancel_stream();

  HttpServer& server_;
  Connection& connection_;
  std::string peer_;
  bool secure_ = false;
  bool rate_limited_ = true;  // the per-IP request rate applies (not a loopback peer, or it does)
  http::ServerSession session_;
  std::unique_ptr<HttpBodyStream> stream_;  // the streamed answer's body, once its head is out

};

}  // namespace mail::node
