// HttpServer: the HTTP service — a ListenerService (accept, admission, shutdown: shared
// with SMTP, IMAP and POP3) whose connections run the generic node::Connection driver
// around a sans-IO http::ServerSession (http/session_adapter.h); every request is routed
// by an HttpRouter to an async handler run as a job of its connection. Listeners: plain
// HTTP and implicit TLS (HTTPS) with the mail ports' certificate. Routes today: GET
// /metrics (node/http/metrics.h, added by MailServer). JMAP, webmail and the admin API are
// not served yet. Env only: no Asio, no clock but env.clock(), no globals. Destroy only
// after stop().
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "http/message.h"
#include "node/http/router.h"
#include "node/listener_service.h"
#include "runtime/env.h"
#include "runtime/task.h"
#include "tls/context.h"

namespace mail::node {

enum class HttpListenerKind : std::uint8_t { http, https };

struct HttpServerConfig {
  std::vector<rt::Endpoint> listen;      // HttpListenerKind::http
  std::vector<rt::Endpoint> listen_tls;  // HttpListenerKind::https (needs TLS)
  http::Limits limits;                   // header/body sizes, pipelining, request/idle timeouts
  // HTTP Basic and the JMAP login without TLS from loopback peers (as [imap] has it).
  bool auth_plaintext_on_loopback = true;
  ConnectionLimitsConfig connections;
  std::uint32_t read_buffer_bytes = 16 * 1024;
  Duration write_timeout = 5min;
  Duration tls_handshake_timeout = 30s;
  Duration force_close_grace = 2s;
};

struct HttpServerCounters : ListenerCounters {
  std::uint64_t requests = 0;          // parsed requests handed to the router
  std::uint64_t client_errors = 0;     // 4xx answered by a handler or the router
  std::uint64_t server_errors = 0;     // 5xx
};

class HttpSessionAdapter;

class HttpServer final : private ServiceProtocol {
 public:
  HttpServer(rt::Env& env, HttpServerConfig config);
  ~HttpServer() override;
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  [[nodiscard]] Status bind();
  [[nodiscard]] Status start();
  rt::Task<void> stop(Instant deadline) { return service_.stop(deadline); }

  HttpRouter& router() noexcept { return router_; }
  const std::vector<rt::Endpoint>& bound_endpoints() const noexcept { return service_.bound(); }
  // "http" or "https" for bound_endpoints()[i].
  const std::string& bound_label(std::size_t i) const { return service_.spec(i).label; }
  void set_tls(std::shared_ptr<tls::TlsContext> context) { service_.set_tls(std::move(context)); }
  std::size_t connection_count() const noexcept { return service_.connection_count(); }
  HttpServerCounters counters() const noexcept;
  const HttpServerConfig& config() const noexcept { return config_; }

 private:
  friend class HttpSessionAdapter;
  std::vector<ListenerSpec> listener_specs() const;
  std::unique_ptr<DrivenSession> open_session(Connection& connection, const ConnectionInfo& info) override;
  std::string refusal_bytes(std::string_view why) const override;

  rt::Env& env_;
  HttpServerConfig config_;
  HttpRouter router_;
  ListenerService service_;
  HttpServerCounters counters_;
};

}  // namespace mail::node
