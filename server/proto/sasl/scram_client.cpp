// SASL SCRAM-SHA-256 client (see scram_client.h). RFC 5802 §3 (the key derivation), §5
// (the exchange), §7 (the grammar: saslname escaping, attribute order). No I/O; the only
// randomness is the caller's nonce.
#include "proto/sasl/scram_client.h"

#include "core/assert.h"
#include "proto/sasl/base64.h"
#include "proto/sasl/scram_common.h"

namespace mail::sasl {
namespace {

using scram::is_printable_nonce;
using scram::take_attr;

constexpr std::string_view kGs2Header = "n,,";  // no channel binding, no authzid

// RFC 5802 §7 saslname: ',' -> "=2C", '=' -> "=3D".
std::string encode_saslname(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (const char c : in) {
    if (c == ',') out += "=2C";
    else if (c == '=') out += "=3D";
    else out += c;
  }
  return out;
}

std::optional<std::uint32_t> parse_iterations(std::string_view s) noexcept {
  if (s.empty() || s.size() > 10) return std::nullopt;
  std::uint64_t v = 0;
  for (const char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (v > UINT32_MAX) return std::nullopt;
  return static_cast<std::uint32_t>(v);
}

}  // namespace

std::string make_scram_nonce(Crypto& c, std::size_t chars) {
  MAIL_ASSERT(chars > 0);
  // Printable octets 0x21..0x7E except ',' (RFC 5802 §7 "printable"): 93 symbols.
  std::string raw(chars, '\0');
  c.random_bytes({reinterpret_cast<std::uint8_t*>(raw.data()), raw.size()});
  std::string out(chars, '\0');
  for (std::size_t i = 0; i < chars; ++i) {
    int ch = 0x21 + static_cast<unsigned char>(raw[i]) % 93;
    if (ch >= ',') ++ch;
    out[i] = static_cast<char>(ch);
  }
  MAIL_ASSERT(is_printable_nonce(out));
  return out;
}

ScramClient::ScramClient(Crypto& crypto, std::string user, std::string password, std::string nonce)
    : crypto_(crypto), user_(std::move(user)), password_(std::move(password)), nonce_(std::move(nonce)) {
  MAIL_ASSERT(!user_.empty());
  MAIL_ASSERT(is_printable_nonce(nonce_));
}

std::string ScramClient::client_first() const {
  return std::string(kGs2Header) + "n=" + encode_saslname(user_) + ",r=" + nonce_;
}

std::optional<std::string> ScramClient::client_final(std::string_view server_first) {
  MAIL_ASSERT(!server_signature_.has_value());
  std::string_view rest = server_first;
  if (rest.size() >= 2 && rest[0] == 'm' && rest[1] == '=') return std::nullopt;  // §7: mandatory extension
  const auto nonce = take_attr(rest, 'r');
  // §5.1: the server's nonce starts with ours and adds its own part.
  if (!nonce || nonce->size() <= nonce_.size() || nonce->substr(0, nonce_.size()) != nonce_ ||
      !is_printable_nonce(*nonce))
    return std::nullopt;
  const auto salt_b64 = take_attr(rest, 's');
  if (!salt_b64) return std::nullopt;
  const auto salt = base64_decode(*salt_b64);
  if (!salt || salt->empty()) return std::nullopt;
  const auto iter_text = take_attr(rest, 'i');
  if (!iter_text) return std::nullopt;
  const auto iterations = parse_iterations(*iter_text);
  if (!iterations || *iterations < kIterationsMin || *iterations > kIterationsMax) return std::nullopt;
  // Extensions after i= are allowed by §7 (and ignored).

  // §3: SaltedPassword, ClientKey, StoredKey, the AuthMessage, the proof and the signature
  // the server must show us.
  const Digest salted = crypto_.pbkdf2_sha256(password_, *salt, *iterations);
  const Digest client_key = crypto_.hmac_sha256(as_view(salted), "Client Key");
  const Digest stored_key = crypto_.sha256(as_view(client_key));
  const std::string bare = client_first().substr(kGs2Header.size());
  const std::string without_proof = "c=" + base64_encode(kGs2Header) + ",r=" + std::string(*nonce);
  const std::string auth_message = bare + "," + std::string(server_first) + "," + without_proof;
  const Digest signature = crypto_.hmac_sha256(as_view(stored_key), auth_message);
  Digest proof{};
  for (std::size_t i = 0; i < proof.size(); ++i) proof[i] = static_cast<std::uint8_t>(client_key[i] ^ signature[i]);
  const Digest server_key = crypto_.hmac_sha256(as_view(salted), "Server Key");
  server_signature_ = crypto_.hmac_sha256(as_view(server_key), auth_message);
  return without_proof + ",p=" + base64_encode(as_view(proof));
}

bool ScramClient::verify_server_final(std::string_view server_final) {
  if (!server_signature_) return false;
  std::string_view rest = server_final;
  const auto v = take_attr(rest, 'v');
  if (!v) return false;  // "e=<server-error>" or garbage
  const auto sig = base64_decode(*v);
  if (!sig || sig->size() != server_signature_->size()) return false;
  return crypto_.constant_time_equal(*sig, as_view(*server_signature_));
}

}  // namespace mail::sasl
