// libFuzzer target: SASL server exchanges (RFC 4954 §4 framing, RFC 4616 PLAIN, LOGIN,
// RFC 5802/7677 SCRAM-SHA-256). Byte 0 picks the mechanism and whether lines are base64-
// encoded first; the rest splits on '\n' into client lines. Must never crash or assert, and
// every exchange must end in success or failure. Crypto is a cheap deterministic stand-in.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "core/assert.h"
#include "proto/sasl/base64.h"
#include "fake_sasl.h"
#include "proto/sasl/server.h"

using namespace mail::sasl;
using mail::fuzz::FakeCrypto;
using Store = mail::fuzz::FakeStore;

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
