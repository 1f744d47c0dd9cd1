// BUGGIFY (FoundationDB): fault sites in server code that fire only in simulation. Each
// site is switched on or off once per seed (site_active_ppm, decided from a hash of the
// seed and the site name, so the order in which sites are first reached does not matter)
// and an active site then fires with fire_ppm on each evaluation, from its own labelled
// stream. Every first evaluation and every firing is recorded in the trace.
//
// Server code reaches it through `MAIL_BUGGIFY(env, site)` (server/runtime/buggify.h),
// i.e. the virtual rt::Env::buggify(), which SimEnv overrides to call Buggify::fire().
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "core/prng.h"
#include "runtime/env.h"
#include "sim_config.h"

namespace mail::sim {

class Trace;

// The world-wide engine behind every SimEnv's buggify().
class Buggify {
 public:
  Buggify(std::uint64_t seed, BuggifyConfig config) : seed_(seed), config_(config) {}

  // Decides whether `site` fires now; records into `trace` (when given) at time `at`.
  bool fire(std::string_view site, Trace* trace, Instant at, std::string_view host);

  bool site_active(std::string_view site) const noexcept;
  BuggifyConfig& config() noexcept { return config_; }
  struct Site {
    bool active = false;
    std::uint64_t evaluations = 0;
    std::uint64_t fired = 0;
    Prng rng{0};
  };
  const std::map<std::string, Site, std::less<>>& sites() const noexcept { return sites_; }

 private:
  std::uint64_t seed_;
  BuggifyConfig config_;
  std::map<std::string, Site, std::less<>> sites_;
};

}  // namespace mail::sim
