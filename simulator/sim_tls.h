// TLS inside the simulator: one certificate per World, generated from the World's seed
// (tls::ScopedDeterministicRandom), a server context without session tickets (they carry
// the wall clock) and a client context that trusts it with verification pinned to the
// simulated epoch; plus the client side of STARTTLS for simulated sessions. With the
// World's OpenSSL randomness scoped to its seed, TLS runs are byte-for-byte reproducible.
#pragma once

#include <memory>
#include <string>

#include "core/prng.h"
#include "runtime/env.h"
#include "runtime/task.h"
#include "tls/context.h"

namespace mail::sim {

inline constexpr const char* kSimTlsHostname = "mx.sim.test";  // the certificate's name (SNI)

struct SimTls {
  std::shared_ptr<tls::TlsContext> server;
  std::shared_ptr<tls::TlsContext> client;
};

// Draws the key from `prng` (installed as OpenSSL's randomness for the call).
SimTls make_sim_tls(Prng& prng);

// Wraps `stream` in a client TlsStream and runs the handshake; false on failure (the
// stream is then closed). The caller calls ClientSession::tls_established() on success.
rt::Task<bool> client_tls_handshake(rt::Env& env, std::unique_ptr<rt::Stream>& stream, tls::TlsContext& context,
                                    Instant deadline);

}  // namespace mail::sim
