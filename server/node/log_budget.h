// LogBudget: a token bucket for log lines a client can provoke (one per rejection), so a
// flood of bad commands cannot fill the disk: at most `burst` lines at once and
// `per_second` on average. Lines over the budget are counted and the count is reported
// with the next line that fits. Pure: time comes in as `now`; no I/O.
#pragma once

#include <cstdint>
#include <optional>

#include "core/assert.h"
#include "core/time.h"

namespace mail::node {

struct LogBudgetConfig {
  std::uint32_t burst = 100;      // lines that may be written back to back
  std::uint32_t per_second = 10;  // refill rate once the burst is spent
};

class LogBudget {
 public:
  explicit LogBudget(LogBudgetConfig config) : config_(config), tokens_milli_(std::uint64_t{config.burst} * 1000) {
    MAIL_ASSERT(config_.burst > 0);
    MAIL_ASSERT(config_.per_second > 0);
  }

  // True: write the line now. False: it was counted as suppressed.
  bool admit(Instant now) {
    refill(now);
    if (tokens_milli_ < 1000) {
      ++suppressed_;
      return false;
    }
    tokens_milli_ -= 1000;
    return true;
  }

  // Lines suppressed since the last call (to say so in the next admitted line).
  std::uint64_t take_suppressed() noexcept {
    const std::uint64_t n = suppressed_;
    suppressed_ = 0;
    return n;
  }

 private:
  void refill(Instant now) {
    if (!last_) {
      last_ = now;
      return;
    }
    if (now <= *last_) return;
    // Tokens are kept in thousandths: one millisecond earns per_second of them. Only whole
    // milliseconds are consumed, so frequent calls still accumulate.
    const auto elapsed_ms = static_cast<std::uint64_t>((now - *last_).count()) / 1000;
    const std::uint64_t cap = std::uint64_t{config_.burst} * 1000;
    // per_second >= 1, so past `cap` milliseconds the bucket is full (and no product overflows).
    const std::uint64_t gained = elapsed_ms >= cap ? cap : elapsed_ms * config_.per_second;
    tokens_milli_ = gained >= cap - tokens_milli_ ? cap : tokens_milli_ + gained;
    *last_ += Duration(static_cast<std::int64_t>(elapsed_ms * 1000));
    MAIL_ASSERT(tokens_milli_ <= cap);
  }

  LogBudgetConfig config_;
  std::uint64_t tokens_milli_;
  std::optional<Instant> last_;
  std::uint64_t suppressed_ = 0;
};

}  // namespace mail::node
