// Request rate limits (see header). Must not: allocate per request once an IP is known, keep
// more than clients_max buckets, or admit more than `burst` requests at one instant.
#include "node/http/rate_limit.h"

#include <algorithm>

#include "core/assert.h"

namespace mail::node {

std::optional<Duration> RequestBucket::take(Instant now, Duration interval, Duration tolerance) {
  // GCRA: the request conforms when the bucket's "full again" time is at most `tolerance`
  // ahead of now; each admitted request pushes it one interval further.
  const Instant tat = std::max(tat_, now);
  if (tat - now > tolerance) return (tat - tolerance) - now;
  tat_ = tat + interval;
  return std::nullopt;
}

RequestRateLimiter::RequestRateLimiter(RateLimitConfig config) : config_(config) {
  if (config_.enabled()) {
    interval_ = Duration(std::max<std::int64_t>(1, 1'000'000 / static_cast<std::int64_t>(config_.requests_per_second)));
    tolerance_ = interval_ * static_cast<std::int64_t>(config_.burst - 1);
  }
  MAIL_ASSERT(config_.clients_max > 0);
}

std::optional<Duration> RequestRateLimiter::admit(std::string_view ip, Instant now) {
  if (!config_.enabled()) return std::nullopt;
  // Amortised sweep: every clients_max admits, the full-again buckets go.
  if (++since_sweep_ >= config_.clients_max) forget_idle(now);
  auto it = buckets_.find(ip);
  if (it == buckets_.end()) {
    if (buckets_.size() >= config_.clients_max) forget_idle(now);
    if (buckets_.size() >= config_.clients_max) return overflow_.take(now, interval_, tolerance_);
    it = buckets_.emplace(std::string(ip), RequestBucket{}).first;
  }
  return it->second.take(now, interval_, tolerance_);
}

void RequestRateLimiter::forget_idle(Instant now) {
  since_sweep_ = 0;
  std::erase_if(buckets_, [now](const auto& entry) { return entry.second.idle(now); });
}

std::uint64_t retry_after_seconds(Duration wait) noexcept {
  const auto us = std::max<std::int64_t>(wait.count(), 1);
  return static_cast<std::uint64_t>((us + 999'999) / 1'000'000);
}

}  // namespace mail::node
