// Vfs: a SQLite VFS (sqlite3_vfs version 1 + sqlite3_io_methods version 1) over
// rt::SyncFiles, so an embedded database's file I/O goes through the Env (the simulator's
// disk model, with its crashes and torn writes). Registered under a unique name for its
// lifetime; pass name() as DbOptions::vfs. No locking (xLock is a no-op): the database
// runs with locking_mode=EXCLUSIVE, one connection per file, one process. No xShmMap: in
// exclusive locking mode, set before WAL is first used, SQLite keeps the WAL index in heap
// memory. xRandomness and xCurrentTime come from the options, never the OS. (SQLite's
// own PRNG, which picks WAL salts, is process-wide and seeded from the default VFS: the
// salt bytes in a simulated WAL file may differ between runs of one seed. Nothing the
// simulator decides depends on file bytes written this way — the trace records offsets
// and lengths, per-block tearing draws by offset — so runs stay reproducible.)
// Every call through it blocks: use it only inside rt::BlockingLane jobs.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/result.h"
#include "runtime/env.h"

namespace mail::store::sqlite {

struct VfsOptions {
  std::uint64_t seed = 0;  // xRandomness bytes (only temp names and such): a Prng of it
  // xCurrentTime: Unix time in milliseconds (SQL's 'now'). Empty: always the epoch
  // 2026-01-01T00:00:00Z. Called on the lane's thread.
  std::function<std::int64_t()> unix_ms_now;
};

class Vfs {
 public:
  // Registers a new VFS over `files` (which must outlive it), named "cloudsdial-<n>".
  [[nodiscard]] static Result<std::unique_ptr<Vfs>> make(rt::SyncFiles& files, VfsOptions options = {});
  // The Env's VFS: null (use the default, the OS) when env.sync_files() is null, else one
  // over it, seeded from env.rng().fork("sqlite-vfs") and timed by env.clock().wall_now().
  [[nodiscard]] static Result<std::unique_ptr<Vfs>> for_env(rt::Env& env);
  ~Vfs();  // unregisters: every Db opened with it must be closed first
  Vfs(const Vfs&) = delete;
  Vfs& operator=(const Vfs&) = delete;

  const std::string& name() const noexcept;

  struct Impl;  // vfs.cpp

 private:
  explicit Vfs(std::unique_ptr<Impl> impl) noexcept;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mail::store::sqlite
