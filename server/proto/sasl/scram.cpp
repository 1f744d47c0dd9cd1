// SASL SCRAM-SHA-256 server (RFC 5802 §5, §7; RFC 7677). GS2 flags "n" and "y" only:
// "p=" (channel binding) is refused. Must not reveal user existence: unknown users get a
// stable fake salt and the same proof computation. SASLprep (RFC 4013) is not applied yet.
#include <string>

#include "core/assert.h"
#include "proto/sasl/base64.h"
#include "proto/sasl/mechanism.h"
#include "proto/sasl/scram_client.h"  // make_scram_nonce
#include "proto/sasl/scram_common.h"

namespace mail::sasl {
namespace {

// RFC 5802 §7 saslname: "=2C" -> ',', "=3D" -> '='; any other '=' is an error.
std::optional<std::string> decode_saslname(std::string_view in) {
  std::string out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '=') { out += in[i]; continue; }
    const std::string_view esc = in.substr(i + 1, 2);
    if (esc == "2C") out += ',';
    else if (esc == "3D") out += '=';
    else return std::nullopt;
    i += 2;
  }
  return out;
}

using scram::is_printable_nonce;
using scram::take_attr;

class Scram final : public Mech {
 public:
  explicit Scram(MechEnv env) : env_(env) {}

  Step start(std::optional<std::string_view> initial) override {
    if (!initial) return challenge({});  // client-first comes next
    return step(*initial);                // an empty one ("=") is malformed: it has no GS2 header
  }

  Step step(std::string_view msg) override {
    switch (state_) {
      case State::client_first: return client_first(msg);
      case State::client_final: return client_final(msg);
      case State::final_ack:
        // RFC 4954 §4: the client acknowledges server-final with an empty response.
        if (!msg.empty()) return failure(Failure::malformed);
        return std::move(outcome_);
    }
    MAIL_UNREACHABLE();
  }

 private:
  enum class State : std::uint8_t { client_first, client_final, final_ack };

  Step client_first(std::string_view msg) {
    if (msg.size() >= 2 && msg[0] == 'p' && msg[1] == '=') return failure(Failure::channel_binding_unsupported);
    if (msg.size() < 3 || (msg[0] != 'n' && msg[0] != 'y') || msg[1] != ',') return failure(Failure::malformed);
    const std::size_t comma = msg.find(',', 2);
    if (comma == std::string_view::npos) return failure(Failure::malformed);
    const std::string_view authz_field = msg.substr(2, comma - 2);
    if (!authz_field.empty()) {
      if (authz_field.size() < 2 || authz_field.substr(0, 2) != "a=") return failure(Failure::malformed);
      auto z = decode_saslname(authz_field.substr(2));
      if (!z || z->empty()) return failure(Failure::malformed);
      authzid_ = std::move(*z);
    }
    gs2_header_ = std::string(msg.substr(0, comma + 1));
    bare_ = std::string(msg.substr(comma + 1));
    std::string_view rest = bare_;
    const auto user = take_attr(rest, 'n');  // "m=" (reserved) lands here and fails
    if (!user) return failure(Failure::malformed);
    auto name = decode_saslname(*user);
    if (!name) return failure(Failure::malformed);
    if (!is_acceptable_username(*name)) return failure(Failure::bad_username);
    authcid_ = std::move(*name);
    const auto cnonce = take_attr(rest, 'r');
    if (!cnonce || !is_printable_nonce(*cnonce)) return failure(Failure::malformed);

    const std::optional<ScramCredentials> found = env_.store.lookup(authcid_);
    user_exists_ = found.has_value();
    cred_ = found ? *found : fake_credentials();
    nonce_ = std::string(*cnonce) + server_nonce();
    server_first_ = "r=" + nonce_ + ",s=" + base64_encode(cred_.salt) + ",i=" + std::to_string(cred_.iterations);
    state_ = State::client_final;
    return challenge(server_first_);
  }

  Step client_final(std::string_view msg) {
    const std::size_t p = msg.rfind(",p=");
    if (p == std::string_view::npos) return failure(Failure::malformed);
    const std::string_view without_proof = msg.substr(0, p);
    std::string_view rest = without_proof;
    const auto cbind = take_attr(rest, 'c');
    if (!cbind) return failure(Failure::malformed);
    const auto cb = base64_decode(*cbind);
    // With "n"/"y" there is no channel-binding data: c= is exactly the GS2 header.
    if (!cb || *cb != gs2_header_) return failure(Failure::malformed);
    const auto nonce = take_attr(rest, 'r');
    if (!nonce || *nonce != nonce_) return failure(Failure::malformed);
    const auto proof = base64_decode(msg.substr(p + 3));
    if (!proof || proof->size() != 32) return failure(Failure::malformed);

    const std::string auth_message = bare_ + "," + server_first_ + "," + std::string(without_proof);
    const Digest sig = env_.crypto.hmac_sha256(as_view(cred_.stored_key), auth_message);
    Digest client_key{};
    for (std::size_t i = 0; i < client_key.size(); ++i) {
      client_key[i] = static_cast<std::uint8_t>(static_cast<std::uint8_t>((*proof)[i]) ^ sig[i]);
    }
    const Digest stored = env_.crypto.sha256(as_view(client_key));
    const bool match = env_.crypto.constant_time_equal(as_view(stored), as_view(cred_.stored_key));
    Step outcome = conclude(authcid_, authzid_, match && user_exists_);
    if (outcome.kind != Step::Kind::success) return outcome;
    outcome_ = std::move(outcome);
    state_ = State::final_ack;
    const Digest server_sig = env_.crypto.hmac_sha256(as_view(cred_.server_key), auth_message);
    return challenge("v=" + base64_encode(as_view(server_sig)));
  }

  std::string server_nonce() { return make_scram_nonce(env_.crypto, env_.limits.scram_nonce_chars); }

  // A salt that is stable per unknown name, so two attempts do not reveal absence.
  ScramCredentials fake_credentials() {
    ScramCredentials c = dummy_credentials();
    const Digest d = env_.crypto.hmac_sha256(c.salt, authcid_);
    c.salt = std::string(as_view(d).substr(0, 16));
    return c;
  }

  MechEnv env_;
  State state_ = State::client_first;
  std::string gs2_header_, bare_, server_first_, nonce_, authcid_, authzid_;
  ScramCredentials cred_;
  bool user_exists_ = false;
  Step outcome_;
};

}  // namespace

std::unique_ptr<Mech> make_scram_sha_256(MechEnv env) { return std::make_unique<Scram>(env); }

}  // namespace mail::sasl
