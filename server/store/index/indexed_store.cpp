// IndexedStore: the MailStore and MailboxStore calls (see indexed_store.h). Each call takes
// the account's mutex (Impl::acquire), works on the folder's cache, makes files durable
// through Env::Disk and commits through a lane job; caches change only after a commit, and
// listeners hear of it right after, in commit order.
#include "store/index/indexed_store.h"

#include <algorithm>
#include <charconv>

#include "store/dirs.h"
#include "store/index/folder_layout.h"
#include "store/index/store_impl.h"

namespace mail::store {

using index::Account;
using index::CachedMessage;
using index::FolderState;

namespace {

bool iequal(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

bool valid_keywords(const Flags& f) {
  for (const auto& k : f.keywords) {
    if (k.empty() || k.find_first_of(" \t\r\n") != std::string::npos) return false;
  }
  return true;
}

// RFC 9051 §2.3.2: keywords compare case-insensitively; the first spelling stays.
std::vector<std::string> keyword_union(std::vector<std::string> have, const std::vector<std::string>& add) {
  for (const auto& k : add) {
    if (std::none_of(have.begin(), have.end(), [&](const std::string& h) { return iequal(h, k); })) have.push_back(k);
  }
  std::sort(have.begin(), have.end());
  return have;
}

std::vector<std::string> keyword_minus(std::vector<std::string> have, const std::vector<std::string>& remove) {
  std::erase_if(have, [&](const std::string& h) {
    return std::any_of(remove.begin(), remove.end(), [&](const std::string& k) { return iequal(h, k); });
  });
  return have;
}

Flags apply_op(const Flags& have, FlagOp op, const Flags& given) {
  Flags out;
  switch (op) {
    case FlagOp::set:
      out.system = given.system;
      out.keywords = keyword_union({}, given.keywords);
      break;
    case FlagOp::add:
      out.system = static_cast<std::uint8_t>(have.system | given.system);
      out.keywords = keyword_union(have.keywords, given.keywords);
      break;
    case FlagOp::remove:
      out.system = static_cast<std::uint8_t>(have.system & ~given.system);
      out.keywords = keyword_minus(have.keywords, given.keywords);
      break;
  }
  return out;
}

std::string folder_rel(std::string_view dir, std::string_view file) {
  std::string out(dir);
  if (!out.empty()) out += '/';
  out += file;
  return out;
}

class Subscription final : public ChangeSubscription {
 public:
  Subscription(IndexedStore::Impl& impl, std::string user, std::uint64_t id)
      : impl_(impl), alive_(impl.alive), user_(std::move(user)), id_(id) {}
  ~Subscription() override {
    if (!*alive_) return;
    auto it = impl_.listeners.find(user_);
    if (it == impl_.listeners.end()) return;
    it->second.erase(id_);
    if (it->second.empty()) impl_.listeners.erase(it);
  }

 private:
  IndexedStore::Impl& impl_;
  std::shared_ptr<bool> alive_;
  std::string user_;
  std::uint64_t id_;
};

// The counters, with the messages not yet claimed as \Recent (claim_recent).
FolderStatus status_of(const FolderState& f) {
  FolderStatus st = f.cache->status();
  const auto msgs = f.cache->messages();
  const auto first = std::lower_bound(msgs.begin(), msgs.end(), f.row.recent_uid,
                                      [](const CachedMessage& m, std::uint32_t uid) { return m.info.uid < uid; });
  st.recent = static_cast<std::uint32_t>(msgs.end() - first);
  return st;
}

}  // namespace

IndexedStore::IndexedStore(rt::Env& env, IndexedStoreConfig config)
    : impl_(std::make_unique<Impl>(env, std::move(config))) {}

IndexedStore::~IndexedStore() {
  *impl_->alive = false;
  // Lanes first: a running job finishes, queued ones are dropped; then the databases
  // close (on this thread: no lane uses them any more).
  impl_->lanes.clear();
  impl_->accounts.clear();
}

std::string IndexedStore::index_path(std::string_view user) const { return impl_->user_dir(user) + "/index.sqlite"; }

IndexedStoreStats IndexedStore::stats() const noexcept { return impl_->stats; }

// ------------------------------------------------------------------ MailboxStore

rt::Task<Status> IndexedStore::ensure_mailbox(std::string user) {
  Status s = co_await impl_->maildir.ensure_mailbox(user);
  if (!s.ok()) co_return s;
  auto locked = co_await impl_->acquire(std::move(user));
  if (!locked.ok()) co_return fail(locked.error());
  co_return Status{};
}

rt::Task<Result<std::string>> IndexedStore::deliver_parts(std::vector<std::string> users, std::vector<std::string> parts) {
  std::string content;
  for (const auto& p : parts) content += p;
  std::vector<std::string> distinct;
  for (const auto& u : users) {
    if (std::find(distinct.begin(), distinct.end(), u) == distinct.end()) distinct.push_back(u);
  }
  auto name = co_await impl_->maildir.deliver_parts(std::move(users), std::move(parts));
  if (!name.ok()) co_return name;
  // The message is durable in every INBOX now. Indexing it can only fail in ways a later
  // rescan repairs (the file is there), so a failure here is logged, not returned.
  const std::int64_t now_s = impl_->env.clock().wall_now().unix_seconds();
  for (const auto& u : distinct) {
    auto locked = co_await impl_->acquire(u);
    if (!locked.ok()) {
      impl_->env.log().write(rt::LogLevel::warn, "index: delivery to " + u + " not indexed: " + locked.error().detail);
      continue;
    }
    Account& a = *locked->account;
    auto f = co_await impl_->folder(a, "INBOX", false);
    if (!f.ok()) {
      impl_->env.log().write(rt::LogLevel::warn, "index: delivery to " + u + " not indexed: " + f.error().detail);
      continue;
    }
    FolderState& fs = **f;
    std::vector<index::NewMessage> batch;
    batch.push_back(impl_->new_message(content, index::folder_file("", MaildirFolder::new_mail, *name), Flags{},
                                       index::internal_date_of(*name, now_s)));
    const std::int64_t id = fs.row.id;
    index::FolderCounters after;
    auto added = co_await impl_->job(a, [&] { return a.db->add_messages(id, std::move(batch), &after); });
    if (!added.ok()) {
      impl_->env.log().write(rt::LogLevel::warn, "index: delivery to " + u + " not indexed: " + added.error().detail);
      continue;
    }
    impl_->apply_added(a, fs, *added);
  }
  co_return name;
}

rt::Task<Result<std::vector<StoredMessageRef>>> IndexedStore::list_messages(std::string user) {
  auto locked = co_await impl_->acquire(std::move(user));
  if (!locked.ok()) co_return fail(locked.error());
  auto f = co_await impl_->folder(*locked->account, "INBOX", true);
  if (!f.ok()) co_return fail(f.error());
  std::vector<StoredMessageRef> out;
  for (const auto& m : (*f)->cache->messages()) out.push_back(StoredMessageRef{std::to_string(m.info.uid)});
  co_return out;
}

rt::Task<Result<std::string>> IndexedStore::read_message(std::string user, StoredMessageRef ref) {
  std::uint32_t uid = 0;
  auto [p, ec] = std::from_chars(ref.id.data(), ref.id.data() + ref.id.size(), uid);
  if (ec != std::errc() || p != ref.id.data() + ref.id.size() || uid == 0) {
    co_return fail(Errc::invalid, "not a message of this store: " + ref.id);
  }
  co_return co_await read(std::move(user), "INBOX", uid);
}

namespace {

// Links (or copies) the files of `uids` from one folder into another's new/ durably and
// commits their rows; the shared half of COPY and MOVE. Holds the account's lock.
rt::Task<Result<CopyResult>> copy_locked(IndexedStore::Impl& impl, Account& a, FolderState& src, FolderState& dst,
                                         std::vector<std::uint32_t> uids) {
  rt::Disk& disk = impl.env.disk();
  CopyResult out;
  out.uidvalidity = dst.cache->counters().uidvalidity;
  std::sort(uids.begin(), uids.end());
  uids.erase(std::unique(uids.begin(), uids.end()), uids.end());
  std::vector<index::NewMessage> batch;
  std::vector<std::string> synced;  // copies whose data needs a sync
  for (auto uid : uids) {
    const CachedMessage* m = src.cache->find(uid);
    if (m == nullptr) continue;
    const std::string from = impl.path_in(a, folder_rel(src.row.dir, m->file));
    const std::string name = impl.namer.next(impl.env.clock().wall_now(), m->info.size);
    const std::string file = index::folder_file("", MaildirFolder::new_mail, name);
    const std::string to = impl.path_in(a, folder_rel(dst.row.dir, file));
    Status l = co_await rt::link(disk, from, to);
    if (!l.ok()) {
      if (l.code() == Errc::not_found) continue;  // vanished behind our back
      // Links impossible (another file system, no permission): a copy through tmp/.
      auto bytes = co_await rt::read_file(disk, from);
      if (!bytes.ok()) {
        if (bytes.code() == Errc::not_found) continue;
        co_return fail(bytes.error());
      }
      const std::string tmp = impl.path_in(a, folder_rel(dst.row.dir, index::folder_file("", MaildirFolder::tmp, name)));
      Status w = co_await rt::write_file(disk, tmp, std::move(*bytes), rt::WriteMode::create_new);
      if (!w.ok()) co_return fail(w.error());
      std::vector<std::string> one{tmp};
      Status s = co_await rt::sync_files(disk, std::move(one));
      if (!s.ok()) co_return fail(s.error());
      Status r = co_await rt::rename(disk, tmp, to);
      if (!r.ok()) co_return fail(r.error());
    }
    index::NewMessage nm;
    nm.file = file;
    nm.flags = m->info.flags;
    nm.internal_date = m->info.internal_date;
    nm.size = m->info.size;
    nm.content_id = m->info.content_id;
    batch.push_back(std::move(nm));
    out.source_uids.push_back(uid);
  }
  if (batch.empty()) co_return out;
  Status sd = co_await rt::sync_dir(disk, impl.path_in(a, index::folder_subdir(dst.row.dir, MaildirFolder::new_mail)));
  if (!sd.ok()) co_return fail(sd.error());
  // Header blocks and texts come from the source rows, in the same transaction.
  const std::int64_t src_id = src.row.id;
  const std::int64_t dst_id = dst.row.id;
  index::FolderCounters after;
  const std::vector<std::uint32_t> sources = out.source_uids;
  auto added = co_await impl.job(a, [&] { return a.db->copy_messages(src_id, sources, dst_id, std::move(batch), &after); });
  if (!added.ok()) co_return fail(added.error());
  impl.apply_added(a, dst, *added);
  for (const auto& c : *added) out.target_uids.push_back(c.info.uid);
  MAIL_ASSERT(out.target_uids.size() == out.source_uids.size());
  co_return out;
}

// Commits the expunge of `uids` with their files recorded as pending unlinks in the same
// transaction: that commit is the atomic point (RFC 1939 §6 UPDATE, RFC 9051 §6.4.3: all
// of them go or none, whatever subset of unsynced unlinks a file system keeps after a
// crash). Then unlinks the files and syncs their directories. A file that could not be
// unlinked stays pending (logged, not an error: the expunge happened); the folder's next
// rescan finishes it and never indexes it again, and so does the account's next open.
// Holds the lock.
rt::Task<Result<std::vector<std::uint32_t>>> expunge_locked(IndexedStore::Impl& impl, Account& a, FolderState& fs,
                                                             std::vector<std::uint32_t> uids) {
  rt::Disk& disk = impl.env.disk();
  std::sort(uids.begin(), uids.end());
  uids.erase(std::unique(uids.begin(), uids.end()), uids.end());
  std::vector<std::uint32_t> present;
  std::vector<std::string> files;
  for (auto uid : uids) {
    const CachedMessage* m = fs.cache->find(uid);
    if (m == nullptr) continue;
    present.push_back(uid);
    files.push_back(m->file);
  }
  if (present.empty()) co_return present;
  const std::int64_t id = fs.row.id;
  const std::uint32_t keep = impl.config.tombstones_per_folder_max;
  const std::vector<index::PendingUnlink> forget = a.unlinked;
  auto out = co_await impl.job(a, [&] { return a.db->expunge(id, present, keep, files, forget); });
  if (!out.ok()) co_return fail(out.error());
  a.unlinked.clear();  // their rows went in this transaction
  std::set<std::string>& pending = a.unlink_pending[id];
  pending.insert(files.begin(), files.end());
  impl.apply_expunged(a, fs, *out);
  std::vector<std::uint32_t> removed;
  for (const auto& t : out->removed) removed.push_back(t.uid);

  std::set<std::string> dirs;
  std::vector<std::string> gone;  // unlinked; durable once their directories are synced
  for (const auto& file : files) {
    const std::string path = impl.path_in(a, folder_rel(fs.row.dir, file));
    Status r = co_await rt::remove(disk, path);
    if (!r.ok()) {
      // not_found: moved or removed by another program; the rescan looks for it by name.
      if (r.code() != Errc::not_found) {
        impl.env.log().write(rt::LogLevel::warn, "index: expunged file left to unlink later: " + r.error().detail);
      }
      continue;
    }
    dirs.insert(path.substr(0, path.rfind('/')));
    gone.push_back(file);
  }
  if (!dirs.empty()) {
    std::vector<std::string> to_sync(dirs.begin(), dirs.end());
    Status s = co_await sync_dirs_all(disk, std::move(to_sync));
    if (s.ok()) {
      for (auto& file : gone) {
        pending.erase(file);
        a.unlinked.push_back(index::PendingUnlink{id, std::move(file)});
      }
    } else {
      impl.env.log().write(rt::LogLevel::warn, "index: expunged files' directory sync failed, left pending: " +
                                                   s.error().detail);
    }
  }
  if (pending.empty()) a.unlink_pending.erase(id);
  co_return removed;
}

}  // namespace

// ------------------------------------------------------------------ accounts, folders

rt::Task<Result<QuotaUsage>> IndexedStore::usage(std::string user) {
  auto locked = co_await impl_->acquire(std::move(user));
  if (!locked.ok()) co_return fail(locked.error());
  Account& a = *locked->account;
  co_return co_await impl_->job(a, [&] { return a.db->usage(); });
}

rt::Task<Result<std::vector<FolderInfo>>> IndexedStore::list_folders(std::string user) {
  auto locked = co_await impl_->acquire(std::move(user));
  if (!locked.ok()) co_return fail(locked.error());
  const Account& a = *locked->account;
  std::vector<FolderInfo> out;
  for (const auto& [name, f] : a.folders) {
    FolderInfo info;
    info.name = name;
    info.special_use = f.row.special_use;
    info.subscribed = a.subscriptions.contains(name);
    auto next = a.folders.upper_bound(name);
    const std::string prefix = name + kFolderDelimiter;
    for (auto it = next; it != a.folders.end(); ++it) {
      if (it->first.starts_with(prefix)) {
        info.has_children = true;
        break;
      }
      if (it->first.substr(0, name.size()) != name) break;  // sorted: no later child
    }
    out.push_back(std::move(info));
  }
  co_return out;
}

namespace {

// create_folder's work, with the account's lock held: the folder and its missing parents
// become real folders (RFC 9051 §6.3.4).
rt::Task<Status> create_locked(IndexedStore::Impl& impl, Account& a, std::string name, SpecialUse use) {
  if (a.folders.contains(name)) co_return fail(Errc::exists, "folder exists: " + name);
  std::vector<index::NewFolder> create;
  for (auto p = index::parent_folder_name(name); p; p = index::parent_folder_name(*p)) {
    if (a.folders.contains(*p)) break;
    create.insert(create.begin(), index::NewFolder{*p, index::folder_dir(*p), SpecialUse::none});
  }
  create.push_back(index::NewFolder{name, index::folder_dir(name), use});
  std::vector<std::string> dirs;
  for (const auto& f : create) dirs.push_back(f.dir);
  Status md = co_await impl.make_folder_dirs(a, std::move(dirs));
  if (!md.ok()) co_return md;
  const auto now_s = static_cast<std::uint32_t>(std::max<std::int64_t>(1, impl.env.clock().wall_now().unix_seconds()));
  auto made = co_await impl.job(a, [&] { return a.db->create_folders(std::move(create), now_s, 0, false); });
  if (!made.ok()) co_return fail(made.error());
  for (auto& row : *made) {
    std::string n = row.name;
    a.folders.emplace(std::move(n), FolderState{std::move(row), std::nullopt, std::nullopt});
  }
  co_return co_await impl.write_uidvalidity_marker(a);
}

}  // namespace

rt::Task<Status> IndexedStore::create_folder(std::string user, std::string name, SpecialUse use) {
  Status c = index::check_folder_name(name);
  if (!c.ok()) co_return c;
  name = index::normalize_folder_name(name);
  auto locked = co_await impl_->acquire(std::move(user));
  if (!locked.ok()) co_return fail(locked.error());
  co_return co_await create_locked(*impl_, *locked->account, std::move(name), use);
}

rt::Task<Status> IndexedStore::delete_folder(std::string user, std::string name) {
  Status c = index::check_folder_name(name);
  if (!c.ok()) co_return c;
  name = index::normalize_folder_name(name);
  if (name == "INBOX") co_return fail(Errc::invalid, "INBOX cannot be deleted");
  auto locked = co_await impl_->acquire(std::move(user));
  if (!locked.ok()) co_return fail(locked.error());
  Account& a = *locked->account;
  auto it = a.folders.find(name);
  if (it == a.folders.end()) co_return fail(Errc::not_found, "no such folder: " + name);
  rt::Disk& disk = impl_->env.disk();
  const std::string dir = it->second.row.dir;
  // Files first (a crash midway leaves a folder whose rescan expunges what is gone), then
  // the directories, then the row.
  for (MaildirFolder sub : maildir_folders) {
    const std::string path = impl_->path_in(a, index::folder_subdir(dir, sub));
    auto listed = co_await rt::list_dir(disk, path);
    if (!listed.ok() && listed.code() != Errc::not_found) co_return fail(listed.error());
    if (listed.ok()) {
      for (const auto& e : *listed) {
        if (e.is_dir) continue;
        Status r = co_await rt::remove(disk, path + "/" + e.name);
        if (!r.ok() && r.code() != Errc::not_found) co_return r;
      }
    }
    Status r = co_await rt::remove(disk, path);
    if (!r.ok() && r.code() != Errc::not_found) co_return r;
  }
  {
    Status r = co_await rt::remove(disk, impl_->path_in(a, dir));
    // Something else lives there (a foreign file): leave the directory, drop the folder.
    if (!r.ok() && r.code() != Errc::not_found) {
      impl_->env.log().write(rt::LogLevel::warn, "index: folder directory not removed: " + r.error().detail);
    }
    Status s = co_await rt::sync_dir(disk, a.maildir);
    if (!s.ok()) co_return s;
  }
  const std::int64_t id = it->second.row.id;
  Status d = co_await impl_->job(a, [&] { return a.db->delete_folder(id); });
  if (!d.ok()) co_return d;
  // Its pending_unlink rows went with it (ON DELETE CASCADE), its files with the directory.
  a.unlink_pending.erase(id);
  std::erase_if(a.unlinked, [id](const index::PendingUnlink& p) { return p.folder_id == id; });
  a.folders.erase(it);
  co_return Status{};
}

rt::Task<Status> IndexedStore::rename_folder(std::string user, std::string from, std::string to) {
  Status c1 = index::check_folder_name(from);
  if (!c1.ok()) co_return c1;
  Status c2 = index::check_folder_name(to);
  if (!c2.ok()) co_return c2;
  from = index::normalize_folder_name(from);
  to = index::normalize_folder_name(to);
  auto locked = co_await impl_->acquire(std::move(user));
  if (!locked.ok()) co_return fail(locked.error());
  Account& a = *locked->account;
  if (from == "INBOX") {
    // RFC 9051 §6.3.6: renaming INBOX moves its messages to a new folder; INBOX stays.
    Status cr = co_await create_locked(*impl_, a, to, SpecialUse::none);
    if (!cr.ok()) co_return cr;
    auto src = co_await impl_->folder(a, "INBOX", false);
    if (!src.ok()) co_return fail(src.error());
    auto dst = co_await impl_->folder(a, to, false);
    if (!dst.ok()) co_return fail(dst.error());
    std::vector<std::uint32_t> uids;
    for (const auto& m : (*src)->cache->messages()) uids.push_back(m.info.uid);
    if (uids.empty()) co_return Status{};
    auto copied = co_await copy_locked(*impl_, a, **src, **dst, std::move(uids));
    if (!copied.ok()) co_return fail(copied.error());
    auto gone = co_await expunge_locked(*impl_, a, **src, copied->source_uids);
    if (!gone.ok()) co_return fail(gone.error());
    co_return Status{};
  }
  if (to == "INBOX") co_return fail(Errc::exists, "INBOX exists");
  if (to.starts_with(from + kFolderDelimiter)) co_return fail(Errc::invalid, "cannot rename a folder below itself");
  if (!a.folders.contains(from)) co_return fail(Errc::not_found, "no such folder: " + from);
  if (a.folders.contains(to)) co_return fail(Errc::exists, "folder exists: " + to);
  // The folder and its children, each to its new name and directory.
  std::vector<index::FolderRow> renamed;
  const std::string prefix = from + kFolderDelimiter;
  for (const auto& [name, f] : a.folders) {
    if (name != from && !name.starts_with(prefix)) continue;
    index::FolderRow r = f.row;
    r.name = to + name.substr(from.size());
    if (index::check_folder_name(r.name).code() != Errc::ok) co_return fail(Errc::invalid, "new name too long");
    if (a.folders.contains(r.name)) co_return fail(Errc::exists, "folder exists: " + r.name);
    r.renamed_from = r.dir;
    r.dir = index::folder_dir(r.name);
    renamed.push_back(std::move(r));
  }
  // Missing parents of the new name become folders first (RFC 9051 §6.3.6).
  if (auto parent = index::parent_folder_name(to); parent && !a.folders.contains(*parent)) {
    Status cp = co_await create_locked(*impl_, a, *parent, SpecialUse::none);
    if (!cp.ok()) co_return cp;
  }
  auto modseq = co_await impl_->job(a, [&] { return a.db->rename_folders(renamed); });
  if (!modseq.ok()) co_return fail(modseq.error());
  rt::Disk& disk = impl_->env.disk();
  std::vector<std::int64_t> ids;
  for (const auto& r : renamed) {
    Status mv = co_await rt::rename(disk, impl_->path_in(a, *r.renamed_from), impl_->path_in(a, r.dir));
    if (!mv.ok() && mv.code() != Errc::not_found) co_return mv;  // the next open finishes it
    ids.push_back(r.id);
  }
  Status sd = co_await rt::sync_dir(disk, a.maildir);
  if (!sd.ok()) co_return sd;
  Status cl = co_await impl_->job(a, [&] { return a.db->clear_renamed(ids); });
  if (!cl.ok()) co_return cl;
  for (auto& r : renamed) {
    std::string old_name = from + r.name.substr(to.size());
    auto node = a.folders.extract(old_name);
    MAIL_ASSERT(!node.empty());
    node.key() = r.name;
    node.mapped().row.name = r.name;
    node.mapped().row.dir = r.dir;
    if (node.mapped().cache) node.mapped().cache->touch(*modseq);
    else node.mapped().row.counters.highestmodseq = *modseq;
    a.folders.insert(std::move(node));
    impl_->notify(a.user, r.name, *modseq);
  }
  co_return Status{};
}

rt::Task<Status> IndexedStore::set_subscribed(std::string user, std::string name, bool subscribed) {
  Status c = index::check_folder_name(name);
  if (!c.ok()) co_return c;
  name = index::normalize_folder_name(name);
  auto locked = co_await impl_->acquire(std::move(user));
  if (!locked.ok()) co_return fail(locked.error());
  Account& a = *locked->account;
  Status s = co_await impl_->job(a, [&] { return a.db->set_subscribed(name, subscribed); });
  if (!s.ok()) co_return s;
  if (subscribed) a.subscriptions.insert(name);
  else a.subscriptions.erase(name);
  co_return Status{};
}

rt::Task<Result<std::vector<std::string>>> IndexedStore::list_subscriptions(std::string user) {
  auto locked = co_await impl_->acquire(std::move(user));
  if (!locked.ok()) co_return fail(locked.error());
  const auto& s = locked->account->subscriptions;
  co_return std::vector<std::string>(s.begin(), s.end());
}

rt::Task<Result<FolderStatus>> IndexedStore::folder_status(std::string user, std::string name) {
  auto locked = co_await impl_->acquire(std::move(user));
  if (!locked.ok()) co_return fail(locked.error());
  auto f = co_await impl_->folder(*locked->account, std::move(name), true);
  if (!f.ok()) co_return fail(f.error());
  co_return status_of(**f);
}

// ------------------------------------------------------------------ messages

rt::Task<Result<FolderSnapshot>> IndexedStore::open_folder(std::string user, std::string name) {
  auto locked = co_await impl_->acquire(std::move(user));
  if (!locked.ok()) co_return fail(locked.error());
  auto f = co_await impl_->folder(*locked->account, std::move(name), true);
  if (!f.ok()) co_return fail(f.error());
  FolderSnapshot snap = (*f)->cache->snapshot();
  snap.status = status_of(**f);
  co_return snap;
}

rt::Task<Result<FolderChanges>> IndexedStore::changes_since(std::string user, std::string name, std::uint64_t since_modseq) {
  auto locked = co_await impl_->acquire(std::move(user));
  if (!locked.ok()) co_return fail(locked.error());
  auto f = co_await impl_->folder(*locked->account, std::move(name), false);
  if (!f.ok()) co_return fail(f.error());
  co_return (*f)->cache->changes_since(since_modseq);
}

// The marker is persisted (folders.recent_uid), as Dovecot keeps first_recent_uid in its
// index header: kept in memory only, a restart would have to call every message recent
// again (RFC 3501 §2.3.2 says to when unsure) or none. The write happens only when there
// is something to claim (new mail since the last SELECT), at most once per SELECT or
// resync that finds new mail.
rt::Task<Result<std::uint32_t>> IndexedStore::claim_recent(std::string user, std::string name, std::uint32_t up_to_uid,
                                                           bool claim) {
  auto locked = co_await impl_->acquire(std::move(user));
  if (!locked.ok()) co_return fail(locked.error());
  Account& a = *locked->account;
  auto f = co_await impl_->folder(a, std::move(name), false);
  if (!f.ok()) co_return fail(f.error());
  FolderState& fs = **f;
  const std::uint32_t first = fs.row.recent_uid;
  if (claim && up_to_uid > first) {
    const std::int64_t id = fs.row.id;
    Status s = co_await impl_->job(a, [&] { return a.db->set_recent_uid(id, up_to_uid); });
    if (!s.ok()) co_return fail(s.error());
    fs.row.recent_uid = up_to_uid;
  }
  co_return first;
}

rt::Task<Result<AppendResult>> IndexedStore::append(std::string user, std::string folder, std::string content, Flags flags,
                                                    std::int64_t internal_date) {
  if (!valid_keywords(flags)) co_return fail(Errc::invalid, "bad keyword");
  flags.keywords = keyword_union({}, flags.keywords);
  std::string dir;
  std::string maildir;
  {
    auto locked = co_await impl_->acquire(user);
    if (!locked.ok()) co_return fail(locked.error());
    Account& a = *locked->account;
    auto f = co_await impl_->folder(a, folder, false);
    if (!f.ok()) co_return fail(f.error());
    if (impl_->config.quota_bytes_max != 0 || impl_->config.quota_messages_max != 0) {
      auto u = co_await impl_->job(a, [&] { return a.db->usage(); });
      if (!u.ok()) co_return fail(u.error());
      if ((impl_->config.quota_bytes_max != 0 && u->bytes_used + content.size() > impl_->config.quota_bytes_max) ||
          (impl_->config.quota_messages_max != 0 && u->messages + 1 > impl_->config.quota_messages_max)) {
        co_return fail(Errc::no_space, "over quota");
      }
    }
    dir = (*f)->row.dir;
    maildir = a.maildir;
  }
  // The file first, durably (tmp/ -> new/, group-committed with other appends), without
  // the account's lock: a rescan that indexes it meanwhile is harmless (add_messages
  // finds it by name and keeps that uid).
  const std::int64_t now_s = impl_->env.clock().wall_now().unix_seconds();
  if (internal_date == 0) internal_date = now_s;
  rt::Disk& disk = impl_->env.disk();
  std::string name;
  std::string file;
  // A folder whose tmp/ or new/ another program removed gets them back once (self-heal).
  for (bool healed = false;;) {
    std::string tmp;
    bool written = false;
    Status w;
    for (int attempt = 0; attempt < 4 && !written; ++attempt) {
      name = impl_->namer.next(impl_->env.clock().wall_now(), content.size());
      tmp = maildir + "/" + folder_rel(dir, index::folder_file("", MaildirFolder::tmp, name));
      w = co_await rt::write_file(disk, tmp, content, rt::WriteMode::create_new);
      if (w.ok()) written = true;
      else if (w.code() != Errc::exists) break;
    }
    if (!written && w.code() == Errc::exists) co_return fail(Errc::exists, "no unique maildir name after retries");
    if (written) {
      file = index::folder_file("", MaildirFolder::new_mail, name);
      CommitItem item;
      item.tmp_path = tmp;
      item.new_paths.push_back(maildir + "/" + folder_rel(dir, file));
      item.copy_paths.emplace_back();
      w = co_await impl_->committer.commit(std::move(item));
      if (w.ok()) break;
    } else {
      (void)co_await rt::remove(disk, tmp);
    }
    if (w.code() != Errc::not_found || healed) co_return fail(w.error());
    healed = true;
    // Only a folder that still exists is healed (a DELETE meanwhile stays a TRYCREATE).
    auto locked = co_await impl_->acquire(user);
    if (!locked.ok()) co_return fail(locked.error());
    auto f = co_await impl_->folder(*locked->account, folder, false);
    if (!f.ok()) co_return fail(f.error());
    if ((*f)->row.dir != dir) co_return fail(w.error());  // renamed meanwhile
    // Named first: GCC 12 destroys a temporary made by ?: inside co_await twice.
    std::string folder_path = dir.empty() ? maildir : maildir + "/" + dir;
    Status h = co_await impl_->heal_folder_dirs(std::move(folder_path));
    if (!h.ok()) co_return fail(h.error());
  }

  auto locked = co_await impl_->acquire(user);
  if (!locked.ok()) co_return fail(locked.error());
  Account& a = *locked->account;
  auto f = co_await impl_->folder(a, folder, false);
  if (!f.ok()) co_return fail(f.error());  // deleted meanwhile
  FolderState& fs = **f;
  std::vector<index::NewMessage> batch;
  batch.push_back(impl_->new_message(content, file, std::move(flags), internal_date));
  const std::int64_t id = fs.row.id;
  index::FolderCounters after;
  auto added = co_await impl_->job(a, [&] { return a.db->add_messages(id, std::move(batch), &after); });
  if (!added.ok()) co_return fail(added.error());
  impl_->apply_added(a, fs, *added);
  MAIL_ASSERT(added->size() == 1);
  AppendResult r;
  r.uidvalidity = fs.cache->counters().uidvalidity;
  r.uid = added->front().info.uid;
  r.content_id = added->front().info.content_id;
  co_return r;
}

rt::Task<Result<std::string>> IndexedStore::message_path(std::string user, std::string folder, std::uint32_t uid) {
  auto locked = co_await impl_->acquire(std::move(user));
  if (!locked.ok()) co_return fail(locked.error());
  Account& a = *locked->account;
  auto f = co_await impl_->folder(a, std::move(folder), false);
  if (!f.ok()) co_return fail(f.error());
  const CachedMessage* m = (*f)->cache->find(uid);
  if (m == nullptr) co_return fail(Errc::not_found, "no such message");
  co_return impl_->path_in(a, folder_rel((*f)->row.dir, m->file));
}

rt::Task<Result<std::string>> IndexedStore::read(std::string user, std::string folder, std::uint32_t uid) {
  auto path = co_await message_path(std::move(user), std::move(folder), uid);
  if (!path.ok()) co_return fail(path.error());
  co_return co_await rt::read_file(impl_->env.disk(), std::move(*path));
}

rt::Task<Result<std::string>> IndexedStore::read_range(std::string user, std::string folder, std::uint32_t uid,
                                                       std::uint64_t offset, std::size_t max_bytes) {
  auto path = co_await message_path(std::move(user), std::move(folder), uid);
  if (!path.ok()) co_return fail(path.error());
  co_return co_await rt::read_range(impl_->env.disk(), std::move(*path), offset, max_bytes);
}

rt::Task<Result<std::vector<Result<std::string>>>> IndexedStore::read_many(std::string user, std::string folder,
                                                                           std::vector<std::uint32_t> uids) {
  std::vector<Result<std::string>> out;
  std::vector<std::string> paths;
  std::vector<std::size_t> slots;  // out[] index of each path
  {
    auto locked = co_await impl_->acquire(std::move(user));
    if (!locked.ok()) co_return fail(locked.error());
    Account& a = *locked->account;
    auto f = co_await impl_->folder(a, std::move(folder), false);
    if (!f.ok()) co_return fail(f.error());
    out.reserve(uids.size());
    for (auto uid : uids) {
      const CachedMessage* m = (*f)->cache->find(uid);
      if (m == nullptr) {
        out.push_back(fail(Errc::not_found, "no such message"));
        continue;
      }
      slots.push_back(out.size());
      out.push_back(std::string());
      paths.push_back(impl_->path_in(a, folder_rel((*f)->row.dir, m->file)));
    }
  }
  if (paths.empty()) co_return out;
  auto files = co_await rt::read_files(impl_->env.disk(), std::move(paths));
  if (!files.ok()) co_return fail(files.error());
  MAIL_ASSERT(files->size() == slots.size());
  for (std::size_t i = 0; i < slots.size(); ++i) out[slots[i]] = std::move((*files)[i]);
  co_return out;
}

rt::Task<Result<StoreFlagsResult>> IndexedStore::store_flags(std::string user, std::string folder,
                                                             std::vector<std::uint32_t> uids, FlagOp op, Flags flags,
                                                             std::optional<std::uint64_t> unchanged_since) {
  if (!valid_keywords(flags)) co_return fail(Errc::invalid, "bad keyword");
  auto locked = co_await impl_->acquire(std::move(user));
  if (!locked.ok()) co_return fail(locked.error());
  Account& a = *locked->account;
  auto f = co_await impl_->folder(a, std::move(folder), false);
  if (!f.ok()) co_return fail(f.error());
  FolderState& fs = **f;
  StoreFlagsResult out;
  std::vector<std::pair<std::uint32_t, Flags>> changes;
  std::sort(uids.begin(), uids.end());
  uids.erase(std::unique(uids.begin(), uids.end()), uids.end());
  for (auto uid : uids) {
    const CachedMessage* m = fs.cache->find(uid);
    if (m == nullptr) continue;
    // RFC 7162 §3.1.3: UNCHANGEDSINCE fails for messages changed after it.
    if (unchanged_since && m->info.modseq > *unchanged_since) {
      out.modified.push_back(uid);
      continue;
    }
    Flags next = apply_op(m->info.flags, op, flags);
    if (next == m->info.flags) continue;  // no change, no new modseq
    changes.emplace_back(uid, std::move(next));
  }
  if (changes.empty()) co_return out;
  const std::int64_t id = fs.row.id;
  auto done = co_await impl_->job(a, [&] { return a.db->set_flags(id, changes); });
  if (!done.ok()) co_return fail(done.error());
  std::size_t k = 0;
  for (const auto& t : *done) {
    while (changes[k].first != t.uid) ++k;
    fs.cache->set_flags(t.uid, changes[k].second, t.modseq);
    out.changed.push_back(fs.cache->find(t.uid)->info);
  }
  if (!done->empty()) impl_->notify(a.user, fs.row.name, fs.cache->counters().highestmodseq);
  co_return out;
}


rt::Task<Result<CopyResult>> IndexedStore::copy(std::string user, std::string from, std::vector<std::uint32_t> uids,
                                                std::string to) {
  auto locked = co_await impl_->acquire(std::move(user));
  if (!locked.ok()) co_return fail(locked.error());
  Account& a = *locked->account;
  auto src = co_await impl_->folder(a, std::move(from), false);
  if (!src.ok()) co_return fail(src.error());
  auto dst = co_await impl_->folder(a, std::move(to), false);
  if (!dst.ok()) co_return fail(dst.error());
  // RFC 9208 §4.3: a COPY adds to the account's usage (a MOVE does not).
  if (impl_->config.quota_bytes_max != 0 || impl_->config.quota_messages_max != 0) {
    std::uint64_t bytes = 0, messages = 0;
    for (auto uid : uids) {
      if (const CachedMessage* m = (*src)->cache->find(uid)) {
        bytes += m->info.size;
        ++messages;
      }
    }
    auto u = co_await impl_->job(a, [&] { return a.db->usage(); });
    if (!u.ok()) co_return fail(u.error());
    if ((impl_->config.quota_bytes_max != 0 && u->bytes_used + bytes > impl_->config.quota_bytes_max) ||
        (impl_->config.quota_messages_max != 0 && u->messages + messages > impl_->config.quota_messages_max)) {
      co_return fail(Errc::no_space, "over quota");
    }
  }
  co_return co_await copy_locked(*impl_, a, **src, **dst, std::move(uids));
}

rt::Task<Result<CopyResult>> IndexedStore::move(std::string user, std::string from, std::vector<std::uint32_t> uids,
                                                std::string to) {
  auto locked = co_await impl_->acquire(std::move(user));
  if (!locked.ok()) co_return fail(locked.error());
  Account& a = *locked->account;
  auto src = co_await impl_->folder(a, std::move(from), false);
  if (!src.ok()) co_return fail(src.error());
  auto dst = co_await impl_->folder(a, std::move(to), false);
  if (!dst.ok()) co_return fail(dst.error());
  if (*src == *dst) co_return fail(Errc::invalid, "MOVE into the same folder");
  // RFC 6851: the copies are durable and indexed before the sources go; a crash between
  // leaves both (never neither).
  auto copied = co_await copy_locked(*impl_, a, **src, **dst, std::move(uids));
  if (!copied.ok()) co_return copied;
  auto gone = co_await expunge_locked(*impl_, a, **src, copied->source_uids);
  if (!gone.ok()) co_return fail(gone.error());
  co_return copied;
}

rt::Task<Result<std::vector<std::uint32_t>>> IndexedStore::expunge(std::string user, std::string folder,
                                                                   std::vector<std::uint32_t> uids) {
  auto locked = co_await impl_->acquire(std::move(user));
  if (!locked.ok()) co_return fail(locked.error());
  Account& a = *locked->account;
  auto f = co_await impl_->folder(a, std::move(folder), false);
  if (!f.ok()) co_return fail(f.error());
  co_return co_await expunge_locked(*impl_, a, **f, std::move(uids));
}

rt::Task<Result<std::vector<std::string>>> IndexedStore::read_headers(std::string user, std::string folder,
                                                                      std::vector<std::uint32_t> uids) {
  auto locked = co_await impl_->acquire(std::move(user));
  if (!locked.ok()) co_return fail(locked.error());
  Account& a = *locked->account;
  auto f = co_await impl_->folder(a, std::move(folder), false);
  if (!f.ok()) co_return fail(f.error());
  const std::int64_t id = (*f)->row.id;
  co_return co_await impl_->job(a, [&] { return a.db->read_headers(id, uids); });
}

rt::Task<Result<std::vector<std::uint32_t>>> IndexedStore::search_text(std::string user, std::string folder,
                                                                       TextField field, std::vector<std::string> terms) {
  auto locked = co_await impl_->acquire(std::move(user));
  if (!locked.ok()) co_return fail(locked.error());
  Account& a = *locked->account;
  auto f = co_await impl_->folder(a, std::move(folder), false);
  if (!f.ok()) co_return fail(f.error());
  const std::int64_t id = (*f)->row.id;
  co_return co_await impl_->job(a, [&] { return a.db->search_text(id, field, terms); });
}

std::unique_ptr<ChangeSubscription> IndexedStore::subscribe(std::string user, ChangeListener listener) {
  const std::uint64_t id = impl_->next_listener++;
  impl_->listeners[user].emplace(id, std::make_shared<ChangeListener>(std::move(listener)));
  return std::make_unique<Subscription>(*impl_, std::move(user), id);
}

}  // namespace mail::store
