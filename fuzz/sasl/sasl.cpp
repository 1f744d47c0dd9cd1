// libFuzzer target: SASL server exchanges (RFC 4954 §4 framing, RFC 4616 PLAIN, LOGIN,
// RFC 5802/7677 SCRAM-SHA-256). Byte 0 picks the mechanism and whether lines are base64-
// encoded first; the rest splits on '\n' into client lines. Must never crash or assert, and
// every exchange must end in success or failure. Crypto is a cheap deterministic stand-in.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "core/assert.h"
#include "core/hash.h"
#include "proto/sasl/base64.h"
#include "proto/sasl/server.h"

namespace {
using namespace mail::sasl;

struct FakeCrypto final : Crypto {
  Digest fill(std::string_view a, std::string_view b) {
    Digest d{};
    std::uint64_t h = mail::fnv1a64(b, mail::fnv1a64(a, 1));
    for (auto& x : d) x = static_cast<std::uint8_t>(h >>= 1);
    return d;
  }
  Digest sha256(std::string_view d) override { return fill("h", d); }
  Digest hmac_sha256(std::string_view k, std::string_view d) override { return fill(k, d); }
  Digest pbkdf2_sha256(std::string_view p, std::string_view s, std::uint32_t) override { return fill(p, s); }
  bool constant_time_equal(std::string_view a, std::string_view b) override { return a == b; }
  void random_bytes(std::span<std::uint8_t> out) override { for (auto& b : out) b = 7; }
};

struct Store final : CredentialStore {
  std::optional<ScramCredentials> lookup(std::string_view u) const override {
    if (u != "user") return std::nullopt;
    FakeCrypto c;
    return derive_scram_credentials(c, "pencil", "salt", 4096);
  }
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const char* mechs[] = {"PLAIN", "LOGIN", "SCRAM-SHA-256", "plain"};
  const bool encode = (data[0] & 4) != 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  FakeCrypto crypto;
  Store store;
  SaslServer srv(crypto, store);
  auto line = [&]() {
    const std::size_t nl = in.find('\n');
    std::string l(in.substr(0, nl));
    in = nl == std::string_view::npos ? std::string_view{} : in.substr(nl + 1);
    return encode ? base64_encode(l) : l;
  };
  const bool initial = (data[0] & 8) != 0;
  std::string ir = initial ? line() : std::string();
  Step s = srv.start(mechs[data[0] & 3], initial ? std::optional<std::string_view>(ir) : std::nullopt);
  for (int i = 0; s.kind == Step::Kind::challenge && i < 16; ++i) s = srv.step(line());
  if (s.kind == Step::Kind::challenge) s = srv.step("*");
  MAIL_ASSERT(s.kind != Step::Kind::challenge);
  MAIL_ASSERT(srv.done());
  return 0;
}
