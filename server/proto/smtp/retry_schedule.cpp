// Retry schedule arithmetic (see retry_schedule.h). Pure, saturating int64 microseconds:
// the backoff is multiplied up only until it reaches the cap, so no attempt count, factor
// or far-future time overflows.
#include "proto/smtp/retry_schedule.h"

#include <limits>

namespace mail::smtp {

namespace {

constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();

std::int64_t saturating_add(std::int64_t a, std::int64_t b) noexcept {
  MAIL_ASSERT(b >= 0);
  return a > kMax - b ? kMax : a + b;
}

bool valid(const RetryPolicy& p) noexcept {
  return p.first > Duration::zero() && p.factor >= 1 && p.max >= p.first && p.lifetime > Duration::zero() &&
         p.delay_warning >= Duration::zero();
}

}  // namespace

std::optional<WallTime> next_retry(const RetryPolicy& p, WallTime arrival, std::uint32_t attempts, WallTime now) {
  MAIL_ASSERT(attempts >= 1);
  MAIL_ASSERT(valid(p));
  const std::int64_t cap = p.max.count();
  std::int64_t backoff = p.first.count();
  // first * factor^(attempts-1), stopping at the cap: at most ~63 rounds when factor >= 2.
  for (std::uint32_t i = 1; i < attempts && backoff < cap && p.factor > 1; ++i) {
    backoff = backoff > cap / static_cast<std::int64_t>(p.factor) ? cap : backoff * static_cast<std::int64_t>(p.factor);
  }
  if (backoff > cap) backoff = cap;
  MAIL_ASSERT(backoff > 0);
  const WallTime at{saturating_add(now.unix_us, backoff)};
  const WallTime deadline{saturating_add(arrival.unix_us, p.lifetime.count())};
  // RFC 5321 §4.5.4.1: the lifetime is the give-up time. Give up only once it has passed;
  // a retry that would fall after it is moved onto it, so the last attempt is made at the
  // lifetime's end (and a delay DSN's Will-Retry-Until, arrival + lifetime, holds).
  if (now >= deadline) return std::nullopt;
  if (at > deadline) return deadline;
  MAIL_ASSERT(at >= now);
  return at;
}

bool delay_warning_due(const RetryPolicy& p, WallTime arrival, WallTime now, bool already_warned) {
  MAIL_ASSERT(p.delay_warning >= Duration::zero());
  if (p.delay_warning == Duration::zero() || already_warned) return false;
  return now.unix_us >= saturating_add(arrival.unix_us, p.delay_warning.count());
}

Result<RetryPolicy> validate(RetryPolicy p) {
  if (p.first <= Duration::zero()) return fail(Errc::invalid, "retry: first must be > 0");
  if (p.factor < 1) return fail(Errc::invalid, "retry: factor must be >= 1");
  if (p.max < p.first) return fail(Errc::invalid, "retry: max must be >= first");
  if (p.lifetime <= Duration::zero()) return fail(Errc::invalid, "retry: lifetime must be > 0");
  if (p.delay_warning < Duration::zero()) return fail(Errc::invalid, "retry: delay_warning must be >= 0");
  MAIL_ASSERT(valid(p));
  return p;
}

}  // namespace mail::smtp
