// Per-client request rate limits of the HTTP service (RFC 6585 §4: 429 Too Many Requests
// with Retry-After). RequestBucket is one client's token bucket in its GCRA form (one
// "theoretical arrival time" instead of a token count: exact integer arithmetic, no
// refill step); RequestRateLimiter keeps one per client IP with bounded memory (a bucket
// that has refilled completely is forgotten; past clients_max the newcomers share one
// overflow bucket). Pure: time is an argument (the caller's env.clock()), no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/time.h"

namespace mail::node {

struct RateLimitConfig {
  std::uint32_t requests_per_second = 50;  // sustained rate per client IP; 0 = no limit
  std::uint32_t burst = 100;               // requests admitted at once from a full bucket (>= 1)
  bool limit_loopback = false;             // loopback clients are exempt unless set
  std::size_t clients_max = 10'000;        // tracked IPs; beyond, newcomers share one bucket
  bool enabled() const noexcept { return requests_per_second > 0 && burst > 0; }
};

class RequestBucket {
 public:
  RequestBucket() = default;
  // Admits one request at `now` (and counts it), or says how long until one would be.
  [[nodiscard]] std::optional<Duration> take(Instant now, Duration interval, Duration tolerance);
  // True when the bucket is full again at `now`: forgetting it changes nothing.
  [[nodiscard]] bool idle(Instant now) const noexcept { return tat_ <= now; }

 private:
  Instant tat_{};  // when the bucket is full again
};

class RequestRateLimiter {
 public:
  explicit RequestRateLimiter(RateLimitConfig config);
  // Admits one request from `ip` at `now` (nullopt), or how long it must wait.
  [[nodiscard]] std::optional<Duration> admit(std::string_view ip, Instant now);
  std::size_t tracked() const noexcept { return buckets_.size(); }
  const RateLimitConfig& config() const noexcept { return config_; }

 private:
  void forget_idle(Instant now);

  RateLimitConfig config_;
  Duration interval_{};   // between requests at the sustained rate
  Duration tolerance_{};  // (burst - 1) intervals
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, RequestBucket, Hash, std::equal_to<>> buckets_;
  RequestBucket overflow_;          // every IP past clients_max
  std::size_t since_sweep_ = 0;     // admits since the last forget_idle
};

// Retry-After delta-seconds (RFC 9110 §10.2.3) for a wait: rounded up, at least 1.
std::uint64_t retry_after_seconds(Duration wait) noexcept;

}  // namespace mail::node
