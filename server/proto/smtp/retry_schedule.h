// Retry schedule of the outbound queue (issue 13 "Retry schedule"; RFC 5321 §4.5.4.1: retry
// at least 30 minutes apart after the first, give up after 4-5 days): exponential backoff
// capped at a maximum, a message lifetime after which it bounces, and when a delay DSN
// (RFC 3461 §4.1 NOTIFY=DELAY) is due. Pure: no clock (times are arguments), no state.
// Arithmetic saturates: no policy or attempt count can overflow.
#pragma once

#include <cstdint>
#include <optional>

#include "core/result.h"
#include "core/time.h"

namespace mail::smtp {

struct RetryPolicy {
  Duration first = 5min;          // backoff after the first failed attempt
  std::uint32_t factor = 2;       // each further failure multiplies the backoff
  Duration max = 1h;              // backoff cap
  Duration lifetime = 120h;       // 5 days from arrival, then bounce
  Duration delay_warning = 4h;    // delay DSN this long after arrival; 0 = never
};

// When to try again after `attempts` failed attempts (attempts >= 1, asserted): `now` plus
// min(first * factor^(attempts-1), max), but no later than arrival + lifetime: a retry that
// would fall after it is made at arrival + lifetime instead (one last attempt). nullopt
// (give up: bounce) once `now` >= arrival + lifetime, so a message is never bounced for
// expiry before its lifetime is over. The policy must satisfy validate() (asserted).
std::optional<WallTime> next_retry(const RetryPolicy& p, WallTime arrival, std::uint32_t attempts, WallTime now);

// True when a delay DSN is due: delay_warning > 0, none sent yet, and
// now >= arrival + delay_warning.
bool delay_warning_due(const RetryPolicy& p, WallTime arrival, WallTime now, bool already_warned);

// The policy if first > 0, factor >= 1, max >= first, lifetime > 0 and delay_warning >= 0;
// else Errc::invalid naming the broken rule (for the configuration reader).
Result<RetryPolicy> validate(RetryPolicy p);

}  // namespace mail::smtp
