// SimEnv: one simulated host's rt::Env. Executor posts into the World queue tagged with
// the host; Clock is the World's virtual time plus the host's skew (wall time = fixed
// epoch 2026-01-01T00:00:00Z + virtual time + skew); Rng is the world seed forked by host
// name and boot number; Net, Disk and Dns are facades over the world-wide SimNet, the
// host's surviving DiskState and the world's zones; Log lines go into the trace.
// SyncFiles and blocking lanes (an embedded database) run over the same DiskState.
// A SimEnv lives from a boot to the next crash: World::crash destroys it.
#pragma once

#include <memory>
#include <string>

#include "buggify.h"
#include "runtime/env.h"
#include "sim_disk.h"
#include "sim_dns.h"
#include "sim_net.h"
#include "sim_sync_files.h"
#include "world.h"

namespace mail::sim {

class SimEnv final : public rt::Env {
 public:
  SimEnv(World& world, HostId id, std::uint32_t incarnation);
  ~SimEnv() override;
  SimEnv(const SimEnv&) = delete;
  SimEnv& operator=(const SimEnv&) = delete;

  rt::Executor& executor() override { return executor_; }
  rt::Clock& clock() override { return clock_; }
  Prng& rng() override { return rng_; }
  rt::Net& net() override { return net_; }
  rt::Disk& disk() override { return disk_; }
  rt::Dns& dns() override { return dns_; }
  rt::Log& log() override { return log_; }
  std::string_view hostname() const override { return hostname_; }
  bool buggify(std::string_view site) override;
  // A SimLane (sim_lane.h): jobs run inline in World events after a disk-latency sample.
  std::unique_ptr<rt::BlockingLane> make_blocking_lane(std::string name) override;
  rt::SyncFiles* sync_files() override { return &sync_files_; }

  World& world() noexcept { return world_; }
  HostId id() const noexcept { return id_; }
  std::uint32_t incarnation() const noexcept { return incarnation_; }
  SimDisk& sim_disk() noexcept { return disk_; }
  HostNet& host_net() noexcept { return net_; }

 private:
  class Exec final : public rt::Executor {
   public:
    Exec(World& w, HostId id) : world_(w), id_(id) {}
    void post(UniqueFunction<void()> fn) override;

   private:
    World& world_;
    HostId id_;
  };
  class SimClock final : public rt::Clock {
   public:
    SimClock(World& w, HostId id) : world_(w), id_(id) {}
    Instant now() const override;
    WallTime wall_now() const override;
    std::unique_ptr<rt::Timer> make_timer() override;

   private:
    World& world_;
    HostId id_;
  };
  class SimLog final : public rt::Log {
   public:
    SimLog(World& w, HostId id) : world_(w), id_(id) {}
    void write(rt::LogLevel level, std::string_view line) override;

   private:
    World& world_;
    HostId id_;
  };

  World& world_;
  HostId id_;
  std::uint32_t incarnation_;
  std::string hostname_;
  Exec executor_;
  SimClock clock_;
  Prng rng_;
  HostNet net_;
  SimDisk disk_;
  SimSyncFiles sync_files_;
  HostDns dns_;
  SimLog log_;
};

}  // namespace mail::sim
