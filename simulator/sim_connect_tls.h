// connect_tls: the first steps of a simulated IMAP or POP3 client session, written once:
// connect to s.plan.server and run the client TLS handshake (implicit TLS, the sim's
// certificate name), each before s.config.command_timeout. On success s.stream is the TLS
// stream and s.stats.tls_sessions counts it; a refused connect counts in
// s.stats.connect_failures; a failed handshake marks the session dead. Logs through s.log.
#pragma once

#include <string>

#include "core/assert.h"
#include "node/smtp_client_connection.h"
#include "runtime/await.h"
#include "runtime/task.h"
#include "sim_tls.h"

namespace mail::sim {

template <class Session>
rt::Task<bool> connect_tls(Session& s) {
  auto conn = co_await rt::connect(s.env.net(), s.plan.server, s.now() + s.config.command_timeout);
  if (!conn) {
    ++s.stats.connect_failures;
    s.log("connect failed: " + std::string(to_string(conn.code())));
    co_return false;
  }
  s.stream = std::move(*conn);
  MAIL_ASSERT(s.config.tls_client != nullptr);
  auto up = co_await node::client_tls_handshake(s.env, s.stream, *s.config.tls_client, kSimTlsHostname,
                                                s.now() + s.config.command_timeout);
  if (!up) {
    s.log("TLS handshake failed");
    s.dead = true;
    co_return false;
  }
  ++s.stats.tls_sessions;
  co_return true;
}

}  // namespace mail::sim
