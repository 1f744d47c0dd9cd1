// Tests for generate_self_signed: PEM shape, SAN, validity, and use as a server identity.
#include "tls/self_signed.h"

#include "tls/context.h"

#include <gtest/gtest.h>
#include <fstream>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

namespace mail::tls {
namespace {

TEST(SelfSigned, PemWithSanAndTenYears) {
  auto r = generate_self_signed("mail.example.test", WallTime{1'700'000'000LL * 1'000'000});
  ASSERT_TRUE(r.ok());
  EXPECT_NE(r->cert_pem.find("BEGIN CERTIFICATE"), std::string::npos);
  EXPECT_NE(r->key_pem.find("BEGIN PRIVATE KEY"), std::string::npos);
  BIO* b = BIO_new_mem_buf(r->cert_pem.data(), static_cast<int>(r->cert_pem.size()));
  X509* x = PEM_read_bio_X509(b, nullptr, nullptr, nullptr);
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(X509_check_host(x, "mail.example.test", 0, 0, nullptr), 1);
  EXPECT_NE(X509_check_host(x, "other.example.test", 0, 0, nullptr), 1);
  int days = 0, secs = 0;
  ASSERT_EQ(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x), X509_get0_notAfter(x)), 1);
  EXPECT_EQ(days, 3650);
  X509_free(x);
  BIO_free(b);
}

TEST(SelfSigned, RejectsBadHostnames) {
  EXPECT_FALSE(generate_self_signed("", WallTime{}).ok());
  EXPECT_FALSE(generate_self_signed("a/b", WallTime{}).ok());
  EXPECT_FALSE(generate_self_signed(std::string(300, 'a'), WallTime{}).ok());
}

TEST(SelfSigned, LoadsFromPemFilesAsServerAndTrustAnchor) {
  auto id = generate_self_signed("files.test", WallTime{1'700'000'000LL * 1'000'000}).value();
  const std::string dir = ::testing::TempDir();
  std::ofstream(dir + "/tls_cert.pem") << id.cert_pem;
  std::ofstream(dir + "/tls_key.pem") << id.key_pem;
  TlsConfig s;
  s.cert_chain_file = dir + "/tls_cert.pem";
  s.key_file = dir + "/tls_key.pem";
  EXPECT_TRUE(TlsContext::create(Role::server, s).ok());
  TlsConfig c;
  c.ca_file = dir + "/tls_cert.pem";
  EXPECT_TRUE(TlsContext::create(Role::client, c).ok());
  s.key_file = dir + "/missing.pem";
  auto bad = TlsContext::create(Role::server, s);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().detail.find("missing.pem"), std::string::npos);
}

}  // namespace
}  // namespace mail::tls
