// GroupCommitter: the durable half of a Maildir delivery, batched. Callers hand over a
// message already written to a tmp/ file; one round = sync_files(every tmp file of the
// round) -> link into the other recipients' new/ (or write + sync a copy when links are
// impossible) -> rename into the first recipient's new/ -> sync_dir once per distinct new/
// -> complete. Deliveries arriving while a round is in flight wait for the next round, so
// the batch grows with load (classic group commit, no timer). Rounds are pipelined: the
// next round's sync_files starts as soon as this round's has finished, so it runs while
// this round links, renames and syncs its directories (two device flushes overlap instead
// of following each other). Never reports success before the directory entries are
// durable; on failure removes what it created (best effort).
#pragma once

#include <coroutine>
#include <cstdint>
#include <string>
#include <vector>

#include "core/histogram.h"
#include "core/result.h"
#include "runtime/env.h"
#include "runtime/task.h"

namespace mail::store {

struct CommitItem {
  std::string tmp_path;                 // written (create_new), not yet synced
  std::vector<std::string> new_paths;   // [0]: rename target; [1..]: hard-link targets;
                                        // all distinct
  std::vector<std::string> copy_paths;  // parallel to new_paths: a tmp/ path in that
                                        // target's Maildir for the copy fallback ([0] empty;
                                        // empty: no fallback). The copy is read back from
                                        // tmp_path, so callers need not keep the bytes.
};

struct GroupCommitStats {
  std::uint64_t rounds = 0;         // sync rounds run
  std::uint64_t items = 0;          // deliveries committed or failed by those rounds
  std::uint64_t largest_round = 0;  // most deliveries in one round
  std::uint64_t copies = 0;         // link fallbacks that wrote a copy
  std::uint64_t failed = 0;         // deliveries that failed
  // Latencies measured with env.clock(): the data sync of a round's tmp files (one
  // sync_files call: the fsyncs), and a whole round from that sync's start to the moment
  // its deliveries are durable (links, renames, directory syncs included).
  Histogram sync_seconds;
  Histogram round_seconds;
};

// Lifetime: destroy only when no commit is in flight, or after the Env destroyed its
// tasks (crash, shutdown); the committer stays usable after such a destroy_all().
class GroupCommitter {
 public:
  explicit GroupCommitter(rt::Env& env) : env_(env) {}
  ~GroupCommitter();
  GroupCommitter(const GroupCommitter&) = delete;
  GroupCommitter& operator=(const GroupCommitter&) = delete;

  // Completes ok once every new_paths entry is durable, or with the first error of the
  // item's round (its tmp file and any entries it created are then removed, best effort).
  rt::Task<Status> commit(CommitItem item);

  const GroupCommitStats& stats() const noexcept { return stats_; }

 private:
  struct Waiter;
  struct Enqueue;
  struct RunGuard;
  struct Batch;
  struct AwaitSync;
  void forget(Waiter* w) noexcept;
  rt::Task<void> run();
  // Takes every queued delivery into `b` and starts its sync_files (completes into `b`).
  void start_batch(Batch& b);
  double seconds_since(Instant start) const;
  // Steps 2-6 of a round whose files' data sync ended with `synced`.
  rt::Task<std::vector<Status>> finish_round(std::vector<CommitItem>& items, Status synced);

  rt::Env& env_;
  std::vector<Waiter*> queued_;    // for the next round, in arrival order
  std::vector<Waiter*> in_round_;  // current round; nullptr where the waiter went away
  std::vector<Waiter*> syncing_;   // the next round, its data sync in flight; same rule
  bool running_ = false;
  RunGuard* guard_ = nullptr;  // in run()'s frame while it lives
  GroupCommitStats stats_;
};

}  // namespace mail::store
