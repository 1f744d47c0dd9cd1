// OutboundQueue (see outbound_queue.h): the file layout, the group-commit rounds shared by
// enqueue/append/remove, load with repair. All file access through Env::Disk. The order of
// operations is the durability argument (data synced before a name points at it, the
// directory synced before an enqueue or removal completes), so change it only with care.
#include "store/outbound_queue.h"

#include <algorithm>
#include <coroutine>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include "core/function.h"
#include "runtime/await.h"
#include "store/dirs.h"
#include "store/maildir.h"
#include "store/when_all.h"

namespace mail::store {
namespace {

constexpr std::string_view env_suffix = ".env";
constexpr std::string_view msg_suffix = ".msg";

// "<id>.env" / "<id>.msg" -> id (valid) and which; nullopt for any other name.
struct QueueFileName {
  std::string id;
  bool envelope = false;
};
std::optional<QueueFileName> parse_file_name(std::string_view name) {
  for (const auto suffix : {env_suffix, msg_suffix}) {
    if (name.size() > suffix.size() && name.ends_with(suffix)) {
      const std::string_view id = name.substr(0, name.size() - suffix.size());
      if (!is_valid_queue_id(id)) return std::nullopt;
      return QueueFileName{std::string(id), suffix == env_suffix};
    }
  }
  return std::nullopt;
}

StartOp op_remove(rt::Disk& disk, std::string path) {
  return [&disk, path = std::move(path)](rt::Completion<void> c) mutable { disk.async_remove(std::move(path), std::move(c)); };
}
StartOp op_write(rt::Disk& disk, std::string path, std::string data) {
  return [&disk, path = std::move(path), data = std::move(data)](rt::Completion<void> c) mutable {
    disk.async_write_file(std::move(path), std::move(data), rt::WriteMode::truncate, std::move(c));
  };
}
StartOp op_write_parts(rt::Disk& disk, std::string path, std::shared_ptr<const std::vector<std::string>> parts) {
  return [&disk, path = std::move(path), parts = std::move(parts)](rt::Completion<void> c) mutable {
    disk.async_write_parts(std::move(path), std::move(parts), rt::WriteMode::truncate, std::move(c));
  };
}

Status first_error(const std::vector<Status>& rs) {
  for (const Status& s : rs) {
    if (!s.ok()) return s;
  }
  return Status{};
}

// Reads every path with at most `limit` reads in flight, handing each result to `on_read`
// (synchronously, in completion order) and resuming the awaiter after the last one. Relies
// on the Env contract that completions never run inside the initiating call.
struct BoundedReads {
  rt::Disk& disk;
  const std::vector<std::string>& paths;
  UniqueFunction<void(std::size_t, Result<std::string>)> on_read;
  std::size_t limit;
  std::size_t started = 0, finished = 0;
  std::coroutine_handle<> waiter{};

  bool await_ready() const noexcept { return paths.empty(); }
  void await_suspend(std::coroutine_handle<> h) {
    MAIL_ASSERT(limit > 0);
    waiter = h;
    while (started < paths.size() && started < limit) start(started++);
  }
  void await_resume() const noexcept { MAIL_ASSERT(finished == paths.size()); }
  void start(std::size_t i) {
    disk.async_read_file(paths[i], [this, i](Result<std::string> r) {
      on_read(i, std::move(r));
      ++finished;
      MAIL_ASSERT(finished <= started);
      if (started < paths.size()) {
        start(started++);
      } else if (finished == paths.size()) {
        waiter.resume();
      }
    });
  }
};

}  // namespace

// ------------------------------------------------------------------- group commit rounds
// One round: sync_files(every file of its enqueues and appends) -> appends complete ->
// rename_each(the enqueues' tmp files into active/) -> sync_dir(active) once, if any
// enqueue or removal is in the round -> enqueues and removals complete. The next round's
// sync_files starts as soon as this round's has finished (pipelined, as in
// GroupCommitter). No timer: calls arriving during a round wait for the next one.
struct OutboundQueue::Impl {
  enum class CommitKind : std::uint8_t { enqueue, append, remove };
  struct CommitItem {
    CommitKind kind = CommitKind::append;
    std::vector<std::string> sync_paths;                         // data to make durable
    std::vector<std::pair<std::string, std::string>> renames;  // enqueue: tmp -> active
  };
  struct Waiter;
  struct RunGuard;
  struct Batch;

  Impl(rt::Env& e, OutboundQueueConfig c) : env(e) {
    const std::string root = normal_data_dir(c.data_dir);
    queue_dir = root == "/" ? std::string("/queue") : root + "/queue";
    tmp_dir = queue_dir + "/tmp";
    active_dir = queue_dir + "/active";
  }
  ~Impl();

  std::string active_path(std::string_view id, std::string_view suffix) const {
    MAIL_ASSERT(is_valid_queue_id(id));
    std::string p = active_dir;
    p += '/';
    p += id;
    p += suffix;
    return p;
  }
  std::string tmp_path(std::string_view id, std::string_view suffix) const {
    MAIL_ASSERT(is_valid_queue_id(id));
    std::string p = tmp_dir;
    p += '/';
    p += id;
    p += suffix;
    return p;
  }

  rt::Task<Status> commit(CommitItem item);
  void forget(Waiter* w) noexcept;
  void start_batch(Batch& b);
  rt::Task<void> run();
  rt::Task<std::vector<Status>> finish_round(const std::vector<CommitItem>& items, const Status& synced);
  // Rewrites active/<id>.env as `good` (its valid prefix): tmp write, sync, rename, sync dir.
  rt::Task<Status> rewrite(std::string id, std::string good);

  rt::Env& env;
  std::string queue_dir, tmp_dir, active_dir;
  OutboundQueueStats stats;
  std::set<std::string> enqueuing;  // ids with an enqueue in flight
  std::set<std::string> dirty;      // ids whose .env may end in a partial line

  std::vector<Waiter*> queued;    // for the next round, in arrival order
  std::vector<Waiter*> syncing;   // the next round, its data sync in flight; nullptr: gone
  std::vector<Waiter*> in_round;  // the round finishing; nullptr: gone or completed early
  bool running = false;
  RunGuard* guard = nullptr;
};

// Lives in the calling coroutine's frame; registered while queued or in a round, so a
// frame destroyed early (host crash) never leaves a dangling pointer behind.
struct OutboundQueue::Impl::Waiter {
  CommitItem item;
  Status result{};
  std::coroutine_handle<> handle{};
  Impl* owner = nullptr;
  ~Waiter() {
    if (owner != nullptr) owner->forget(this);
  }
};

// Lives in run()'s frame: a destroyed frame (crash, shutdown) must not leave the queue
// "running" forever; if the queue dies first, the guard is disarmed.
struct OutboundQueue::Impl::RunGuard {
  Impl* owner;
  explicit RunGuard(Impl* o) : owner(o) { owner->guard = this; }
  RunGuard(const RunGuard&) = delete;
  RunGuard& operator=(const RunGuard&) = delete;
  ~RunGuard() {
    if (owner == nullptr) return;
    owner->guard = nullptr;
    owner->running = false;
    for (auto* round : {&owner->in_round, &owner->syncing}) {
      for (Waiter* w : *round) {
        if (w != nullptr) w->owner = nullptr;
      }
      round->clear();
    }
  }
};

struct OutboundQueue::Impl::Batch {
  std::vector<CommitItem> items;
  bool synced = false;
  Status sync_status{};
  std::coroutine_handle<> waiting{};
};

OutboundQueue::Impl::~Impl() {
  if (guard != nullptr) guard->owner = nullptr;
  for (Waiter* w : queued) w->owner = nullptr;
  for (auto* round : {&in_round, &syncing}) {
    for (Waiter* w : *round) {
      if (w != nullptr) w->owner = nullptr;
    }
  }
}

void OutboundQueue::Impl::forget(Waiter* w) noexcept {
  MAIL_ASSERT(w != nullptr);
  MAIL_ASSERT(w->owner == this);
  if (auto it = std::find(queued.begin(), queued.end(), w); it != queued.end()) queued.erase(it);
  std::replace(syncing.begin(), syncing.end(), w, static_cast<Waiter*>(nullptr));
  std::replace(in_round.begin(), in_round.end(), w, static_cast<Waiter*>(nullptr));
}

rt::Task<Status> OutboundQueue::Impl::commit(CommitItem item) {
  MAIL_ASSERT(item.kind != CommitKind::remove || item.sync_paths.empty());
  MAIL_ASSERT(item.kind == CommitKind::remove || !item.sync_paths.empty());
  MAIL_ASSERT(item.kind == CommitKind::enqueue || item.renames.empty());
  struct Enqueue {
    Impl& self;
    Waiter& w;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) {
      w.handle = h;
      w.owner = &self;
      self.queued.push_back(&w);
      if (!self.running) {
        // Runs until its first disk operation, which never completes inline, so `h` stays
        // suspended until the round posts it.
        self.running = true;
        self.env.tasks().spawn(self.run());
      }
    }
    void await_resume() const noexcept {}
  };
  Waiter w{std::move(item)};
  Enqueue enqueue{*this, w};
  co_await enqueue;
  MAIL_ASSERT(w.owner == nullptr);
  co_return std::move(w.result);
}

void OutboundQueue::Impl::start_batch(Batch& b) {
  MAIL_ASSERT(syncing.empty());
  MAIL_ASSERT(!queued.empty());
  syncing = std::exchange(queued, {});
  b.items.clear();
  b.items.reserve(syncing.size());
  for (Waiter* w : syncing) b.items.push_back(std::move(w->item));
  b.synced = false;
  b.sync_status = Status{};
  b.waiting = {};
  std::vector<std::string> paths;
  bool enqueues = false, appends = false;
  for (const CommitItem& it : b.items) {
    enqueues = enqueues || it.kind == CommitKind::enqueue;
    appends = appends || it.kind == CommitKind::append;
    paths.insert(paths.end(), it.sync_paths.begin(), it.sync_paths.end());
  }
  if (enqueues) ++stats.commit_rounds;
  if (appends) ++stats.append_rounds;
  if (paths.empty()) {  // only removals: nothing to sync before their sync_dir
    b.synced = true;
    return;
  }
  // Appends to one file in the same round name it twice; one sync covers both.
  std::sort(paths.begin(), paths.end());
  paths.erase(std::unique(paths.begin(), paths.end()), paths.end());
  env.disk().async_sync_files(std::move(paths), [&b](Status s) {
    b.sync_status = std::move(s);
    b.synced = true;
    if (b.waiting) std::exchange(b.waiting, {}).resume();
  });
}

rt::Task<void> OutboundQueue::Impl::run() {
  MAIL_ASSERT(running);
  RunGuard run_guard(this);
  struct AwaitSync {
    Batch& b;
    bool await_ready() const noexcept { return b.synced; }
    void await_suspend(std::coroutine_handle<> h) noexcept { b.waiting = h; }
    void await_resume() const noexcept {}
  };
  auto complete = [this](Waiter* w, Status s) {
    MAIL_ASSERT(w != nullptr);
    w->result = std::move(s);
    w->owner = nullptr;
    // From the executor, not from here: the resumed caller may do anything.
    env.executor().post([h = w->handle] { h.resume(); });
  };
  Batch a;
  Batch b;
  Batch* cur = &a;
  Batch* next = &b;
  while (!queued.empty()) {
    start_batch(*cur);
    for (;;) {
      AwaitSync synced{*cur};
      co_await synced;
      in_round = std::exchange(syncing, {});
      MAIL_ASSERT(in_round.size() == cur->items.size());
      // Appends are done once their data is durable: complete them before the renames.
      for (std::size_t i = 0; i < in_round.size(); ++i) {
        if (cur->items[i].kind != CommitKind::append) continue;
        if (in_round[i] != nullptr) complete(std::exchange(in_round[i], nullptr), cur->sync_status);
      }
      const bool more = !queued.empty();
      if (more) start_batch(*next);
      std::vector<Status> results = co_await finish_round(cur->items, cur->sync_status);
      MAIL_ASSERT(results.size() == in_round.size());
      for (std::size_t i = 0; i < in_round.size(); ++i) {
        if (in_round[i] != nullptr) complete(in_round[i], std::move(results[i]));
      }
      in_round.clear();
      if (!more) break;
      std::swap(cur, next);
    }
  }
}

rt::Task<std::vector<Status>> OutboundQueue::Impl::finish_round(const std::vector<CommitItem>& items,
                                                                 const Status& synced) {
  rt::Disk& disk = env.disk();
  std::vector<Status> st(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (!items[i].sync_paths.empty() && !synced.ok()) st[i] = synced;
  }
  // Renames of the enqueues whose data is durable, as one Disk call.
  std::vector<std::size_t> owners;
  std::vector<std::pair<std::string, std::string>> moves;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (items[i].kind != CommitKind::enqueue || !st[i].ok()) continue;
    for (const auto& m : items[i].renames) {
      owners.push_back(i);
      moves.push_back(m);
    }
  }
  if (!moves.empty()) {
    const std::size_t n = moves.size();
    auto renamed = co_await rt::rename_each(disk, std::move(moves));
    for (std::size_t k = 0; k < n; ++k) {
      const Status s = renamed.ok() ? (*renamed)[k] : Status(fail(renamed.error()));
      if (!s.ok() && st[owners[k]].ok()) st[owners[k]] = s;
    }
  }
  bool dir_sync = false;
  for (std::size_t i = 0; i < items.size(); ++i) {
    dir_sync = dir_sync || items[i].kind == CommitKind::remove || (items[i].kind == CommitKind::enqueue && st[i].ok());
  }
  if (dir_sync) {
    Status s = co_await rt::sync_dir(disk, active_dir);
    if (!s.ok()) {
      for (std::size_t i = 0; i < items.size(); ++i) {
        if (items[i].kind != CommitKind::append && st[i].ok()) st[i] = s;
      }
    }
  }
  co_return st;
}

rt::Task<Status> OutboundQueue::Impl::rewrite(std::string id, std::string good) {
  rt::Disk& disk = env.disk();
  const std::string tmp = tmp_path(id, ".env.repair");
  Status s = co_await rt::write_file(disk, tmp, std::move(good), rt::WriteMode::truncate);
  std::vector<std::string> to_sync{tmp};
  if (s.ok()) s = co_await rt::sync_files(disk, std::move(to_sync));
  if (s.ok()) s = co_await rt::rename(disk, tmp, active_path(id, env_suffix));
  if (!s.ok()) {
    (void)co_await rt::remove(disk, tmp);
    co_return s;
  }
  co_return co_await rt::sync_dir(disk, active_dir);
}

// ------------------------------------------------------------------------ public API

OutboundQueue::OutboundQueue(rt::Env& env, OutboundQueueConfig config)
    : impl_(std::make_unique<Impl>(env, std::move(config))) {}
OutboundQueue::~OutboundQueue() = default;

std::string OutboundQueue::content_path(std::string_view id) const { return impl_->active_path(id, msg_suffix); }
std::string OutboundQueue::envelope_path(std::string_view id) const { return impl_->active_path(id, env_suffix); }
const OutboundQueueStats& OutboundQueue::stats() const noexcept { return impl_->stats; }

rt::Task<Status> OutboundQueue::open() {
  rt::Disk& disk = impl_->env.disk();
  {
    std::vector<std::string> dirs{impl_->tmp_dir, impl_->active_dir};
    Status s = co_await make_dirs_all(disk, std::move(dirs));
    if (!s.ok()) co_return s;
  }
  // mkdir -p made entries at every level, possibly above <data_dir>; each is durable only
  // once its parent is synced. queue/ holds tmp and active; then every ancestor.
  std::vector<std::string> dirs = ancestor_dirs(impl_->active_dir);
  MAIL_ASSERT(!dirs.empty());
  co_return co_await sync_dirs_all(disk, std::move(dirs));
}

rt::Task<Status> OutboundQueue::enqueue(QueuedMessage message, std::vector<std::string> parts, bool if_absent) {
  if (!is_valid_queue_id(message.id)) co_return fail(Errc::invalid, "invalid queue id");
  if (message.recipients.empty()) co_return fail(Errc::invalid, "queued message without recipients");
  Impl& q = *impl_;
  if (q.enqueuing.contains(message.id)) co_return fail(Errc::exists, "enqueue of " + message.id + " in flight");
  rt::Disk& disk = q.env.disk();
  const std::string id = message.id;
  q.enqueuing.insert(id);
  struct Release {
    Impl& q;
    const std::string& id;
    ~Release() { q.enqueuing.erase(id); }
  } release{q, id};

  const std::string env_active = q.active_path(id, env_suffix);
  const std::string msg_active = q.active_path(id, msg_suffix);
  {
    auto present = co_await rt::file_size(disk, env_active);
    if (present.ok()) {
      if (if_absent) co_return Status{};
      co_return fail(Errc::exists, "already queued: " + id);
    }
    if (present.code() != Errc::not_found) co_return fail(present.error());
  }
  // A new message is all pending; its size is what we write.
  message.held = false;
  message.reported = false;
  for (QueuedRecipient& r : message.recipients) {
    const smtp::Recipient keep = std::move(r.recipient);
    r = QueuedRecipient{};
    r.recipient = keep;
  }
  message.size_bytes = 0;
  for (const auto& p : parts) message.size_bytes += p.size();
  std::string line = encode_envelope_line(message);

  const std::string env_tmp = q.tmp_path(id, env_suffix);
  const std::string msg_tmp = q.tmp_path(id, msg_suffix);
  auto cleanup = [&disk, &q](std::vector<std::string> paths, bool sync_active) -> rt::Task<void> {
    std::vector<StartOp> ops;
    for (auto& p : paths) ops.push_back(op_remove(disk, std::move(p)));
    (void)co_await when_all(std::move(ops));
    if (sync_active) (void)co_await rt::sync_dir(disk, q.active_dir);
  };
  {
    // truncate, not create_new: a tmp file of this id is a leftover of a crashed attempt
    // (ours are excluded by `enqueuing`).
    std::vector<StartOp> ops;
    ops.push_back(op_write_parts(disk, msg_tmp, std::make_shared<const std::vector<std::string>>(std::move(parts))));
    ops.push_back(op_write(disk, env_tmp, std::move(line)));
    Status s = first_error(co_await when_all(std::move(ops)));
    if (!s.ok()) {
      std::vector<std::string> leftovers{msg_tmp, env_tmp};
      co_await cleanup(std::move(leftovers), false);
      co_return s;
    }
  }
  Impl::CommitItem item;
  item.kind = Impl::CommitKind::enqueue;
  item.sync_paths = {msg_tmp, env_tmp};
  // Content first: an .env in active/ normally has its .msg (load_all removes either one
  // alone, since neither was acknowledged before the directory sync).
  item.renames = {{msg_tmp, msg_active}, {env_tmp, env_active}};
  Status s = co_await q.commit(std::move(item));
  if (!s.ok()) {
    std::vector<std::string> leftovers{env_active, msg_active, msg_tmp, env_tmp};
    co_await cleanup(std::move(leftovers), true);
    co_return s;
  }
  ++q.stats.enqueued;
  co_return Status{};
}

rt::Task<Status> OutboundQueue::append(std::string id, std::vector<QueueRecord> records) {
  if (!is_valid_queue_id(id)) co_return fail(Errc::invalid, "invalid queue id");
  if (records.empty()) co_return Status{};
  Impl& q = *impl_;
  rt::Disk& disk = q.env.disk();
  const std::string path = q.active_path(id, env_suffix);
  if (q.dirty.contains(id)) {
    // A previous append may have left a partial line: cut it before appending after it.
    auto text = co_await rt::read_file(disk, path);
    if (!text.ok()) co_return fail(text.error());
    auto decoded = decode_queue_file(*text);
    if (!decoded.ok()) co_return fail(decoded.error());
    if (decoded->torn_tail) {
      Status s = co_await q.rewrite(id, text->substr(0, decoded->valid_bytes));
      if (!s.ok()) co_return s;
    }
    q.dirty.erase(id);
  } else {
    // Append mode would create a missing file: check first.
    auto present = co_await rt::file_size(disk, path);
    if (!present.ok()) co_return fail(present.error());
  }
  std::string data;
  for (const QueueRecord& r : records) data += encode_record_line(r);
  Status s = co_await rt::write_file(disk, path, std::move(data), rt::WriteMode::append);
  if (s.ok()) {
    Impl::CommitItem item;
    item.kind = Impl::CommitKind::append;
    item.sync_paths = {path};
    s = co_await q.commit(std::move(item));
  }
  if (!s.ok()) {
    if (s.code() != Errc::not_found) q.dirty.insert(id);
    co_return s;
  }
  ++q.stats.appends;
  co_return Status{};
}

rt::Task<Status> OutboundQueue::remove(std::string id) {
  if (!is_valid_queue_id(id)) co_return fail(Errc::invalid, "invalid queue id");
  Impl& q = *impl_;
  rt::Disk& disk = q.env.disk();
  // The envelope first: a crash between the two leaves a .msg alone, which load_all removes.
  Status e = co_await rt::remove(disk, q.active_path(id, env_suffix));
  if (!e.ok() && e.code() != Errc::not_found) co_return e;
  Status m = co_await rt::remove(disk, q.active_path(id, msg_suffix));
  if (!m.ok() && m.code() != Errc::not_found) co_return m;
  q.dirty.erase(id);
  Impl::CommitItem item;
  item.kind = Impl::CommitKind::remove;
  Status s = co_await q.commit(std::move(item));
  if (!s.ok()) co_return s;
  if (e.ok() || m.ok()) ++q.stats.removed;
  co_return Status{};
}

rt::Task<Result<std::string>> OutboundQueue::read_content(std::string id) {
  if (!is_valid_queue_id(id)) co_return fail(Errc::invalid, "invalid queue id");
  co_return co_await rt::read_file(impl_->env.disk(), impl_->active_path(id, msg_suffix));
}

rt::Task<Result<QueuedMessage>> OutboundQueue::load(std::string id) {
  if (!is_valid_queue_id(id)) co_return fail(Errc::invalid, "invalid queue id");
  auto text = co_await rt::read_file(impl_->env.disk(), impl_->active_path(id, env_suffix));
  if (!text.ok()) co_return fail(text.error());
  auto decoded = decode_queue_file(*text);
  if (!decoded.ok()) co_return fail(decoded.error());
  if (decoded->message.id != id) co_return fail(Errc::invalid, "queue file of " + id + " names " + decoded->message.id);
  if (decoded->torn_tail) impl_->dirty.insert(id);
  co_return std::move(decoded->message);
}

rt::Task<Result<OutboundQueue::Loaded>> OutboundQueue::load_all() {
  Impl& q = *impl_;
  // Startup only: the tmp/ sweep below would delete an enqueue's files mid-flight.
  MAIL_ASSERT(q.enqueuing.empty());
  rt::Disk& disk = q.env.disk();
  Loaded out;

  // 1. Leftovers in tmp/ (crashed enqueues and repairs): never acknowledged, removed.
  {
    auto listed = co_await rt::list_dir(disk, q.tmp_dir);
    if (!listed.ok()) co_return fail(listed.error());
    std::vector<StartOp> ops;
    for (auto& e : *listed) {
      if (e.is_dir || e.name == "." || e.name == "..") continue;
      ops.push_back(op_remove(disk, q.tmp_dir + "/" + e.name));
    }
    if (!ops.empty()) {
      Status s = first_error(co_await when_all(std::move(ops)));
      if (!s.ok()) co_return fail(s.error());
    }
  }

  // 2. Pair up active/: <id>.env with <id>.msg.
  std::map<std::string, std::pair<bool, bool>> files;  // id -> (has .env, has .msg)
  {
    auto listed = co_await rt::list_dir(disk, q.active_dir);
    if (!listed.ok()) co_return fail(listed.error());
    for (const auto& e : *listed) {
      if (e.name == "." || e.name == "..") continue;
      const auto name = e.is_dir ? std::nullopt : parse_file_name(e.name);
      if (!name) {
        out.problems.push_back("unexpected entry in " + q.active_dir + ": " + e.name + " (left alone)");
        continue;
      }
      auto& f = files[name->id];
      (name->envelope ? f.first : f.second) = true;
    }
  }
  std::vector<std::string> ids;
  {
    std::vector<StartOp> ops;
    for (const auto& [id, f] : files) {
      if (f.first && f.second) {
        ids.push_back(id);
        continue;
      }
      const std::string_view suffix = f.first ? env_suffix : msg_suffix;
      out.problems.push_back("removed " + std::string(f.first ? "envelope" : "content") + " without " +
                             std::string(f.first ? "content" : "envelope") + ": " + id + std::string(suffix));
      ops.push_back(op_remove(disk, q.active_path(id, suffix)));
    }
    if (!ops.empty()) {
      Status s = first_error(co_await when_all(std::move(ops)));
      if (s.ok()) s = co_await rt::sync_dir(disk, q.active_dir);
      if (!s.ok()) co_return fail(s.error());
    }
  }
  MAIL_ASSERT(std::is_sorted(ids.begin(), ids.end()));

  // 3. Read and decode every envelope file, a bounded number at a time.
  std::vector<std::string> paths;
  paths.reserve(ids.size());
  for (const auto& id : ids) paths.push_back(q.active_path(id, env_suffix));
  std::vector<std::optional<QueuedMessage>> decoded(ids.size());
  std::vector<std::pair<std::string, std::string>> repairs;  // id, the valid prefix
  std::optional<Error> read_error;
  {
    BoundedReads reads{disk, paths,
                       [&](std::size_t i, Result<std::string> text) {
                         if (!text.ok()) {
                           if (!read_error) read_error = text.error();
                           return;
                         }
                         auto d = decode_queue_file(*text);
                         if (!d.ok() || d->message.id != ids[i]) {
                           out.problems.push_back("unreadable envelope, skipped (left alone): " + paths[i]);
                           return;
                         }
                         if (d->bad_lines > 0) {
                           out.problems.push_back("skipped " + std::to_string(d->bad_lines) + " corrupt record line(s) in " +
                                                  paths[i]);
                         }
                         if (d->torn_tail) {
                           out.problems.push_back("cut a torn tail of " + std::to_string(text->size() - d->valid_bytes) +
                                                  " byte(s) from " + paths[i]);
                           repairs.emplace_back(ids[i], text->substr(0, d->valid_bytes));
                         }
                         decoded[i] = std::move(d->message);
                       },
                       OutboundQueue::load_reads_in_flight_max};
    co_await reads;
  }
  if (read_error) co_return fail(*read_error);

  // 4. Repairs, as one batch: write the valid prefixes to tmp/, one sync, renames, one
  //    directory sync. Until this completes a later append could follow a partial line.
  if (!repairs.empty()) {
    std::vector<StartOp> writes;
    std::vector<std::string> tmps;
    std::vector<std::pair<std::string, std::string>> moves;
    for (auto& [id, good] : repairs) {
      tmps.push_back(q.tmp_path(id, ".env.repair"));
      moves.emplace_back(tmps.back(), q.active_path(id, env_suffix));
      writes.push_back(op_write(disk, tmps.back(), std::move(good)));
    }
    repairs.clear();
    Status s = first_error(co_await when_all(std::move(writes)));
    if (s.ok()) s = co_await rt::sync_files(disk, tmps);
    if (s.ok()) {
      auto renamed = co_await rt::rename_each(disk, std::move(moves));
      s = renamed.ok() ? first_error(*renamed) : Status(fail(renamed.error()));
    }
    if (s.ok()) s = co_await rt::sync_dir(disk, q.active_dir);
    if (!s.ok()) co_return fail(s.error());
  }

  out.messages.reserve(ids.size());
  for (auto& m : decoded) {
    if (m) out.messages.push_back(std::move(*m));
  }
  MAIL_ASSERT(std::is_sorted(out.messages.begin(), out.messages.end(),
                             [](const QueuedMessage& a, const QueuedMessage& b) { return a.id < b.id; }));
  co_return out;
}

}  // namespace mail::store
