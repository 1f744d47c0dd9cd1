// Histogram (see header). Must not: lose an observation (every one lands in exactly one
// bucket), or accept bounds that are not strictly increasing.
#include "core/histogram.h"

#include <algorithm>

#include "core/assert.h"

namespace mail {

std::vector<double> Histogram::latency_bounds_seconds() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

Histogram::Histogram(std::vector<double> upper_bounds) : bounds_(std::move(upper_bounds)) {
  for (std::size_t i = 1; i < bounds_.size(); ++i) MAIL_ASSERT(bounds_[i - 1] < bounds_[i]);
  counts_.assign(bounds_.size() + 1, 0);
}

void Histogram::observe(double value) {
  // The first bound >= value; past the last: the +Inf bucket.
  const auto it = std::lower_bound(bounds_.begin(), bounds_.end(), value);
  ++counts_[static_cast<std::size_t>(it - bounds_.begin())];
  sum_ += value;
  ++count_;
}

std::uint64_t Histogram::cumulative(std::size_t i) const noexcept {
  MAIL_ASSERT(i < counts_.size());
  std::uint64_t n = 0;
  for (std::size_t j = 0; j <= i; ++j) n += counts_[j];
  return n;
}

}  // namespace mail
