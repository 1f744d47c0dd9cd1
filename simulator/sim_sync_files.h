// SimSyncFiles: the simulator's rt::SyncFiles, synchronous positional access to the
// host's DiskState (write_at/read_at/truncate: volatile until sync, per-block tearing at
// a crash, a new name durable after sync_dir). Calls run inside SimLane jobs, so no
// latency of their own. Faults as SimDisk: EIO at the disk config's rates (own rng
// stream), ENOSPC past its quota, lying_sync. Once the host has crashed (from the crash
// instant on, while its services are being destroyed), every call fails with Errc::io
// and changes nothing: a database closing during teardown can never make data durable.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/prng.h"
#include "runtime/env.h"
#include "sim_disk.h"
#include "world.h"

namespace mail::sim {

class SimSyncFiles final : public rt::SyncFiles {
 public:
  // `disk` supplies the live DiskConfig (faults may change mid-run).
  SimSyncFiles(World& world, HostId host, std::uint32_t incarnation, DiskState& state, SimDisk& disk, Prng fault_rng);

  Result<std::unique_ptr<rt::SyncFile>> open(std::string_view path, bool create) override;
  Status remove(std::string_view path) override;
  Result<bool> exists(std::string_view path) override;
  Status sync_dir(std::string_view path) override;

  std::uint64_t ops() const noexcept { return ops_; }

  // For SimSyncFile: ok to proceed, or the failure to return (host down, EIO).
  enum class Kind : std::uint8_t { read, write, sync };
  Status check(Kind kind, std::string_view what, std::string_view path);
  DiskState& state() noexcept { return state_; }
  const DiskConfig& config() const noexcept { return disk_.config(); }
  void record(std::string_view what, std::string_view detail);

 private:
  World& world_;
  HostId host_;
  std::uint32_t incarnation_;
  DiskState& state_;
  SimDisk& disk_;
  Prng fault_rng_;
  std::uint64_t ops_ = 0;
};

}  // namespace mail::sim
