// HttpServer: the HTTP service over the shared ListenerService (see header). Must not:
// touch Asio or Beast, read the OS clock or keep global state.
#include "node/http_server.h"

#include "node/http/session_adapter.h"

namespace mail::node {

namespace {

ListenerServiceConfig listener_config(const HttpServerConfig& c) {
  ListenerServiceConfig l;
  l.connection.read_buffer_bytes = c.read_buffer_bytes;
  l.connection.write_timeout = c.write_timeout;
  l.connection.tls_handshake_timeout = c.tls_handshake_timeout;
  l.limits = c.connections;
  l.force_close_grace = c.force_close_grace;
  return l;
}

}  // namespace

HttpServer::HttpServer(rt::Env& env, HttpServerConfig config)
    : env_(env), config_(std::move(config)), service_(env, "http", listener_config(config_), *this) {}

HttpServer::~HttpServer() = default;

Status HttpServer::bind() {
  std::vector<ListenerSpec> specs;
  for (const auto& at : config_.listen)
    specs.push_back(ListenerSpec{at, static_cast<std::uint8_t>(HttpListenerKind::http), "http", false});
  for (const auto& at : config_.listen_tls)
    specs.push_back(ListenerSpec{at, static_cast<std::uint8_t>(HttpListenerKind::https), "https", true});
  return service_.bind(std::move(specs));
}

Status HttpServer::start() {
  if (!service_.bound_already()) {
    if (Status bound = bind(); !bound.ok()) return bound;
  }
  return service_.start();
}

std::unique_ptr<DrivenSession> HttpServer::open_session(Connection& connection, const ConnectionInfo&) {
  http::SessionConfig c;
  c.limits = config_.limits;
  c.wall_at_start = env_.clock().wall_now();
  return std::make_unique<HttpSessionAdapter>(*this, connection, std::move(c), env_.clock().now());
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
