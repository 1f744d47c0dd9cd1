// libFuzzer target: garbage at the TLS record boundary (RFC 8446 §5, RFC 5246 §6.2) fed
// to a server TlsEngine, in pieces whose size byte 0 picks. Must never crash, must end
// failed or waiting, and must keep its buffers within TlsLimits.
#include <cstdint>
#include <string>
#include <string_view>

#include "core/assert.h"
#include "tls/engine.h"
#include "tls/self_signed.h"

namespace {
mail::tls::TlsContext& context() {
  static auto ctx = [] {
    auto id = mail::tls::generate_self_signed("fuzz.test", mail::WallTime{1'700'000'000LL * 1'000'000}).value();
    mail::tls::TlsConfig cfg;
    cfg.cert_chain_pem = id.cert_pem;
    cfg.key_pem = id.key_pem;
    return mail::tls::TlsContext::create(mail::tls::Role::server, cfg).value();
  }();
  return *ctx;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t piece = 1 + data[0] % 64;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  mail::tls::TlsLimits lim{4096, 4096, 4096, 4096};
  mail::tls::TlsEngine e(context(), mail::tls::Role::server, {}, lim);
  for (std::size_t off = 0; off < in.size() && !e.failed();) {
    const std::size_t n = e.feed_ciphertext(in.substr(off, piece));
    (void)e.poll_ciphertext();
    (void)e.poll_plaintext();
    MAIL_ASSERT(e.buffered_bytes() <= 4 * 4096 + 16384);
    if (n == 0) break;
    off += n;
  }
  e.feed_eof();
  while (e.poll_event()) {}
  return 0;
}
