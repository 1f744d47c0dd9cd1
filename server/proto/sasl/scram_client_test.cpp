// sasl::ScramClient (RFC 5802 §3, §5, §7; RFC 7677): the RFC 7677 §3 test vector end to
// end, saslname escaping, the checks on server-first (nonce, salt, iteration bounds,
// mandatory extensions) and on server-final (ServerSignature, "e="), and a property: our
// client and our server agree for any acceptable user name and password.
#include "proto/sasl/scram_client.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "proto/sasl/base64.h"
#include "proto/sasl/server.h"
#include "proto/sasl/test_support.h"

namespace mail::sasl {
namespace {

using namespace std::string_literals;

constexpr std::string_view kServerFirst =
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";

TEST(ScramClient, Rfc7677_S3_TestVector) {
  testing::ScriptedCrypto crypto;
  crypto.nonce = "rOprNGfwEbeRWgbNEkqO";
  ScramClient c(crypto, "user", "pencil", make_scram_nonce(crypto, 20));
  EXPECT_EQ(c.client_first(), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
  EXPECT_FALSE(c.verify_server_final("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="));  // not yet
  const auto final_message = c.client_final(kServerFirst);
  ASSERT_TRUE(final_message.has_value());
  EXPECT_EQ(*final_message,
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
  EXPECT_FALSE(c.verify_server_final("v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="));
  EXPECT_FALSE(c.verify_server_final("e=other-error"));
  EXPECT_FALSE(c.verify_server_final("v=not base64"));
  EXPECT_TRUE(c.verify_server_final("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="));
}

TEST(ScramClient, Rfc5802_S7_SaslnameAndNonce) {
  testing::ScriptedCrypto crypto;
  ScramClient c(crypto, "a,b=c", "p", "xyz");
  EXPECT_EQ(c.client_first(), "n,,n=a=2Cb=3Dc,r=xyz");
  for (int i = 0; i < 50; ++i) {
    const std::string n = make_scram_nonce(crypto, 24);
    ASSERT_EQ(n.size(), 24u);
    for (char ch : n) {
      EXPECT_GE(ch, 0x21);
      EXPECT_LE(ch, 0x7E);
      EXPECT_NE(ch, ',');
    }
  }
}

TEST(ScramClient, Rfc5802_S5_1_RefusesBadServerFirst) {
  testing::ScriptedCrypto crypto;
  const std::string salt = "s=W22ZaJ0SNY7soEsUEjb6gQ==";
  for (const std::string& bad : {
           "r=rOprNGfwEbeRWgbNEkqO,"s + salt + ",i=4096",      // the server added nothing
           "r=XXprNGfwEbeRWgbNEkqOabc,"s + salt + ",i=4096",   // does not extend our nonce
           "r=rOprNGfwEbeRWgbNEkqOabc,i=4096"s,                 // no salt
           "r=rOprNGfwEbeRWgbNEkqOabc,s=,i=4096"s,              // empty salt
           "r=rOprNGfwEbeRWgbNEkqOabc,s=***,i=4096"s,           // salt not base64
           "r=rOprNGfwEbeRWgbNEkqOabc,"s + salt + ",i=4095",   // RFC 7677 §4: at least 4096
           "r=rOprNGfwEbeRWgbNEkqOabc,"s + salt + ",i=1000001",  // would burn our CPU
           "r=rOprNGfwEbeRWgbNEkqOabc,"s + salt + ",i=99999999999",
           "r=rOprNGfwEbeRWgbNEkqOabc,"s + salt + ",i=4x96",
           "r=rOprNGfwEbeRWgbNEkqOabc,"s + salt,                 // no iteration count
           "m=ext,r=rOprNGfwEbeRWgbNEkqOabc,"s + salt + ",i=4096",  // mandatory extension
           ""s,
       }) {
    ScramClient c(crypto, "user", "pencil", "rOprNGfwEbeRWgbNEkqO");
    EXPECT_FALSE(c.client_final(bad).has_value()) << bad;
  }
  ScramClient ok(crypto, "user", "pencil", "rOprNGfwEbeRWgbNEkqO");
  EXPECT_TRUE(ok.client_final("r=rOprNGfwEbeRWgbNEkqOabc," + salt + ",i=4096,x=extension").has_value());
}

// RFC 5802 §7 saslname escaping round-trips between the two sides: any name the server
// accepts (1..255 octets without % / \\ CR LF NUL, ',' and '=' included) and any password
// authenticate, and the client accepts the server's signature (fuzz/scram, mode 0).
RC_GTEST_PROP(ScramProperty, ClientAndServerAgreeOnAnyAcceptableName, ()) {
  std::string user = *rc::gen::container<std::string>(
      rc::gen::oneOf(rc::gen::element(',', '=', ' ', '@', '\xc3', '\x7f'), rc::gen::inRange<char>(0x20, 0x7f)));
  for (char& c : user) {
    if (c == '%' || c == '/' || c == '\\') c = 'x';
  }
  if (user.empty()) user = "u";
  if (user.size() > kIdentityBytesMax) user.resize(kIdentityBytesMax);
  RC_ASSERT(is_acceptable_username(user));
  const std::string password = *rc::gen::arbitrary<std::string>();
  testing::ScriptedCrypto crypto;
  testing::MapStore store;
  store.users[user] = derive_scram_credentials(crypto, password, "0123456789abcdef", 4096);
  ScramClient client(crypto, user, password, make_scram_nonce(crypto, 24));
  SaslServer server(crypto, store);
  Step s = server.start("SCRAM-SHA-256", base64_encode(client.client_first()));
  RC_ASSERT(s.kind == Step::Kind::challenge);
  const auto final_message = client.client_final(*base64_decode(s.challenge_b64));
  RC_ASSERT(final_message.has_value());
  s = server.step(base64_encode(*final_message));
  RC_ASSERT(s.kind == Step::Kind::challenge);
  RC_ASSERT(client.verify_server_final(*base64_decode(s.challenge_b64)));
  s = server.step("");
  RC_ASSERT(s.kind == Step::Kind::success);
  RC_ASSERT(s.authcid == user);
}

}  // namespace
}  // namespace mail::sasl
