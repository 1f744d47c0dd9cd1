// Tests for TlsEngine: client<->server handshakes in memory (TLS 1.3, forced 1.2), data
// both ways split at random points, garbage input, close_notify, hostname verification
// failure, bounded buffers. RFC 8446 §4 (handshake), §6 (alerts).
#include "tls/engine.h"

#include <gtest/gtest.h>

#include "core/prng.h"
#include "tls/self_signed.h"

namespace mail::tls {
namespace {

const SelfSigned& identity() {
  static const SelfSigned id = generate_self_signed("mx.test", WallTime{1'700'000'000LL * 1'000'000}).value();
  return id;
}

struct Pair {
  std::unique_ptr<TlsContext> sctx, cctx;
  std::unique_ptr<TlsEngine> server, client;
  std::vector<Event> sev, cev;

  explicit Pair(MaxVersion v = MaxVersion::tls13, std::string host = "mx.test", TlsLimits lim = {},
                std::optional<WallTime> verify_time = std::nullopt) {
    TlsConfig s;
    s.cert_chain_pem = identity().cert_pem;
    s.key_pem = identity().key_pem;
    s.alpn = {"smtp"};
    TlsConfig c;
    c.ca_pem = identity().cert_pem;
    c.max_version = v;
    c.alpn = {"smtp"};
    c.verification_time = verify_time;
    sctx = TlsContext::create(Role::server, s).value();
    cctx = TlsContext::create(Role::client, c).value();
    server = std::make_unique<TlsEngine>(*sctx, Role::server, "", lim);
    client = std::make_unique<TlsEngine>(*cctx, Role::client, host, lim);
  }

  // Moves ciphertext both ways until quiet, in pieces chosen by `rng` (0 = whole).
  void run(Prng* rng = nullptr) {
    for (int round = 0; round < 10000; ++round) {
      const std::size_t piece = rng ? 1 + rng->next_u64() % 700 : SIZE_MAX;
      const bool a = move(*client, *server, piece, c2s);
      const bool b = move(*server, *client, piece, s2c);
      const bool moved = a || b;
      while (auto e = server->poll_event()) sev.push_back(*e);
      while (auto e = client->poll_event()) cev.push_back(*e);
      if (!moved) return;
    }
    FAIL() << "did not settle";
  }
  std::string c2s, s2c;  // ciphertext polled but not yet taken by the receiver
  static bool move(TlsEngine& from, TlsEngine& to, std::size_t piece, std::string& pending) {
    bool moved = false;
    if (pending.size() < 65536) {
      std::string out = from.poll_ciphertext(piece);
      moved = !out.empty();
      pending += out;
    }
    const std::size_t n = to.feed_ciphertext(std::string_view(pending));
    pending.erase(0, n);
    return moved || n > 0;
  }
};

template <class T>
const T* find(const std::vector<Event>& evs) {
  for (const auto& e : evs)
    if (auto* p = std::get_if<T>(&e)) return p;
  return nullptr;
}

TEST(TlsEngine, Tls13HandshakeInMemory) {
  Pair p;
  p.run();
  ASSERT_TRUE(p.server->handshake_done());
  ASSERT_TRUE(p.client->handshake_done());
  const auto* c = find<ev::HandshakeDone>(p.cev);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->version, "TLSv1.3");
  EXPECT_TRUE(c->peer_certificate);
  EXPECT_TRUE(c->peer_verified);
  EXPECT_EQ(c->alpn, "smtp");
  EXPECT_NE(c->peer_subject.find("mx.test"), std::string::npos);
  ASSERT_NE(find<ev::HandshakeDone>(p.sev), nullptr);
}

TEST(TlsEngine, ForcedTls12Handshake) {
  Pair p(MaxVersion::tls12);
  p.run();
  const auto* c = find<ev::HandshakeDone>(p.cev);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->version, "TLSv1.2");
  EXPECT_NE(c->cipher.find("ECDHE-ECDSA"), std::string::npos);
}

TEST(TlsEngine, DataBothWaysSplitAtRandomPoints) {
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    Prng rng(seed);
    Pair p(seed % 2 ? MaxVersion::tls13 : MaxVersion::tls12);
    std::string up, down;
    for (int i = 0; i < 100000; ++i) up += static_cast<char>('a' + i % 26), down += static_cast<char>(i % 251);
    std::size_t up_off = 0, down_off = 0;
    std::string got_up, got_down;
    for (int round = 0; round < 5000 && (got_up.size() < up.size() || got_down.size() < down.size()); ++round) {
      const std::size_t n1 = 1 + rng.next_u64() % 5000, n2 = 1 + rng.next_u64() % 5000;
      up_off += p.client->write_plaintext(std::string_view(up).substr(up_off, n1));
      down_off += p.server->write_plaintext(std::string_view(down).substr(down_off, n2));
      p.run(&rng);
      got_up += p.server->poll_plaintext(1 + rng.next_u64() % 9000);
      got_down += p.client->poll_plaintext(1 + rng.next_u64() % 9000);
    }
    EXPECT_EQ(got_up, up) << "seed " << seed;
    EXPECT_EQ(got_down, down) << "seed " << seed;
  }
}

TEST(TlsEngine, GarbageGivesCleanFailure) {
  auto s = TlsConfig{};
  s.cert_chain_pem = identity().cert_pem;
  s.key_pem = identity().key_pem;
  auto ctx = TlsContext::create(Role::server, s).value();
  for (std::string junk : {std::string("EHLO x\r\n"), std::string(5000, '\x16'), std::string("\x16\x03\x01\x01\x00hello", 10)}) {
    TlsEngine e(*ctx, Role::server);
    (void)e.feed_ciphertext(junk);
    auto ev = e.poll_event();
    if (junk.size() == 10) {  // truncated record: needs more, then EOF
      EXPECT_FALSE(ev.has_value());
      e.feed_eof();
      ev = e.poll_event();
    }
    ASSERT_TRUE(ev.has_value());
    ASSERT_TRUE(std::holds_alternative<ev::Failed>(*ev));
    EXPECT_FALSE(std::get<ev::Failed>(*ev).reason.empty());
    EXPECT_TRUE(e.failed());
    EXPECT_EQ(e.write_plaintext("x"), 0u);
    EXPECT_EQ(e.feed_ciphertext(std::string_view("more")), 4u);  // swallowed, not reprocessed
  }
}

TEST(TlsEngine, CloseNotifyReachesPeer) {
  Pair p;
  p.run();
  EXPECT_EQ(p.client->write_plaintext("QUIT\r\n"), 6u);
  p.client->close_notify();
  p.run();
  EXPECT_EQ(p.server->poll_plaintext(), "QUIT\r\n");
  EXPECT_NE(find<ev::Closed>(p.sev), nullptr);
  EXPECT_EQ(p.client->write_plaintext("x"), 0u);
}

TEST(TlsEngine, EofWithoutCloseNotifyIsTruncation) {
  Pair p;
  p.run();
  p.server->feed_eof();
  auto e = p.server->poll_event();
  ASSERT_TRUE(e.has_value());
  EXPECT_TRUE(std::holds_alternative<ev::Failed>(*e));
}

TEST(TlsEngine, WrongHostnameFailsVerification) {
  Pair p(MaxVersion::tls13, "other.test");
  p.run();
  EXPECT_FALSE(p.client->handshake_done());
  const auto* f = find<ev::Failed>(p.cev);
  ASSERT_NE(f, nullptr);
  EXPECT_NE(f->reason.find("certificate verify failed"), std::string::npos) << f->reason;
  EXPECT_NE(find<ev::Failed>(p.sev), nullptr);  // the alert reached the server
}

TEST(TlsEngine, PinnedVerificationTime) {
  // The certificate is valid from 1.7e9 s for ten years; verify it a day early and late.
  const std::int64_t start_s = 1'700'000'000;
  Pair early(MaxVersion::tls13, "mx.test", {}, WallTime{(start_s - 86400) * 1'000'000});
  early.run();
  const auto* f = find<ev::Failed>(early.cev);
  ASSERT_NE(f, nullptr);
  EXPECT_NE(f->reason.find("not yet valid"), std::string::npos) << f->reason;
  Pair late(MaxVersion::tls13, "mx.test", {}, WallTime{(start_s + 3651LL * 86400) * 1'000'000});
  late.run();
  ASSERT_NE(find<ev::Failed>(late.cev), nullptr);
  Pair inside(MaxVersion::tls13, "mx.test", {}, WallTime{(start_s + 86400) * 1'000'000});
  inside.run();
  EXPECT_TRUE(inside.client->handshake_done());
}

TEST(TlsEngine, BuffersStayBounded) {
  TlsLimits lim{8192, 8192, 8192, 8192};
  Pair p(MaxVersion::tls13, "mx.test", lim);
  p.run();
  std::string big(1 << 20, 'z');
  // Nobody polls the receiver's plaintext: the sender must be pushed back, not buffer 1 MiB.
  std::size_t taken = 0;
  for (int i = 0; i < 200; ++i) {
    taken += p.client->write_plaintext(std::string_view(big).substr(taken));
    p.run();
    EXPECT_LE(p.client->buffered_bytes(), 4 * 8192u + 16384 + 1024);
    EXPECT_LE(p.server->buffered_bytes(), 4 * 8192u + 16384 + 1024);
  }
  EXPECT_LT(taken, big.size());
  std::string got;
  for (int i = 0; i < 1000 && got.size() < taken; ++i) {
    got += p.server->poll_plaintext();
    p.run();
  }
  EXPECT_EQ(got.size(), taken);
}

TEST(TlsContext, ServerWithoutCertificateIsAnError) {
  auto r = TlsContext::create(Role::server, TlsConfig{});
  EXPECT_FALSE(r.ok());
  TlsConfig bad;
  bad.cert_chain_pem = "not pem";
  bad.key_pem = "not pem";
  EXPECT_FALSE(TlsContext::create(Role::server, bad).ok());
}

}  // namespace
}  // namespace mail::tls
