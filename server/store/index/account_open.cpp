// IndexedStore: opening an account (the index database, its rebuild when missing or
// damaged, the default folders, unfinished folder renames), loading a folder's cache and
// rescanning its Maildir directories for files added or removed behind the store's back.
// All file access through Env::Disk, every SQLite call in a lane job.
#include <algorithm>
#include <charconv>
#include <cstdio>

#include "core/hash.h"
#include "store/dirs.h"
#include "store/index/folder_layout.h"
#include "store/index/store_impl.h"

namespace mail::store {

using index::Account;
using index::CachedMessage;
using index::FolderState;

namespace index {

std::pair<std::string_view, std::string_view> split_message(std::string_view message) noexcept {
  std::size_t end = std::string_view::npos;
  const auto crlf = message.find("\r\n\r\n");
  const auto lf = message.find("\n\n");
  if (crlf != std::string_view::npos && (lf == std::string_view::npos || crlf + 2 <= lf)) end = crlf + 4;
  else if (lf != std::string_view::npos) end = lf + 2;
  // RFC 5322 §2.1: without an empty line, the whole message is header fields.
  if (end == std::string_view::npos) end = message.size();
  std::string_view head = message.substr(0, end);
  if (head.size() > kHeadersBytesMax) head = head.substr(0, kHeadersBytesMax);
  return {head, message.substr(end)};
}

std::string content_id_of(std::string_view base, std::uint64_t size) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "M%016llxS%llu", static_cast<unsigned long long>(fnv1a64(base)),
                static_cast<unsigned long long>(size));
  return buf;
}

std::int64_t internal_date_of(std::string_view name, std::int64_t fallback) noexcept {
  std::int64_t v = 0;
  const auto dot = name.find('.');
  if (dot == std::string_view::npos || dot == 0) return fallback;
  auto [p, ec] = std::from_chars(name.data(), name.data() + dot, v);
  if (ec != std::errc() || p != name.data() + dot || v <= 0) return fallback;
  return v;
}

}  // namespace index

namespace {

struct DefaultFolder {
  const char* name;
  SpecialUse use;
};
// RFC 6154 folders every new account gets (Dovecot's usual names).
constexpr DefaultFolder kDefaultFolders[] = {
    {"Drafts", SpecialUse::drafts}, {"Sent", SpecialUse::sent},       {"Trash", SpecialUse::trash},
    {"Junk", SpecialUse::junk},     {"Archive", SpecialUse::archive},
};

}  // namespace

IndexedStore::Impl::Impl(rt::Env& e, IndexedStoreConfig c)
    : env(e),
      config(std::move(c)),
      data_dir(normal_data_dir(config.data_dir)),
      maildir(e, MaildirConfig{config.data_dir}),
      committer(e),
      namer(e.rng().fork("index"), e.hostname()),
      vfs(sqlite::Vfs::for_env(e)) {
  MAIL_ASSERT(config.lanes >= 1);
  if (vfs.ok() && *vfs) vfs_name = (*vfs)->name();
  for (std::uint32_t i = 0; i < config.lanes; ++i) lanes.push_back(env.make_blocking_lane("index-" + std::to_string(i)));
}

std::string IndexedStore::Impl::user_dir(std::string_view user) const {
  std::string p = maildir_path(data_dir, user);
  p.resize(p.size() - std::string_view("/Maildir").size());
  return p;
}

std::string IndexedStore::Impl::uidvalidity_path(std::string_view user) const { return user_dir(user) + "/uidvalidity"; }

std::string IndexedStore::Impl::path_in(const Account& a, std::string_view rel) const {
  std::string p = a.maildir;
  p += '/';
  p += rel;
  return p;
}

rt::Task<Result<index::Locked>> IndexedStore::Impl::acquire(std::string user) {
  if (!is_valid_mailbox_user(user)) co_return fail(Errc::invalid, "invalid mailbox user name");
  auto& slot = accounts[user];
  if (!slot) {
    slot = std::make_unique<Account>(env.executor());
    slot->user = user;
    slot->maildir = maildir_path(data_dir, user);
    slot->lane = static_cast<std::size_t>(fnv1a64(user) % lanes.size());
  }
  Account* a = slot.get();
  index::Locked locked;
  locked.guard = co_await a->mutex.lock();
  locked.account = a;
  if (!a->ready) {
    Status s = co_await open_account(*a);
    if (!s.ok()) co_return fail(s.error());
    MAIL_ASSERT(a->ready);
  }
  co_return std::move(locked);
}

rt::Task<Status> IndexedStore::Impl::make_folder_dirs(Account& a, std::vector<std::string> dirs) {
  if (dirs.empty()) co_return Status{};
  std::vector<std::string> paths;
  for (const auto& d : dirs) {
    MAIL_ASSERT(!d.empty());
    for (MaildirFolder f : maildir_folders) paths.push_back(path_in(a, index::folder_subdir(d, f)));
  }
  Status s = co_await make_dirs_all(env.disk(), std::move(paths));
  if (!s.ok()) co_return s;
  // The folder directories first (their tmp/new/cur become durable), the Maildir after:
  // synced together, a crash could keep ".Folder" without its subdirectories, and open
  // would then find the folder "present" and never make them again (APPEND: TRYCREATE).
  std::vector<std::string> syncs;
  for (const auto& d : dirs) syncs.push_back(path_in(a, d));
  Status inner = co_await sync_dirs_all(env.disk(), std::move(syncs));
  if (!inner.ok()) co_return inner;
  co_return co_await rt::sync_dir(env.disk(), a.maildir);
}

rt::Task<Status> IndexedStore::Impl::heal_folder_dirs(std::string folder_path) {
  std::vector<std::string> paths;
  for (MaildirFolder f : maildir_folders) paths.push_back(folder_path + "/" + index::folder_subdir("", f));
  Status s = co_await make_dirs_all(env.disk(), std::move(paths));
  if (!s.ok()) co_return s;
  env.log().write(rt::LogLevel::warn, "maildir folder " + folder_path + " lacked tmp/, new/ or cur/: recreated");
  co_return co_await rt::sync_dir(env.disk(), std::move(folder_path));
}

rt::Task<Status> IndexedStore::Impl::write_uidvalidity_marker(Account& a) {
  std::uint32_t highest = 0;
  for (const auto& [name, f] : a.folders) highest = std::max(highest, f.row.counters.uidvalidity);
  const std::string path = uidvalidity_path(a.user);
  Status w = co_await rt::write_file(env.disk(), path, std::to_string(highest) + "\n", rt::WriteMode::truncate);
  if (!w.ok()) co_return w;
  std::vector<std::string> files{path};
  Status s = co_await rt::sync_files(env.disk(), std::move(files));
  if (!s.ok()) co_return s;
  co_return co_await rt::sync_dir(env.disk(), user_dir(a.user));
}

rt::Task<Status> IndexedStore::Impl::open_account(Account& a) {
  if (!vfs.ok()) co_return fail(vfs.error());
  rt::Disk& disk = env.disk();
  auto listed = co_await rt::list_dir(disk, a.maildir);
  if (!listed.ok()) {
    if (listed.code() == Errc::not_found) co_return fail(Errc::not_found, "no such account: " + a.user);
    co_return fail(listed.error());
  }
  std::set<std::string> present;  // directories in the Maildir
  for (const auto& e : *listed) {
    if (e.is_dir) present.insert(e.name);
  }
  const std::string db_path = user_dir(a.user) + "/index.sqlite";
  std::uint32_t floor = 0;
  auto opened = co_await job(a, [&] { return index::AccountDb::open(db_path, vfs_name, &floor); });
  if (!opened.ok() && opened.code() == Errc::invalid) {
    // Damaged or unknown: keep it for inspection, rebuild from the Maildir.
    const std::string aside = db_path + ".damaged." + std::to_string(env.clock().wall_now().unix_us);
    env.log().write(rt::LogLevel::warn, "index of " + a.user + " unusable (" + opened.error().detail +
                                            "), moved to " + aside + ", rebuilding");
    Status r = co_await rt::rename(disk, db_path, aside);
    if (!r.ok()) co_return r;
    for (const char* suffix : {"-wal", "-journal"}) {
      Status w = co_await rt::rename(disk, db_path + suffix, aside + suffix);
      if (!w.ok() && w.code() != Errc::not_found) co_return w;
    }
    Status sd = co_await rt::sync_dir(disk, user_dir(a.user));
    if (!sd.ok()) co_return sd;
    ++stats.rebuilds;
    std::uint32_t ignored = 0;
    opened = co_await job(a, [&] { return index::AccountDb::open(db_path, vfs_name, &ignored); });
  }
  if (!opened.ok()) co_return fail(opened.error());
  a.db = std::move(*opened);

  auto rows = co_await job(a, [&] { return a.db->folders(); });
  if (!rows.ok()) co_return fail(rows.error());
  // Read in the same job as the subscriptions (no extra lane round trip per open).
  Result<std::vector<index::PendingUnlink>> pend = std::vector<index::PendingUnlink>{};
  auto subs = co_await job(a, [&] {
    pend = a.db->pending_unlinks();
    return a.db->subscriptions();
  });
  if (!subs.ok()) co_return fail(subs.error());
  if (!pend.ok()) co_return fail(pend.error());

  if (rows->empty()) {
    // A new index: a new account, or a rebuild (index deleted or damaged). Folders are the
    // defaults and every folder directory found; UIDVALIDITYs above anything known.
    auto marker = co_await rt::read_file(disk, uidvalidity_path(a.user));
    if (marker.ok()) {
      std::uint32_t v = 0;
      std::from_chars(marker->data(), marker->data() + marker->size(), v);
      floor = std::max(floor, v);
    }
    std::vector<index::NewFolder> create;
    create.push_back(index::NewFolder{"INBOX", "", SpecialUse::none});
    std::set<std::string> names{"INBOX"};
    for (const auto& d : kDefaultFolders) {
      names.insert(d.name);
      create.push_back(index::NewFolder{d.name, index::folder_dir(d.name), d.use});
    }
    for (const auto& dir : present) {
      auto name = index::folder_name_of_dir(dir);
      if (!name || names.contains(*name)) continue;
      names.insert(*name);
      create.push_back(index::NewFolder{*name, dir, SpecialUse::none});
    }
    std::vector<std::string> dirs;
    for (const auto& f : create) {
      if (!f.dir.empty() && !present.contains(f.dir)) dirs.push_back(f.dir);
    }
    Status md = co_await make_folder_dirs(a, std::move(dirs));
    if (!md.ok()) co_return md;
    const auto now_s = static_cast<std::uint32_t>(std::max<std::int64_t>(1, env.clock().wall_now().unix_seconds()));
    auto made = co_await job(a, [&] { return a.db->create_folders(std::move(create), now_s, floor, true); });
    if (!made.ok()) co_return fail(made.error());
    rows = co_await job(a, [&] { return a.db->folders(); });
    if (!rows.ok()) co_return fail(rows.error());
    subs = co_await job(a, [&] { return a.db->subscriptions(); });
    if (!subs.ok()) co_return fail(subs.error());
  }

  // Renames committed to the index but maybe not done on disk (a crash in between).
  std::vector<std::int64_t> renamed;
  std::vector<std::string> missing;
  bool moved = false;
  for (auto& f : *rows) {
    if (f.renamed_from) {
      if (!present.contains(f.dir) && present.contains(*f.renamed_from)) {
        Status r = co_await rt::rename(disk, path_in(a, *f.renamed_from), path_in(a, f.dir));
        if (!r.ok()) co_return r;
        present.insert(f.dir);
        moved = true;
      }
      renamed.push_back(f.id);
    }
    if (!f.dir.empty() && !present.contains(f.dir)) missing.push_back(f.dir);
  }
  if (moved) {
    Status s = co_await rt::sync_dir(disk, a.maildir);
    if (!s.ok()) co_return s;
  }
  if (!renamed.empty()) {
    Status c = co_await job(a, [&] { return a.db->clear_renamed(std::move(renamed)); });
    if (!c.ok()) co_return c;
  }
  // A folder directory removed behind our back: recreate it (its messages are gone; the
  // rescan expunges their rows).
  Status md = co_await make_folder_dirs(a, std::move(missing));
  if (!md.ok()) co_return md;

  a.folders.clear();
  for (auto& f : *rows) {
    f.renamed_from.reset();
    std::string name = f.name;
    a.folders.emplace(std::move(name), FolderState{std::move(f), std::nullopt, std::nullopt});
  }
  a.subscriptions = std::set<std::string>(subs->begin(), subs->end());
  MAIL_ASSERT(a.folders.contains("INBOX"));

  // Expunges committed before a crash (or whose unlinks failed): finish their unlinks
  // before any rescan could take those files for new mail, then forget the rows.
  a.unlink_pending.clear();
  a.unlinked.clear();
  for (auto& p : *pend) a.unlink_pending[p.folder_id].insert(std::move(p.file));
  if (!a.unlink_pending.empty()) {
    for (const auto& [name, f] : a.folders) {
      if (!a.unlink_pending.contains(f.row.id)) continue;
      Status u = co_await finish_unlinks(a, f.row.id, f.row.dir);
      if (!u.ok()) co_return u;
    }
    if (!a.unlinked.empty()) {
      const std::vector<index::PendingUnlink> done = a.unlinked;
      Status c = co_await job(a, [&] { return a.db->clear_pending_unlinks(done); });
      if (!c.ok()) co_return c;
      a.unlinked.clear();
    }
  }
  Status mk = co_await write_uidvalidity_marker(a);
  if (!mk.ok()) co_return mk;
  a.ready = true;
  co_return Status{};
}

rt::Task<Result<FolderState*>> IndexedStore::Impl::folder(Account& a, std::string name, bool rescan_due) {
  Status c = index::check_folder_name(name);
  if (!c.ok()) co_return fail(c.error());
  name = index::normalize_folder_name(name);
  auto it = a.folders.find(name);
  if (it == a.folders.end()) co_return fail(Errc::not_found, "no such folder: " + name);
  FolderState& f = it->second;
  if (!f.cache) {
    const std::int64_t id = f.row.id;
    auto loaded = co_await job(a, [&] { return a.db->load_folder(id); });
    if (!loaded.ok()) co_return fail(loaded.error());
    f.cache.emplace(f.row.counters, std::move(loaded->messages), std::move(loaded->tombstones));
  }
  const Instant now = env.clock().now();
  if (!f.rescanned_at || (rescan_due && now - *f.rescanned_at >= config.rescan_interval)) {
    Status s = co_await rescan(a, f);
    if (!s.ok()) co_return fail(s.error());
    f.rescanned_at = now;
  }
  co_return &f;
}

index::NewMessage IndexedStore::Impl::new_message(std::string_view content, std::string file, Flags flags,
                                                  std::int64_t date) const {
  index::NewMessage m;
  const auto slash = file.find('/');
  MAIL_ASSERT(slash != std::string::npos);
  const std::string_view base = index::maildir_base_name(std::string_view(file).substr(slash + 1));
  m.content_id = index::content_id_of(base, content.size());
  m.file = std::move(file);
  m.flags = std::move(flags);
  m.internal_date = date;
  m.size = content.size();
  auto [head, body] = index::split_message(content);
  m.headers = std::string(head);
  m.text_hdr = m.headers;
  m.text_body = config.text_extractor ? config.text_extractor(content) : std::string(body);
  return m;
}

void IndexedStore::Impl::apply_added(Account& a, FolderState& f, const std::vector<CachedMessage>& added) {
  MAIL_ASSERT(f.cache.has_value());
  bool changed = false;
  for (const auto& m : added) {
    if (const CachedMessage* have = f.cache->find(m.info.uid)) {
      // Indexed by a rescan first; unchanged when add_messages kept its modseq.
      if (have->info.modseq == m.info.modseq) continue;
      f.cache->set_flags(m.info.uid, m.info.flags, m.info.modseq);
    } else {
      f.cache->add(m, m.info.uid + 1);
    }
    changed = true;
  }
  if (changed) notify(a.user, f.row.name, f.cache->counters().highestmodseq);
}

void IndexedStore::Impl::apply_expunged(Account& a, FolderState& f, const index::ExpungeOutcome& out) {
  MAIL_ASSERT(f.cache.has_value());
  for (const auto& t : out.removed) {
    // The database's tombstone and the cache's name the same message.
    const CachedMessage* m = f.cache->find(t.uid);
    MAIL_ASSERT(m != nullptr && m->info.content_id == t.content_id);
    const bool gone = f.cache->expunge(t.uid, t.modseq);
    MAIL_ASSERT(gone);
  }
  if (out.horizon_modseq > f.cache->counters().horizon_modseq) f.cache->set_horizon(out.horizon_modseq);
  if (!out.removed.empty()) notify(a.user, f.row.name, f.cache->counters().highestmodseq);
}

void IndexedStore::Impl::notify(const std::string& user, const std::string& folder, std::uint64_t modseq) {
  auto it = listeners.find(user);
  if (it == listeners.end()) return;
  // A listener may unsubscribe (itself or another) while being called: call copies.
  std::vector<std::shared_ptr<ChangeListener>> calls;
  for (auto& [id, l] : it->second) calls.push_back(l);
  for (auto& l : calls) (*l)(folder, modseq);
}

rt::Task<Status> IndexedStore::Impl::finish_unlinks(Account& a, std::int64_t folder_id, std::string dir) {
  auto it = a.unlink_pending.find(folder_id);
  if (it == a.unlink_pending.end()) co_return Status{};
  auto base_of = [](std::string_view file) {
    return std::string(index::maildir_base_name(file.substr(file.find('/') + 1)));
  };
  std::set<std::string> bases;
  for (const auto& file : it->second) bases.insert(base_of(file));
  rt::Disk& disk = env.disk();
  std::set<std::string> failed;  // base names still there
  std::vector<std::string> dirs;
  for (MaildirFolder sub : {MaildirFolder::new_mail, MaildirFolder::cur}) {
    const std::string path = path_in(a, index::folder_subdir(dir, sub));
    auto listed = co_await rt::list_dir(disk, path);
    if (!listed.ok()) {
      if (listed.code() == Errc::not_found) continue;
      co_return fail(listed.error());
    }
    bool removed = false;
    for (const auto& e : *listed) {
      if (e.is_dir) continue;
      std::string base(index::maildir_base_name(e.name));
      if (!bases.contains(base)) continue;
      Status r = co_await rt::remove(disk, path + "/" + e.name);
      if (!r.ok() && r.code() != Errc::not_found) {
        env.log().write(rt::LogLevel::warn, "index: expunged file still not unlinked: " + r.error().detail);
        failed.insert(std::move(base));
        continue;
      }
      removed = true;
    }
    if (removed) dirs.push_back(path);
  }
  if (!dirs.empty()) {
    Status s = co_await sync_dirs_all(disk, std::move(dirs));
    if (!s.ok()) co_return s;
  }
  // Looked up again rather than keeping an iterator across the co_awaits.
  auto& pending = a.unlink_pending[folder_id];
  for (auto p = pending.begin(); p != pending.end();) {
    if (failed.contains(base_of(*p))) {
      ++p;
      continue;
    }
    a.unlinked.push_back(index::PendingUnlink{folder_id, *p});
    p = pending.erase(p);
  }
  if (pending.empty()) a.unlink_pending.erase(folder_id);
  co_return Status{};
}

rt::Task<Status> IndexedStore::Impl::rescan(Account& a, FolderState& f) {
  MAIL_ASSERT(f.cache.has_value());
  ++stats.rescans;
  rt::Disk& disk = env.disk();
  // Files of committed expunges first: gone, or (when their unlink fails again) never
  // taken for new mail below.
  if (a.unlink_pending.contains(f.row.id)) {
    Status u = co_await finish_unlinks(a, f.row.id, f.row.dir);
    if (!u.ok()) co_return u;
  }
  // new/ before cur/: a file another reader moves from new/ to cur/ meanwhile is then seen
  // at least once (in new/ before the move or in cur/ after it).
  std::map<std::string, std::string> on_disk;  // base name -> file (relative to the folder)
  bool incomplete = false;                     // tmp/, new/ or cur/ missing
  for (MaildirFolder sub : maildir_folders) {
    auto listed = co_await rt::list_dir(disk, path_in(a, index::folder_subdir(f.row.dir, sub)));
    if (!listed.ok()) {
      if (listed.code() == Errc::not_found) {
        incomplete = true;
        continue;
      }
      co_return fail(listed.error());
    }
    if (sub == MaildirFolder::tmp) continue;  // only looked for: tmp/ files are not messages
    for (auto& e : *listed) {
      if (e.is_dir || !is_plain_file_name(e.name)) continue;
      std::string file = index::folder_file("", sub, e.name);
      on_disk[std::string(index::maildir_base_name(e.name))] = std::move(file);  // cur/ wins
    }
  }
  if (auto p = a.unlink_pending.find(f.row.id); p != a.unlink_pending.end()) {
    for (const auto& file : p->second) on_disk.erase(std::string(index::maildir_base_name(file.substr(file.find('/') + 1))));
  }
  if (incomplete) {
    // Deliveries and APPENDs need all three; the messages that were in a removed new/ or
    // cur/ are gone and are expunged below.
    // Named first: GCC 12 destroys a temporary made by ?: inside co_await twice.
    std::string folder_path = f.row.dir.empty() ? a.maildir : path_in(a, f.row.dir);
    Status h = co_await heal_folder_dirs(std::move(folder_path));
    if (!h.ok()) co_return h;
  }
  std::vector<std::uint32_t> vanished;
  std::vector<std::pair<std::uint32_t, std::string>> moved;
  std::set<std::string> known;
  for (const auto& m : f.cache->messages()) {
    const auto slash = m.file.find('/');
    const std::string base(index::maildir_base_name(std::string_view(m.file).substr(slash + 1)));
    auto it = on_disk.find(base);
    if (it == on_disk.end()) {
      vanished.push_back(m.info.uid);
    } else {
      if (it->second != m.file) moved.emplace_back(m.info.uid, it->second);
      known.insert(base);
    }
  }
  if (!vanished.empty()) {
    const std::int64_t id = f.row.id;
    const std::uint32_t keep = config.tombstones_per_folder_max;
    const std::vector<index::PendingUnlink> forget = a.unlinked;
    auto out = co_await job(a, [&] { return a.db->expunge(id, vanished, keep, {}, forget); });
    if (!out.ok()) co_return fail(out.error());
    a.unlinked.clear();
    stats.rescan_removed += out->removed.size();
    apply_expunged(a, f, *out);
  }
  if (!moved.empty()) {
    const std::int64_t id = f.row.id;
    Status s = co_await job(a, [&] { return a.db->set_files(id, moved); });
    if (!s.ok()) co_return s;
    for (auto& [uid, file] : moved) f.cache->set_file(uid, file);
  }
  // Files nobody indexed, in name order (Maildir names start with the delivery time).
  std::vector<std::string> fresh;
  for (const auto& [base, file] : on_disk) {
    if (!known.contains(base)) fresh.push_back(file);
  }
  std::sort(fresh.begin(), fresh.end(), [](const std::string& x, const std::string& y) {
    return x.substr(x.find('/') + 1) < y.substr(y.find('/') + 1);
  });
  if (fresh.empty()) co_return Status{};
  std::vector<index::NewMessage> batch;
  const std::int64_t now_s = env.clock().wall_now().unix_seconds();
  for (auto& file : fresh) {
    // Named first: GCC 12 destroys a temporary made by ?: inside co_await twice.
    std::string path = path_in(a, f.row.dir.empty() ? file : f.row.dir + "/" + file);
    auto content = co_await rt::read_file(disk, std::move(path));
    if (!content.ok()) {
      if (content.code() == Errc::not_found) continue;  // gone again meanwhile
      co_return fail(content.error());
    }
    const std::string_view name = std::string_view(file).substr(file.find('/') + 1);
    Flags flags;
    flags.system = index::maildir_info_flags(name);
    const std::int64_t date = index::internal_date_of(name, now_s);
    batch.push_back(new_message(*content, std::move(file), std::move(flags), date));
  }
  if (batch.empty()) co_return Status{};
  const std::int64_t id = f.row.id;
  index::FolderCounters after;
  auto added = co_await job(a, [&] { return a.db->add_messages(id, std::move(batch), &after); });
  if (!added.ok()) co_return fail(added.error());
  stats.rescan_added += added->size();
  apply_added(a, f, *added);
  MAIL_ASSERT(f.cache->counters().uidnext == after.uidnext);
  co_return Status{};
}

}  // namespace mail::store
