// World: scheduler, hosts, crash and boot (see world.h).
#include "world.h"

#include <algorithm>
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
  // In queue order, one at a time: a destructor may schedule or cancel others.
  while (!heap_.empty()) {
    UniqueFunction<void()> fn = heap_remove(0);
    (void)fn;
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
  // Nobody else may hold the services: they would outlive the Env they use.
  MAIL_ASSERT(h.services.use_count() <= 1);
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
  // Extract first, destroy after (destructors may schedule or cancel other events), in
  // queue order as before.
  std::vector<HeapEntry> mine;
  for (const HeapEntry& e : heap_) {
    if (slots_[e.slot].host == id) mine.push_back(e);
  }
  std::sort(mine.begin(), mine.end());
  std::vector<UniqueFunction<void()>> dropped;
  dropped.reserve(mine.size());
  for (const HeapEntry& e : mine) dropped.push_back(heap_remove(slots_[e.slot].heap_pos));
  dropped.clear();
}

// ============================================================================ event heap

void World::heap_place(std::size_t pos, const HeapEntry& e) noexcept {
  heap_[pos] = e;
  slots_[e.slot].heap_pos = static_cast<std::uint32_t>(pos);
}

void World::heap_sift_up(std::size_t pos) noexcept {
  const HeapEntry e = heap_[pos];
  while (pos > 0) {
    const std::size_t parent = (pos - 1) / 2;
    if (!(e < heap_[parent])) break;
    heap_place(pos, heap_[parent]);
    pos = parent;
  }
  heap_place(pos, e);
}

void World::heap_sift_down(std::size_t pos) noexcept {
  const HeapEntry e = heap_[pos];
  const std::size_t n = heap_.size();
  for (;;) {
    std::size_t child = 2 * pos + 1;
    if (child >= n) break;
    if (child + 1 < n && heap_[child + 1] < heap_[child]) ++child;
    if (!(heap_[child] < e)) break;
    heap_place(pos, heap_[child]);
    pos = child;
  }
  heap_place(pos, e);
}

UniqueFunction<void()> World::heap_remove(std::size_t pos) noexcept {
  MAIL_ASSERT(pos < heap_.size());
  const std::uint32_t slot = heap_[pos].slot;
  const HeapEntry last = heap_.back();
  heap_.pop_back();
  if (pos < heap_.size()) {
    heap_place(pos, last);
    if (pos > 0 && last < heap_[(pos - 1) / 2]) {
      heap_sift_up(pos);
    } else {
      heap_sift_down(pos);
    }
  }
  Slot& s = slots_[slot];
  UniqueFunction<void()> fn = std::move(s.fn);
  s.seq = 0;
  free_slots_.push_back(slot);
  return fn;
}

// ============================================================================ scheduler

EventHandle World::schedule_at(Instant at, HostId host_id, UniqueFunction<void()> fn) {
  MAIL_ASSERT(fn);
  if (host_id != kWorldHost && !host(host_id).up) return {};  // fn destroyed uncalled
  if (at < now_) at = now_;
  std::uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    slot = static_cast<std::uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  const EventHandle h{at, next_seq_++, slot};
  Slot& s = slots_[slot];
  s.seq = h.seq;
  s.host = host_id;
  s.fn = std::move(fn);
  heap_.push_back(HeapEntry{at.time_since_epoch().count(), h.seq, slot});
  heap_sift_up(heap_.size() - 1);
  return h;
}

bool World::cancel(EventHandle& h) {
  if (!h) return false;
  const EventHandle was = h;
  h = {};
  if (was.slot >= slots_.size() || slots_[was.slot].seq != was.seq) return false;  // ran or canceled
  UniqueFunction<void()> fn = heap_remove(slots_[was.slot].heap_pos);  // destroyed here, uncalled
  return true;
}

std::optional<Instant> World::next_event_time() const noexcept {
  if (heap_.empty()) return std::nullopt;
  return Instant(Duration(heap_.front().at_us));
}

bool World::step() {
  if (heap_.empty()) return false;
  MAIL_ASSERT(steps_ < config_.max_steps);
  const HeapEntry top = heap_.front();
  const HostId host_id = slots_[top.slot].host;
  UniqueFunction<void()> fn = heap_remove(0);
  const Instant at(Duration(top.at_us));
  MAIL_ASSERT(at >= now_);
  now_ = at;
  ++steps_;
  trace_.fold(static_cast<std::uint64_t>(top.at_us), top.seq, host_id);
  fn();
  return true;
}

bool World::budget_left(std::uint64_t start, std::uint64_t max_steps) const noexcept {
  return steps_ - start < max_steps && steps_ < config_.max_steps;
}

RunStatus World::run_until_idle(std::uint64_t max_steps) {
  const std::uint64_t start = steps_;
  while (!heap_.empty()) {
    if (!budget_left(start, max_steps)) return RunStatus::budget_exhausted;
    step();
  }
  return RunStatus::idle;
}

RunStatus World::run_for(Duration d, std::uint64_t max_steps) {
  const std::uint64_t start = steps_;
  const Instant end = now_ + d;
  while (!heap_.empty() && heap_.front().at_us <= end.time_since_epoch().count()) {
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
    if (heap_.empty()) return RunStatus::idle;
    if (heap_.front().at_us > end.time_since_epoch().count()) {
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
