// Deterministic PRNG (xoshiro256**) with labelled forks and our own integer
// distributions — never std::*_distribution, whose output differs between libraries.
// fork(label) depends only on the seed and the label, not on how many numbers were drawn,
// so adding a draw in one subsystem never perturbs another (determinism invariant).
#pragma once

#include <cstdint>
#include <string_view>

#include "core/assert.h"
#include "core/hash.h"

namespace mail {

__extension__ typedef unsigned __int128 u128;

class Prng {
 public:
  explicit Prng(std::uint64_t seed) noexcept : seed_(seed) {
    std::uint64_t x = seed;
    for (auto& w : s_) {
      x += 0x9e3779b97f4a7c15ull;
      w = mix64(x);
    }
  }

  std::uint64_t seed() const noexcept { return seed_; }

  Prng fork(std::string_view label) const noexcept { return Prng(mix64(fnv1a64(label, seed_ ^ 0x5bd1e995ull))); }

  std::uint64_t next_u64() noexcept {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, bound), bound > 0 (Lemire's nearly-divisionless method).
  std::uint64_t below(std::uint64_t bound) noexcept {
    MAIL_ASSERT(bound > 0);
    u128 m = static_cast<u128>(next_u64()) * bound;
    auto low = static_cast<std::uint64_t>(m);
    if (low < bound) {
      const std::uint64_t threshold = -bound % bound;
      while (low < threshold) {
        m = static_cast<u128>(next_u64()) * bound;
        low = static_cast<std::uint64_t>(m);
      }
    }
    return static_cast<std::uint64_t>(m >> 64);
  }

  // Uniform in [lo, hi], inclusive.
  std::uint64_t between(std::uint64_t lo, std::uint64_t hi) noexcept {
    MAIL_ASSERT(lo <= hi);
    if (hi - lo == UINT64_MAX) return next_u64();
    return lo + below(hi - lo + 1);
  }

  // True with probability ppm / 1'000'000.
  bool chance_ppm(std::uint32_t ppm) noexcept { return below(1'000'000) < ppm; }

 private:
  static constexpr std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
  std::uint64_t seed_;
  std::uint64_t s_[4]{};
};

}  // namespace mail
