// TlsContext: SSL_CTX set-up. Only here do certificate/key files get read.
#include "tls/context.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "core/assert.h"

namespace mail::tls {

struct ContextAccess {
  static const std::string& alpn(const TlsContext& c) { return c.alpn_wire_; }
};

std::string openssl_error_text(std::string_view what) {
  std::string out(what);
  char buf[256];
  while (const unsigned long e = ERR_get_error()) {
    ERR_error_string_n(e, buf, sizeof buf);
    out += out.empty() ? "" : ": ";
    out += buf;
  }
  return out;
}

namespace {

int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned int inlen, void* arg) {
  const auto* ctx = static_cast<const TlsContext*>(arg);
  const std::string& ours = ContextAccess::alpn(*ctx);
  unsigned char* sel = nullptr;
  const int r = SSL_select_next_proto(&sel, outlen, reinterpret_cast<const unsigned char*>(ours.data()),
                                      static_cast<unsigned int>(ours.size()), in, inlen);
  if (r != OPENSSL_NPN_NEGOTIATED) return SSL_TLSEXT_ERR_ALERT_FATAL;  // RFC 7301 §3.2
  *out = sel;
  return SSL_TLSEXT_ERR_OK;
}

Status load_pem_chain(SSL_CTX* ctx, const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  MAIL_ASSERT(bio != nullptr);
  X509* leaf = PEM_read_bio_X509_AUX(bio, nullptr, nullptr, nullptr);
  Status st;
  if (leaf == nullptr || SSL_CTX_use_certificate(ctx, leaf) != 1) {
    st = fail(Errc::invalid, openssl_error_text("certificate"));
  } else {
    SSL_CTX_clear_chain_certs(ctx);
    while (X509* ca = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
      if (SSL_CTX_add0_chain_cert(ctx, ca) != 1) { X509_free(ca); break; }
    }
    ERR_clear_error();  // the loop ends on "no start line"
  }
  X509_free(leaf);
  BIO_free(bio);
  return st;
}

Status load_pem_key(SSL_CTX* ctx, const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  MAIL_ASSERT(bio != nullptr);
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (key == nullptr) return fail(Errc::invalid, openssl_error_text("private key"));
  const int ok = SSL_CTX_use_PrivateKey(ctx, key);
  EVP_PKEY_free(key);
  if (ok != 1) return fail(Errc::invalid, openssl_error_text("private key"));
  return {};
}

Status load_ca_pem(SSL_CTX* ctx, const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  MAIL_ASSERT(bio != nullptr);
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  int n = 0;
  while (X509* ca = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
    if (X509_STORE_add_cert(store, ca) == 1) ++n;
    X509_free(ca);
  }
  ERR_clear_error();
  BIO_free(bio);
  if (n == 0) return fail(Errc::invalid, "CA PEM holds no certificate");
  return {};
}

Status configure(SSL_CTX* ctx, Role role, const TlsConfig& cfg) {
  // TLS 1.2 minimum (RFC 8996 retires 1.0/1.1); 1.3 preferred unless forced down.
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(ctx, cfg.max_version == MaxVersion::tls12 ? TLS1_2_VERSION : TLS1_3_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (!cfg.session_tickets) {
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    SSL_CTX_set_num_tickets(ctx, 0);
  }
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_RELEASE_BUFFERS);
  if (SSL_CTX_set_cipher_list(ctx, cfg.ciphers_tls12.c_str()) != 1)
    return fail(Errc::invalid, openssl_error_text("cipher list"));
  if (!cfg.cert_chain_pem.empty()) {
    if (auto st = load_pem_chain(ctx, cfg.cert_chain_pem); !st) return st;
  } else if (!cfg.cert_chain_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx, cfg.cert_chain_file.c_str()) != 1)
      return fail(Errc::io, openssl_error_text(cfg.cert_chain_file));
  }
  if (!cfg.key_pem.empty()) {
    if (auto st = load_pem_key(ctx, cfg.key_pem); !st) return st;
  } else if (!cfg.key_file.empty()) {
    if (SSL_CTX_use_PrivateKey_file(ctx, cfg.key_file.c_str(), SSL_FILETYPE_PEM) != 1)
      return fail(Errc::io, openssl_error_text(cfg.key_file));
  }
  const bool has_cert = !cfg.cert_chain_pem.empty() || !cfg.cert_chain_file.empty();
  if (role == Role::server && !has_cert) return fail(Errc::invalid, "server role needs a certificate");
  if (has_cert && SSL_CTX_check_private_key(ctx) != 1)
    return fail(Errc::invalid, openssl_error_text("key does not match certificate"));
  if (role == Role::client && cfg.verify_peer) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    if (!cfg.ca_pem.empty()) {
      if (auto st = load_ca_pem(ctx, cfg.ca_pem); !st) return st;
    } else if (!cfg.ca_file.empty()) {
      if (SSL_CTX_load_verify_locations(ctx, cfg.ca_file.c_str(), nullptr) != 1)
        return fail(Errc::io, openssl_error_text(cfg.ca_file));
    } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
      return fail(Errc::io, openssl_error_text("default CA paths"));
    }
    if (cfg.verification_time) {
      X509_VERIFY_PARAM_set_time(SSL_CTX_get0_param(ctx), static_cast<time_t>(cfg.verification_time->unix_seconds()));
    }
  }
  return {};
}

std::string alpn_wire(const std::vector<std::string>& protos) {
  std::string w;
  for (const auto& p : protos) {
    if (p.empty() || p.size() > 255) continue;
    w += static_cast<char>(p.size());
    w += p;
  }
  return w;
}

}  // namespace

TlsContext::TlsContext(Role role, SSL_CTX* ctx, std::string alpn, bool verify_peer)
    : role_(role), ctx_(ctx), alpn_wire_(std::move(alpn)), verify_peer_(verify_peer) {}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

Result<std::unique_ptr<TlsContext>> TlsContext::create(Role role, const TlsConfig& cfg) {
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(role == Role::server ? TLS_server_method() : TLS_client_method());
  if (ctx == nullptr) return fail(Errc::io, openssl_error_text("SSL_CTX_new"));
  if (auto st = configure(ctx, role, cfg); !st) {
    SSL_CTX_free(ctx);
    return fail(st.error());
  }
  const bool verify = role == Role::client && cfg.verify_peer;
  std::unique_ptr<TlsContext> out(new TlsContext(role, ctx, alpn_wire(cfg.alpn), verify));
  if (!out->alpn_wire_.empty()) {
    if (role == Role::server) {
      SSL_CTX_set_alpn_select_cb(ctx, select_alpn, out.get());
    } else {
      const auto& w = out->alpn_wire_;
      // Note: returns 0 on success, unlike most of the API.
      if (SSL_CTX_set_alpn_protos(ctx, reinterpret_cast<const unsigned char*>(w.data()),
                                  static_cast<unsigned int>(w.size())) != 0)
        return fail(Errc::invalid, openssl_error_text("ALPN"));
    }
  }
  return out;
}

}  // namespace mail::tls
