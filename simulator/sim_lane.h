// SimLane: the simulator's rt::BlockingLane. Jobs queue in submission order; the head
// runs inline in a World event of the host after a disk-latency sample (its own rng
// stream: no existing draw moves), then `done` is posted as another event and the next
// job is scheduled. Never runs anything from inside run(). Destroying the lane, or the
// host crashing, drops the queued jobs uncalled; a `done` already posted is suppressed
// once the lane is gone.
#pragma once

#include <deque>
#include <memory>
#include <string>

#include "core/function.h"
#include "core/prng.h"
#include "runtime/env.h"
#include "sim_config.h"
#include "world.h"

namespace mail::sim {

class SimLane final : public rt::BlockingLane {
 public:
  SimLane(World& world, HostId host, std::string name, Latency latency, Prng latency_rng);
  ~SimLane() override;
  SimLane(const SimLane&) = delete;
  SimLane& operator=(const SimLane&) = delete;

  void run(UniqueFunction<void()> job, rt::Completion<void> done) override;

  std::uint64_t jobs_run() const noexcept { return jobs_run_; }

 private:
  struct Item {
    UniqueFunction<void()> job;
    rt::Completion<void> done;
  };
  void schedule_head();
  void run_head();

  World& world_;
  HostId host_;
  std::string name_;
  Latency latency_;
  Prng rng_;
  std::deque<Item> queue_;
  EventHandle ev_;  // the head's event while one is scheduled
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::uint64_t jobs_run_ = 0;
};

}  // namespace mail::sim
