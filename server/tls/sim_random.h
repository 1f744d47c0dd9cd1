// Deterministic OpenSSL randomness for the simulator: while a ScopedDeterministicRandom is
// alive on a thread, every random byte OpenSSL draws on that thread (key shares, ClientHello
// random, ECDSA nonces, SCRAM salts via RAND) comes from the given seeded Prng, so a TLS
// handshake inside a seeded World is reproducible. Other threads keep OpenSSL's own DRBG.
// Simulation only: production code never installs one.
#pragma once

#include "core/prng.h"

namespace mail::tls {

class ScopedDeterministicRandom {
 public:
  explicit ScopedDeterministicRandom(Prng& prng);
  ~ScopedDeterministicRandom();
  ScopedDeterministicRandom(const ScopedDeterministicRandom&) = delete;
  ScopedDeterministicRandom& operator=(const ScopedDeterministicRandom&) = delete;

 private:
  Prng* previous_;
};

}  // namespace mail::tls
