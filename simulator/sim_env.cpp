// SimEnv: executor, clock, timers and log of one simulated host (see sim_env.h).
#include "sim_env.h"

#include <utility>

#include "sim_lane.h"

namespace mail::sim {

namespace {

// Timer contract (runtime/env.h): completes ok at the deadline, canceled after cancel();
// re-arming cancels the earlier wait. Destroying an armed timer destroys its completion
// uncalled (its owner — usually the awaiting frame — is going away).
class SimTimer final : public rt::Timer {
 public:
  SimTimer(World& w, HostId id) : world_(w), id_(id) {}
  ~SimTimer() override { world_.cancel(ev_); }

  void async_wait_until(Instant deadline, rt::Completion<void> done) override {
    MAIL_ASSERT(done);
    cancel();
    done_ = std::move(done);
    ev_ = world_.schedule_at(world_.to_world_time(id_, deadline), id_, [this]() {
      ev_ = {};
      auto d = std::move(done_);
      done_ = nullptr;
      d(Status{});
    });
  }

  void cancel() override {
    if (!ev_) return;
    world_.cancel(ev_);
    auto d = std::move(done_);
    done_ = nullptr;
    world_.schedule_at(world_.now(), id_, [d = std::move(d)]() mutable { d(fail(Errc::canceled, "timer canceled")); });
  }

 private:
  World& world_;
  HostId id_;
  EventHandle ev_;
  rt::Completion<void> done_;
};

std::string_view level_kind(rt::LogLevel l) {
  switch (l) {
    case rt::LogLevel::debug: return "log.debug";
    case rt::LogLevel::info: return "log.info";
    case rt::LogLevel::warn: return "log.warn";
    case rt::LogLevel::error: return "log.error";
  }
  return "log";
}

}  // namespace

void SimEnv::Exec::post(UniqueFunction<void()> fn) {
  MAIL_ASSERT(fn);
  world_.schedule_at(world_.now(), id_, std::move(fn));
}

Instant SimEnv::SimClock::now() const { return world_.host_now(id_); }

WallTime SimEnv::SimClock::wall_now() const {
  const std::int64_t us = world_.host_now(id_).time_since_epoch().count();
  return WallTime{kWallEpochUnixSeconds * 1'000'000 + us};
}

std::unique_ptr<rt::Timer> SimEnv::SimClock::make_timer() { return std::make_unique<SimTimer>(world_, id_); }

void SimEnv::SimLog::write(rt::LogLevel level, std::string_view line) { world_.record(id_, level_kind(level), line); }

SimEnv::SimEnv(World& world, HostId id, std::uint32_t incarnation)
    : world_(world),
      id_(id),
      incarnation_(incarnation),
      hostname_(world.host_name(id)),
      executor_(world, id),
      clock_(world, id),
      rng_(world.fork("host").fork(hostname_).fork("boot-" + std::to_string(incarnation))),
      net_(world.net(), id),
      disk_(world, id, world.disk_state(id), world.host_config(id).disk, world.fork("disk").fork(hostname_).fork("boot-" + std::to_string(incarnation)),
            world.fork("disk-faults").fork(hostname_).fork("boot-" + std::to_string(incarnation))),
      sync_files_(world, id, incarnation, world.disk_state(id), disk_,
                  world.fork("sync-files-faults").fork(hostname_).fork("boot-" + std::to_string(incarnation))),
      dns_(world, id, world.dns(), world.fork("dns").fork(hostname_).fork("boot-" + std::to_string(incarnation))),
      log_(world, id) {}

SimEnv::~SimEnv() {
  // runtime/env.h: destroy the frames before the things they hold.
  tasks().destroy_all();
}

std::unique_ptr<rt::BlockingLane> SimEnv::make_blocking_lane(std::string name) {
  Prng rng = world_.fork("lane").fork(hostname_).fork("boot-" + std::to_string(incarnation_)).fork(name);
  return std::make_unique<SimLane>(world_, id_, std::move(name), disk_.config().latency, rng);
}

bool SimEnv::buggify(std::string_view site) {
  return world_.buggify().fire(site, &world_.trace(), world_.now(), hostname_);
}

}  // namespace mail::sim
