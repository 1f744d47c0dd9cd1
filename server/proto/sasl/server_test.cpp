// Tests for SaslServer: PLAIN (RFC 4616 §2, §4 examples), LOGIN, SCRAM-SHA-256 (RFC 7677 §3
// vector, RFC 5802 §5 errors), "*" cancellation and "=" (RFC 4954 §4), identity rules
// (SECURITY.md §5.13), unknown users costing the same derivation (§5.14), garbage property.
#include "proto/sasl/server.h"

#include <gtest/gtest.h>
#include <rapidcheck.h>

#include "proto/sasl/base64.h"
#include "proto/sasl/test_support.h"

namespace mail::sasl {
namespace {

using testing::MapStore;
using testing::ScriptedCrypto;
using Kind = Step::Kind;

const std::string kSalt = *base64_decode("W22ZaJ0SNY7soEsUEjb6gQ==");

struct Fixture : ::testing::Test {
  Fixture() {
    store.users["user"] = derive_scram_credentials(crypto, "pencil", kSalt, 4096);
    store.users["tim"] = derive_scram_credentials(crypto, "tanstaaftanstaaf", "salt-tim", 4096);
    crypto.pbkdf2_calls = 0;
  }
  Step run(std::string_view mech, std::optional<std::string> ir, std::initializer_list<std::string> lines) {
    server = std::make_unique<SaslServer>(crypto, store);
    std::optional<std::string> ir_b64;
    if (ir) ir_b64 = ir->empty() ? "=" : base64_encode(*ir);
    Step s = server->start(mech, ir_b64 ? std::optional<std::string_view>(*ir_b64) : std::nullopt);
    for (const auto& l : lines) {
      if (s.kind != Kind::challenge) break;
      s = server->step(l == "*" ? l : base64_encode(l));
    }
    return s;
  }
  ScriptedCrypto crypto;
  MapStore store;
  std::unique_ptr<SaslServer> server;
};

TEST_F(Fixture, Rfc4616_S4_PlainInitialResponse) {
  Step s = run("PLAIN", std::string("\0tim\0tanstaaftanstaaf", 21), {});
  ASSERT_EQ(s.kind, Kind::success);
  EXPECT_EQ(s.authcid, "tim");
  EXPECT_EQ(s.authzid, "");
  EXPECT_TRUE(server->done());
}

TEST_F(Fixture, Rfc4616_S4_PlainProxyAuthzIsDenied) {
  // "Ursel\0Kurt\0xipj3plmq": authzid differs from authcid — no proxy authorization yet.
  store.users["Kurt"] = derive_scram_credentials(crypto, "xipj3plmq", "s", 4096);
  EXPECT_EQ(run("PLAIN", std::string("Ursel\0Kurt\0xipj3plmq", 20), {}).failure, Failure::authz_denied);
  EXPECT_EQ(run("PLAIN", std::string("Kurt\0Kurt\0xipj3plmq", 19), {}).kind, Kind::success);
}

TEST_F(Fixture, PlainWithoutInitialResponseAndWrongPassword) {
  Step s = run("plain", std::nullopt, {});
  ASSERT_EQ(s.kind, Kind::challenge);
  EXPECT_EQ(s.challenge_b64, "");
  EXPECT_EQ(run("PLAIN", std::nullopt, {std::string("\0tim\0wrong", 10)}).failure, Failure::bad_credentials);
}

TEST_F(Fixture, Rfc4616_S2_PlainMalformed) {
  for (std::string m : {std::string("tim"), std::string("\0tim", 4), std::string("\0\0pw", 4),
                        std::string("\0tim\0", 5), std::string("\0tim\0pw\0x", 9),
                        std::string(1, '\0') + "tim" + std::string(1, '\0') + std::string(256, 'p')})
    EXPECT_EQ(run("PLAIN", m, {}).failure, Failure::malformed) << m.size();
}

TEST_F(Fixture, Rfc4954_S4_EmptyInitialResponseAndCancel) {
  auto srv = SaslServer(crypto, store);
  EXPECT_EQ(srv.start("PLAIN", std::string_view("=")).failure, Failure::malformed);  // empty PLAIN message
  EXPECT_EQ(run("PLAIN", std::nullopt, {"*"}).failure, Failure::cancelled);
  EXPECT_EQ(run("LOGIN", std::nullopt, {"tim", "*"}).failure, Failure::cancelled);
  auto srv2 = SaslServer(crypto, store);
  EXPECT_EQ(srv2.start("LOGIN", std::string_view("*")).failure, Failure::cancelled);
  auto srv3 = SaslServer(crypto, store);
  ASSERT_EQ(srv3.start("PLAIN", std::nullopt).kind, Kind::challenge);
  EXPECT_EQ(srv3.step("not base64!").failure, Failure::malformed);
  EXPECT_TRUE(srv3.done());
}

TEST_F(Fixture, UnknownMechanism) {
  EXPECT_EQ(run("CRAM-MD5", std::nullopt, {}).failure, Failure::unknown_mechanism);
}

TEST_F(Fixture, LoginExchange) {
  Step s = run("LOGIN", std::nullopt, {});
  ASSERT_EQ(s.kind, Kind::challenge);
  EXPECT_EQ(s.challenge_b64, "VXNlcm5hbWU6");  // "Username:"
  s = server->step(base64_encode("tim"));
  EXPECT_EQ(s.challenge_b64, "UGFzc3dvcmQ6");  // "Password:"
  s = server->step(base64_encode("tanstaaftanstaaf"));
  ASSERT_EQ(s.kind, Kind::success);
  EXPECT_EQ(s.authcid, "tim");
  EXPECT_EQ(run("LOGIN", std::string("tim"), {"bad"}).failure, Failure::bad_credentials);
  EXPECT_EQ(run("LOGIN", std::string("tim"), {"tanstaaftanstaaf"}).kind, Kind::success);
}

TEST_F(Fixture, Security_5_13_UsernameRules) {
  for (std::string u : {std::string("a%b"), std::string("%{x}"), std::string("../etc"), std::string("a\\b"),
                        std::string("a\r\nb"), std::string(300, 'u')}) {
    EXPECT_FALSE(is_acceptable_username(u));
    EXPECT_EQ(run("LOGIN", u, {}).failure, Failure::bad_username);
    if (u.size() <= 255) {
      EXPECT_EQ(run("PLAIN", std::string(1, '\0') + u + std::string(1, '\0') + "pw", {}).failure, Failure::bad_username);
    }
  }
  EXPECT_TRUE(is_acceptable_username("user@example.com"));
  EXPECT_TRUE(is_acceptable_username(std::string(255, 'u')));
}

TEST_F(Fixture, Security_5_14_UnknownUserCostsTheSameDerivation) {
  EXPECT_EQ(run("PLAIN", std::string("\0nobody\0pw", 10), {}).failure, Failure::bad_credentials);
  EXPECT_EQ(crypto.pbkdf2_calls, 1);
  EXPECT_EQ(run("PLAIN", std::string("\0tim\0pw", 7), {}).failure, Failure::bad_credentials);
  EXPECT_EQ(crypto.pbkdf2_calls, 2);
  EXPECT_FALSE(verify_password(crypto, store, "nobody", "anything"));
}

TEST_F(Fixture, Rfc7677_S3_ScramSha256Vector) {
  crypto.nonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
  SaslLimits lim;
  lim.scram_nonce_chars = 30;
  SaslServer srv(crypto, store, lim);
  const std::string cf = base64_encode("n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
  Step s = srv.start("SCRAM-SHA-256", std::string_view(cf));
  ASSERT_EQ(s.kind, Kind::challenge);
  EXPECT_EQ(*base64_decode(s.challenge_b64),
            "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
  s = srv.step(base64_encode("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                             "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="));
  ASSERT_EQ(s.kind, Kind::challenge) << to_string(s.failure);
  EXPECT_EQ(*base64_decode(s.challenge_b64), "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
  s = srv.step("");
  ASSERT_EQ(s.kind, Kind::success);
  EXPECT_EQ(s.authcid, "user");
}

TEST_F(Fixture, ScramWrongProofAndUnknownUser) {
  crypto.nonce = "SERVERNONCE";
  const std::string final_msg = "c=biws,r=abcSERVERNONCESERVERNONCESE,p=" + base64_encode(std::string(32, 'x'));
  EXPECT_EQ(run("SCRAM-SHA-256", std::string("n,,n=user,r=abc"), {final_msg}).failure, Failure::bad_credentials);
  // Unknown users get a salt that is stable across attempts.
  Step a = run("SCRAM-SHA-256", std::string("n,,n=ghost,r=abc"), {});
  Step b = run("SCRAM-SHA-256", std::string("n,,n=ghost,r=abc"), {});
  ASSERT_EQ(a.kind, Kind::challenge);
  EXPECT_EQ(a.challenge_b64, b.challenge_b64);
  EXPECT_EQ(run("SCRAM-SHA-256", std::string("n,,n=ghost,r=abc"), {final_msg}).failure, Failure::bad_credentials);
}

TEST_F(Fixture, Rfc5802_ScramGs2Rules) {
  EXPECT_EQ(run("SCRAM-SHA-256", std::string("p=tls-unique,,n=user,r=abc"), {}).failure,
            Failure::channel_binding_unsupported);
  EXPECT_EQ(run("SCRAM-SHA-256", std::string("y,,n=user,r=abc"), {}).kind, Kind::challenge);
  EXPECT_EQ(run("SCRAM-SHA-256", std::string("n,a=user,n=user,r=abc"), {}).kind, Kind::challenge);
  for (std::string m : {"x,,n=user,r=abc", "n,,m=ext,n=user,r=abc", "n,,n=us=er,r=abc", "n,,n=user", "n,,n=user,r=",
                        "n,,r=abc,n=user", "n,b=x,n=user,r=abc", "n", "n,", ""})
    EXPECT_EQ(run("SCRAM-SHA-256", m, {}).failure, Failure::malformed) << m;
  crypto.nonce = "S";
  // c= must echo the GS2 header exactly; r= must be the combined nonce.
  for (std::string f : {"c=eSws,r=abcSSSSSSSSSSSSSSSSSSSSSSSS,p=AAAA", "c=biws,r=abc,p=AAAA", "c=biws,r=abcSSSSSSSSSSSSSSSSSSSSSSSS",
                        "c=biws,r=abcSSSSSSSSSSSSSSSSSSSSSSSS,p=AAAA"})
    EXPECT_EQ(run("SCRAM-SHA-256", std::string("n,,n=user,r=abc"), {f}).failure, Failure::malformed) << f;
}

TEST_F(Fixture, ScramSaslnameEscapes) {
  store.users["a,b=c"] = derive_scram_credentials(crypto, "pw", "s", 4096);
  Step s = run("SCRAM-SHA-256", std::string("n,,n=a=2Cb=3Dc,r=abc"), {});
  EXPECT_EQ(s.kind, Kind::challenge);
}

TEST_F(Fixture, Security_5_13_ManyAbortedExchangesAndMechanismSwitches) {
  // Postfix CVE-2011-1720 / Dovecot CVE-2017-15132 shape: abort, switch, repeat. Each
  // exchange owns all of its state, so nothing accumulates (ASan would report leaks).
  for (int i = 0; i < 100000; ++i) {
    SaslServer srv(crypto, store);
    const char* mech = i % 3 == 0 ? "SCRAM-SHA-256" : i % 3 == 1 ? "LOGIN" : "PLAIN";
    ASSERT_EQ(srv.start(mech, std::nullopt).kind, Kind::challenge);
    ASSERT_EQ(srv.step("*").failure, Failure::cancelled);
  }
  EXPECT_EQ(crypto.pbkdf2_calls, 0);
}

TEST(SaslProperty, GarbageNeverCrashesAndEndsInFailure) {
  ScriptedCrypto crypto;
  MapStore store;
  store.users["user"] = derive_scram_credentials(crypto, "pencil", kSalt, 64);
  EXPECT_TRUE(rc::check("garbage exchanges fail cleanly", [&](const std::vector<std::string>& lines, bool b64) {
    for (const char* mech : {"PLAIN", "LOGIN", "SCRAM-SHA-256"}) {
      SaslServer srv(crypto, store);
      Step s = srv.start(mech, std::nullopt);
      std::size_t i = 0;
      while (s.kind == Kind::challenge && i < lines.size()) s = srv.step(b64 ? base64_encode(lines[i++]) : lines[i++]);
      if (s.kind == Kind::challenge) s = srv.step("*");
      RC_ASSERT(s.kind == Kind::failure);
      RC_ASSERT(srv.done());
    }
  }));
}

}  // namespace
}  // namespace mail::sasl
