// Tests only: one self-signed identity for "mx.test" (generated once per test binary) and
// a server context that presents it and a client context that trusts it, for the node
// tests that run real TLS over loopback (TlsStream, SmtpClientConnection STARTTLS).
#pragma once

#include <memory>

#include "tls/context.h"
#include "tls/self_signed.h"

namespace mail::node::test {

inline constexpr const char* kTestTlsHostname = "mx.test";

inline const tls::SelfSigned& identity() {
  static const tls::SelfSigned id = tls::generate_self_signed(kTestTlsHostname, WallTime{1'767'225'600'000'000}).value();
  return id;
}

struct TlsContexts {
  TlsContexts() {
    tls::TlsConfig s;
    s.cert_chain_pem = identity().cert_pem;
    s.key_pem = identity().key_pem;
    server = tls::TlsContext::create(tls::Role::server, s).value();
    tls::TlsConfig c;
    c.ca_pem = identity().cert_pem;
    client = tls::TlsContext::create(tls::Role::client, c).value();
  }
  std::shared_ptr<tls::TlsContext> server, client;
};

}  // namespace mail::node::test
