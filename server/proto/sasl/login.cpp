// SASL LOGIN (draft-murchison-sasl-login, de-facto): "Username:" then "Password:"
// challenges; an initial response is taken as the username. Same identity and password
// rules as PLAIN; the authorization identity is always empty.
#include "proto/sasl/mechanism.h"

#include "core/assert.h"

namespace mail::sasl {
namespace {

class Login final : public Mech {
 public:
  explicit Login(MechEnv env) : env_(env) {}

  Step start(std::optional<std::string_view> initial) override {
    if (!initial) return challenge("Username:");
    return step(*initial);
  }

  Step step(std::string_view response) override {
    if (!have_user_) {
      if (!is_acceptable_username(response)) return failure(Failure::bad_username);
      user_ = std::string(response);
      have_user_ = true;
      return challenge("Password:");
    }
    MAIL_ASSERT(!user_.empty());
    if (response.empty() || response.size() > kIdentityBytesMax) return failure(Failure::malformed);
    if (response.find('\0') != std::string_view::npos) return failure(Failure::malformed);
    const bool ok = verify_password(env_.crypto, env_.store, user_, response);
    return conclude(std::move(user_), {}, ok);
  }

 private:
  MechEnv env_;
  std::string user_;
  bool have_user_ = false;
};

}  // namespace

std::unique_ptr<Mech> make_login(MechEnv env) { return std::make_unique<Login>(env); }

}  // namespace mail::sasl
