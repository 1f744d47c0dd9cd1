// Histogram: counts of observations in fixed buckets, their sum and count — the Prometheus
// histogram type (text format 0.0.4: cumulative `_bucket{le=...}` series, `_sum`, `_count`).
// Upper bounds are inclusive (an observation equal to a bound falls in that bucket) and
// strictly increasing; the last, implicit bucket is +Inf. Pure value type: no clock (the
// caller measures), no I/O, no locking.
#pragma once

#include <cstdint>
#include <vector>

namespace mail {

class Histogram {
 public:
  // Latency buckets in seconds, 100 µs to 10 s (fsync and request latencies).
  static std::vector<double> latency_bounds_seconds();

  Histogram() : Histogram(latency_bounds_seconds()) {}
  explicit Histogram(std::vector<double> upper_bounds);

  void observe(double value);

  const std::vector<double>& bounds() const noexcept { return bounds_; }
  // Per bucket, not cumulative: counts()[i] for bounds()[i], the last one for +Inf.
  const std::vector<std::uint64_t>& counts() const noexcept { return counts_; }
  // Observations at or below bounds()[i] (i == bounds().size(): all of them).
  std::uint64_t cumulative(std::size_t i) const noexcept;
  double sum() const noexcept { return sum_; }
  std::uint64_t count() const noexcept { return count_; }

 private:
  std::vector<double> bounds_;
  std::vector<std::uint64_t> counts_;  // bounds_.size() + 1
  double sum_ = 0;
  std::uint64_t count_ = 0;
};

}  // namespace mail
