// SASL PLAIN (RFC 4616 §2): message = [authzid] NUL authcid NUL passwd, each 1..255 octets
// (authzid may be empty), no NUL inside. Must only ever answer with one empty challenge.
#include "proto/sasl/mechanism.h"

namespace mail::sasl {
namespace {

class Plain final : public Mech {
 public:
  explicit Plain(MechEnv env) : env_(env) {}

  Step start(std::optional<std::string_view> initial) override {
    if (!initial) return challenge({});  // RFC 4954 §4: empty "334 " then the response
    return step(*initial);
  }

  Step step(std::string_view msg) override {
    const std::size_t a = msg.find('\0');
    if (a == std::string_view::npos) return failure(Failure::malformed);
    const std::size_t b = msg.find('\0', a + 1);
    if (b == std::string_view::npos) return failure(Failure::malformed);
    const std::string_view authzid = msg.substr(0, a);
    const std::string_view authcid = msg.substr(a + 1, b - a - 1);
    const std::string_view passwd = msg.substr(b + 1);
    if (passwd.find('\0') != std::string_view::npos) return failure(Failure::malformed);
    if (authcid.empty() || passwd.empty()) return failure(Failure::malformed);
    if (authzid.size() > kIdentityBytesMax || passwd.size() > kIdentityBytesMax) return failure(Failure::malformed);
    if (!is_acceptable_username(authcid)) return failure(Failure::bad_username);
    const bool ok = verify_password(env_.crypto, env_.store, authcid, passwd);
    return conclude(std::string(authcid), std::string(authzid), ok);
  }

 private:
  MechEnv env_;
};

}  // namespace

std::unique_ptr<Mech> make_plain(MechEnv env) { return std::make_unique<Plain>(env); }

}  // namespace mail::sasl
