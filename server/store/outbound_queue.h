// OutboundQueue: the durable queue of the SMTP relay (issue 13, "Outbound queue"). Each
// message is two files in <data_dir>/queue/active: <id>.msg (the content, written once)
// and <id>.env (the envelope line, then one appended record line per state change, see
// queue_record.h). New files are written in queue/tmp, synced, renamed into active/ and
// the directory synced before enqueue() completes; records are synced before append()
// completes. Concurrent calls share their syncs (group commit, pipelined like
// store/group_commit.h). All file access through Env::Disk; no clock, no randomness, no
// delivery logic (the scheduler in server/node decides; this only persists and folds).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "runtime/env.h"
#include "runtime/task.h"
#include "store/queue_record.h"

namespace mail::store {

struct OutboundQueueConfig {
  std::string data_dir;  // the queue lives in <data_dir>/queue/{tmp,active}
};

struct OutboundQueueStats {
  std::uint64_t enqueued = 0;       // enqueue() calls that completed ok having written
  std::uint64_t commit_rounds = 0;  // rounds that committed at least one enqueue
  std::uint64_t appends = 0;        // append() calls that completed ok
  std::uint64_t append_rounds = 0;  // rounds that synced at least one append
  std::uint64_t removed = 0;        // remove() calls that removed a message
};

// Lifetime: destroy only when no call is in flight, or after the Env destroyed its tasks
// (crash, shutdown); the queue stays usable after such a destroy_all().
class OutboundQueue {
 public:
  OutboundQueue(rt::Env& env, OutboundQueueConfig config);
  ~OutboundQueue();
  OutboundQueue(const OutboundQueue&) = delete;
  OutboundQueue& operator=(const OutboundQueue&) = delete;

  // Creates <data_dir>/queue/tmp and /active durably (mkdir -p, then sync every parent up
  // to the root, as MaildirStore::ensure_mailbox does). Idempotent.
  rt::Task<Status> open();

  // Every message in active/, sorted by id. Repairs as it goes, durably: a .env with a torn
  // tail is rewritten without it (tmp write, sync, rename, sync dir), so later appends never
  // follow a partial line; a .msg without .env and a .env without .msg are removed (neither
  // was ever acknowledged) and reported in `problems`; leftovers in tmp/ are removed. A .env
  // whose envelope line is bad is left in place, skipped and reported. At most
  // `load_reads_in_flight_max` reads at once; content files are never read. At start-up
  // only: never while an enqueue is in flight (asserted; the tmp/ sweep would hit it).
  struct Loaded {
    std::vector<QueuedMessage> messages;
    std::vector<std::string> problems;  // one human-readable line each
  };
  rt::Task<Result<Loaded>> load_all();
  // One message (not repaired here: a torn tail is cut before the next append to it).
  // Errc::not_found when absent, Errc::invalid for a bad id or envelope.
  rt::Task<Result<QueuedMessage>> load(std::string id);

  // Durable before it completes ok: `parts` (in order, never joined) to tmp/<id>.msg, the
  // envelope line to tmp/<id>.env, one shared sync_files, both renamed into active/, one
  // shared sync_dir(active). The message's state fields are ignored (a new message is all
  // pending). Errc::exists when the id is already queued, unless `if_absent`, which then
  // completes ok without writing; Errc::exists also while another enqueue of the same id
  // is in flight. Errc::invalid for a bad id or no recipients. On error nothing is left
  // behind (best effort).
  rt::Task<Status> enqueue(QueuedMessage message, std::vector<std::string> parts, bool if_absent = false);

  // Appends the records to active/<id>.env and makes them durable; concurrent appends share
  // one sync_files round. Errc::not_found when the message is gone, Errc::invalid for a bad
  // id. A record whose recipient index is out of range is not checked here; decoding skips
  // it as a bad line. After a failed append the file is repaired (rewritten without the
  // partial tail) before the next append to it. Appends to one message should not overlap
  // (the scheduler's job): their order in the file is the order their writes land.
  rt::Task<Status> append(std::string id, std::vector<QueueRecord> records);

  // Removes active/<id>.env first, then .msg, then sync_dir(active) (shared by concurrent
  // removals). A message already gone is not an error.
  rt::Task<Status> remove(std::string id);

  rt::Task<Result<std::string>> read_content(std::string id);
  std::string content_path(std::string_view id) const;   // active/<id>.msg
  std::string envelope_path(std::string_view id) const;  // active/<id>.env
  const OutboundQueueStats& stats() const noexcept;

  static constexpr std::size_t load_reads_in_flight_max = 64;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mail::store
