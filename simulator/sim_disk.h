// SimDisk: rt::Disk over an in-memory file system with two layers, exactly the durability
// model of runtime/env.h. File data becomes durable on sync_files; a directory's entries
// (create, rename, link, unlink, mkdir) become durable on sync_dir of that directory. A
// crash replaces every volatile thing by its durable counterpart: a synced file whose
// create was never dir-synced vanishes, an un-dir-synced rename reverts, an unsynced
// write is lost (or, with tearing, a random prefix of it survives). Directories and files
// are inodes, so hard links share data and directory renames work.
// DiskState is the model (synchronous, survives crashes, owned by the World per host);
// SimDisk is one SimEnv's facade adding latency, EIO/ENOSPC faults and async completions.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/prng.h"
#include "core/result.h"
#include "runtime/env.h"
#include "sim_config.h"
#include "world.h"

namespace mail::sim {

class DiskState {
 public:
  DiskState();
  // A deep copy (checkers inspect "what would survive a crash now" on a copy).
  DiskState(const DiskState&) = default;
  DiskState& operator=(const DiskState&) = default;

  // The model's operations, applied at once to the volatile layer. Paths are '/'-separated;
  // a relative path is taken from the root; "." components are ignored, ".." is invalid.
  Status write(std::string_view path, std::string_view data, rt::WriteMode mode, std::uint64_t quota_bytes = 0);
  Result<std::string> read(std::string_view path) const;
  // The volatile contents without a copy; valid until this state next changes.
  Result<std::string_view> read_view(std::string_view path) const;
  Status sync_file(std::string_view path);
  Status sync_dir(std::string_view path);
  Status rename(std::string_view from, std::string_view to);
  Status link(std::string_view from, std::string_view to);
  Status remove(std::string_view path);
  Status make_dirs(std::string_view path);
  Result<std::vector<rt::DirEntry>> list(std::string_view path) const;  // sorted by name
  // Calls fn(name, is_dir, contents) for each entry of `dir`, sorted by name, without
  // copying names or contents (checkers); fn must not change this state.
  using Visitor = std::function<void(std::string_view name, bool is_dir, std::string_view data)>;
  Status visit(std::string_view dir, const Visitor& fn) const;
  Result<std::uint64_t> size(std::string_view path) const;
  bool exists(std::string_view path) const;

  // Positional access (rt::SyncFiles: an embedded database's files), on the volatile
  // data of an existing file like write() (copy on write, quota, durable after
  // sync_file). A file so changed tears differently at a crash: see crash().
  // Writes `data` at `offset`, extending the file (a gap reads as zeros).
  Status write_at(std::string_view path, std::uint64_t offset, std::string_view data, std::uint64_t quota_bytes = 0);
  // Copies up to into.size() bytes at `offset`; fewer only at the end of the file.
  Result<std::size_t> read_at(std::string_view path, std::uint64_t offset, std::span<std::byte> into) const;
  // Shrinks the file to `size` bytes, or extends it with zeros.
  Status truncate(std::string_view path, std::uint64_t size, std::uint64_t quota_bytes = 0);
  static constexpr std::uint64_t kTearBlockBytes = 512;
  bool is_dir(std::string_view path) const;

  // Power loss: every volatile change is dropped. With `tear` (and tear_ppm > 0), each file
  // whose data is unsynced keeps, with that probability, a random prefix of its volatile
  // data (at least what it shares with the durable data). A file changed by write_at or
  // truncate since its last sync tears per block instead: its size lands between the
  // durable and the volatile size, and each kTearBlockBytes block written since the sync
  // holds either its durable or its volatile bytes (a coin each, in offset order): the
  // disk wrote some of the dirty pages, in any order, and nothing else. The draws depend
  // only on the offsets written, never on the bytes.
  void crash(Prng* tear = nullptr, std::uint32_t tear_ppm = 0);

  // What a crash right now would leave (no tearing), without changing this state.
  DiskState durable_view() const;

  std::uint64_t bytes_used() const noexcept { return bytes_used_; }  // file bytes linked now
  std::size_t inode_count() const noexcept { return inodes_.size(); }
  // Every path (files and directories, sorted), for dumps in failure reports and tests.
  std::vector<std::string> walk() const;

 private:
  using Ino = std::uint64_t;
  // File contents are shared, never changed while shared (copy on write): a sync, a crash
  // and a durable_view() copy a pointer, not the bytes. Null is the empty file.
  using Blob = std::shared_ptr<std::string>;
  static std::string_view view(const Blob& b) noexcept { return b ? std::string_view(*b) : std::string_view(); }
  struct Inode {
    bool dir = false;
    Blob data;          // volatile contents (files)
    Blob durable_data;  // contents after a crash
    bool dirty = false;        // data != durable_data possible
    // Changed by write_at/truncate since the last sync (and no whole-file write since):
    // tears per block; the blocks write_at touched, by index.
    bool positional = false;
    std::set<std::uint64_t> dirty_blocks;
    std::map<std::string, Ino, std::less<>> entries;          // volatile entries (dirs)
    std::map<std::string, Ino, std::less<>> durable_entries;  // entries after a crash
    std::set<std::string, std::less<>> changed;  // names whose entry changed since the last sync_dir
    std::uint32_t links = 0;          // volatile entries naming this inode
    std::uint32_t durable_links = 0;  // durable entries naming this inode
  };
  static Result<std::vector<std::string>> split(std::string_view path);
  Result<Ino> resolve(std::string_view path) const;
  Result<std::pair<Ino, std::string>> resolve_parent(std::string_view path) const;
  Ino new_inode(bool dir);
  void set_entry(Ino dir, const std::string& name, Ino child);  // volatile; remembers the change
  void unlink_entry(Ino dir, const std::string& name);
  void maybe_free(Ino ino);
  bool is_ancestor(Ino maybe_ancestor, Ino ino) const;
  // After the volatile layer was replaced by the durable one: drop what the tree no longer
  // reaches and recount links and bytes.
  void collect_and_recount();
  // The file after a torn crash of a positional file (see crash()).
  static Blob torn_blocks(const Inode& node, Prng& tear);
  // The file inode at `path` for a positional change; COWs its data (never null after).
  Result<Inode*> positional_file(std::string_view path);

  std::map<Ino, Inode> inodes_;
  Ino next_ino_ = 2;
  std::uint64_t bytes_used_ = 0;
  static constexpr Ino kRoot = 1;
};

class SimDisk final : public rt::Disk {
 public:
  SimDisk(World& world, HostId host, DiskState& state, DiskConfig config, Prng latency_rng, Prng fault_rng);
  ~SimDisk() override = default;

  void async_write_file(std::string path, std::string data, rt::WriteMode mode, rt::Completion<void> done) override;
  void async_read_file(std::string path, rt::Completion<std::string> done) override;
  void async_sync_files(std::vector<std::string> paths, rt::Completion<void> done) override;
  void async_sync_dir(std::string path, rt::Completion<void> done) override;
  void async_rename(std::string from, std::string to, rt::Completion<void> done) override;
  void async_link(std::string from, std::string to, rt::Completion<void> done) override;
  void async_remove(std::string path, rt::Completion<void> done) override;
  void async_make_dirs(std::string path, rt::Completion<void> done) override;
  void async_list_dir(std::string path, rt::Completion<std::vector<rt::DirEntry>> done) override;
  void async_file_size(std::string path, rt::Completion<std::uint64_t> done) override;
  void async_read_range(std::string path, std::uint64_t offset, std::size_t max_bytes,
                        rt::Completion<std::string> done) override;

  DiskConfig& config() noexcept { return config_; }  // faults may change mid-run
  std::uint64_t ops() const noexcept { return ops_; }

 private:
  enum class Kind : std::uint8_t { read, write, sync };
  // Schedules `apply` after the op's latency unless an injected EIO fails it first.
  template <class T, class Apply>
  void submit(Kind kind, std::string_view what, std::string detail, rt::Completion<T> done, Apply apply);

  World& world_;
  HostId host_;
  DiskState& state_;
  DiskConfig config_;
  Prng latency_rng_;
  Prng fault_rng_;
  std::uint64_t ops_ = 0;
};

}  // namespace mail::sim
