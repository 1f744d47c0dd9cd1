// Self-signed certificate generation with OpenSSL 3 (EVP_EC_gen, X509v3 extensions).
#include "tls/self_signed.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

#include "tls/context.h"

namespace mail::tls {
namespace {

struct Free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(BIGNUM* p) const { BN_free(p); }
};

std::string bio_text(BIO* b) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(b, &data);
  return n > 0 ? std::string(data, static_cast<std::size_t>(n)) : std::string();
}

bool add_ext(X509* cert, int nid, const std::string& value) {
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value.c_str());
  if (ext == nullptr) return false;
  const int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  return ok == 1;
}

}  // namespace

Result<SelfSigned> generate_self_signed(std::string_view hostname, WallTime now, std::uint32_t days) {
  if (hostname.empty() || hostname.size() > 253) return fail(Errc::invalid, "hostname length");
  for (const char ch : hostname) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                    ch == '-' || ch == '.';
    if (!ok) return fail(Errc::invalid, "hostname characters");
  }
  const std::string host(hostname);
  std::unique_ptr<EVP_PKEY, Free> key(EVP_EC_gen("P-256"));
  if (!key) return fail(Errc::io, openssl_error_text("EC key"));
  std::unique_ptr<X509, Free> cert(X509_new());
  if (!cert) return fail(Errc::io, openssl_error_text("X509_new"));
  X509_set_version(cert.get(), 2);  // v3
  // A random 127-bit positive serial (RFC 5280 §4.1.2.2: at most 20 octets, positive).
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) return fail(Errc::io, openssl_error_text("serial"));
  serial[0] &= 0x7F;
  serial[0] |= 0x01;
  std::unique_ptr<BIGNUM, Free> bn(BN_bin2bn(serial, sizeof serial, nullptr));
  if (!bn || BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get())) == nullptr)
    return fail(Errc::io, openssl_error_text("serial"));
  const time_t start = static_cast<time_t>(now.unix_seconds());
  ASN1_TIME_set(X509_getm_notBefore(cert.get()), start);
  ASN1_TIME_adj(X509_getm_notAfter(cert.get()), start, static_cast<int>(days), 0);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(host.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  const bool exts = add_ext(cert.get(), NID_basic_constraints, "critical,CA:TRUE") &&
                    add_ext(cert.get(), NID_key_usage, "critical,digitalSignature,keyCertSign") &&
                    add_ext(cert.get(), NID_ext_key_usage, "serverAuth") &&
                    add_ext(cert.get(), NID_subject_key_identifier, "hash") &&
                    add_ext(cert.get(), NID_subject_alt_name, "DNS:" + host);
  if (!exts) return fail(Errc::io, openssl_error_text("extensions"));
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) return fail(Errc::io, openssl_error_text("sign"));

  std::unique_ptr<BIO, Free> cb(BIO_new(BIO_s_mem()));
  std::unique_ptr<BIO, Free> kb(BIO_new(BIO_s_mem()));
  if (!cb || !kb || PEM_write_bio_X509(cb.get(), cert.get()) != 1 ||
      PEM_write_bio_PrivateKey(kb.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return fail(Errc::io, openssl_error_text("PEM"));
  return SelfSigned{bio_text(cb.get()), bio_text(kb.get())};
}

}  // namespace mail::tls
