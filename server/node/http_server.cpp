// HttpServer: the HTTP service over the shared ListenerService (see header). Must not:
// touch Asio or Beast, read the OS clock or keep global state.
#include "node/http_server.h"

#include "node/http/session_adapter.h"

namespace mail::node {

HttpServer::HttpServer(rt::Env& env, HttpServerConfig config)
    : env_(env),
      config_(std::move(config)),
      rate_limiter_(config_.rate_limit),
      service_(env, "http", basic_listener_config(config_), *this) {}

HttpServer::~HttpServer() = default;

std::vector<ListenerSpec> HttpServer::listener_specs() const {
  std::vector<ListenerSpec> specs;
  add_listener_specs(specs, config_.listen, static_cast<std::uint8_t>(HttpListenerKind::http), "http", false);
  add_listener_specs(specs, config_.listen_tls, static_cast<std::uint8_t>(HttpListenerKind::https), "https", true);
  return specs;
}

Status HttpServer::bind() { return service_.bind(listener_specs()); }

Status HttpServer::start() { return service_.bind_once_and_start(listener_specs()); }

std::unique_ptr<DrivenSession> HttpServer::open_session(Connection& connection, const ConnectionInfo& info) {
  http::SessionConfig c;
  c.limits = config_.limits;
  c.wall_at_start = env_.clock().wall_now();
  return std::make_unique<HttpSessionAdapter>(*this, connection, info, std::move(c), env_.clock().now());
}

std::string HttpServer::refusal_bytes(std::string_view) const {
  return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 21\r\n"
         "Connection: close\r\n\r\nToo many connections\n";
}

HttpServerCounters HttpServer::counters() const noexcept {
  HttpServerCounters c = counters_;
  static_cast<ListenerCounters&>(c) = service_.counters();
  return c;
}

}  // namespace mail::node
