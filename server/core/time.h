// Time vocabulary. There is deliberately no now() here: time enters the code only as an
// argument (sans-IO sessions) or from Env::clock() (node). Instant is monotonic virtual or
// steady time in microseconds; WallTime is Unix time in microseconds, for headers and names.
#pragma once

#include <chrono>
#include <cstdint>

namespace mail {

struct MonotonicTag {
  using rep = std::int64_t;
  using period = std::micro;
  using duration = std::chrono::microseconds;
  using time_point = std::chrono::time_point<MonotonicTag>;
  static constexpr bool is_steady = true;
};

using Duration = std::chrono::microseconds;
using Instant = std::chrono::time_point<MonotonicTag, Duration>;

struct WallTime {
  std::int64_t unix_us = 0;
  std::int64_t unix_seconds() const noexcept { return unix_us / 1'000'000; }
  friend auto operator<=>(const WallTime&, const WallTime&) = default;
};

inline constexpr Instant instant_max() noexcept { return Instant(Duration(INT64_MAX)); }

using namespace std::chrono_literals;  // 5min, 300s, 10ms in every file that includes this

}  // namespace mail
