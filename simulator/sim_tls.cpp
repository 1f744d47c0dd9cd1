// make_sim_tls / client_tls_handshake (see header).
#include "sim_tls.h"

#include "core/assert.h"
#include "node/tls_stream.h"
#include "tls/self_signed.h"
#include "tls/sim_random.h"
#include "world.h"

namespace mail::sim {

SimTls make_sim_tls(Prng& prng) {
  tls::ScopedDeterministicRandom scope(prng);
  const WallTime epoch{kWallEpochUnixSeconds * 1'000'000};
  auto id = tls::generate_self_signed(kSimTlsHostname, epoch, 3650);
  MAIL_ASSERT(id.ok());
  tls::TlsConfig s;
  s.cert_chain_pem = id->cert_pem;
  s.key_pem = id->key_pem;
  s.session_tickets = false;
  tls::TlsConfig c;
  c.ca_pem = id->cert_pem;
  c.verification_time = WallTime{(kWallEpochUnixSeconds + 86'400) * 1'000'000};
  SimTls out;
  out.server = std::shared_ptr<tls::TlsContext>(tls::TlsContext::create(tls::Role::server, s).value());
  out.client = std::shared_ptr<tls::TlsContext>(tls::TlsContext::create(tls::Role::client, c).value());
  return out;
}

rt::Task<bool> client_tls_handshake(rt::Env& env, std::unique_ptr<rt::Stream>& stream, tls::TlsContext& context,
                                    Instant deadline) {
  auto t = std::make_unique<node::TlsStream>(
      env.executor(), std::move(stream), std::make_unique<tls::TlsEngine>(context, tls::Role::client, kSimTlsHostname));
  node::TlsStream& ts = *t;
  stream = std::move(t);
  auto done = co_await rt::async_op<tls::ev::HandshakeDone>(
      [&ts, deadline](rt::Completion<tls::ev::HandshakeDone> c) { ts.async_handshake(deadline, std::move(c)); });
  if (!done.ok()) {
    stream->close();
    co_return false;
  }
  co_return true;
}

}  // namespace mail::sim
