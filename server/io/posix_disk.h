// PosixDisk: rt::Disk over plain POSIX calls on a WorkerPool (small reads of cached files
// on the calling thread, cached_read.h); each completion is posted
// back to the Env's executor, never run on a worker nor inside the initiating call. All
// durability is real: sync_files and sync_dir always reach the device (no skipped fsync).
// Errors map through core/error.h error_from_errno.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "runtime/env.h"

namespace mail::io {

class WorkerPool;

// How async_sync_files makes a batch durable (figures and reasoning in posix_disk.cpp).
enum class SyncStrategy : std::uint8_t {
  automatic,   // parallel below PosixDiskOptions::syncfs_files_min files, else syncfs
  sequential,  // fdatasync each file in turn on one worker (baseline)
  parallel,    // fdatasync the files concurrently on every worker (jbd2 merges commits)
  syncfs,      // one syncfs() per filesystem, then a per-file writeback-error check
};

struct PosixDiskOptions {
  SyncStrategy sync_strategy = SyncStrategy::automatic;
  std::size_t syncfs_files_min = 4;  // automatic: batches this large use syncfs
  std::uint32_t file_mode = 0600;    // new files (before umask): mail is private
  std::uint32_t dir_mode = 0700;     // new directories
  // Small reads whose path and pages are cached are done on the Env thread (cached_read.h).
  bool inline_cached_reads = true;
};

class PosixDisk final : public rt::Disk {
 public:
  // `pool` and `executor` must outlive every operation's completion.
  PosixDisk(WorkerPool& pool, rt::Executor& executor, PosixDiskOptions options = {});

  void async_write_file(std::string path, std::string data, rt::WriteMode mode, rt::Completion<void> done) override;
  // Writes straight from the shared parts with writev (no copy of the message).
  void async_write_parts(std::string path, std::shared_ptr<const std::vector<std::string>> parts, rt::WriteMode mode,
                         rt::Completion<void> done) override;
  void async_read_file(std::string path, rt::Completion<std::string> done) override;
  // The whole batch in one worker job (never inline, even when cached): the executor
  // renders and sends one batch while a worker reads the next session's.
  void async_read_each(std::vector<std::string> paths,
                       rt::Completion<std::vector<Result<std::string>>> done) override;
  // pread into a buffer of max_bytes: the file is never read whole.
  void async_read_range(std::string path, std::uint64_t offset, std::size_t max_bytes,
                        rt::Completion<std::string> done) override;
  // Durable data (and size) of every file, with the strategy above. The files must have
  // been written before the call; Errc::not_found if one is missing.
  void async_sync_files(std::vector<std::string> paths, rt::Completion<void> done) override;
  void async_sync_dir(std::string path, rt::Completion<void> done) override;
  void async_rename(std::string from, std::string to, rt::Completion<void> done) override;
  // All renames in one worker job, in order: one hand-off each way for a whole round.
  void async_rename_each(std::vector<std::pair<std::string, std::string>> moves,
                         rt::Completion<std::vector<Result<void>>> done) override;
  void async_link(std::string from, std::string to, rt::Completion<void> done) override;
  // Unlinks a file, or removes an empty directory.
  void async_remove(std::string path, rt::Completion<void> done) override;
  // mkdir -p; ok if it exists as a directory, Errc::exists if a component is a file.
  void async_make_dirs(std::string path, rt::Completion<void> done) override;
  // Entries except "." and "..", sorted by name (byte order) for determinism.
  void async_list_dir(std::string path, rt::Completion<std::vector<rt::DirEntry>> done) override;
  void async_file_size(std::string path, rt::Completion<std::uint64_t> done) override;

  // The strategy automatic resolves to for a batch of `files` (syncfs needs Linux >= 5.8,
  // the first kernel whose syncfs reports writeback errors).
  SyncStrategy strategy_for(std::size_t files) const noexcept;

 private:
  template <class T, class Fn>
  void run(Fn fn, rt::Completion<T> done);
  template <class T>
  void post_result(Result<T> r, rt::Completion<T> done);
  void sync_parallel(std::vector<std::string> paths, rt::Completion<void> done);

  WorkerPool& pool_;
  rt::Executor& executor_;
  PosixDiskOptions options_;
  bool syncfs_reports_errors_ = false;
};

}  // namespace mail::io
