// BUGGIFY decisions: per-seed site activation from a hash, per-site firing streams.
#include "buggify.h"

#include "core/hash.h"
#include "trace.h"

namespace mail::sim {

bool Buggify::site_active(std::string_view site) const noexcept {
  if (!config_.enabled) return false;
  const std::uint64_t h = mix64(fnv1a64(site, seed_ ^ 0xb0661f7ull));
  return h % 1'000'000 < config_.site_active_ppm;
}

bool Buggify::fire(std::string_view site, Trace* trace, Instant at, std::string_view host) {
  if (!config_.enabled) return false;
  auto it = sites_.find(site);
  if (it == sites_.end()) {
    Site s;
    s.active = site_active(site);
    s.rng = Prng(seed_).fork("buggify").fork(site);
    it = sites_.emplace(std::string(site), s).first;
    if (trace != nullptr) trace->record(at, host, "buggify.site", std::string(site) + (s.active ? " active" : " inactive"));
  }
  Site& s = it->second;
  ++s.evaluations;
  if (!s.active) return false;
  const bool fired = s.rng.chance_ppm(config_.fire_ppm);
  if (fired) {
    ++s.fired;
    if (trace != nullptr) trace->record(at, host, "buggify.fire", site);
  }
  return fired;
}

}  // namespace mail::sim
