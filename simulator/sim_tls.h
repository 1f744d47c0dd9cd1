// TLS inside the simulator: one certificate per World, generated from the World's seed
// (tls::ScopedDeterministicRandom), a server context without session tickets (they carry
// the wall clock) and a client context that trusts it with verification pinned to the
// simulated epoch. Simulated clients run STARTTLS through node::SmtpClientConnection with
// kSimTlsHostname as the server name. With the World's OpenSSL randomness scoped to its
// seed, TLS runs are byte-for-byte reproducible.
#pragma once

#include <memory>
#include <string>

#include "core/prng.h"
#include "tls/context.h"

namespace mail::sim {

inline constexpr const char* kSimTlsHostname = "mx.sim.test";  // the certificate's name (SNI)

struct SimTls {
  std::shared_ptr<tls::TlsContext> server;
  std::shared_ptr<tls::TlsContext> client;
};

// Draws the key from `prng` (installed as OpenSSL's randomness for the call).
SimTls make_sim_tls(Prng& prng);

// One certificate and pair of contexts for every World of this process, made once (on
// first use, thread-safe) from a fixed seed: generating a key and loading two contexts was
// a third of a small scenario's run (fuzz/sim_world runs thousands of Worlds). Sharing is
// safe: the contexts are never changed after creation, issue no session tickets, and no
// simulated client resumes a session, so nothing one World does reaches another.
const SimTls& shared_sim_tls();

}  // namespace mail::sim
