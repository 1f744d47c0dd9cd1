// AuthGuard: failed-authentication defences shared by every listener (SMTP now, IMAP and
// POP3 later): a growing delay per failure from a client IP, and failure budgets per IP
// and per user name over a time window (Postfix anvil, Dovecot auth_penalty). Time comes
// from the caller (Env's clock), so the simulator exercises it. Bounded memory: the
// oldest entries are forgotten past entries_max. Budgets count unknown names exactly like
// real ones, so a lockout never tells which users exist.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/time.h"
#include "proto/sasl/credentials.h"
#include "runtime/env.h"

namespace mail::node {

struct AuthGuardConfig {
  Duration window = 15min;                 // failures older than this are forgotten
  std::uint32_t ip_failures_max = 20;      // past it: every AUTH from the IP is refused
  std::uint32_t user_failures_max = 10;    // past it: the name cannot log in (looks like a bad password)
  Duration failure_delay = 1s;             // first failure; doubles per failure of the IP
  Duration failure_delay_max = 15s;
  std::uint32_t entries_max = 65536;       // per map (IPs, users)
};

class AuthGuard {
 public:
  explicit AuthGuard(AuthGuardConfig config) : config_(config) {}

  bool ip_locked(std::string_view ip, Instant now) const;
  bool user_locked(std::string_view user, Instant now) const;
  // Counts a failure and returns how long to wait before answering it.
  Duration record_failure(std::string_view ip, std::string_view user, Instant now);
  // A success clears the user's count (not the IP's: one good login must not launder a scan).
  void record_success(std::string_view user);
  const AuthGuardConfig& config() const noexcept { return config_; }

 private:
  struct Entry {
    std::uint32_t failures = 0;
    Instant window_start{};
  };
  using Map = std::map<std::string, Entry, std::less<>>;
  std::uint32_t count(const Map& m, std::string_view key, Instant now) const;
  std::uint32_t bump(Map& m, std::string_view key, Instant now);

  AuthGuardConfig config_;
  Map by_ip_;
  Map by_user_;
};

// The CredentialStore the sessions see: a locked user looks exactly like an unknown one
// (same derivation cost, same reply), so a lockout is neither an oracle nor a bypass.
class GuardedCredentials final : public sasl::CredentialStore {
 public:
  GuardedCredentials(const AuthGuard& guard, rt::Clock& clock, const sasl::CredentialStore& inner)
      : guard_(guard), clock_(clock), inner_(inner) {}
  std::optional<sasl::ScramCredentials> lookup(std::string_view authcid) const override;
  bool has_users() const override { return inner_.has_users(); }

 private:
  const AuthGuard& guard_;
  rt::Clock& clock_;
  const sasl::CredentialStore& inner_;
};

// The guard's verdict on a finished IMAP or POP3 login exchange (SASL or LOGIN/USER+PASS):
// a success counts only if the client IP is not locked out; a failure is counted and is
// answered after the returned delay, with the same words whatever the reason.
struct LoginVerdict {
  bool accepted = false;
  Duration delay{};                         // refused: answer no sooner than now + delay
  rt::LogLevel level = rt::LogLevel::info;  // for log_line
  std::string log_line;                     // "login PLAIN user=bob client=192.0.2.1 ok"
};
LoginVerdict judge_login(AuthGuard& guard, std::string_view mechanism, const std::string& authcid, bool success,
                         const std::string& client, Instant now);

// The mailbox an accepted login opens: `mailbox_of_login(authcid)` when set, else the
// name in ASCII lower case.
std::string login_mailbox(const std::function<std::string(std::string_view)>& mailbox_of_login,
                          const std::string& authcid);

// User names compare case-insensitively for budgets (ASCII), as in the users file.
std::string auth_budget_key(std::string_view user);

}  // namespace mail::node
