// make_sim_tls (see header).
#include "sim_tls.h"

#include "core/assert.h"
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

const SimTls& shared_sim_tls() {
  static const SimTls tls = [] {
    Prng prng(0x5117'7150'ce27'0001ULL);
    return make_sim_tls(prng);
  }();
  return tls;
}

}  // namespace mail::sim
