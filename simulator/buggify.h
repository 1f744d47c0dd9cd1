// BUGGIFY (FoundationDB): fault sites in server code that fire only in simulation. Each
// site is switched on or off once per seed (site_active_ppm, decided from a hash of the
// seed and the site name, so the order in which sites are first reached does not matter)
// and an active site then fires with fire_ppm on each evaluation, from its own labelled
// stream. Every first evaluation and every firing is recorded in the trace.
//
// Server code must not depend on simulator/, so the hook that server code will use is an
// interface this header declares and SimEnv implements, reached by dynamic_cast from the
// rt::Env. Plan (see docs/SIMULATOR.md): move the hook into server/runtime/buggify.h as a
// `virtual bool buggify(std::string_view site)` on rt::Env (production: always false)
// and keep MAIL_BUGGIFY's spelling, so call sites do not change.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "core/prng.h"
#include "runtime/env.h"
#include "sim_config.h"

namespace mail::sim {

class BuggifySource {
 public:
  virtual bool buggify_fire(std::string_view site) = 0;

 protected:
  ~BuggifySource() = default;
};

// False outside the simulator (the Env is not a BuggifySource).
inline bool buggify_at(rt::Env& env, std::string_view site) {
  auto* source = dynamic_cast<BuggifySource*>(&env);
  return source != nullptr && source->buggify_fire(site);
}

class Trace;

// The world-wide engine behind every host's BuggifySource.
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

// MAIL_BUGGIFY(env, "site-name"): true when this simulated run decides to misbehave here.
// Site names must be stable string literals (not __FILE__: paths differ between builds).
#if defined(MAIL_SIMULATION)
#define MAIL_BUGGIFY(env, site) (::mail::sim::buggify_at((env), (site)))
#else
#define MAIL_BUGGIFY(env, site) (static_cast<void>(env), false)
#endif
