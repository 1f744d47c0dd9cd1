// GroupCommitter rounds (see group_commit.h). All file access through Env::Disk; the order
// of operations inside a round is the durability argument, so change it only with care:
// data synced before any name points at it, every name's directory synced before the
// delivery completes (DESIGN.md "nothing acknowledged is ever lost").
#include "store/group_commit.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <utility>

#include "runtime/await.h"
#include "store/when_all.h"

namespace mail::store {
namespace {

std::string parent_dir(const std::string& path) {
  MAIL_ASSERT(!path.empty());
  MAIL_ASSERT(path.back() != '/');  // a file's path, not a directory's
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// Link errors after which a copy is worth trying: EXDEV/EPERM/EMLINK arrive as io, a
// filesystem or Env without hard links as unsupported. exists/not_found/no_space would
// fail the copy the same way, so they fail the delivery at once.
bool copy_may_help(Errc e) noexcept { return e == Errc::io || e == Errc::unsupported; }

// A path a commit item may name: non-empty, no empty component (the store builds them from
// one layout function, so a "//" means a bug there).
bool is_item_path(const std::string& p) noexcept { return !p.empty() && p.find("//") == std::string::npos; }

StartOp op_link(rt::Disk& disk, std::string from, std::string to) {
  return [&disk, from = std::move(from), to = std::move(to)](rt::Completion<void> c) mutable {
    disk.async_link(std::move(from), std::move(to), std::move(c));
  };
}
StartOp op_remove(rt::Disk& disk, std::string path) {
  return [&disk, path = std::move(path)](rt::Completion<void> c) mutable { disk.async_remove(std::move(path), std::move(c)); };
}
StartOp op_sync_dir(rt::Disk& disk, std::string path) {
  return [&disk, path = std::move(path)](rt::Completion<void> c) mutable { disk.async_sync_dir(std::move(path), std::move(c)); };
}
// Reads `from` back and writes it to `to` (create_new): the copy fallback, rare enough
// that re-reading beats keeping every message's bytes in memory until its commit.
StartOp op_copy(rt::Disk& disk, std::string from, std::string to) {
  return [&disk, from = std::move(from), to = std::move(to)](rt::Completion<void> c) mutable {
    disk.async_read_file(std::move(from), [&disk, to = std::move(to), c = std::move(c)](Result<std::string> r) mutable {
      if (!r.ok()) {
        c(fail(r.error()));
        return;
      }
      disk.async_write_file(std::move(to), std::move(r).value(), rt::WriteMode::create_new, std::move(c));
    });
  };
}

}  // namespace

// Lives in the committing coroutine's frame; registered with the committer while queued
// or in a round, so a frame destroyed early (host crash) never leaves a dangling pointer.
struct GroupCommitter::Waiter {
  CommitItem item;
  Status result{};
  std::coroutine_handle<> handle{};
  GroupCommitter* owner = nullptr;

  ~Waiter() {
    if (owner != nullptr) owner->forget(this);
  }
};

struct GroupCommitter::Enqueue {
  GroupCommitter& self;
  Waiter& w;
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) {
    w.handle = h;
    w.owner = &self;
    self.queued_.push_back(&w);
    if (!self.running_) {
      // No round in flight: start one now. It runs until its first disk operation, which
      // never completes inline, so `h` stays suspended until the round posts it.
      self.running_ = true;
      self.env_.tasks().spawn(self.run());
    }
  }
  void await_resume() const noexcept {}
};

// Lives in run()'s frame. If the Env destroys that frame (crash, shutdown) the committer
// must not stay "running" forever; if the committer dies first, the guard is disarmed.
struct GroupCommitter::RunGuard {
  GroupCommitter* owner;
  explicit RunGuard(GroupCommitter* o) : owner(o) { owner->guard_ = this; }
  RunGuard(const RunGuard&) = delete;
  RunGuard& operator=(const RunGuard&) = delete;
  ~RunGuard() {
    if (owner == nullptr) return;
    owner->guard_ = nullptr;
    owner->running_ = false;
    // Waiters of an abandoned round are never resumed; they die with the crashed host.
    for (auto* round : {&owner->in_round_, &owner->syncing_}) {
      for (Waiter* w : *round) {
        if (w != nullptr) w->owner = nullptr;
      }
      round->clear();
    }
  }
};

GroupCommitter::~GroupCommitter() {
  if (guard_ != nullptr) guard_->owner = nullptr;
  for (Waiter* w : queued_) w->owner = nullptr;
  for (auto* round : {&in_round_, &syncing_}) {
    for (Waiter* w : *round) {
      if (w != nullptr) w->owner = nullptr;
    }
  }
}

void GroupCommitter::forget(Waiter* w) noexcept {
  MAIL_ASSERT(w != nullptr);
  MAIL_ASSERT(w->owner == this);
  if (auto it = std::find(queued_.begin(), queued_.end(), w); it != queued_.end()) queued_.erase(it);
  std::replace(in_round_.begin(), in_round_.end(), w, static_cast<Waiter*>(nullptr));
  std::replace(syncing_.begin(), syncing_.end(), w, static_cast<Waiter*>(nullptr));
}

// One round's items and the state of its sync_files, which completes through a callback
// (it may finish while run() is busy with the previous round) and lives in run()'s frame.
// If that frame dies (crash, shutdown) the Env drops the pending completion uncalled.
struct GroupCommitter::Batch {
  std::vector<CommitItem> items;
  Instant started{};                   // when its sync_files was asked
  bool synced = false;                 // the sync_files completion has run
  Status sync_status{};
  std::coroutine_handle<> waiting{};  // run(), suspended until `synced`
};

struct GroupCommitter::AwaitSync {
  Batch& b;
  bool await_ready() const noexcept { return b.synced; }
  void await_suspend(std::coroutine_handle<> h) noexcept { b.waiting = h; }
  void await_resume() const noexcept {}
};

double GroupCommitter::seconds_since(Instant start) const {
  return std::chrono::duration<double>(env_.clock().now() - start).count();
}

void GroupCommitter::start_batch(Batch& b) {
  MAIL_ASSERT(syncing_.empty());
  syncing_ = std::exchange(queued_, {});
  b.items.clear();
  b.items.reserve(syncing_.size());
  for (Waiter* w : syncing_) b.items.push_back(std::move(w->item));
  b.synced = false;
  b.sync_status = Status{};
  b.waiting = {};
  // Only called with deliveries waiting: a round is never empty.
  MAIL_ASSERT(!b.items.empty());
  MAIL_ASSERT(queued_.empty());
  ++stats_.rounds;
  stats_.items += b.items.size();
  stats_.largest_round = std::max<std::uint64_t>(stats_.largest_round, b.items.size());
  MAIL_ASSERT(stats_.largest_round <= stats_.items);
  // 1. File data of the whole round: one call, which the Env may turn into one fsync
  //    batch. We cannot tell which file failed, so a failure fails the round.
  std::vector<std::string> paths;
  paths.reserve(b.items.size());
  for (const auto& it : b.items) paths.push_back(it.tmp_path);
  b.started = env_.clock().now();
  env_.disk().async_sync_files(std::move(paths), [this, &b](Status s) {
    stats_.sync_seconds.observe(seconds_since(b.started));
    b.sync_status = std::move(s);
    b.synced = true;
    if (b.waiting) std::exchange(b.waiting, {}).resume();
  });
}

rt::Task<Status> GroupCommitter::commit(CommitItem item) {
  MAIL_ASSERT(!item.tmp_path.empty());
  MAIL_ASSERT(!item.new_paths.empty());
  MAIL_ASSERT(item.copy_paths.size() == item.new_paths.size());
  MAIL_ASSERT(is_item_path(item.tmp_path));
  MAIL_ASSERT(item.copy_paths[0].empty());  // the first target is the rename, never a copy
  for (std::size_t j = 0; j < item.new_paths.size(); ++j) {
    MAIL_ASSERT(is_item_path(item.new_paths[j]));
    MAIL_ASSERT(item.new_paths[j] != item.tmp_path);
    MAIL_ASSERT(j == 0 || item.copy_paths[j].empty() || is_item_path(item.copy_paths[j]));
    // Distinct targets: one entry per recipient, never two links to one name.
    MAIL_ASSERT(std::find(item.new_paths.begin() + static_cast<std::ptrdiff_t>(j) + 1, item.new_paths.end(),
                          item.new_paths[j]) == item.new_paths.end());
  }
  Waiter w{std::move(item)};
  co_await Enqueue{*this, w};
  MAIL_ASSERT(w.owner == nullptr);
  co_return std::move(w.result);
}

rt::Task<void> GroupCommitter::run() {
  MAIL_ASSERT(running_);
  RunGuard guard(this);
  // Two batches: `cur` finishes its round while `next` has its data synced (pipelining).
  Batch a;
  Batch b;
  Batch* cur = &a;
  Batch* next = &b;
  while (!queued_.empty()) {
    start_batch(*cur);
    for (;;) {
      AwaitSync synced{*cur};  // a named awaiter (GCC 12: no braced temporaries in co_await)
      co_await synced;
      in_round_ = std::exchange(syncing_, {});
      // The next round's data sync starts now, under this round's names and dir syncs.
      const bool more = !queued_.empty();
      if (more) start_batch(*next);

      MAIL_ASSERT(in_round_.size() == cur->items.size());
      std::vector<Status> results = co_await finish_round(cur->items, std::move(cur->sync_status));
      MAIL_ASSERT(results.size() == in_round_.size());
      stats_.round_seconds.observe(seconds_since(cur->started));

      // Resume the waiters from the executor, not from here: a resumed delivery may finish
      // its whole connection (or tear the store down) before returning.
      for (std::size_t i = 0; i < in_round_.size(); ++i) {
        Waiter* w = in_round_[i];
        if (!results[i].ok()) ++stats_.failed;
        if (w == nullptr) continue;
        w->result = std::move(results[i]);
        w->owner = nullptr;
        env_.executor().post([h = w->handle] { h.resume(); });
      }
      in_round_.clear();
      MAIL_ASSERT(stats_.failed <= stats_.items);
      if (!more) break;
      std::swap(cur, next);
    }
  }
  // ~RunGuard clears running_ as the frame finishes.
}

rt::Task<std::vector<Status>> GroupCommitter::finish_round(std::vector<CommitItem>& items, Status synced) {
  rt::Disk& disk = env_.disk();
  const std::size_t n = items.size();
  MAIL_ASSERT(n > 0);
  std::vector<Status> st(n);
  // What of each item is on disk right now, for the cleanup of failed items.
  struct Track {
    bool tmp_live = true;
    std::vector<std::string> copies_live;                          // copy files still in tmp/
    std::vector<std::pair<std::string, std::string>> copy_moves;  // copy tmp -> new
    std::vector<std::string> created;                              // entries made in new/
  };
  std::vector<Track> tr(n);
  auto fail_item = [&st](std::size_t i, const Status& s) {
    if (st[i].ok()) st[i] = s;
  };

  // 1. (done by start_batch) The round's file data: a failure fails every item.
  if (!synced.ok()) {
    for (std::size_t i = 0; i < n; ++i) fail_item(i, synced);
  }

  // 2. Hard links into the other recipients' new/ (before the rename removes the tmp name).
  std::vector<std::pair<std::size_t, std::size_t>> need_copy;
  {
    std::vector<std::pair<std::size_t, std::size_t>> ids;
    std::vector<StartOp> ops;
    for (std::size_t i = 0; i < n; ++i) {
      if (!st[i].ok()) continue;
      for (std::size_t j = 1; j < items[i].new_paths.size(); ++j) {
        ids.emplace_back(i, j);
        ops.push_back(op_link(disk, items[i].tmp_path, items[i].new_paths[j]));
      }
    }
    const std::vector<Status> rs = co_await when_all(std::move(ops));
    MAIL_ASSERT(rs.size() == ids.size());
    for (std::size_t k = 0; k < ids.size(); ++k) {
      const auto [i, j] = ids[k];
      if (rs[k].ok()) {
        tr[i].created.push_back(items[i].new_paths[j]);
      } else if (copy_may_help(rs[k].code()) && !items[i].copy_paths[j].empty()) {
        need_copy.emplace_back(i, j);
      } else {
        fail_item(i, rs[k]);
      }
    }
  }

  // 3. Copies where a link was impossible: write into the target's tmp/, sync, and move
  //    them with the renames below, so a reader never sees a partial file in new/.
  if (!need_copy.empty()) {
    std::vector<std::pair<std::size_t, std::size_t>> ids;
    std::vector<StartOp> ops;
    for (const auto& [i, j] : need_copy) {
      if (!st[i].ok()) continue;
      ids.emplace_back(i, j);
      ops.push_back(op_copy(disk, items[i].tmp_path, items[i].copy_paths[j]));
    }
    const std::vector<Status> rs = co_await when_all(std::move(ops));
    MAIL_ASSERT(rs.size() == ids.size());
    std::vector<std::string> to_sync;
    std::vector<std::size_t> synced_items;
    for (std::size_t k = 0; k < ids.size(); ++k) {
      const auto [i, j] = ids[k];
      if (!rs[k].ok()) {
        // create_new failed: nothing of ours at that path unless it was a partial write.
        if (rs[k].code() != Errc::exists) tr[i].copies_live.push_back(items[i].copy_paths[j]);
        fail_item(i, rs[k]);
        continue;
      }
      ++stats_.copies;
      tr[i].copies_live.push_back(items[i].copy_paths[j]);
      tr[i].copy_moves.emplace_back(items[i].copy_paths[j], items[i].new_paths[j]);
      to_sync.push_back(items[i].copy_paths[j]);
      synced_items.push_back(i);
    }
    if (!to_sync.empty()) {
      Status s = co_await rt::sync_files(disk, std::move(to_sync));
      if (!s.ok()) {
        for (std::size_t i : synced_items) fail_item(i, s);
      }
    }
  }

  // 4. Renames: the first recipient's tmp file, and every copy, into new/.
  {
    struct Move {
      std::size_t item;
      bool main;  // the item's own tmp file (else a copy)
      std::string from, to;
    };
    std::vector<Move> moves;
    for (std::size_t i = 0; i < n; ++i) {
      if (!st[i].ok()) continue;
      moves.push_back({i, true, items[i].tmp_path, items[i].new_paths[0]});
      for (const auto& [from, to] : tr[i].copy_moves) moves.push_back({i, false, from, to});
    }
    // One Disk call for the round (PosixDisk: one worker job, not one per message).
    std::vector<Status> rs;
    if (!moves.empty()) {
      std::vector<std::pair<std::string, std::string>> pairs;
      pairs.reserve(moves.size());
      for (const auto& m : moves) pairs.emplace_back(m.from, m.to);
      auto renamed = co_await rt::rename_each(disk, std::move(pairs));
      if (renamed.ok()) {
        rs = std::move(renamed).value();
      } else {
        rs.assign(moves.size(), Status(fail(renamed.error())));  // the batch failed as a whole
      }
    }
    MAIL_ASSERT(rs.size() == moves.size());
    for (std::size_t k = 0; k < moves.size(); ++k) {
      const Move& m = moves[k];
      if (!rs[k].ok()) {
        fail_item(m.item, rs[k]);
        continue;
      }
      Track& t = tr[m.item];
      if (m.main) {
        MAIL_ASSERT(t.tmp_live);  // renamed once
        t.tmp_live = false;
      } else {
        const auto live = std::find(t.copies_live.begin(), t.copies_live.end(), m.from);
        MAIL_ASSERT(live != t.copies_live.end());
        t.copies_live.erase(live);
      }
      t.created.push_back(m.to);
    }
  }

  // 5. One sync_dir per distinct new/ directory (std::map: a deterministic order).
  {
    std::map<std::string, std::vector<std::size_t>> dirs;
    for (std::size_t i = 0; i < n; ++i) {
      if (!st[i].ok()) continue;
      for (const auto& p : tr[i].created) {
        auto& users = dirs[parent_dir(p)];
        if (users.empty() || users.back() != i) users.push_back(i);
      }
    }
    std::vector<StartOp> ops;
    for (const auto& [dir, users] : dirs) ops.push_back(op_sync_dir(disk, dir));
    const std::vector<Status> rs = co_await when_all(std::move(ops));
    MAIL_ASSERT(rs.size() == dirs.size());
    std::size_t k = 0;
    for (const auto& [dir, users] : dirs) {
      if (!rs[k].ok()) {
        for (std::size_t i : users) fail_item(i, rs[k]);
      }
      ++k;
    }
  }

  // 6. Failed items: remove what they left behind, so a retried message does not also
  //    appear from this attempt. The removal of entries already in new/ is made durable
  //    too (the simulator found that otherwise a crash resurrects a message the client
  //    was told had failed, and its retry then duplicates it). Best effort: if this fails
  //    too, the outcome is a duplicate after a 4xx (allowed, RFC 5321 §6.1), never a loss.
  {
    std::vector<StartOp> ops;
    std::set<std::string> dirs_to_sync;
    for (std::size_t i = 0; i < n; ++i) {
      if (st[i].ok()) continue;
      const Track& t = tr[i];
      if (t.tmp_live) ops.push_back(op_remove(disk, items[i].tmp_path));
      for (const auto& p : t.copies_live) ops.push_back(op_remove(disk, p));
      for (const auto& p : t.created) {
        ops.push_back(op_remove(disk, p));
        dirs_to_sync.insert(p.substr(0, p.rfind('/')));
      }
    }
    (void)co_await when_all(std::move(ops));
    std::vector<StartOp> syncs;
    for (const auto& d : dirs_to_sync) syncs.push_back(op_sync_dir(disk, d));
    (void)co_await when_all(std::move(syncs));
  }
  // A committed item has exactly one durable entry per target, each made once (never two
  // entries for one name in a round), and left nothing in tmp/.
  for (std::size_t i = 0; i < n; ++i) {
    if (!st[i].ok()) continue;
    const Track& t = tr[i];
    MAIL_ASSERT(!t.tmp_live);
    MAIL_ASSERT(t.copies_live.empty());
    MAIL_ASSERT(t.created.size() == items[i].new_paths.size());
    for (const auto& p : items[i].new_paths) MAIL_ASSERT(std::count(t.created.begin(), t.created.end(), p) == 1);
  }
  co_return st;
}

}  // namespace mail::store
