// ListenerService: the accept side of a protocol service, written once for SMTP, IMAP,
// POP3 and HTTP. It binds the listeners (plain and implicit-TLS ports), admits each
// connection through ConnectionLimits (per-IP and total caps; over them a protocol-worded
// refusal, or a plain close under a flood or on a TLS port), runs one node::Connection per
// admitted client, and shuts down gracefully: stop accepting, ask every session to finish,
// force the goodbye at a deadline, close what is left after a grace. Env only: no Asio, no
// clock but env.clock(), no globals. Must outlive its tasks (destroy after stop()).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "node/connection.h"
#include "node/connection_limits.h"
#include "node/wakeup.h"
#include "runtime/env.h"
#include "runtime/task.h"
#include "tls/context.h"

namespace mail::node {

// One listening socket: where, what the protocol calls it, and whether TLS starts at once.
struct ListenerSpec {
  rt::Endpoint at;         // port 0 = ephemeral (see bound())
  std::uint8_t kind = 0;   // the protocol's tag, handed to its sessions (ConnectionInfo)
  std::string label;       // "submission", for log lines
  bool implicit_tls = false;
};

struct ListenerServiceConfig {
  ConnectionConfig connection;
  ConnectionLimitsConfig limits;
  Duration refuse_write_timeout = 2s;         // the refusal to a connection over the caps
  std::uint32_t refusals_in_flight_max = 64;  // beyond: refused connections just close
  Duration accept_retry_delay = 100ms;        // after EMFILE & co.
  Duration force_close_grace = 2s;            // after the forced goodbye, streams are closed
};

struct ListenerCounters : ConnectionCounters {
  std::uint64_t connections_accepted = 0;
  std::uint64_t connections_refused = 0;
};

// What a protocol adds to the listener: its sessions and the words of a refusal.
class ServiceProtocol : public SessionFactory {
 public:
  // The bytes sent instead of a session to a client over the caps (SMTP "421 4.7.0 ...").
  virtual std::string refusal_bytes(std::string_view why) const = 0;
};

// Appends one spec per endpoint of a protocol's listen list (plain or implicit TLS).
void add_listener_specs(std::vector<ListenerSpec>& specs, const std::vector<rt::Endpoint>& endpoints,
                        std::uint8_t kind, std::string_view label, bool implicit_tls);

// The client address is a loopback one, as the servers judge it for `auth_plaintext_on_loopback`.
bool is_loopback_address(std::string_view address);

// The ListenerServiceConfig fields every protocol server's config carries under the same
// names (SMTP sets its extra ones after this).
template <class ServerConfig>
ListenerServiceConfig basic_listener_config(const ServerConfig& c) {
  ListenerServiceConfig l;
  l.connection.read_buffer_bytes = c.read_buffer_bytes;
  l.connection.write_timeout = c.write_timeout;
  l.connection.tls_handshake_timeout = c.tls_handshake_timeout;
  l.limits = c.connections;
  l.force_close_grace = c.force_close_grace;
  return l;
}

class ListenerService {
 public:
  // `name` prefixes the log lines ("smtp: listening on ...").
  ListenerService(rt::Env& env, std::string name, ListenerServiceConfig config, ServiceProtocol& protocol);
  ~ListenerService();
  ListenerService(const ListenerService&) = delete;
  ListenerService& operator=(const ListenerService&) = delete;

  // Binds every spec in order (listening, not yet accepting). On error nothing is bound and
  // the error names the endpoint. Call once. Lets a server claim its ports before it
  // creates anything on disk, so a busy port leaves nothing behind.
  [[nodiscard]] Status bind(std::vector<ListenerSpec> specs);
  // Starts accepting on what bind() bound. An implicit-TLS spec needs a TLS context by
  // now (else nothing accepts, and the error says which). Call once, after bind().
  [[nodiscard]] Status start();
  bool bound_already() const noexcept { return bound_called_; }
  // A protocol server's start(): binds `specs` first unless bind() ran already, then start().
  [[nodiscard]] Status bind_once_and_start(std::vector<ListenerSpec> specs);

  // The bound endpoints, in spec order (the real port when 0 was asked).
  const std::vector<rt::Endpoint>& bound() const noexcept { return bound_; }
  const ListenerSpec& spec(std::size_t i) const { return specs_.at(i); }

  // The certificate for STARTTLS and implicit TLS; null = none. Replaced on reload:
  // connections keep the context they started with.
  void set_tls(std::shared_ptr<tls::TlsContext> context) { tls_ = std::move(context); }
  const std::shared_ptr<tls::TlsContext>& tls() const noexcept { return tls_; }

  // Graceful shutdown (see the file comment); completes when every connection, refusal and
  // accept loop is gone. Call once.
  rt::Task<void> stop(Instant deadline);

  std::size_t connection_count() const noexcept { return connections_.size(); }
  const ListenerCounters& counters() const noexcept { return counters_; }
  const ListenerServiceConfig& config() const noexcept { return config_; }

 private:
  rt::Task<void> accept_loop(rt::Listener& listener, std::size_t spec_index);
  void on_accepted(std::unique_ptr<rt::Stream> stream, std::size_t spec_index);
  rt::Task<void> run_connection(std::unique_ptr<rt::Stream> stream, std::uint64_t id, std::size_t spec_index);
  rt::Task<void> refuse(std::unique_ptr<rt::Stream> stream, std::string bytes);
  void close_listeners();
  bool idle() const noexcept { return accept_loops_ == 0 && connections_.empty() && refusals_in_flight_ == 0; }

  rt::Env& env_;
  std::string name_;
  ListenerServiceConfig config_;
  ServiceProtocol& protocol_;
  ConnectionLimits limits_;
  std::vector<ListenerSpec> specs_;
  std::vector<std::unique_ptr<rt::Listener>> listeners_;
  std::vector<rt::Endpoint> bound_;
  std::shared_ptr<tls::TlsContext> tls_;
  std::map<std::uint64_t, Connection*> connections_;  // ordered: deterministic shutdown
  std::uint64_t next_connection_id_ = 1;
  std::uint32_t accept_loops_ = 0;
  std::uint32_t refusals_in_flight_ = 0;
  bool bound_called_ = false;
  bool started_ = false;
  bool stopping_ = false;
  Wakeup stop_wakeup_;
  ListenerCounters counters_;
};

}  // namespace mail::node
