// ScopedDeterministicRandom: under the same seed, a self-signed certificate and a whole
// TLS 1.3 handshake plus application data produce identical bytes; another seed differs;
// without the scope OpenSSL's own randomness is back (two runs differ).
#include "tls/sim_random.h"

#include <gtest/gtest.h>

#include "tls/engine.h"
#include "tls/self_signed.h"

namespace mail::tls {
namespace {

constexpr WallTime kNow{1'767'225'600'000'000};

// Everything that crossed the wire, both directions, in order.
std::string run_session() {
  auto id = generate_self_signed("mx.sim.test", kNow).value();
  TlsConfig s;
  s.cert_chain_pem = id.cert_pem;
  s.key_pem = id.key_pem;
  s.session_tickets = false;
  TlsConfig c;
  c.ca_pem = id.cert_pem;
  c.verification_time = kNow;
  auto sctx = TlsContext::create(Role::server, s).value();
  auto cctx = TlsContext::create(Role::client, c).value();
  TlsEngine server(*sctx, Role::server);
  TlsEngine client(*cctx, Role::client, "mx.sim.test");
  std::string wire = id.cert_pem;
  (void)client.write_plaintext("EHLO client\r\n");
  (void)server.write_plaintext("220 mx.sim.test ESMTP\r\n");
  for (int round = 0; round < 20; ++round) {
    const std::string c2s = client.poll_ciphertext();
    const std::string s2c = server.poll_ciphertext();
    wire += c2s + s2c;
    (void)server.feed_ciphertext(c2s);
    (void)client.feed_ciphertext(s2c);
  }
  EXPECT_TRUE(client.handshake_done());
  EXPECT_TRUE(server.handshake_done());
  EXPECT_EQ(server.poll_plaintext(), "EHLO client\r\n");
  EXPECT_EQ(client.poll_plaintext(), "220 mx.sim.test ESMTP\r\n");
  return wire;
}

std::string seeded(std::uint64_t seed) {
  Prng prng(seed);
  ScopedDeterministicRandom scope(prng);
  return run_session();
}

TEST(DeterministicRandom, SameSeedSameBytes) {
  const std::string a = seeded(7);
  const std::string b = seeded(7);
  EXPECT_GT(a.size(), 1000u);
  EXPECT_EQ(a, b);
}

TEST(DeterministicRandom, OtherSeedOtherBytes) { EXPECT_NE(seeded(7), seeded(8)); }

TEST(DeterministicRandom, OutsideTheScopeOpenSslRandomnessIsBack) { EXPECT_NE(run_session(), run_session()); }

}  // namespace
}  // namespace mail::tls
