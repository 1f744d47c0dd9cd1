// World: scheduler, hosts, crash and boot (see world.h).
#include "world.h"

#include <utility>

#include "buggify.h"
#include "sim_disk.h"
#include "sim_dns.h"
#include "sim_env.h"
#include "sim_net.h"

namespace mail::sim {

std::string_view to_string(RunStatus s) noexcept {
  switch (s) {
    case RunStatus::idle: return "idle";
    case RunStatus::predicate: return "predicate";
    case RunStatus::time_limit: return "time_limit";
    case RunStatus::budget_exhausted: return "budget_exhausted";
  }
  return "?";
}

struct World::Host {
  HostConfig config;
  BootFn boot;
  DiskState disk;
  bool up = false;
  std::uint32_t incarnation = 0;
  std::unique_ptr<SimEnv> env;
  std::shared_ptr<void> services;
  Prng tear_rng{0};
};

World::World(std::uint64_t seed, WorldConfig config)
    : seed_(seed),
      config_(std::move(config)),
      trace_(config_.trace),
      net_(std::make_unique<Network>(*this, config_.net)),
      dns_(std::make_unique<DnsZones>(config_.dns)),
      buggify_(std::make_unique<Buggify>(seed, config_.buggify)) {}

World::~World() {
  tearing_down_ = true;
  // Observers belong to whoever owns this World and may already be half destroyed.
  observer_ = nullptr;
  net_->set_write_observer(nullptr);
  // Hosts go down in reverse creation order, each like a crash without the disk effects
  // mattering; then whatever is left in the queue is destroyed uncalled.
  for (std::size_t i = hosts_.size(); i-- > 0;) {
    if (hosts_[i]->up) crash(static_cast<HostId>(i));
  }
  while (!queue_.empty()) {
    auto node = queue_.extract(queue_.begin());
    (void)node;
  }
}

// ============================================================================ hosts

World::Host& World::host(HostId id) {
  MAIL_ASSERT(id < hosts_.size());
  return *hosts_[id];
}
const World::Host& World::host(HostId id) const {
  MAIL_ASSERT(id < hosts_.size());
  return *hosts_[id];
}

HostId World::add_host(HostConfig config, BootFn boot) {
  MAIL_ASSERT(!config.name.empty());
  for (const auto& h : hosts_) MAIL_ASSERT(h->config.name != config.name);
  const auto id = static_cast<HostId>(hosts_.size());
  auto h = std::make_unique<Host>();
  h->tear_rng = fork("disk-tear").fork(config.name);
  h->config = std::move(config);
  h->boot = std::move(boot);
  net_->add_host(id, h->config.address);
  hosts_.push_back(std::move(h));
  return id;
}

HostId World::host_by_name(std::string_view name) const {
  for (std::size_t i = 0; i < hosts_.size(); ++i) {
    if (hosts_[i]->config.name == name) return static_cast<HostId>(i);
  }
  MAIL_ASSERT(false && "no such host");
  return 0;
}

const HostConfig& World::host_config(HostId id) const { return host(id).config; }
std::string_view World::host_name(HostId id) const { return id == kWorldHost ? std::string_view() : host(id).config.name; }
bool World::host_up(HostId id) const { return host(id).up; }
std::uint32_t World::incarnation(HostId id) const { return host(id).incarnation; }
DiskState& World::disk_state(HostId id) { return host(id).disk; }
std::shared_ptr<void> World::services(HostId id) const { return host(id).services; }

SimEnv& World::env(HostId id) {
  Host& h = host(id);
  MAIL_ASSERT(h.up);
  MAIL_ASSERT(h.env != nullptr);
  return *h.env;
}

void World::set_boot(HostId id, BootFn boot) { host(id).boot = std::move(boot); }

void World::set_clock_skew(HostId id, Duration skew) {
  host(id).config.clock_skew = skew;
  record(id, "host.skew", std::to_string(skew.count()) + "us");
}

Instant World::host_now(HostId id) const noexcept { return now_ + host(id).config.clock_skew; }

Instant World::to_world_time(HostId id, Instant host_time) const noexcept {
  if (host_time == instant_max()) return host_time;
  return host_time - host(id).config.clock_skew;
}

void World::boot(HostId id) {
  Host& h = host(id);
  MAIL_ASSERT(!h.up);
  MAIL_ASSERT(!tearing_down_);
  h.up = true;
  ++h.incarnation;
  record(id, "host.boot", "incarnation=" + std::to_string(h.incarnation));
  h.env = std::make_unique<SimEnv>(*this, id, h.incarnation);
  if (h.boot) h.services = h.boot(*h.env);
}

void World::crash(HostId id) {
  Host& h = host(id);
  MAIL_ASSERT(h.up);
  record(id, "host.crash", "incarnation=" + std::to_string(h.incarnation));
  h.up = false;  // from here on, events scheduled for the host are dropped at once
  // 1. Its sockets vanish first, so nothing below sends a FIN as if it closed cleanly.
  net_->on_host_crash(id);
  // 2. Its queued events (completions, posted work, timers) are destroyed uncalled.
  drop_host_events(id);
  // 3. Its coroutines, then the services they used, then the Env itself.
  h.env->tasks().destroy_all();
  h.services.reset();
  h.env.reset();
  drop_host_events(id);  // anything destructors scheduled
  // 4. Power loss on the disk.
  if (!tearing_down_) h.disk.crash(&h.tear_rng, h.config.disk.tear_ppm);
}

void World::restart(HostId id) {
  if (host(id).up) crash(id);
  boot(id);
}

void World::drop_host_events(HostId id) {
  // Extract first, destroy after: destructors may schedule or cancel other events.
  std::vector<decltype(queue_)::node_type> dropped;
  for (auto it = queue_.begin(); it != queue_.end();) {
    auto next = std::next(it);
    if (it->second.host == id) dropped.push_back(queue_.extract(it));
    it = next;
  }
  dropped.clear();
}

// ============================================================================ scheduler

EventHandle World::schedule_at(Instant at, HostId host_id, UniqueFunction<void()> fn) {
  MAIL_ASSERT(fn);
  if (host_id != kWorldHost && !host(host_id).up) return {};  // fn destroyed uncalled
  if (at < now_) at = now_;
  const EventHandle h{at, next_seq_++};
  queue_.emplace(Key{at.time_since_epoch().count(), h.seq}, Event{host_id, std::move(fn)});
  return h;
}

bool World::cancel(EventHandle& h) {
  if (!h) return false;
  auto it = queue_.find(Key{h.at.time_since_epoch().count(), h.seq});
  h = {};
  if (it == queue_.end()) return false;
  auto node = queue_.extract(it);  // destroyed at the end of this scope, uncalled
  return true;
}

std::optional<Instant> World::next_event_time() const noexcept {
  if (queue_.empty()) return std::nullopt;
  return Instant(Duration(queue_.begin()->first.at_us));
}

bool World::step() {
  if (queue_.empty()) return false;
  MAIL_ASSERT(steps_ < config_.max_steps);
  auto node = queue_.extract(queue_.begin());
  const Instant at(Duration(node.key().at_us));
  MAIL_ASSERT(at >= now_);
  now_ = at;
  ++steps_;
  trace_.fold(static_cast<std::uint64_t>(node.key().at_us), node.key().seq, node.mapped().host);
  node.mapped().fn();
  return true;
}

bool World::budget_left(std::uint64_t start, std::uint64_t max_steps) const noexcept {
  return steps_ - start < max_steps && steps_ < config_.max_steps;
}

RunStatus World::run_until_idle(std::uint64_t max_steps) {
  const std::uint64_t start = steps_;
  while (!queue_.empty()) {
    if (!budget_left(start, max_steps)) return RunStatus::budget_exhausted;
    step();
  }
  return RunStatus::idle;
}

RunStatus World::run_for(Duration d, std::uint64_t max_steps) {
  const std::uint64_t start = steps_;
  const Instant end = now_ + d;
  while (!queue_.empty() && queue_.begin()->first.at_us <= end.time_since_epoch().count()) {
    if (!budget_left(start, max_steps)) return RunStatus::budget_exhausted;
    step();
  }
  now_ = end;
  return RunStatus::time_limit;
}

RunStatus World::run_until(const std::function<bool()>& done, Duration max_duration, std::uint64_t max_steps) {
  const std::uint64_t start = steps_;
  const Instant end = now_ + max_duration;
  while (true) {
    if (done()) return RunStatus::predicate;
    if (queue_.empty()) return RunStatus::idle;
    if (queue_.begin()->first.at_us > end.time_since_epoch().count()) {
      now_ = end;
      return RunStatus::time_limit;
    }
    if (!budget_left(start, max_steps)) return RunStatus::budget_exhausted;
    step();
  }
}

void World::record(HostId host_id, std::string_view kind, std::string_view detail) {
  trace_.record(now_, host_name(host_id), kind, detail);
  if (observer_) observer_(host_id, kind, detail);
  if (tap_) tap_(host_id, kind, detail);
}

void World::set_disk_config(HostId id, DiskConfig config) {
  Host& h = host(id);
  h.config.disk = config;
  if (h.env) h.env->sim_disk().config() = std::move(config);
}

}  // namespace mail::sim
