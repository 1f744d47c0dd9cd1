// AuthGuard (see header): fixed windows per key, started by the first failure; the delay
// doubles with the IP's failures in its window. No I/O, no clock of its own.
#include "node/auth_guard.h"

#include <algorithm>

#include "core/ascii.h"
#include "core/assert.h"
#include "store/user_db.h"

namespace mail::node {

std::string auth_budget_key(std::string_view user) {
  // The users file's own canonical form, so a budget and a login name never disagree.
  return store::canonical_user_name(user.substr(0, sasl::kIdentityBytesMax));
}

std::uint32_t AuthGuard::count(const Map& m, std::string_view key, Instant now) const {
  auto it = m.find(key);
  if (it == m.end()) return 0;
  if (now - it->second.window_start >= config_.window) return 0;
  return it->second.failures;
}

std::uint32_t AuthGuard::bump(Map& m, std::string_view key, Instant now) {
  auto it = m.find(key);
  if (it == m.end()) {
    if (m.size() >= config_.entries_max) {
      // Forget the entry whose window started first (bounded memory under a spray of names).
      auto oldest = std::min_element(m.begin(), m.end(),
                                     [](const auto& a, const auto& b) { return a.second.window_start < b.second.window_start; });
      m.erase(oldest);
    }
    it = m.emplace(std::string(key), Entry{0, now}).first;
  }
  Entry& e = it->second;
  if (now - e.window_start >= config_.window) e = Entry{0, now};
  if (e.failures < UINT32_MAX) ++e.failures;
  MAIL_ASSERT(m.size() <= config_.entries_max);
  return e.failures;
}

bool AuthGuard::ip_locked(std::string_view ip, Instant now) const { return count(by_ip_, ip, now) >= config_.ip_failures_max; }

bool AuthGuard::user_locked(std::string_view user, Instant now) const {
  return count(by_user_, auth_budget_key(user), now) >= config_.user_failures_max;
}

Duration AuthGuard::record_failure(std::string_view ip, std::string_view user, Instant now) {
  const std::uint32_t n = bump(by_ip_, ip, now);
  bump(by_user_, auth_budget_key(user), now);
  const std::uint32_t doublings = std::min<std::uint32_t>(n - 1, 16);
  Duration d = config_.failure_delay;
  for (std::uint32_t i = 0; i < doublings && d < config_.failure_delay_max; ++i) d *= 2;
  return std::min(d, config_.failure_delay_max);
}

void AuthGuard::record_success(std::string_view user) { by_user_.erase(auth_budget_key(user)); }

std::optional<sasl::ScramCredentials> GuardedCredentials::lookup(std::string_view authcid) const {
  if (guard_.user_locked(authcid, clock_.now())) return std::nullopt;
  return inner_.lookup(authcid);
}

LoginVerdict judge_login(AuthGuard& guard, std::string_view mechanism, const std::string& authcid, bool success,
                         const std::string& client, Instant now) {
  LoginVerdict v;
  std::string who = "login ";
  who += mechanism;
  who += " user=" + (sasl::is_acceptable_username(authcid) ? authcid : std::string("<invalid>")) + " client=" + client;
  if (success && !guard.ip_locked(client, now)) {
    guard.record_success(authcid);
    v.accepted = true;
    v.level = rt::LogLevel::info;
    v.log_line = who + " ok";
    return v;
  }
  v.delay = guard.record_failure(client, authcid, now);
  v.level = rt::LogLevel::warn;
  v.log_line = who + " failed" + (guard.ip_locked(client, now) ? " (client locked out)" : "");
  return v;
}

std::string login_mailbox(const std::function<std::string(std::string_view)>& mailbox_of_login,
                          const std::string& authcid) {
  return mailbox_of_login ? mailbox_of_login(authcid) : ascii_lower(authcid);
}

}  // namespace mail::node
