// libFuzzer target: SCRAM-SHA-256 message parsing on both sides (RFC 5802 §5, §7; RFC 7677):
// the server (proto/sasl/scram.cpp, through SaslServer and its base64 line form) reading
// client-first / client-final, and the client (proto/sasl/scram_client.h) reading
// server-first / server-final. Crypto is the cheap deterministic stand-in of fake_sasl.h
// (the parsing is what is explored; real PBKDF2 would make each run slow).
// Byte 0 picks the mode (bits 0-1) and the message a mutation hits (bits 2-3); bit 4 sends
// client-first as the initial response. The rest is the payload.
//  mode 0: "user\npassword\nwrong": a real exchange between ScramClient and SaslServer with
//          that user in the store. Acceptable names (sasl::is_acceptable_username), any
//          password: it must succeed with authcid == the name (saslname escaping of ',' and
//          '=' round-trips) and the client must accept server-final; with a non-empty third
//          line as the client's password instead, it must fail with bad_credentials.
//  mode 1: the valid exchange with message k (client-first, client-final, final ack)
//          replaced by the payload; mode 2: with point edits (offset, byte pairs) applied.
//          Success only if the mutated message is byte-identical to the original; every
//          exchange ends in success or failure within 3 steps.
//  mode 3: a client fed the payload as "server-first\nserver-final": client_final() only
//          answers a nonce that extends its own and 4096 <= i <= 1,000,000, and the answer is
//          "c=biws,r=<that nonce>,p=<44 base64>"; verify_server_final() is false unless
//          the text starts with "v=".
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/assert.h"
#include "fake_sasl.h"
#include "proto/sasl/base64.h"
#include "proto/sasl/credentials.h"
#include "proto/sasl/scram_client.h"
#include "proto/sasl/server.h"

using namespace mail;
using namespace mail::sasl;
using mail::fuzz::FakeCrypto;

namespace {

struct OneUser final : CredentialStore {
  std::string name;
  ScramCredentials cred;
  std::optional<ScramCredentials> lookup(std::string_view u) const override {
    if (u != name) return std::nullopt;
    return cred;
  }
};

std::string_view take_line(std::string_view& in) {
  const std::size_t nl = in.find('\n');
  const std::string_view line = in.substr(0, nl);
  in = nl == std::string_view::npos ? std::string_view{} : in.substr(nl + 1);
  return line;
}

struct Outcome {
  Step last;
  bool client_verified = false;
  bool mutated = false;  // a message actually differed from what the client would send
};

// Runs one exchange. `hit` (0..2) is the message replaced or edited when `mutate` is set.
Outcome run(FakeCrypto& crypto, const OneUser& store, std::string_view user, std::string_view password,
            bool initial, int mode, int hit, std::string_view payload) {
  ScramClient client(crypto, std::string(user), std::string(password), "fyko+d2lbbFgONRv9qkxdawL");
  SaslServer server(crypto, store);
  Outcome o;
  auto mutate = [&](std::string msg, int index) {
    if (index != hit) return msg;
    std::string out = msg;
    if (mode == 1) {
      out = std::string(payload);
    } else if (mode == 2) {
      for (std::size_t i = 0; i + 1 < payload.size(); i += 2) {
        if (out.empty()) break;
        out[static_cast<unsigned char>(payload[i]) % out.size()] = payload[i + 1];
      }
    }
    if (out != msg) o.mutated = true;
    return out;
  };
  const std::string first = mutate(client.client_first(), 0);
  Step s = initial ? server.start("SCRAM-SHA-256", base64_encode(first)) : server.start("SCRAM-SHA-256", std::nullopt);
  if (!initial) {
    MAIL_ASSERT(s.kind == Step::Kind::challenge && s.challenge_b64.empty());
    s = server.step(base64_encode(first));
  }
  if (s.kind != Step::Kind::challenge) {
    o.last = std::move(s);
    return o;
  }
  const auto server_first = base64_decode(s.challenge_b64);
  MAIL_ASSERT(server_first.has_value());
  const std::optional<std::string> final_msg = client.client_final(*server_first);
  // The client refuses a server-first that does not extend its nonce: a mutated
  // client-first can make it so; then the client cancels, as an SMTP client would.
  const std::string final_line = final_msg ? base64_encode(mutate(*final_msg, 1)) : std::string("*");
  s = server.step(final_line);
  if (s.kind != Step::Kind::challenge) {
    o.last = std::move(s);
    return o;
  }
  const auto server_final = base64_decode(s.challenge_b64);
  MAIL_ASSERT(server_final.has_value());
  o.client_verified = client.verify_server_final(*server_final);
  const std::string ack = mutate(std::string(), 2);
  s = server.step(base64_encode(ack));
  MAIL_ASSERT(s.kind != Step::Kind::challenge);  // three steps at most
  MAIL_ASSERT(server.done());
  o.last = std::move(s);
  return o;
}

void client_side(FakeCrypto& crypto, std::string_view payload) {
  const std::string nonce = "rOprNGfwEbeRWgbNEkqO";
  ScramClient client(crypto, "user", "pencil", nonce);
  const std::string_view server_first = take_line(payload);
  const std::string_view server_final = payload;
  MAIL_ASSERT(!client.verify_server_final(server_final));  // nothing to verify before client_final
  const auto fin = client.client_final(server_first);
  if (fin) {
    MAIL_ASSERT(server_first.substr(0, 2 + nonce.size()) == "r=" + nonce);
    const std::size_t comma = server_first.find(',');
    MAIL_ASSERT(comma != std::string_view::npos && comma > 2 + nonce.size());
    const std::string_view full_nonce = server_first.substr(2, comma - 2);
    const std::string expect_prefix = "c=biws,r=" + std::string(full_nonce) + ",p=";
    MAIL_ASSERT(fin->rfind(expect_prefix, 0) == 0);
    const auto proof = base64_decode(std::string_view(*fin).substr(expect_prefix.size()));
    MAIL_ASSERT(proof && proof->size() == 32);
    const std::size_t i = server_first.find(",i=");
    MAIL_ASSERT(i != std::string_view::npos);
  }
  if (client.verify_server_final(server_final)) MAIL_ASSERT(server_final.substr(0, 2) == "v=");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t knobs = data[0];
  const int mode = knobs & 3;
  const int hit = ((knobs >> 2) & 3) % 3;
  const bool initial = (knobs & 16) != 0;
  std::string_view payload(reinterpret_cast<const char*>(data + 1), size - 1);
  FakeCrypto crypto;

  if (mode == 3) {
    client_side(crypto, payload);
    return 0;
  }
  OneUser store;
  std::string user = "user";
  std::string password = "pencil";
  std::string wrong;
  if (mode == 0) {
    std::string_view rest = payload;
    user = std::string(take_line(rest));
    password = std::string(take_line(rest));
    wrong = std::string(take_line(rest));
    if (user.empty()) return 0;  // ScramClient's precondition
  }
  store.name = user;
  store.cred = derive_scram_credentials(crypto, password, "salt-salt", 4096);
  const bool acceptable = is_acceptable_username(user);

  const bool wrong_pw = mode == 0 && !wrong.empty() && wrong != password;
  const Outcome o = run(crypto, store, user, wrong_pw ? wrong : password, initial, mode, hit, payload);
  MAIL_ASSERT(o.last.kind != Step::Kind::challenge);
  if (o.last.kind == Step::Kind::success) {
    MAIL_ASSERT(!o.mutated && !wrong_pw && acceptable);
    MAIL_ASSERT(o.last.authcid == user);
    MAIL_ASSERT(o.last.authzid.empty());
    MAIL_ASSERT(o.client_verified);
  } else {
    MAIL_ASSERT(o.last.failure != Failure::none);
  }
  if (mode == 0) {
    if (!acceptable) {
      MAIL_ASSERT(o.last.kind == Step::Kind::failure && o.last.failure == Failure::bad_username);
    } else if (wrong_pw) {
      MAIL_ASSERT(o.last.kind == Step::Kind::failure && o.last.failure == Failure::bad_credentials);
      MAIL_ASSERT(o.last.authcid == user);
    } else {
      MAIL_ASSERT(o.last.kind == Step::Kind::success);
    }
  } else if (!o.mutated) {
    MAIL_ASSERT(o.last.kind == Step::Kind::success);
  }
  return 0;
}
