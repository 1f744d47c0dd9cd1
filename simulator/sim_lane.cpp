// SimLane: a serial job queue driven by World events (see sim_lane.h).
#include "sim_lane.h"

#include <utility>

#include "core/assert.h"

namespace mail::sim {

SimLane::SimLane(World& world, HostId host, std::string name, Latency latency, Prng latency_rng)
    : world_(world), host_(host), name_(std::move(name)), latency_(latency), rng_(latency_rng) {}

SimLane::~SimLane() {
  *alive_ = false;
  world_.cancel(ev_);
  // Queued jobs and their completions are destroyed uncalled with queue_.
}

void SimLane::run(UniqueFunction<void()> job, rt::Completion<void> done) {
  MAIL_ASSERT(job);
  MAIL_ASSERT(done);
  queue_.push_back(Item{std::move(job), std::move(done)});
  if (!ev_) schedule_head();
}

void SimLane::schedule_head() {
  MAIL_ASSERT(!ev_);
  MAIL_ASSERT(!queue_.empty());
  ev_ = world_.schedule_after(latency_.sample(rng_), host_, [this] { run_head(); });
}

void SimLane::run_head() {
  ev_ = {};
  MAIL_ASSERT(!queue_.empty());
  Item item = std::move(queue_.front());
  queue_.pop_front();
  ++jobs_run_;
  world_.record(host_, "lane.job", name_);
  item.job();
  item.job = nullptr;
  world_.schedule_at(world_.now(), host_, [alive = alive_, done = std::move(item.done)]() mutable {
    if (*alive) done(Status{});
  });
  if (!queue_.empty()) schedule_head();
}

}  // namespace mail::sim
