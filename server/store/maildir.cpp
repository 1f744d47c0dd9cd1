// MaildirStore: the layout, mailbox creation, the delivery path (unique name -> tmp/ write
// -> group commit) and the read side. All file access through Env::Disk, time and
// randomness from Env (clock().wall_now(), rng().fork("maildir"), hostname()); nothing else.
// Maildir: https://cr.yp.to/proto/maildir.html; ",S=" size hint as in Dovecot.
#include "store/maildir.h"

#include <algorithm>
#include <memory>
#include <set>
#include <utility>

#include "runtime/await.h"
#include "store/dirs.h"
#include "store/group_commit.h"
#include "store/maildir_name.h"

namespace mail::store {
namespace {

// A path this store made: `root`, then only plain file names (never "", "." or ".."). The
// data dir itself is the administrator's and may hold "..".
bool is_clean_below(std::string_view root, std::string_view path) noexcept {
  if (!path.starts_with(root)) return false;
  std::string_view rest = path.substr(root.size());
  if (root != "/") {
    if (!rest.starts_with('/')) return false;
    rest.remove_prefix(1);
  }
  while (!rest.empty()) {
    const auto slash = rest.find('/');
    if (!is_plain_file_name(rest.substr(0, slash))) return false;
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
  }
  return true;
}

// A StoredMessageRef id of this store: "new/<name>" or "cur/<name>", name a plain file name.
bool is_message_id(std::string_view id) noexcept {
  const auto slash = id.find('/');
  if (slash == std::string_view::npos) return false;
  const std::string_view folder = id.substr(0, slash);
  if (folder != to_string(MaildirFolder::new_mail) && folder != to_string(MaildirFolder::cur)) return false;
  return is_plain_file_name(id.substr(slash + 1));
}

// Tries to create the tmp file this many times when the name is taken (a leftover from a
// previous run whose clock and random draws repeated, e.g. a replayed simulation).
constexpr int name_attempts_max = 4;

}  // namespace

std::string_view to_string(MaildirFolder folder) noexcept {
  switch (folder) {
    case MaildirFolder::tmp: return "tmp";
    case MaildirFolder::new_mail: return "new";
    case MaildirFolder::cur: return "cur";
  }
  MAIL_UNREACHABLE();
}

std::string maildir_path(std::string_view data_dir, std::string_view user) {
  MAIL_ASSERT(is_valid_mailbox_user(user));
  const std::string root = normal_data_dir(data_dir);
  std::string out = root == "/" ? std::string() : root;
  out += "/mail/";
  out += user;
  out += "/Maildir";
  MAIL_ASSERT(out.find("//") == std::string::npos);
  MAIL_ASSERT(is_clean_below(root, out));
  return out;
}

std::string maildir_folder_path(std::string_view data_dir, std::string_view user, MaildirFolder folder) {
  std::string out = maildir_path(data_dir, user);
  out += '/';
  out += to_string(folder);
  return out;
}

std::vector<std::string> ancestor_dirs(std::string_view path) {
  std::string p(path);
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  std::vector<std::string> out;
  while (!p.empty() && p != "/" && p != ".") {
    const auto slash = p.rfind('/');
    if (slash == std::string::npos) {
      p = ".";
    } else if (slash == 0) {
      p = "/";
    } else {
      p.resize(slash);
      while (p.size() > 1 && p.back() == '/') p.pop_back();
    }
    // Each step is a strict prefix of the one before: the walk ends.
    MAIL_ASSERT(out.empty() || p.size() < out.back().size() || p == ".");
    out.push_back(p);
  }
  return out;
}

struct MaildirStore::Impl {
  Impl(rt::Env& e, MaildirConfig c)
      : env(e), data_dir(normal_data_dir(c.data_dir)), namer(e.rng().fork("maildir"), e.hostname()), committer(e) {}

  // <data_dir>/mail/<user>/Maildir/<folder>/<name>: a file path of the delivery path.
  std::string file_path(std::string_view user, MaildirFolder folder, std::string_view name) const {
    std::string p = maildir_folder_path(data_dir, user, folder);
    p += '/';
    p += name;
    MAIL_ASSERT(is_clean_below(data_dir, p));
    return p;
  }

  rt::Env& env;
  std::string data_dir;  // normal_data_dir() of the configured one
  MaildirNamer namer;
  GroupCommitter committer;
  std::set<std::string> known;  // users whose Maildir is known to exist durably
  MaildirStats stats;
};

MaildirStore::MaildirStore(rt::Env& env, MaildirConfig config) : impl_(std::make_unique<Impl>(env, std::move(config))) {}
MaildirStore::~MaildirStore() = default;

std::string MaildirStore::maildir_path(std::string_view user) const { return store::maildir_path(impl_->data_dir, user); }

MaildirStats MaildirStore::stats() const noexcept {
  MaildirStats s = impl_->stats;
  const GroupCommitStats& g = impl_->committer.stats();
  s.commit_rounds = g.rounds;
  s.largest_round = g.largest_round;
  s.link_copies = g.copies;
  // Every delivery that reached the commit is one item of one round.
  MAIL_ASSERT(g.items <= s.deliveries);
  MAIL_ASSERT(g.largest_round <= g.items);
  return s;
}

const GroupCommitStats& MaildirStore::commit_stats() const noexcept { return impl_->committer.stats(); }

rt::Task<Status> MaildirStore::ensure_mailbox(std::string user) {
  if (!is_valid_mailbox_user(user)) co_return fail(Errc::invalid, "invalid mailbox user name");
  if (impl_->known.contains(user)) co_return Status{};
  rt::Disk& disk = impl_->env.disk();
  const std::string md = maildir_path(user);
  {
    std::vector<std::string> folders;
    for (MaildirFolder f : maildir_folders) folders.push_back(maildir_folder_path(impl_->data_dir, user, f));
    Status s = co_await make_dirs_all(disk, std::move(folders));
    if (!s.ok()) co_return s;
  }
  // mkdir -p made entries in every level, possibly above <data_dir> too (a fresh
  // /var/lib/cloudsdial); each level's entry is durable only after its parent directory is
  // synced, so sync every directory from the Maildir up to the root (the simulator's
  // fresh-data-dir scenario lost acknowledged mail without this). Once per new mailbox,
  // never on the hot path.
  {
    // Above the data dir nearest first, then from the data dir down to the Maildir.
    std::vector<std::string> dirs = ancestor_dirs(impl_->data_dir);
    std::vector<std::string> below = ancestor_dirs(md);
    MAIL_ASSERT(below.size() == dirs.size() + 3);  // <data_dir>, mail, <user>
    MAIL_ASSERT(std::equal(dirs.begin(), dirs.end(), below.end() - static_cast<std::ptrdiff_t>(dirs.size())));
    below.resize(below.size() - dirs.size());
    MAIL_ASSERT(below.back() == impl_->data_dir);
    dirs.insert(dirs.end(), below.rbegin(), below.rend());
    dirs.push_back(md);
    Status s = co_await sync_dirs_all(disk, std::move(dirs));
    if (!s.ok()) co_return s;
  }
  impl_->known.insert(std::move(user));
  ++impl_->stats.mailboxes_created;
  co_return Status{};
}

rt::Task<Result<std::string>> MaildirStore::deliver_parts(std::vector<std::string> users, std::vector<std::string> parts) {
  // Distinct users in first-seen order: the first one gets the tmp file.
  std::vector<std::string> distinct;
  for (auto& u : users) {
    if (std::find(distinct.begin(), distinct.end(), u) == distinct.end()) distinct.push_back(std::move(u));
  }
  if (distinct.empty()) co_return fail(Errc::invalid, "no recipients");
  for (const auto& u : distinct) {
    Status s = co_await ensure_mailbox(u);
    if (!s.ok()) co_return fail(s.error());
  }
  // Past ensure_mailbox: every user is a valid name whose Maildir is believed to exist.
  for (const auto& u : distinct) MAIL_ASSERT(impl_->known.contains(u));

  rt::Disk& disk = impl_->env.disk();
  std::uint64_t size_bytes = 0;
  for (const auto& p : parts) size_bytes += p.size();
  // Shared, not copied: a retry under another name still needs the bytes.
  auto shared = std::make_shared<const std::vector<std::string>>(std::move(parts));
  std::string name;
  std::string tmp_path;
  bool written = false;
  bool recreated = false;
  for (int attempt = 0; attempt < name_attempts_max && !written; ++attempt) {
    name = impl_->namer.next(impl_->env.clock().wall_now(), size_bytes);
    tmp_path = impl_->file_path(distinct.front(), MaildirFolder::tmp, name);
    Status s = co_await rt::write_parts(disk, tmp_path, shared, rt::WriteMode::create_new);
    if (s.ok()) {
      written = true;
      shared.reset();  // the file has them now; do not hold them through the commit
    } else if (s.code() == Errc::exists) {
      continue;  // somebody else's file: draw another name
    } else if (s.code() == Errc::not_found && !recreated) {
      // The cached Maildir vanished (an administrator removed it): recreate once.
      recreated = true;
      impl_->known.erase(distinct.front());
      Status e = co_await ensure_mailbox(distinct.front());
      if (!e.ok()) co_return fail(e.error());
    } else {
      (void)co_await rt::remove(disk, tmp_path);  // a partial file (ENOSPC mid-write)
      co_return fail(s.error());
    }
  }
  if (!written) co_return fail(Errc::exists, "no unique maildir name after retries");
  MAIL_ASSERT(shared == nullptr);
  MAIL_ASSERT(maildir_size_hint(name) == size_bytes);

  CommitItem item;
  item.tmp_path = std::move(tmp_path);
  for (std::size_t k = 0; k < distinct.size(); ++k) {
    item.new_paths.push_back(impl_->file_path(distinct[k], MaildirFolder::new_mail, name));
    item.copy_paths.push_back(k == 0 ? std::string() : impl_->file_path(distinct[k], MaildirFolder::tmp, name));
  }
  ++impl_->stats.deliveries;
  Status s = co_await impl_->committer.commit(std::move(item));
  if (!s.ok()) {
    // A missing directory means the cache lies; forget it so the next delivery recreates.
    if (s.code() == Errc::not_found) {
      for (const auto& u : distinct) impl_->known.erase(u);
    }
    co_return fail(s.error());
  }
  co_return name;
}

rt::Task<Result<std::vector<StoredMessageRef>>> MaildirStore::list_messages(std::string user) {
  if (!is_valid_mailbox_user(user)) co_return fail(Errc::invalid, "invalid mailbox user name");
  rt::Disk& disk = impl_->env.disk();
  std::vector<StoredMessageRef> out;
  for (MaildirFolder f : maildir_message_folders) {
    auto listed = co_await rt::list_dir(disk, maildir_folder_path(impl_->data_dir, user, f));
    if (!listed.ok()) co_return fail(listed.error());
    std::vector<std::string> names;
    for (auto& e : *listed) {
      if (e.is_dir || !is_plain_file_name(e.name)) continue;  // ".", "..", dot files
      names.push_back(std::move(e.name));
    }
    std::sort(names.begin(), names.end());
    for (auto& n : names) {
      StoredMessageRef ref{std::string(to_string(f)) + "/" + std::move(n)};
      MAIL_ASSERT(is_message_id(ref.id));
      out.push_back(std::move(ref));
    }
  }
  co_return out;
}

rt::Task<Result<std::string>> MaildirStore::read_message(std::string user, StoredMessageRef ref) {
  if (!is_valid_mailbox_user(user)) co_return fail(Errc::invalid, "invalid mailbox user name");
  if (!is_message_id(ref.id)) co_return fail(Errc::invalid, "not a message of this store: " + ref.id);
  std::string path = maildir_path(user) + "/" + ref.id;
  MAIL_ASSERT(is_clean_below(impl_->data_dir, path));
  co_return co_await rt::read_file(impl_->env.disk(), std::move(path));
}

}  // namespace mail::store
